"""The notice stage over a chunk of applications (tasks/chunks/loop.py): matched ->
notice_generated, one pickup notice (交付通知書) PDF each.

Each application has at most one current notice: the notice table has a unique key on the
application's notices that are not void, the transition matched -> notice_generated is
guarded, and the PDF path is derived from the notice number, so a rerun rewrites the same
file instead of adding one. An application back in ``matched`` after a return from a move
within the city (tasks/lifecycle/records.py) gets its next issue, ``YYYY-NNNNNNNN-2``, to
the register's new address.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kofu.base.fonts import register_notice_font
from kofu.base.paths import check_batch_id, inside
from kofu.base.settings import Settings
from kofu.models import (
    Application,
    ApplicationState,
    Notice,
    Resident,
    Stage,
    VisitWindow,
    transition,
)
from kofu.tasks.chunks.core import Chunk, Outcome
from kofu.tasks.chunks.loop import StageWork, run_chunk
from kofu.tasks.chunks.records import Claim
from kofu.tasks.duplicates.records import DUPLICATE, hold_as_duplicate, others_in_progress
from kofu.tasks.notices.addressee import addressee_digests
from kofu.tasks.notices.core import notice_content, notice_number
from kofu.tasks.notices.pdf import write_notice_pdf
from kofu.tasks.printing.core import notice_fingerprint
from kofu.tasks.visits.records import visit_windows_for

S = ApplicationState


@dataclass(frozen=True)
class DrawnNotice:
    """A notice's PDF, written, and what its row records."""

    number: str
    path: Path
    postal_code: str
    pickup_deadline: date
    # What the print file needs to draw this notice again, the same.
    issued_on: date
    content_digest: str
    name_digest: str
    address_digest: str


class NoticeWork(StageWork[DrawnNotice]):
    stage = Stage.NOTICES
    what = "notices"

    def __init__(self, settings: Settings, batch_id: str, issued_on: date) -> None:
        self.settings = settings
        self.issued_on = issued_on
        self.font = register_notice_font(settings.data_dir / "fonts")
        self.out_dir = inside(settings.data_dir, settings.notices_dir / check_batch_id(batch_id))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.windows: dict[int, VisitWindow] = {}
        self.issued: dict[int, int] = {}

    def begin(self, claim: Claim) -> list[Application]:
        pks = [app.id for app in claim.applications]
        self.windows = visit_windows_for(claim.session, pks)
        # Notices made before (all void: a reissue): the next one is the card's next issue.
        self.issued = dict(
            claim.session.execute(
                select(Notice.application_pk, func.count())
                .where(Notice.application_pk.in_(pks))
                .group_by(Notice.application_pk)
            ).all()
        )
        return claim.applications

    def compute(self, claim: Claim, app: Application) -> Outcome[DrawnNotice]:
        if others_in_progress(claim.session, app.resident_id, app.id):
            return Outcome(app.id)  # a second card in progress: no notice
        municipality = self.settings.municipality
        resident = claim.session.get_one(Resident, app.resident_id)
        number = notice_number(app.id, self.issued_on, self.issued.get(app.id, 0) + 1)
        content = notice_content(
            municipality, number, resident, self.issued_on, self.windows.get(app.id)
        )
        path = self.out_dir / f"{number}.pdf"
        write_notice_pdf(content, self.font, path, municipality.notice.window)
        drawn = DrawnNotice(
            number,
            path,
            resident.postal_code,
            content.pickup_deadline,
            self.issued_on,
            notice_fingerprint(content, municipality.notice.window),
            *addressee_digests(resident),
        )
        return Outcome(app.id, drawn, files=(path,))

    def record(
        self, session: Session, app: Application, drawn: DrawnNotice | None
    ) -> list[str] | None:
        # The last guard of one resident, one notice: looked up again in the write
        # transaction, so an application matched meanwhile is seen (tasks/duplicates/records.py).
        others = others_in_progress(session, app.resident_id, app.id)
        if others:
            if drawn is not None:
                drawn.path.unlink(missing_ok=True)  # drawn before the other turned up
            hold_as_duplicate(session, app, app.resident_id, others)
            return [DUPLICATE]
        if drawn is None:
            return None  # the other one is gone since: the next run writes this notice
        transition(app, S.NOTICE_GENERATED)
        session.add(
            Notice(
                application_pk=app.id,
                notice_number=drawn.number,
                pdf_path=str(drawn.path),
                postal_code=drawn.postal_code,
                pickup_deadline=drawn.pickup_deadline,
                issued_on=drawn.issued_on,
                content_digest=drawn.content_digest,
                name_digest=drawn.name_digest,
                address_digest=drawn.address_digest,
            )
        )
        return [S.NOTICE_GENERATED.value]


def generate_notice_chunk(
    settings: Settings,
    chunk: Chunk,
    issued_on: date,
    now: datetime,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Counter[str]:
    """matched -> notice_generated, writing one PDF per application."""
    work = NoticeWork(settings, chunk.batch_id, issued_on)
    return run_chunk(settings.db_url, chunk, work, now, log=log)
