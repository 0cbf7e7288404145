"""The `demo` deployment: what `kofu demo` does, as a flow run staff can start from the
Prefect UI. A synthetic register and delivery are written under the data directory and the
register imported; the real nightly flow then runs on the delivery as a subflow, so its
task runs and artifacts show in the UI under this run. Then two months of life after the
notice (tasks/demo/lives.py): mailings, returns, register changes, handovers, a hold and a
destruction, with the real lifecycle flow sweeping ``--as-of`` the days between. Without a configured key, the demo
makes its own key file in the data directory, as `kofu demo` does."""

from __future__ import annotations

from collections import Counter
from datetime import date

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from kofu.base.errors import UserError
from kofu.base.settings import Settings, get_settings
from kofu.flows.lifecycle import lifecycle
from kofu.flows.nightly import japan_today, nightly
from kofu.tasks.demo.core import DEMO_APPLICATIONS, DEMO_RESIDENTS, ensure_demo_key
from kofu.tasks.demo.lifecycle import TwoMonths, check_two_months, day_events, plan
from kofu.tasks.demo.lives import DAYS, FIRST_SWEEP, LAST_SWEEP, on
from kofu.tasks.demo.records import check_demo, demo_data
from kofu.tasks.reports.core import MATCH_KINDS, match_kind_counts

# The generator's households and mixes of cases need a few residents per application.
MAX_RESIDENTS = 200_000


def _run_name() -> str:
    """`demo 2026-11-26 (3000 residents, 300 applications)`."""
    params = flow_run.parameters
    return (
        f"demo {japan_today()} ({params.get('residents')} residents,"
        f" {params.get('applications')} applications)"
    )


@flow(name="kofu-demo", flow_run_name=_run_name, persist_result=False)
def demo(residents: int = DEMO_RESIDENTS, applications: int = DEMO_APPLICATIONS) -> dict:
    if not 100 <= residents <= MAX_RESIDENTS:
        raise UserError(f"residents must be between 100 and {MAX_RESIDENTS}")
    if not 1 <= applications <= residents // 2:
        raise UserError("applications must be between 1 and half the residents")
    logger = get_run_logger()
    ensure_demo_key()
    settings = get_settings()
    truth, inserted, updated = demo_data(
        settings, residents=residents, applications=applications, today=japan_today()
    )
    logger.info(
        "synthetic register imported (%d added, %d updated); delivery %s with %d lines",
        inserted,
        updated,
        truth.folder.name,
        len(truth.outcomes),
    )
    summary = nightly(inbox=str(truth.folder), batch_id=None)
    agree, decisions = check_demo(settings, truth)
    months, lived = two_months_after(settings, summary["batch_id"], japan_today())
    kinds = match_kind_counts(decisions)
    create_table_artifact(
        key="demo-check",
        table=[
            {"check": "outcomes as the generator meant", "count": agree["as expected"]},
            {"check": "outcomes that differ", "count": agree["differs"]},
            *({"check": label, "count": kinds[kind]} for kind, label in MATCH_KINDS.items()),
            {"check": "two months after the notice: as meant", "count": lived["as expected"]},
            {"check": "two months after the notice: differ", "count": lived["differs"]},
            *({"check": f"two months: {k}", "count": n} for k, n in months.events.items()),
        ],
        description=f"Demo batch {summary['batch_id']}: each application's outcome and"
        " matching tier against what the synthetic data generator meant, and how matching"
        " decided. The nightly run's own artifacts are on its subflow run.",
    )
    logger.info(
        "outcomes that match the generator's expectation: %d/%d",
        agree["as expected"],
        len(truth.outcomes),
    )
    return {
        "batch_id": summary["batch_id"],
        "states": summary["states"],
        "as_expected": agree["as expected"],
        "outcomes": len(truth.outcomes),
        "two_months": dict(lived),
    }


def two_months_after(settings: Settings, batch_id: str, day0: date) -> tuple[TwoMonths, Counter]:
    """The batch's cards through two months after the notice: each day's events, and the
    lifecycle flow as of the sweep days. Returns the lives and how many went as meant."""
    months = plan(settings, batch_id)
    for day in range(1, DAYS + 1):
        day_events(settings, months, batch_id, day0, day)
        if day in (FIRST_SWEEP, LAST_SWEEP):
            lifecycle(as_of=on(day0, day).isoformat())
    return months, check_two_months(settings, months, batch_id)
