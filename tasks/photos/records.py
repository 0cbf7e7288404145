"""The photo stage over a chunk of applications (tasks/chunks/loop.py): received ->
photo_ok | photo_rejected | needs_review (borderline: a person decides). Unreadable files
and crashed checks go to the failure queue."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from kofu.base.photo_rules import PhotoRules
from kofu.models import Application, ApplicationState, Batch, Stage, transition
from kofu.tasks.chunks.core import Chunk, Outcome
from kofu.tasks.chunks.loop import StageWork, run_chunk
from kofu.tasks.chunks.records import Claim
from kofu.tasks.photos.core import PhotoVerdict, check_photo
from kofu.tasks.photos.files import read_photo
from kofu.tasks.queues.records import open_review

S = ApplicationState


class PhotoWork(StageWork[PhotoVerdict]):
    stage = Stage.PHOTOS

    def __init__(self, rules: PhotoRules) -> None:
        self.rules = rules
        self.inbox = Path()

    def begin(self, claim: Claim) -> list[Application]:
        if claim.applications:
            batch = claim.session.get_one(Batch, claim.applications[0].batch_id)
            self.inbox = Path(batch.inbox)
        return claim.applications

    def compute(self, claim: Claim, app: Application) -> Outcome[PhotoVerdict]:
        data = read_photo(self.inbox, app.photo or "", self.rules.max_bytes)
        return Outcome(app.id, check_photo(data, self.rules, app.submitted_at))

    def record(self, session: Session, app: Application, verdict: PhotoVerdict | None) -> list[str]:
        assert verdict is not None
        if verdict.problems:  # every clear defect, so the letter can list them all
            target, codes = S.PHOTO_REJECTED, verdict.codes
        elif verdict.borderline:
            target, codes = S.NEEDS_REVIEW, verdict.review_codes
            open_review(session, app, Stage.PHOTOS, codes, {"measures": dict(verdict.measures)})
        else:
            target, codes = S.PHOTO_OK, []
        transition(app, target, codes)
        app.photo_measures = dict(verdict.measures)
        return [target.value]


def check_photo_chunk(
    db_url: str,
    rules: PhotoRules,
    chunk: Chunk,
    now: datetime,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Counter[str]:
    return run_chunk(db_url, chunk, PhotoWork(rules), now, log=log)
