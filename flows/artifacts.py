"""What staff see in the Prefect UI after a run: its artifacts, and its final state.

Artifacts have stable keys, one of each per run, so each key's history runs from night to
night. They hold counts, codes, batch ids and file names only, never personal data:

- ``nightly-summary``: applications per state, beside the previous batch's;
- ``refusal-reasons``: the reason codes of invalid applications, refused photos and
  rejected lines, most frequent first;
- ``review-queue``: open review items by stage and age;
- ``failure-queue``: open failure-queue items by batch, stage, error code and status;
- ``counter-load``: visit windows booked against capacity from the night's date;
- ``print-batches``: the batch's print files, their pages and sheets;
- ``nightly-warnings``: only when a batch has open failures, what to do about them;
- ``nightly-deliveries``: only when the run looked through the inbox: each delivery folder,
  and whether it was taken in, waits for its READY file, or could not be taken in;
- ``nightly-progress``: 0-100 %, moved as the stages' chunks finish.

A night that took in several deliveries shows each batch's rows one after the other, with a
``batch`` column. A run that left work behind (open failure-queue items, or a delivery it
could not take in) ends in the state "Completed with failures" (``final_state``): still a
completed run, but the runs list tells it from a clean night, and an automation can alert
on it.
"""

from __future__ import annotations

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
from prefect.states import Completed, State

from kofu.base.clock import JST
from kofu.base.settings import Settings
from kofu.models.db import unit_of_work
from kofu.tasks.reports.records import (
    batch_summary,
    failure_queue_counts,
    open_failures_by_code,
    previous_batch,
    print_batch_files,
    refusal_reasons,
    review_queue_age,
)
from kofu.tasks.visits.records import counter_load, notices_without_window

# The state a run that left work behind ends in (a COMPLETED state by type).
COMPLETED_WITH_FAILURES = "Completed with failures"


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


def _batch_rows(settings: Settings, batch_id: str, stage_counts: dict) -> dict:
    with unit_of_work(settings.db_url) as session:
        summary = batch_summary(session, batch_id)
        summary["notices_without_window"] = notices_without_window(session, batch_id)
        before = previous_batch(session, batch_id)
        earlier = batch_summary(session, before) if before is not None else None
        if earlier is not None:
            earlier["notices_without_window"] = notices_without_window(session, before)
        reasons = refusal_reasons(session, batch_id)
        printed = print_batch_files(session, batch_id)
        failures = open_failures_by_code(session, batch_id)
    summary["this_run"] = stage_counts
    return {
        "summary": summary,
        "before": before,
        "earlier": earlier,
        "reasons": reasons,
        "printed": printed,
        "failures": failures,
    }


# Each batch's report (``_batch_rows``), by batch id, in the order the run took them.
Reports = list[tuple[str, dict]]


def _rows(reports: Reports, rows_of: Callable[[dict], list[dict]]) -> list[dict]:
    """Each batch's rows one after the other, with a ``batch`` column when there are several."""
    several = len(reports) > 1
    return [
        {"batch": b, **row} if several else row for b, report in reports for row in rows_of(report)
    ]


def _names(reports: Reports) -> str:
    return ", ".join(b for b, _ in reports)


def publish_night(
    settings: Settings,
    batches: list[tuple[str, dict]],
    issued_on: date | None,
    progress: Progress | None = None,
    deliveries: list[dict] | None = None,
    inbox: Path | None = None,
) -> list[dict]:
    """Publish the run's artifacts for ``batches`` (batch id, the run's stage counts), and
    return each batch's summary (its counts now, with ``this_run``)."""
    now = datetime.now(UTC)
    reports = [(batch_id, _batch_rows(settings, batch_id, counts)) for batch_id, counts in batches]
    if reports:
        _publish_states(reports)
        _publish_reasons(reports)
        _publish_prints(settings, reports)
    else:
        _publish_no_delivery(inbox)
    _publish_queues(settings, now)
    if issued_on is not None:
        _publish_counter_load(settings, issued_on)
    _publish_warnings(reports)
    if deliveries is not None:
        _publish_deliveries(deliveries, inbox)
    if progress is not None:
        progress.finish()
    return [report["summary"] for _, report in reports]


