"""prefect.yaml against the code: every deployment's entrypoint loads, the way a worker loads
it, to a Prefect flow whose signature takes the deployment's parameters; what a flow needs
and the deployment does not give is asked for at run time, and is known to be; the nightly
schedule, its concurrency limit and the work pool are what the README promises."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
POOL = "kofu-process"
# Deployment -> flow parameters with no default that a person gives with each run (the UI's
# Run > Custom run, or `prefect deployment run ... --param`), as the README shows.
RUN_TIME_PARAMETERS = {"rerun-failed": {"batch_id"}}
# What staff type: `prefect deployment run '<flow name>/<deployment name>'`.
EXPECTED = {
    "nightly": "nightly-issuance",
    "rerun-failed": "rerun-failed",
    "demo": "kofu-demo",
    "monthly-stats": "monthly-stats",
}


def _config() -> dict:
    return yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def _deployments() -> list[dict]:
    return _config()["deployments"]


def _load(entrypoint: str):
    from prefect.flows import load_flow_from_entrypoint

    path, _, name = entrypoint.partition(":")
    assert (REPO_ROOT / path).is_file(), f"{entrypoint}: no file {path}"
    return load_flow_from_entrypoint(f"{REPO_ROOT / path}:{name}")


def test_the_deployments_are_the_ones_staff_are_told_about():
    deployments = _deployments()
    names = [d["name"] for d in deployments]
    assert len(names) == len(set(names)), names
    assert set(names) == set(EXPECTED)
    for d in deployments:
        assert _load(d["entrypoint"]).name == EXPECTED[d["name"]], d["name"]


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_entrypoint_is_a_flow_that_takes_the_deployment_parameters(deployment):
    from prefect import Flow

    flow = _load(deployment["entrypoint"])
    assert isinstance(flow, Flow), f"{deployment['entrypoint']} is not a Prefect flow"
    signature = inspect.signature(flow.fn)
    given = deployment.get("parameters") or {}
    unknown = set(given) - set(signature.parameters)
    assert not unknown, f"{deployment['name']}: the flow takes no {sorted(unknown)}"
    required = {
        name
        for name, p in signature.parameters.items()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    missing = required - set(given)
    assert missing == RUN_TIME_PARAMETERS.get(deployment["name"], set()), (
        f"{deployment['name']}: required at run time: {sorted(missing)}"
    )
    # The values have the types the flow declares (what Prefect checks when a run starts).
    flow.validate_parameters({**given, **{name: "2026-11-26" for name in missing}})
    # A run name template names only parameters the flow has.
    if isinstance(flow.flow_run_name, str):
        for field in re.findall(r"{(\w+)}", flow.flow_run_name):
            assert field in signature.parameters, f"{flow.flow_run_name!r}: no {field}"


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: d["name"])
def test_every_deployment_runs_on_the_process_pool(deployment):
    assert deployment["work_pool"]["name"] == POOL


def test_the_pool_is_the_one_make_serve_creates_as_a_process_pool():
    script = (REPO_ROOT / "scripts" / "serve").read_text(encoding="utf-8")
    assert f"POOL={POOL}\n" in script
    assert '"$POOL" --type process' in script


def test_nightly_runs_at_two_in_the_morning_japan_time_one_at_a_time():
    from prefect.client.schemas.schedules import CronSchedule

    nightly = next(d for d in _deployments() if d["name"] == "nightly")
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "Asia/Tokyo"}]
    CronSchedule(**nightly["schedules"][0])  # a schedule Prefect accepts
    assert nightly["concurrency_limit"] == 1
    # Nothing else is scheduled but the monthly figures: reruns and the demo are started by
    # a person.
    others = [d["name"] for d in _deployments() if d["name"] != "nightly" and d.get("schedules")]
    assert others == ["monthly-stats"]


def test_the_monthly_figures_come_on_the_first_of_each_month_japan_time():
    from prefect.client.schemas.schedules import CronSchedule

    stats = next(d for d in _deployments() if d["name"] == "monthly-stats")
    assert stats["schedules"] == [{"cron": "0 6 1 * *", "timezone": "Asia/Tokyo"}]
    CronSchedule(**stats["schedules"][0])
    assert stats["concurrency_limit"] == 1


def test_every_flow_run_starts_in_the_checkout_the_worker_is_given():
    assert _config()["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $KOFU_HOME }}"}}
    ]


def test_the_alert_automation_is_valid_and_waits_for_kofus_left_work_state():
    """config/prefect-automation.yaml, as `prefect automation create --from-file` reads it,
    and the server takes it: a trigger on the state a run that left work behind ends in."""
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    from kofu.flows.artifacts import COMPLETED_WITH_FAILURES

    data = yaml.safe_load((REPO_ROOT / "config" / "prefect-automation.yaml").read_text("utf-8"))
    automation = AutomationCore.model_validate(data)
    assert f"prefect.flow-run.{COMPLETED_WITH_FAILURES}" in automation.trigger.expect
    names = automation.trigger.match_related.get("prefect.resource.name")  # type: ignore[union-attr]
    assert set(names) == {EXPECTED["nightly"], EXPECTED["rerun-failed"]}
    with get_client(sync_client=True) as client:
        made = client.create_automation(automation)
        try:
            assert client.read_automation(made).name == automation.name
        finally:
            client.delete_automation(made)
