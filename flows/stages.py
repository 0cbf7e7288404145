"""Running the stages over a batch in chunks: shared by the nightly run and the rerun."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import PrefectFuture

from kofu.db import unit_of_work
from kofu.settings import Settings, print_password
from models import ApplicationState, Stage
from tasks.chunks import Chunk, chunk_applications, plan_chunks, with_db_retry
from tasks.letters import write_letters_task
from tasks.matching import match_task
from tasks.notices import generate_notices_task, plan_print_files, print_file_task
from tasks.photos import check_photos_task
from tasks.queues import record_failure, resolve_failures, settle_failures, take_failures
from tasks.reports import (
    batch_summary,
    failure_queue_counts,
    open_failures_by_code,
    previous_batch,
    print_batch_files,
    refusal_reasons,
    review_queue_age,
)
from tasks.scoring import ScoringRules
from tasks.visit_windows import assign_visit_windows_task, counter_load, notices_without_window

S = ApplicationState

# The steps of run_stages, in order, as the progress artifact names them.
STAGE_STEPS = ("photos", "letters", "matching", "visit windows", "notices", "print batch")


class Progress:
    """The run's progress artifact (key ``nightly-progress``, 0-100 %), moved as steps and
    their chunks finish. Each step weighs the same; within a step, each chunk its share.
    The UI is told only when the whole percent changes, so a night of thousands of chunks
    sends at most a hundred updates. Progress is a courtesy: if Prefect's API refuses an
    update, the run logs it once and goes on without."""

    KEY = "nightly-progress"

    def __init__(self, what: str, steps: Sequence[str]) -> None:
        self.what = what
        self.steps = list(steps)
        self.shown = 0.0
        self.artifact_id = None
        try:
            self.artifact_id = create_progress_artifact(
                progress=0.0, key=self.KEY, description=f"{what}: starting"
            )
        except Exception as exc:
            self._give_up(exc)

    def step(self, step: str, done: int = 1, total: int = 1) -> None:
        """``done`` of ``total`` parts of ``step`` are finished (a step not listed: ignored)."""
        if step not in self.steps:
            return
        part = done / total if total else 1.0
        percent = float(int(100 * (self.steps.index(step) + part) / len(self.steps)))
        if percent <= self.shown:
            return
        detail = f"{step} {done}/{total}" if total > 1 else step
        self._show(percent, f"{self.what}: {detail} done")

    def finish(self) -> None:
        self._show(100.0, f"{self.what}: finished")

    def _show(self, percent: float, description: str) -> None:
        if self.artifact_id is None:
            return
        try:
            update_progress_artifact(self.artifact_id, percent, description=description)
            self.shown = percent
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        self.artifact_id = None
        get_run_logger().warning(
            "progress artifact not updated (%s): the run goes on", type(exc).__name__
        )


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
    """Take failure-queue items for this run (tasks/queues.py take_failures): a batch's
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
            "batch %s: %d failure-queue item(s) failed %d times and are dead: fix the cause"
            " (`kofu queue list --kind failure`), then `kofu rerun --batch-id %s`",
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
    futures = [(chunk, submit(chunk)) for chunk in chunks]
    # Collected in submission order: the chunks run side by side, so by the time one is
    # collected the next ones are mostly done too.
    for done, (chunk, future) in enumerate(futures, start=1):
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
        _tell(progress, stage.value, done, len(futures))
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
    """The artifacts staff read in the Prefect UI after a run, under stable keys so each
    key's history runs from night to night: counts, codes, batch ids and file names only,
    never personal data.

    - ``nightly-summary``: applications per state, beside the previous batch's;
    - ``refusal-reasons``: the reason codes of invalid applications, refused photos and
      rejected lines, most frequent first;
    - ``review-queue``: open review items by stage and age;
    - ``failure-queue``: open failure-queue items by batch, stage, error code and status;
    - ``counter-load``: visit windows booked against capacity from ``issued_on``;
    - ``print-batches``: the batch's print files, their pages and sheets;
    - ``nightly-warnings``: only when the batch has open failures, what to do about them."""
    now = datetime.now(UTC)
    with unit_of_work(settings.db_url) as session:
        summary = batch_summary(session, batch_id)
        summary["notices_without_window"] = notices_without_window(session, batch_id)
        before = previous_batch(session, batch_id)
        earlier = batch_summary(session, before) if before is not None else None
        if earlier is not None:
            earlier["notices_without_window"] = notices_without_window(session, before)
        load = counter_load(session, settings.municipality, issued_on) if issued_on else []
        failures = open_failures_by_code(session, batch_id)
        queue = failure_queue_counts(session)
        reasons = refusal_reasons(session, batch_id)
        reviews = review_queue_age(session, now)
        printed = print_batch_files(session, batch_id)

    previous = dict(_summary_counts(earlier)) if earlier is not None else {}
    counts = _summary_counts(summary)
    # A state only the previous batch reached (mailed, say) shows too, at 0 tonight.
    counts += [(label, 0) for label in previous if label not in dict(counts)]
    rows = []
    for label, n in counts:
        was = previous.get(label)
        rows.append(
            {
                "state": label,
                "count": n,
                "previous batch": "-" if was is None else was,
                "difference": "-" if was is None else f"{n - was:+d}" if n != was else "0",
            }
        )
    create_table_artifact(
        key="nightly-summary",
        table=rows,
        description=f"Applications per state for batch {batch_id}"
        + (
            f"; *previous batch* is {before}, the delivery taken in before it, as it stands now"
            if before
            else " (no earlier batch to compare with)"
        ),
    )
    create_table_artifact(
        key="refusal-reasons",
        table=[{"outcome": o, "reason": r, "count": n} for o, r, n in reasons]
        or [{"outcome": "-", "reason": "(none: nothing refused in this batch)", "count": 0}],
        description=f"Why applications of batch {batch_id} were refused, most frequent first:"
        " invalid applications, refused photos (each reason counted once per application)"
        " and rejected lines",
    )
    create_table_artifact(
        key="review-queue",
        table=reviews,
        description=f"Open review items of every batch, by stage and by how long they have"
        f" waited, at {now:%Y-%m-%d %H:%M} UTC: `kofu queue list --kind review`",
    )
    create_table_artifact(
        key="failure-queue",
        table=[
            {"batch": b, "stage": st, "error code": code, "status": status, "items": n}
            for b, st, code, status, n in queue
        ]
        or [
            {
                "batch": "-",
                "stage": "-",
                "error code": "(none: the failure queue is empty)",
                "status": "-",
                "items": 0,
            }
        ],
        description="Failure-queue items not yet resolved, of every batch: `kofu queue list"
        " --kind failure`. *pending*: the next nightly run takes it again; *dead*: fix the"
        " cause, then `kofu rerun --batch-id BATCH` or the `rerun-failed` deployment",
    )
    if load:
        create_table_artifact(
            key="counter-load",
            table=load,
            description=f"Visit windows booked against capacity, per counter and open day,"
            f" from {issued_on}",
        )
    made_now = {Path(f).name for f in (stage_counts.get("print") or {}).get("files", [])}
    create_table_artifact(
        key="print-batches",
        table=[{**f, "made": "this run" if f["file"] in made_now else "earlier"} for f in printed]
        or [
            {
                "file": "(none: nothing printed for this batch yet)",
                "pages": 0,
                "sheets": 0,
                "notices": 0,
                "letters": 0,
                "made": "-",
            }
        ],
        description=f"Print files of batch {batch_id} in {settings.print_dir.name}/{batch_id}/:"
        " one-sided A4, one sheet a page, the cover sheet included",
    )
    if failures:
        create_markdown_artifact(
            key="nightly-warnings",
            markdown=_failure_warning(batch_id, failures),
            description=f"Technical failures waiting in the failure queue for batch {batch_id}",
        )
    if progress is not None:
        progress.finish()
    summary["this_run"] = stage_counts
    return summary


