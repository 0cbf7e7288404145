"""Running the stages over a batch in chunks: shared by the nightly run and the rerun."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

from prefect import get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.futures import PrefectFuture

from kofu.db import unit_of_work
from kofu.settings import Settings
from models import ApplicationState, Stage
from tasks.chunks import Chunk, chunk_applications, plan_chunks, with_db_retry
from tasks.letters import write_letters_task
from tasks.matching import match_task
from tasks.notices import generate_notices_task, print_batch_task
from tasks.photos import check_photos_task
from tasks.queues import record_failure
from tasks.reports import batch_summary

S = ApplicationState


def run_stages(settings: Settings, batch_id: str, issued_on: date, now: datetime) -> dict:
    """photos -> letters -> matching -> notices -> print batch, each in chunks of applications."""
    size = settings.municipality.chunk_size
    stages: list[tuple[Stage, ApplicationState, Callable[[Chunk], PrefectFuture]]] = [
        (
            Stage.PHOTOS,
            S.RECEIVED,
            lambda c: check_photos_task.submit(
                settings.db_url, settings.municipality.photo, c, now
            ),
        ),
        # Refused photos get their letter (再申請のお願い); the stage moves no application.
        (
            Stage.LETTERS,
            S.PHOTO_REJECTED,
            lambda c: write_letters_task.submit(settings, c, issued_on, now),
        ),
        (Stage.MATCHING, S.PHOTO_OK, lambda c: match_task.submit(settings.db_url, c, now)),
        (
            Stage.NOTICES,
            S.MATCHED,
            lambda c: generate_notices_task.submit(settings, c, issued_on, now),
        ),
    ]
    totals: dict[str, dict[str, int]] = {}
    for stage, state, submit in stages:
        with unit_of_work(settings.db_url) as session:
            chunks = plan_chunks(session, batch_id, state, size)
        totals[stage.value] = dict(_run_chunks(settings, stage, state, chunks, submit, now))
    totals["print"] = print_batch_task(settings, batch_id)
    return totals


def _run_chunks(
    settings: Settings,
    stage: Stage,
    state: ApplicationState,
    chunks: list[Chunk],
    submit: Callable[[Chunk], PrefectFuture],
    now: datetime,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    futures = [(chunk, submit(chunk)) for chunk in chunks]
    for chunk, future in futures:
        try:
            counts.update(future.result())
        except Exception as exc:
            # The chunk failed even after its retries: queue each of its applications
            # (they keep their last good state) and go on with the other chunks.
            failed = _queue_chunk_failure(settings, stage, state, chunk, exc, now)
            counts["failed"] += failed
            get_run_logger().warning(
                "%s chunk %s failed (%s): %d application(s) queued for rerun",
                stage.value,
                chunk.label,
                type(exc).__name__,
                failed,
            )
    return counts


def _queue_chunk_failure(
    settings: Settings,
    stage: Stage,
    state: ApplicationState,
    chunk: Chunk,
    exc: BaseException,
    now: datetime,
) -> int:
    def record() -> int:
        with unit_of_work(settings.db_url, write=True) as session:
            apps = chunk_applications(session, chunk, state)
            for app in apps:
                record_failure(session, chunk.batch_id, app.id, stage, exc, now)
            session.commit()
            return len(apps)

    return with_db_retry(record)


def publish_summary(settings: Settings, batch_id: str, stage_counts: dict) -> dict:
    """A table artifact of counts per state: counts and codes only, never personal data."""
    with unit_of_work(settings.db_url) as session:
        summary = batch_summary(session, batch_id)
    rows = [{"state": state, "count": n} for state, n in summary["states"].items()]
    rows += [
        {"state": "rejected lines", "count": summary["rejected_lines"]},
        {"state": "failure queue (open)", "count": summary["failure_queue"]},
        {"state": "review queue (open)", "count": summary["review_queue"]},
    ]
    create_table_artifact(
        key="nightly-summary",
        table=rows,
        description=f"Applications per state for batch {batch_id}",
    )
    summary["this_run"] = stage_counts
    return summary
