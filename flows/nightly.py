"""The nightly issuance run: intake -> photos -> matching -> notices -> print batch, then
the sweep after the notice (flows/lifecycle.py).

Without ``inbox`` (the scheduled run), it takes in every delivery folder of the inbox that
is ready and not yet taken in, oldest first, each as its own batch (tasks/intake/inbox.py); a night
with none is a normal night. With ``inbox``, that one folder, ready or not. Then it carries
on the earlier batches: their failure-queue items that are due again, and work an earlier
run left (a killed run, a person's review decisions since). A run that leaves work behind
ends "Completed with failures" (flows/artifacts.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import State

from kofu.base import stops
from kofu.base.clock import JST
from kofu.base.errors import UserError, is_disk_full
from kofu.base.paths import check_batch_id
from kofu.base.secret import load_secret_key
from kofu.base.settings import Settings, get_settings
from kofu.flows.artifacts import Progress, final_state, left_behind, publish_night
from kofu.flows.deliveries import delivery_row, inbox_deliveries, run_intake
from kofu.flows.failures import take_failure_items
from kofu.flows.lease import begin_run, run_lock
from kofu.flows.lifecycle import after_the_notice
from kofu.flows.runners import KofuTaskRunner
from kofu.flows.stages import STAGE_STEPS, run_batch, stoppable
from kofu.models.db import upgrade_schema
from kofu.models.key_check import check_key
from kofu.tasks.chunks.records import batches_with_work
from kofu.tasks.chunks.retry import read_with_retry
from kofu.tasks.intake.inbox import Delivery
from kofu.tasks.reports.records import batch_summary

__all__ = ["JST", "japan_today", "nightly"]


def japan_today() -> date:
    # Business dates (notice date, deadline, batch name) follow Japan's calendar day.
    return datetime.now(UTC).astimezone(JST).date()


def _run_name() -> str:
    """`nightly 2026-11-26`: the batch the run works on, as staff know it, or the night."""
    params = flow_run.parameters
    inbox = params.get("inbox")
    return f"nightly {params.get('batch_id') or (Path(inbox).name if inbox else japan_today())}"


@flow(
    name="nightly-issuance",
    flow_run_name=_run_name,
    persist_result=False,
    # Threads, processes or a Dask cluster: KOFU_TASK_RUNNER, read at the run's start.
    task_runner=KofuTaskRunner(),
)
def nightly(inbox: str | None = None, batch_id: str | None = None) -> dict | State:
    # SIGTERM or Ctrl-C stops the run at the next chunk boundary (kofu/base/stops.py).
    return stoppable(lambda: _night(inbox, batch_id))


def _night(inbox: str | None, batch_id: str | None) -> dict | State:
    settings = get_settings()
    _check_parameters(inbox, batch_id)
    now = datetime.now(UTC)
    today = now.astimezone(JST).date()
    upgrade_schema(settings.db_url)
    check_key(settings.db_url, load_secret_key(settings))
    with run_lock(settings.db_url, flow_run.name or "nightly") as lock:
        begin_run(lock, settings)
        # Failure-queue items due for another attempt (tasks/queues/records.py), any batch's.
        due = take_failure_items(settings, now)
        deliveries = [Delivery(Path(inbox), "ready")] if inbox else inbox_deliveries(settings)
        ready = [d for d in deliveries if d.status == "ready"]
        steps = [f"{d.batch_id} {step}" for d in ready for step in ("intake", *STAGE_STEPS)]
        progress = Progress(
            flow_run.name or "nightly", [*steps, "earlier batches", "after the notice"]
        )
        done, refused = _tonight(settings, ready, inbox, batch_id, today, now, progress)
        not_taken = [d for d in deliveries if d.status == "refused"] + refused
        retried = _earlier_batches(settings, due, {b for b, _ in done}, today, now, progress)
        if retried and done:
            done[-1][1]["retried"] = retried
        # After the notice: reminders, reissues, holds and the destruction list
        # (flows/lifecycle.py), then what they left printed.
        after = _after_the_notice(settings, today, now)
        progress.step("after the notice")
        rows = None if inbox else [delivery_row(d, not_taken) for d in deliveries]
        summaries = publish_night(settings, done, today, progress, rows, settings.inbox_dir)
        result = dict(summaries[-1]) if summaries else _empty_night(settings)
        result.update(batches=summaries, deliveries=rows or [], retried=retried, lifecycle=after)
        return final_state(result, left_behind(settings), len(not_taken))


def _after_the_notice(settings: Settings, today: date, now: datetime) -> dict | None:
    """The sweep after the notice; its failure does not undo the night: the night's own
    artifacts still go out, and the next night sweeps again."""
    try:
        return after_the_notice(settings, today, now)
    except Exception as exc:
        if isinstance(exc, stops.RunStopped | UserError) or is_disk_full(exc):
            raise
        get_run_logger().error(
            "the sweep after the notice failed (%s): the next night sweeps again, or"
            " `kofu lifecycle` now",
            type(exc).__name__,
        )
        return None


def _check_parameters(inbox: str | None, batch_id: str | None) -> None:
    if batch_id and not inbox:
        raise UserError("batch_id names the batch of one inbox folder: give inbox too")
    # The parameters may come from a Prefect UI "Custom run": the batch id names folders.
    if inbox:
        check_batch_id(batch_id or Path(inbox).name, "batch_id" if batch_id else "inbox's name")


def _tonight(
    settings: Settings,
    ready: list[Delivery],
    inbox: str | None,
    batch_id: str | None,
    today: date,
    now: datetime,
    progress: Progress,
) -> tuple[list[tuple[str, dict]], list[Delivery]]:
    """Each ready delivery taken in and through the stages: (batch id, counts) of each, and
    the deliveries that could not be taken in (tried again next night)."""
    done: list[tuple[str, dict]] = []
    refused: list[Delivery] = []
    for delivery in ready:
        stops.check()
        name = batch_id if inbox and batch_id else delivery.batch_id
        try:
            intake = run_intake(settings, delivery.folder, name, today)
        except (UserError, OSError) as exc:
            if inbox:
                raise  # the one folder asked for: say why, with one line
            get_run_logger().error(
                "delivery %s not taken in (%s): it is tried again next night",
                delivery.folder.name,
                type(exc).__name__,
            )
            refused.append(Delivery(delivery.folder, "refused", "intake-failed"))
            continue
        progress.step(f"{name} intake")
        stops.check()
        counts = run_batch(settings, name, today, now, _Steps(progress, name))
        done.append((name, {"intake": intake, **counts}))
    return done, refused


class _Steps:
    """The stages' progress steps, named for the batch they run over."""

    def __init__(self, progress: Progress, batch_id: str) -> None:
        self.progress, self.batch_id = progress, batch_id

    def step(self, step: str, done: int = 1, total: int = 1) -> None:
        self.progress.step(f"{self.batch_id} {step}", done, total)


def _earlier_batches(
    settings: Settings,
    due: set[str],
    tonight: set[str],
    today: date,
    now: datetime,
    progress: Progress,
) -> dict[str, dict]:
    """Earlier batches' due failures, and the work earlier runs left: their stages again."""

    earlier = sorted((due | read_with_retry(settings.db_url, batches_with_work)) - tonight)
    retried = {}
    for n, batch in enumerate(earlier, start=1):
        stops.check()
        retried[batch] = run_batch(settings, batch, today, now)
        progress.step("earlier batches", n, len(earlier))
    return retried


def _empty_night(settings: Settings) -> dict:
    """Nothing taken in: no counts of tonight's own, the queues as they stand."""
    queues = read_with_retry(settings.db_url, lambda session: batch_summary(session, None))
    return {
        "batch_id": None,
        "applications": 0,
        "states": {},
        "rejected_lines": 0,
        **{k: queues[k] for k in ("failure_queue", "failure_dead", "review_queue")},
        "this_run": {},
    }