def _summary_counts(summary: dict) -> list[tuple[str, int]]:
    """The nightly-summary's rows: each state's count, then the lines and queues."""
    return [
        *summary["states"].items(),
        ("rejected lines", summary["rejected_lines"]),
        ("failure queue (open)", summary["failure_queue"]),
        ("failure queue (dead: needs a person)", summary["failure_dead"]),
        ("review queue (open)", summary["review_queue"]),
        ("notices without a visit window", summary["notices_without_window"]),
    ]


def _failure_warning(batch_id: str, failures: list[tuple[str, str, str, int]]) -> str:
    """Counts by stage, error code and status, and what to do: codes only, never personal
    data. (An item for the batch's print step counts as one.)"""
    lines = [
        f"# {sum(n for *_, n in failures)} item(s) of batch {batch_id} failed",
        "",
        "The run went on with the rest. These keep their last good state and wait in the",
        "failure queue (`kofu queue list --kind failure`). A *pending* item is taken again by",
        "the next nightly run; a *dead* one failed too often and waits for a person. Fix the",
        f"cause, then rerun them with `kofu rerun --batch-id {batch_id}` or the `rerun-failed`",
        "deployment in the Prefect UI.",
        "",
        "| stage | error code | status | items |",
        "|---|---|---|---|",
    ]
    lines += [f"| {stage} | {code} | {status} | {n} |" for stage, code, status, n in failures]
    return "\n".join(lines) + "\n"
