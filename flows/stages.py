"""Running the stages over a batch in chunks: shared by the nightly run and the rerun."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

from prefect import get_run_logger
from prefect.futures import PrefectFuture
from prefect.states import Cancelled, Failed, State

from kofu.base import stops
from kofu.base.errors import DiskFull, UserError, is_disk_full
from kofu.base.settings import Settings, get_settings, print_password
from kofu.flows.artifacts import Progress, publish_night
from kofu.flows.runners import in_flight
from kofu.models import ApplicationState, Stage
from kofu.models.db import disk_full_error, unit_of_work
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import chunk_applications, plan_chunks
from kofu.tasks.chunks.retry import with_db_retry
from kofu.tasks.letters.task import write_letters_task
from kofu.tasks.matching.scoring import ScoringRules
from kofu.tasks.matching.task import match_task
from kofu.tasks.notices.task import generate_notices_task, plan_print_files, print_file_task
from kofu.tasks.photos.task import check_photos_task
from kofu.tasks.queues.records import (
    record_failure,
    resolve_failures,
    settle_failures,
    take_failures,
)
from kofu.tasks.visits.task import assign_visit_windows_task

S = ApplicationState

# The steps of run_stages, in order, as the progress artifact names them.
STAGE_STEPS = ("photos", "letters", "matching", "visit windows", "notices", "print batch")


def stoppable(run: Callable[[], dict | State]) -> dict | State:
    """A flow's body, stopped at a chunk boundary by SIGTERM or Ctrl-C (kofu/base/stops.py): the
    lock is released on the way out (flows/lease.py ``held``), and the flow run ends
    Cancelled, its applications where the last recorded chunk left them."""
    with stops.catching():
        try:
            return run()
        except stops.RunStopped as stop:
            get_run_logger().warning("%s: the next run goes on from there", stop)
            return Cancelled(message=f"{stop}; the next kofu nightly or kofu rerun goes on")
        except UserError as exc:
            # Bad input or a refusal (a batch id that is a path, another key, another run):
            # its one line says it all, and the run fails with it, without a traceback.
            get_run_logger().error("%s", exc)
            return Failed(message=str(exc), data=exc)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            # A full disk (the database's, say, found by any step): the same, with one line
            # saying where.
            settings = get_settings()
            full = disk_full_error(exc, "the run's files", settings.data_dir, None, settings.db_url)
            get_run_logger().error("%s", full)
            return Failed(message=str(full), data=full)


def run_stages(
    settings: Settings,
    batch_id: str,
    issued_on: date,
    now: datetime,
    progress: Progress | None = None,
) -> dict:
    """photos -> letters -> matching -> notices -> print batch, each in chunks of applications.
    ``progress`` is told as each chunk and step finishes (STAGE_STEPS)."""
    size = settings.municipality.chunk_size
    # Built here, before any chunk runs: a bad [matching] section stops the run with one line.
    rules = ScoringRules.from_settings(settings.municipality.matching)
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
        (Stage.MATCHING, S.PHOTO_OK, lambda c: match_task.submit(settings.db_url, rules, c, now)),
        (
            Stage.NOTICES,
            S.MATCHED,
            lambda c: generate_notices_task.submit(settings, c, issued_on, now),
        ),
    ]
    totals: dict[str, dict[str, int]] = {}
    for stage, state, submit in stages:
        stops.check()  # SIGTERM or Ctrl-C: no next stage (kofu/base/stops.py)
        if stage is Stage.NOTICES:
            # Visit windows: one ordered pass over the whole batch before the notice chunks
            # run side by side, so first come, first served holds across chunks.
            totals["visits"] = _assign_visits(settings, batch_id, issued_on, now)
            _tell(progress, "visit windows")
            if totals["visits"].get("failed"):
                totals[stage.value] = {}  # no notice without its window: the rerun draws them
                _tell(progress, stage.value)
                continue
        with unit_of_work(settings.db_url) as session:
            chunks = plan_chunks(session, batch_id, state, size)
        totals[stage.value] = dict(
            _run_chunks(settings, stage, state, chunks, submit, now, progress)
        )
        _tell(progress, stage.value)
    stops.check()
    totals["print"] = _print_batch(settings, batch_id, issued_on, now)
    _tell(progress, "print batch")
    return totals


def _tell(progress: Progress | None, step: str, done: int = 1, total: int = 1) -> None:
    if progress is not None:
        progress.step(step, done, total)


def _print_batch(settings: Settings, batch_id: str, issued_on: date, now: datetime) -> dict:
    """The batch's print files, written side by side by the task runner. A failure (after
    the task's retries) is queued for the batch as a whole: the notices are safe, the files
    written are recorded, and the rerun prints what is still unprinted into new files."""
    printed: dict = {"files": [], "pages": 0, "redrawn": 0, "merged": 0}
    try:
        print_password(settings)  # a missing password stops the step before any write
        plans = with_db_retry(lambda: plan_print_files(settings, batch_id))
        futures = [print_file_task.submit(settings, plan, issued_on) for plan in plans]
        failure: Exception | None = None
        for future in futures:  # every file is waited for, so the good ones are counted
            try:
                done = future.result()
            except Exception as exc:
                failure = failure or exc
                continue
            printed["files"].append(done["file"])
            for key in ("pages", "redrawn", "merged"):
                printed[key] += done[key]
        if failure is not None:
            raise failure
    except Exception as exc:
        if is_disk_full(exc):  # not queued: the database may be on the full disk too
            raise disk_full_error(
                exc, "print files", settings.print_dir, batch_id, settings.db_url
            ) from None
        failed = exc
        with_db_retry(lambda: _record_batch_failure(settings, batch_id, Stage.PRINT, failed, now))
        get_run_logger().warning(
            "print batch %s failed (%s): queued for rerun", batch_id, type(exc).__name__
        )
        return {**printed, "failed": 1}

    def resolved() -> None:
        with unit_of_work(settings.db_url, write=True) as session:
            resolve_failures(session, None, Stage.PRINT, batch_id=batch_id)
            session.commit()

    with_db_retry(resolved)
    return printed


def _record_batch_failure(
    settings: Settings, batch_id: str, stage: Stage, exc: BaseException, now: datetime
) -> None:
    with unit_of_work(settings.db_url, write=True) as session:
        record_failure(session, batch_id, None, stage, exc, now)
        session.commit()


def take_failure_items(settings: Settings, now: datetime, batch_id: str | None = None) -> set[str]:
    """Take failure-queue items for this run (tasks/queues/records.py take_failures): a batch's
    open ones for a person's rerun, else every batch's due ones. Returns their batches."""

    def take() -> set[str]:
        with unit_of_work(settings.db_url, write=True) as session:
            batches = take_failures(session, now, batch_id)
            session.commit()
            return batches

    return with_db_retry(take)


def settle_failure_items(settings: Settings, batch_id: str, now: datetime) -> dict[str, int]:
    """After the stages ran over a batch: schedule the next attempt of what failed, declare
    dead what failed too often, resolve what got through. Logs what a person must do."""

    def settle():  # type: ignore[no-untyped-def]
        with unit_of_work(settings.db_url, write=True) as session:
            settled = settle_failures(session, batch_id, settings.municipality.failures, now)
            session.commit()
            return settled

    settled = with_db_retry(settle)
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
    return {"resolved": settled.resolved, "pending": settled.pending, "dead": settled.dead}


def _run_chunks(
    settings: Settings,
    stage: Stage,
    state: ApplicationState,
    chunks: list[Chunk],
    submit: Callable[[Chunk], PrefectFuture],
    now: datetime,
    progress: Progress | None = None,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    # At most a few chunks per worker are submitted ahead, so that a stop (SIGTERM, Ctrl-C:
    # kofu/base/stops.py) starts no new chunk: those submitted run and are recorded, the rest
    # are never started and keep their state. Collected in submission order: the chunks run
    # side by side, so by the time one is collected the next ones are mostly done too.
    window = in_flight()
    pending = iter(chunks)
    futures: list[tuple[Chunk, PrefectFuture]] = []

    full: DiskFull | None = None

    def submit_next() -> None:
        if stops.requested() is None and full is None:
            chunk = next(pending, None)
            if chunk is not None:
                futures.append((chunk, submit(chunk)))

    for _ in range(window):
        submit_next()
    done = 0
    while done < len(futures):
        chunk, future = futures[done]
        done += 1
        try:
            counts.update(future.result())
        except Exception as exc:
            if is_disk_full(exc):
                # A full disk: every next chunk would fail the same. No new chunk starts,
                # the running ones finish, then the run stops with one line saying where.
                full = full or disk_full_error(
                    exc, stage.value, settings.data_dir, chunk.batch_id, settings.db_url
                )
                continue
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
        _tell(progress, stage.value, done, len(chunks))
        submit_next()
    if full is not None:
        raise full
    stops.check()  # the chunks not submitted wait for the next run
    return counts


def _assign_visits(settings: Settings, batch_id: str, issued_on: date, now: datetime) -> dict:
    try:
        counts = assign_visit_windows_task(settings, batch_id, issued_on)
    except Exception as exc:
        # Failed even after its retries: the batch's matched applications are queued at the
        # notice stage (they stay matched) and get their window and notice on the rerun.
        with unit_of_work(settings.db_url) as session:
            chunks = plan_chunks(session, batch_id, S.MATCHED, settings.municipality.chunk_size)
        failed = sum(
            _queue_chunk_failure(settings, Stage.NOTICES, S.MATCHED, chunk, exc, now)
            for chunk in chunks
        )
        get_run_logger().warning(
            "visit windows failed (%s): %d application(s) queued for rerun",
            type(exc).__name__,
            failed,
        )
        return {"failed": failed}
    if counts["no_window"]:
        get_run_logger().warning(
            "visit windows: %d application(s) got none before the pickup deadline;"
            " their notices ask them to book by phone",
            counts["no_window"],
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


def publish_summary(
    settings: Settings,
    batch_id: str,
    stage_counts: dict,
    issued_on: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """The artifacts of a run over one batch (flows/artifacts.py), and the batch's summary."""
    return publish_night(settings, [(batch_id, stage_counts)], issued_on, progress)[0]
