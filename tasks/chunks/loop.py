"""The one chunk loop every stage runs: claim, compute, record.

A stage says what it does to one application in a ``StageWork``: ``compute`` (no writes:
check a photo, score the candidates, draw a PDF) and ``record`` (the writes for one outcome,
in the chunk's one write transaction). ``run_chunk`` does the rest, the same for every stage:

1. claim the chunk's applications waiting in the stage's input state (``STAGE_INPUT``, the
   one place each stage's input state is written; tasks/chunks/records.py claim_chunk);
2. compute each one; an exception is that application's outcome, not the chunk's, except
   a transient database error (the claim is lost with it: the whole chunk is retried) and a
   full disk (every next one would fail the same: the run stops, with one line);
3. record every outcome in one write transaction, each behind the state guard (looked up
   again by key: still in the input state, else someone else moved it on and it is left
   alone). A failed application goes to the failure queue, classified by
   tasks/chunks/retry.py; one that got through has its open failure items resolved;
4. files the compute wrote are removed again unless that transaction commits.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from kofu.base.errors import disk_full, is_disk_full
from kofu.models import Application, Stage
from kofu.models.db import is_transient, removed_unless_recorded
from kofu.models.states import STAGE_INPUT
from kofu.tasks.chunks.core import Chunk, Outcome
from kofu.tasks.chunks.records import Claim, claim_chunk
from kofu.tasks.queues.records import record_failure, resolve_failures

V = TypeVar("V")


class StageWork(Generic[V]):
    """One stage's part of the loop. Subclasses set ``stage`` and implement ``compute`` and
    ``record``; the others have defaults."""

    stage: Stage
    # Where the stage writes files and what they are, for a full disk's one line.
    out_dir: Path | None = None
    what: str = "files"

    def begin(self, claim: Claim) -> list[Application]:
        """Read what the whole chunk needs (through ``claim.session``); the applications to
        compute. Default: all the claim took."""
        return claim.applications

    def compute(self, claim: Claim, app: Application) -> Outcome[V]:
        raise NotImplementedError

    def record(self, session: Session, app: Application, value: V | None) -> Iterable[str] | None:
        """The writes for one application that got through: the counts' labels, or None
        when it is left waiting (its failure items stay open)."""
        raise NotImplementedError


def run_chunk(
    db_url: str,
    chunk: Chunk,
    work: StageWork[V],
    now: datetime,
    *,
    limit: int | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Counter[str]:
    state = STAGE_INPUT[work.stage]
    assert state is not None, work.stage
    with claim_chunk(db_url, chunk, state, limit=limit, log=log) as claim:
        outcomes: list[Outcome[V]] = []
        for app in work.begin(claim):
            outcomes.append(_compute(work, claim, app, chunk, outcomes))
        files = [path for outcome in outcomes for path in outcome.files]
        where = work.out_dir or Path(".")
        with removed_unless_recorded(files, work.what, where, chunk.batch_id, db_url):
            return claim.record(lambda session: _record(session, chunk, work, outcomes, now))


def _compute(
    work: StageWork[V], claim: Claim, app: Application, chunk: Chunk, done: list[Outcome[V]]
) -> Outcome[V]:
    try:
        return work.compute(claim, app)
    except Exception as exc:
        if is_transient(exc):
            raise  # the claim's transaction is gone with it: the chunk is retried whole
        if is_disk_full(exc):
            for outcome in done:
                for path in outcome.files:
                    path.unlink(missing_ok=True)
            raise disk_full(work.what, work.out_dir, chunk.batch_id) from None
        return Outcome(app.id, error=exc)


def _record(
    session: Session, chunk: Chunk, work: StageWork[V], outcomes: list[Outcome[V]], now: datetime
) -> Counter[str]:
    state = STAGE_INPUT[work.stage]
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        app = session.get_one(Application, outcome.application_pk)
        if app.state != state:
            # Someone else moved it on (a rerun is harmless). Its files are left: the same
            # application's files have the same names, and the other worker recorded them.
            continue
        if outcome.error is not None:
            record_failure(session, chunk.batch_id, app.id, work.stage, outcome.error, now)
            counts["failed"] += 1
            continue
        labels = work.record(session, app, outcome.value)
        if labels is None:
            continue
        resolve_failures(session, app.id, work.stage)
        counts.update(labels)
    return counts
