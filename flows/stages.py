"""Running the stages over a batch in chunks: shared by the nightly run and the rerun."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import date, datetime

from prefect import get_run_logger
from prefect.futures import PrefectFuture
from prefect.states import Cancelled, Failed, State

from kofu.base import stops
from kofu.base.errors import DiskFull, UserError, is_disk_full
from kofu.base.settings import Settings, get_settings, print_password
from kofu.flows.artifacts import Progress
from kofu.flows.failures import (
    queue_batch_failure,
    queue_chunk_failure,
    resolve_batch_failures,
    settle_failure_items,
)
from kofu.flows.runners import in_flight
from kofu.models import ApplicationState, Stage
from kofu.models.db import disk_full_error
from kofu.models.states import STAGE_INPUT
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import plan_chunks
from kofu.tasks.chunks.retry import read_with_retry, with_db_retry
from kofu.tasks.letters.task import write_letters_task
from kofu.tasks.matching.scoring import ScoringRules
from kofu.tasks.matching.task import match_task
from kofu.tasks.notices.task import generate_notices_task
from kofu.tasks.photos.task import check_photos_task
from kofu.tasks.printing.records import plan_print_files
from kofu.tasks.printing.task import print_file_task
from kofu.tasks.reminders.task import write_reminders_task
from kofu.tasks.visits.task import assign_visit_windows_task

# The steps of run_stages, in order, as the progress artifact names them.
STAGE_STEPS = (
    "photos",
    "letters",
    "reminders",
    "matching",
    "visit windows",
    "notices",
    "print batch",
)


def stoppable(run: Callable[[], dict | State]) -> dict | State:
    """A flow's body, stopped at a chunk boundary by SIGTERM or Ctrl-C (kofu/base/stops.py): the
    lock is released on the way out (models/run_lock.py ``held``), and the flow run ends
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


def run_batch(
    settings: Settings,
    batch_id: str,
    issued_on: date,
    now: datetime,
    progress: Progress | None = None,
) -> dict:
    """The stages over one batch (``run_stages``), then the books closed on its failure-queue
    items (flows/failures.py ``settle_failure_items``): the counts, with ``failures``."""
    counts = run_stages(settings, batch_id, issued_on, now, progress)
    counts["failures"] = settle_failure_items(settings, batch_id, now)
    return counts


def run_stages(
    settings: Settings,
    batch_id: str,
    issued_on: date,
    now: datetime,
    progress: Progress | None = None,
) -> dict:
    """photos -> letters -> reminders -> matching -> notices -> print batch, each in chunks of
    applications.
    ``progress`` is told as each chunk and step finishes (STAGE_STEPS)."""
    size = settings.municipality.chunk_size
    # Built here, before any chunk runs: a bad [matching] section stops the run with one line.
    rules = ScoringRules.from_settings(settings.municipality.matching)
    # Each stage's chunks, submitted to the task runner; the applications each chunk takes
    # wait in the stage's input state (STAGE_INPUT).
    stages: dict[Stage, Callable[[Chunk], PrefectFuture]] = {
        Stage.PHOTOS: lambda c: check_photos_task.submit(
            settings.db_url, settings.municipality.photo, c, now
        ),
        # Refused photos get their letter (再申請のお願い); the stage moves no application.
        Stage.LETTERS: lambda c: write_letters_task.submit(settings, c, issued_on, now),
        # Cards the sweep reminded get their reminder (再通知); no application moves either.
        Stage.REMINDERS: lambda c: write_reminders_task.submit(settings, c, now),
        Stage.MATCHING: lambda c: match_task.submit(settings.db_url, rules, c, now),
        Stage.NOTICES: lambda c: generate_notices_task.submit(settings, c, issued_on, now),
    }
    totals: dict[str, dict[str, int]] = {}
    for stage, submit in stages.items():
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
        chunks = _plan(settings, batch_id, stage, size)
        totals[stage.value] = dict(_run_chunks(settings, stage, chunks, submit, now, progress))
        _tell(progress, stage.value)
    stops.check()
    totals["print"] = _print_batch(settings, batch_id, issued_on, now)
    _tell(progress, "print batch")
    return totals


