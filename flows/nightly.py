"""The nightly issuance run: intake -> photos -> matching -> notices -> print batch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.lease import begin_run, current_flow_run_id, held, holder_name
from flows.stages import (
    STAGE_STEPS,
    Progress,
    publish_summary,
    run_stages,
    settle_failure_items,
    take_failure_items,
)
from kofu.db import upgrade_schema
from kofu.runners import KofuTaskRunner
from kofu.settings import get_settings
from tasks.intake import intake_task

# Business dates (notice date, deadline, batch name) follow Japan's calendar day.
JST = ZoneInfo("Asia/Tokyo")


def japan_today() -> date:
    return datetime.now(UTC).astimezone(JST).date()


def _run_name() -> str:
    """`nightly 2026-11-26`: the batch the run works on, as staff know it."""
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
def nightly(inbox: str | None = None, batch_id: str | None = None) -> dict:
    settings = get_settings()
    now = datetime.now(UTC)
    today = now.astimezone(JST).date()
    folder = Path(inbox) if inbox else settings.data_dir / "inbox" / today.isoformat()
    batch_id = batch_id or folder.name
    upgrade_schema(settings.db_url)
    holder = holder_name(flow_run.name or f"nightly {batch_id}")
    with held(settings.db_url, holder, current_flow_run_id()) as lease:
        begin_run(lease, settings)
        progress = Progress(f"nightly {batch_id}", ("intake", *STAGE_STEPS, "earlier batches"))
        # Failure-queue items due for another attempt (tasks/queues.py), this batch's too.
        due = take_failure_items(settings, now)
        intake = intake_task(settings, folder, batch_id, today)
        progress.step("intake")
        get_run_logger().info(
            "intake %s: %d received, %d invalid, %d rejected lines, %d already taken in",
            batch_id,
            intake["received"],
            intake["invalid"],
            intake["rejected_lines"],
            intake["already_known"],
        )
        if intake["numbers_scrubbed"] is None:
            get_run_logger().warning(
                "intake %s: could not blank the individual numbers in %s (read-only?); delete"
                " the delivery once the run is checked",
                batch_id,
                folder / "applications.jsonl",
            )
        counts = run_stages(settings, batch_id, today, now, progress)
        counts["failures"] = settle_failure_items(settings, batch_id, now)
        # Earlier batches' failures whose next attempt time has passed: their stages again.
        retried = {}
        earlier_batches = sorted(due - {batch_id})
        for n, earlier in enumerate(earlier_batches, start=1):
            retried[earlier] = run_stages(settings, earlier, today, now)
            retried[earlier]["failures"] = settle_failure_items(settings, earlier, now)
            progress.step("earlier batches", n, len(earlier_batches))
        if retried:
            counts["retried"] = retried
        return publish_summary(
            settings, batch_id, {"intake": intake, **counts}, today, progress=progress
        )
