"""The flow's own failure-queue calls, between its tasks: take the items for a run, queue a
chunk or a batch step whose task failed, and settle the books at the end of a run over a
batch. The queries and writes are tasks/queues/records.py's; each call here is one write
transaction, retried whole on a transient error (``with_db_retry``: the flow's own database
calls, tasks/chunks/retry.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from prefect import get_run_logger
from sqlalchemy.orm import Session

from kofu.base.settings import Settings
from kofu.models import Stage
from kofu.models.db import unit_of_work
from kofu.models.states import STAGE_INPUT
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import chunk_applications
from kofu.tasks.chunks.retry import with_db_retry
from kofu.tasks.queues.records import (
    Settled,
    record_failure,
    release_abandoned,
    resolve_failures,
    settle_failures,
    take_failures,
)

T = TypeVar("T")


def committed(db_url: str, work: Callable[[Session], T]) -> T:
    """``work`` in one write transaction, committed; the whole transaction again on a
    transient error."""

    def once() -> T:
        with unit_of_work(db_url, write=True) as session:
            result = work(session)
            session.commit()
            return result

    return with_db_retry(once)


def take_failure_items(settings: Settings, now: datetime, batch_id: str | None = None) -> set[str]:
    """Take failure-queue items for this run (tasks/queues/records.py take_failures): a batch's
    open ones for a person's rerun, else every batch's due ones. Returns their batches."""
    return committed(settings.db_url, lambda session: take_failures(session, now, batch_id))


def release_abandoned_items(settings: Settings) -> int:
    """Items a run was retrying when it died (or raised) wait again, due at once. Only for
    the run that holds the run lock: no other run can be working on them."""
    return committed(settings.db_url, lambda session: release_abandoned(session, datetime.now(UTC)))


def queue_chunk_failure(
    settings: Settings, stage: Stage, chunk: Chunk, exc: BaseException, now: datetime
) -> int:
    """A chunk's task failed even after its retries: queue each of the chunk's applications
    still waiting in the stage's input state (they keep it). Returns how many."""
    state = STAGE_INPUT[stage]
    assert state is not None, stage

    def record(session: Session) -> int:
        apps = chunk_applications(session, chunk, state)
        for app in apps:
            record_failure(session, chunk.batch_id, app.id, stage, exc, now)
        return len(apps)

    return committed(settings.db_url, record)


def queue_batch_failure(
    settings: Settings, batch_id: str, stage: Stage, exc: BaseException, now: datetime
) -> None:
    """A step of the batch as a whole (the print batch) failed: one item for the batch."""
    committed(
        settings.db_url, lambda session: record_failure(session, batch_id, None, stage, exc, now)
    )


def resolve_batch_failures(settings: Settings, batch_id: str, stage: Stage) -> None:
    """The batch's own step got through: its open items are done."""
    committed(
        settings.db_url,
        lambda session: resolve_failures(session, None, stage, batch_id=batch_id),
    )


def settle_failure_items(settings: Settings, batch_id: str, now: datetime) -> dict[str, int]:
    """After the stages ran over a batch: schedule the next attempt of what failed, declare
    dead what failed too often, resolve what got through. Logs what a person must do."""
    settled = committed(
        settings.db_url,
        lambda session: settle_failures(session, batch_id, settings.municipality.failures, now),
    )
    _log_settled(settings, batch_id, settled)
    return {"resolved": settled.resolved, "pending": settled.pending, "dead": settled.dead}


def _log_settled(settings: Settings, batch_id: str, settled: Settled) -> None:
    logger = get_run_logger()
    if settled.pending:
        logger.warning(
            "batch %s: %d failure-queue item(s) wait for their next attempt; the nightly run"
            " takes them again, or `kofu rerun --batch-id %s` now",
            batch_id,
            settled.pending,
            batch_id,
        )
    if settled.dead:
        logger.error(
            "batch %s: %d failure-queue item(s) are dead, not retried on their own (a bug,"
            " something in the way only a person can clear, or %d failed attempts): fix the"
            " cause (`kofu queue list --kind failure`), then `kofu rerun --batch-id %s`",
            batch_id,
            settled.dead,
            settings.municipality.failures.max_attempts,
            batch_id,
        )