def _plan(settings: Settings, batch_id: str, stage: Stage, size: int) -> list[Chunk]:
    """The stage's chunks of the batch: a read of the flow's own (retried, tasks/chunks/retry.py)."""
    return read_with_retry(
        settings.db_url, lambda session: plan_chunks(session, batch_id, _input(stage), size)
    )


def _input(stage: Stage) -> ApplicationState:
    state = STAGE_INPUT[stage]
    assert state is not None, stage
    return state


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
        _collect_prints([print_file_task.submit(settings, p, issued_on) for p in plans], printed)
    except Exception as exc:
        if is_disk_full(exc):  # not queued: the database may be on the full disk too
            raise disk_full_error(
                exc, "print files", settings.print_dir, batch_id, settings.db_url
            ) from None
        queue_batch_failure(settings, batch_id, Stage.PRINT, exc, now)
        get_run_logger().warning(
            "print batch %s failed (%s): queued for rerun", batch_id, type(exc).__name__
        )
        return {**printed, "failed": 1}
    resolve_batch_failures(settings, batch_id, Stage.PRINT)
    return printed


def _collect_prints(futures: list[PrefectFuture], printed: dict) -> None:
    """Add up the files written; every file is waited for, so the good ones are counted,
    then the first failure is raised."""
    failure: Exception | None = None
    for future in futures:
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


def _run_chunks(
    settings: Settings,
    stage: Stage,
    chunks: list[Chunk],
    submit: Callable[[Chunk], PrefectFuture],
    now: datetime,
    progress: Progress | None = None,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    full: DiskFull | None = None

    def go_on() -> bool:
        # A stop (SIGTERM, Ctrl-C: kofu/base/stops.py) or a full disk starts no new chunk.
        return stops.requested() is None and full is None

    for done, (chunk, future) in enumerate(_submitted(chunks, submit, go_on), start=1):
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
            counts["failed"] += _chunk_failed(settings, stage, chunk, exc, now)
        _tell(progress, stage.value, done, len(chunks))
    if full is not None:
        raise full
    stops.check()  # the chunks not submitted wait for the next run
    return counts


def _submitted(
    chunks: list[Chunk], submit: Callable[[Chunk], PrefectFuture], go_on: Callable[[], bool]
) -> Iterator[tuple[Chunk, PrefectFuture]]:
    """Each chunk and its future, in submission order, the next chunk submitted as each one
    is collected, while ``go_on()``.

    At most a few chunks per worker are submitted ahead, so that a stop starts no new chunk:
    those submitted run and are recorded, the rest are never started and keep their state.
    Collected in submission order: the chunks run side by side, so by the time one is
    collected the next ones are mostly done too."""
    pending = iter(chunks)
    ahead: deque[tuple[Chunk, PrefectFuture]] = deque()

    def submit_next() -> None:
        chunk = next(pending, None) if go_on() else None
        if chunk is not None:
            ahead.append((chunk, submit(chunk)))

    for _ in range(in_flight()):
        submit_next()
    while ahead:
        yield ahead.popleft()
        submit_next()


def _chunk_failed(
    settings: Settings, stage: Stage, chunk: Chunk, exc: BaseException, now: datetime
) -> int:
    """The chunk failed even after its retries: queue each of its applications (they keep
    their last good state), so the run goes on with the other chunks."""
    failed = queue_chunk_failure(settings, stage, chunk, exc, now)
    get_run_logger().warning(
        "%s chunk %s failed (%s): %d application(s) queued for rerun",
        stage.value,
        chunk.label,
        type(exc).__name__,
        failed,
    )
    return failed


def _assign_visits(settings: Settings, batch_id: str, issued_on: date, now: datetime) -> dict:
    try:
        counts = assign_visit_windows_task(settings, batch_id, issued_on)
    except Exception as exc:
        # Failed even after its retries: the batch's matched applications are queued at the
        # notice stage (they stay matched) and get their window and notice on the rerun.
        size = settings.municipality.chunk_size
        chunks = _plan(settings, batch_id, Stage.NOTICES, size)
        failed = sum(
            queue_chunk_failure(settings, Stage.VISITS, chunk, exc, now) for chunk in chunks
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