def publish_summary(
    settings: Settings,
    batch_id: str,
    stage_counts: dict,
    issued_on: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """The artifacts of a run over one batch (a rerun), and the batch's summary."""
    return publish_night(settings, [(batch_id, stage_counts)], issued_on, progress)[0]


def _publish_states(reports: Reports) -> None:
    """``nightly-summary``: applications per state, beside the previous batch's."""
    create_table_artifact(
        key="nightly-summary",
        table=_rows(reports, _state_rows),
        description=f"Applications per state for batch {_names(reports)}{_compared(reports)}",
    )


def _compared(reports: Reports) -> str:
    """What the *previous batch* column compares with: shown for one batch only."""
    if len(reports) > 1:
        return ""
    before = reports[0][1]["before"]
    if before:
        return f"; *previous batch* is {before}, the delivery taken in before it, as it stands now"
    return " (no earlier batch to compare with)"


def _publish_reasons(reports: Reports) -> None:
    """``refusal-reasons``: the reason codes of what was refused, most frequent first."""
    create_table_artifact(
        key="refusal-reasons",
        table=_rows(reports, _reason_rows)
        or [{"outcome": "-", "reason": "(none: nothing refused in this batch)", "count": 0}],
        description=f"Why applications of batch {_names(reports)} were refused, most frequent"
        " first: invalid applications, refused photos (each reason counted once per"
        " application) and rejected lines",
    )


def _reason_rows(report: dict) -> list[dict]:
    return [{"outcome": o, "reason": r, "count": n} for o, r, n in report["reasons"]]


def _publish_prints(settings: Settings, reports: Reports) -> None:
    """``print-batches``: the batch's print files, made by this run or an earlier one."""
    create_table_artifact(
        key="print-batches",
        table=_rows(reports, _print_rows)
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
        description=f"Print files of batch {_names(reports)} in {settings.print_dir.name}/<batch>/:"
        " one-sided A4, one sheet a page, the cover sheet included",
    )


def _print_rows(report: dict) -> list[dict]:
    made_now = {
        Path(f).name for f in (report["summary"]["this_run"].get("print") or {}).get("files", [])
    }
    return [
        {**f, "made": "this run" if f["file"] in made_now else "earlier"} for f in report["printed"]
    ]


def _publish_no_delivery(inbox: Path | None) -> None:
    """``nightly-summary`` of a night that took nothing in."""
    folder = inbox.name if inbox else "the inbox"
    create_table_artifact(
        key="nightly-summary",
        table=[{"state": "(no delivery tonight: nothing taken in)", "count": 0}],
        description=f"No delivery folder in {folder} was ready to take in (a folder is"
        " ready once its READY file is written); due failure-queue items were retried",
    )


def _publish_counter_load(settings: Settings, issued_on: date) -> None:
    """``counter-load``: visit windows booked against capacity, when there are any."""
    with unit_of_work(settings.db_url) as session:
        load = counter_load(session, settings.municipality, issued_on)
    if load:
        create_table_artifact(
            key="counter-load",
            table=load,
            description=f"Visit windows booked against capacity, per counter and open day,"
            f" from {issued_on}",
        )


def _publish_warnings(reports: Reports) -> None:
    """``nightly-warnings``: only when a batch has open failures."""
    failures = [(b, f) for b, report in reports for f in report["failures"]]
    if failures:
        create_markdown_artifact(
            key="nightly-warnings",
            markdown=_failure_warning(failures),
            description="Technical failures waiting in the failure queue for batch"
            f" {_names(reports)}",
        )


def _publish_deliveries(deliveries: list[dict], inbox: Path | None) -> None:
    """``nightly-deliveries``: each delivery folder of the inbox, and what became of it."""
    create_table_artifact(
        key="nightly-deliveries",
        table=deliveries
        or [{"folder": "(none: the inbox holds no delivery folder)", "outcome": "-"}],
        description=f"Delivery folders in {inbox or 'the inbox'}: taken in tonight, taken"
        " in before, waiting for their READY file, or not taken in (tried again next night)",
    )


def _publish_queues(settings: Settings, now: datetime) -> None:
    with unit_of_work(settings.db_url) as session:
        queue = failure_queue_counts(session)
        reviews = review_queue_age(session, now)
    create_table_artifact(
        key="review-queue",
        table=reviews,
        description=f"Open review items of every batch, by stage and by how long they have"
        f" waited, at {now.astimezone(JST):%Y-%m-%d %H:%M} JST: `kofu queue list --kind review`",
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


def _state_rows(report: dict) -> list[dict]:
    previous = dict(_summary_counts(report["earlier"])) if report["earlier"] is not None else {}
    counts = _summary_counts(report["summary"])
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
    return rows


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


def _failure_warning(failures: list[tuple[str, tuple[str, str, str, int]]]) -> str:
    """Counts by batch, stage, error code and status, and what to do: codes only, never
    personal data. (An item for the batch's print step counts as one.)"""
    batches = sorted({b for b, _ in failures})
    lines = [
        f"# {sum(f[3] for _, f in failures)} item(s) of batch {', '.join(batches)} failed",
        "",
        "The run went on with the rest. These keep their last good state and wait in the",
        "failure queue (`kofu queue list --kind failure`). A *pending* item is taken again by",
        "the next nightly run; a *dead* one failed too often and waits for a person. Fix the",
        f"cause, then rerun them with `kofu rerun --batch-id {batches[0]}` or the `rerun-failed`",
        "deployment in the Prefect UI.",
        "",
        "| stage | error code | status | items |",
        "|---|---|---|---|",
    ]
    if len(batches) > 1:
        lines[-2:] = ["| batch | stage | error code | status | items |", "|---|---|---|---|---|"]
        lines += [f"| {b} | {s} | {c} | {st} | {n} |" for b, (s, c, st, n) in failures]
    else:
        lines += [f"| {s} | {c} | {st} | {n} |" for _, (s, c, st, n) in failures]
    return "\n".join(lines) + "\n"


def left_behind(settings: Settings) -> int:
    """Failure-queue items of any batch still open after the run."""
    with unit_of_work(settings.db_url) as session:
        return sum(n for *_, n in failure_queue_counts(session))


def final_state(result: dict, open_failures: int, not_taken_in: int) -> dict | State:
    """The run's result, as a plain return when the night is clean, or inside a COMPLETED
    state named "Completed with failures" when it left work behind."""
    result["open_failures"], result["not_taken_in"] = open_failures, not_taken_in
    result["left_work"] = bool(open_failures or not_taken_in)
    if not result["left_work"]:
        return result
    what = []
    if open_failures:
        what.append(f"{open_failures} failure-queue item(s) open (kofu queue list --kind failure)")
    if not_taken_in:
        what.append(f"{not_taken_in} delivery folder(s) could not be taken in")
    return Completed(name=COMPLETED_WITH_FAILURES, message="; ".join(what), data=result)
