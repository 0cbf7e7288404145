"""What staff see in the Prefect UI, checked in a real browser: a deployment from prefect.yaml
is run by a real process worker on a real Prefect server (`prefect server start`), then headless
Chromium opens the run's page and must show it Completed, and the run's `nightly-summary`
artifact must show the same count per application state as the database.

Both of Prefect's UIs are checked: the V2 UI, where the server's front page leads, and the V1
UI, which serves the links Prefect itself writes (`/runs/flow-run/<id>`) and which staff get
with its "Switch to V1 UI" button.

The browser is Debian's `chromium` package (scripts/install-chromium), driven by Playwright
with `executable_path`: Playwright's own browser download is not used. The test is skipped when
no Chromium (`chromium`, `chromium-browser` on PATH, or KOFU_CHROMIUM) or no Playwright is
found. On a failure, a screenshot of the page is saved in the test's tmp dir and named in the
message; the server's and the worker's logs are next to it."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import FONT_CACHE, TEST_KEY
from tests.helpers import db_env
from tests.prefect_server import (
    POOL,
    REPO_ROOT,
    PrefectServer,
    prefect_server_process,
    run_through_worker,
)


def _chromium() -> str | None:
    """The Chromium to drive: KOFU_CHROMIUM (a path or a command), else the first of
    `chromium` and `chromium-browser` on PATH."""
    wanted = os.environ.get("KOFU_CHROMIUM")
    if wanted:
        return shutil.which(wanted)
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = _chromium()
if CHROMIUM is None:
    pytest.skip(
        f"KOFU_CHROMIUM={os.environ['KOFU_CHROMIUM']} is not an executable Chromium"
        if os.environ.get("KOFU_CHROMIUM")
        else "no Chromium found (`chromium` or `chromium-browser` on PATH, or KOFU_CHROMIUM):"
        " run scripts/install-chromium (as root), or apt-get install chromium",
        allow_module_level=True,
    )
pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed: pip install -c constraints.txt -e '.[dev]'",
)

from playwright.sync_api import Browser, expect, sync_playwright  # noqa: E402

SUMMARY_KEY = "nightly-summary"
UI_TIMEOUT = 30_000  # ms: the UI is a single-page app; a first load on a busy machine is slow


@dataclass(frozen=True)
class Scenario:
    """A deployment from prefect.yaml whose run leaves a `nightly-summary` artifact."""

    deployment: str  # its name in prefect.yaml
    # Prepares the (empty) data directory and returns the run's parameters.
    parameters: Callable[[Path], dict]


def _nightly_parameters(data: Path) -> dict:
    """A register imported and a delivery in the inbox, as the night before a run."""
    from kofu.base.settings import get_settings
    from kofu.models.db import unit_of_work, upgrade_schema
    from kofu.tasks.demo.generator import write_demo_data
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    settings = get_settings()
    register_csv, truth = write_demo_data(
        data / "demo", seed=7, residents=600, applications=60, submitted_on=date(2026, 11, 26)
    )
    upgrade_schema(settings.db_url)
    with unit_of_work(settings.db_url, write=True) as session:
        upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
        session.commit()
    return {"inbox": str(truth.folder)}


NIGHTLY = Scenario("nightly", _nightly_parameters)
# flows/demo.py writes its own register and delivery and runs the nightly flow on them as a
# subflow, whose run carries the nightly-summary. A smaller town than prefect.yaml's default.
DEMO = Scenario("demo", lambda data: {"residents": 600, "applications": 60})

SCENARIO = DEMO  # the deployment this test runs


@dataclass
class FinishedRun:
    server: PrefectServer
    flow_run_id: str  # the deployment's run: what staff open
    flow_run_name: str
    artifact_id: str  # the run's nightly-summary (on the nightly subflow's run, in the demo)
    artifact_run_id: str
    artifact_run_name: str
    state_counts: dict[str, int]  # applications per state of the batch, from the database
    logs: Path


def _state_counts(db_url: str) -> dict[str, int]:
    """Applications per state of the batch taken in last (the only one, in a fresh data
    directory), counted in the database rather than by the code that made the artifact."""
    from kofu.models import Application
    from kofu.models.db import unit_of_work

    with unit_of_work(db_url) as session:
        batch = session.scalar(
            select(Application.batch_id).order_by(Application.id.desc()).limit(1)
        )
        rows = session.execute(
            select(Application.state, func.count())
            .where(Application.batch_id == batch)
            .group_by(Application.state)
        ).all()
    # The demo lives two months after the night: its cards have moved on from their notice
    # since the night's summary counted them. Each was notice_generated at the night's end.
    counts: dict[str, int] = {}
    for state, n in rows:
        name = "notice_generated" if state.value in AFTER_THE_NIGHT else state.value
        counts[name] = counts.get(name, 0) + n
    return counts


AFTER_THE_NIGHT = {
    "mailed",
    "returned",
    "reminded",
    "on_hold",
    "picked_up",
    "destruction_due",
    "destroyed",
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Iterator[FinishedRun]:
    """The scenario's deployment registered from prefect.yaml and run to its end by
    `prefect worker start --run-once`, on a server of this module's own."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        DeploymentFilter,
        DeploymentFilterName,
    )
    from prefect.client.schemas.sorting import ArtifactSort
    from prefect.deployments import run_deployment

    from kofu.base.settings import get_settings
    from kofu.flows.runtime import PREFECT_SETTINGS

    root = tmp_path_factory.mktemp("browser")
    data = root / "var"
    (data / "fonts").mkdir(parents=True)
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():  # converting the notice font takes ~10 s
        (data / "fonts" / cached.name).symlink_to(cached)
    with (
        pytest.MonkeyPatch.context() as mp,
        prefect_server_process(
            root,
            # The settings `make serve` gives its server (no promotional content in the UI...).
            **PREFECT_SETTINGS,
            # No scheduler: the nightly deployment's cron schedule must not give the worker a
            # run of its own to pick instead of (or besides) this test's.
            PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        ) as server,
    ):
        mp.setenv("KOFU_DATA_DIR", str(data))
        mp.setenv("KOFU_SECRET_KEY", TEST_KEY)
        for name, value in db_env(data).items():  # the module's own PostgreSQL database
            mp.setenv(name, value)
        parameters = SCENARIO.parameters(data)  # while the server starts

        server.wait_ready()
        server.cli("work-pool", "create", POOL, "--type", "process")
        server.cli("deploy", "--name", SCENARIO.deployment)
        with server.client() as client:
            [deployment] = client.read_deployments(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=[SCENARIO.deployment])
                )
            )
            # What the UI's Run button does.
            flow_run = run_deployment(name=deployment.id, parameters=parameters, timeout=0)
        worker_env = server.env(
            KOFU_HOME=str(REPO_ROOT),
            KOFU_DATA_DIR=str(data),
            KOFU_SECRET_KEY=TEST_KEY,
            **db_env(data),
        )
        done = run_through_worker(server, flow_run.id, worker_env, root, root / "worker.log")
        assert done.state == "Completed", (
            f"the {SCENARIO.deployment} deployment's run ended {done.state}; worker output:\n"
            f"{done.output[-6000:]}"
        )
        with server.client() as client:
            ran = client.read_flow_run(flow_run.id)
            [artifact] = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_KEY])),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
            artifact_run = client.read_flow_run(artifact.flow_run_id)
        yield FinishedRun(
            server=server,
            flow_run_id=str(ran.id),
            flow_run_name=ran.name,
            artifact_id=str(artifact.id),
            artifact_run_id=str(artifact_run.id),
            artifact_run_name=artifact_run.name,
            state_counts=_state_counts(get_settings().db_url),
            logs=root,
        )
    # Keep a font the run converted for the next tests (as conftest's kofu_env does).
    for made in (data / "fonts").iterdir():
        if (
            not made.is_symlink()
            and made.suffix == ".ttf"
            and not (FONT_CACHE / made.name).exists()
        ):
            shutil.copyfile(made, FONT_CACHE / made.name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system, closed (with its processes) in teardown."""
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # --no-sandbox: Chromium's sandbox refuses to run as root (CI containers);
            # --disable-dev-shm-usage: a container's small /dev/shm would crash the renderer.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


# The V2 UI is served under /v2 and the V1 UI at the root, on the server's port.
UI_BASES = {"v2": "/v2", "v1": ""}


@pytest.mark.parametrize("ui", UI_BASES)
def test_the_ui_shows_the_run_completed_and_its_summary_counts(
    ui: str, finished_run: FinishedRun, browser: Browser, tmp_path: Path
):
    run = finished_run
    assert run.state_counts.get("notice_generated", 0) > 0, run.state_counts  # a real night
    base = run.server.ui_url + UI_BASES[ui]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    step = "start"
    try:
        step = "the flow run's page shows the run Completed"
        page.goto(f"{base}/runs/flow-run/{run.flow_run_id}")
        expect(page).to_have_title(re.compile(re.escape(run.flow_run_name)), timeout=UI_TIMEOUT)
        expect(page.get_by_text("Completed", exact=True).first).to_be_visible(timeout=UI_TIMEOUT)

        if run.artifact_run_id != run.flow_run_id:
            step = f"the subflow run's page ({run.artifact_run_name}) shows it Completed"
            page.goto(f"{base}/runs/flow-run/{run.artifact_run_id}")
            expect(page).to_have_title(
                re.compile(re.escape(run.artifact_run_name)), timeout=UI_TIMEOUT
            )
            expect(page.get_by_text("Completed", exact=True).first).to_be_visible(
                timeout=UI_TIMEOUT
            )

        step = f"the run's Artifacts tab lists {SUMMARY_KEY}"
        tab = page.get_by_role("tab", name="Artifacts").or_(
            page.get_by_text("Artifacts", exact=True)
        )
        tab.first.click()
        page.get_by_role("link", name=re.compile(re.escape(SUMMARY_KEY))).click()
        expect(page).to_have_url(
            re.compile(rf"/artifacts/artifact/{run.artifact_id}"), timeout=UI_TIMEOUT
        )

        step = "the artifact's table shows the database's count per state"
        header = page.get_by_role("row").filter(has=page.get_by_role("columnheader"))
        expect(header.get_by_role("columnheader").nth(1)).to_have_text("count", timeout=UI_TIMEOUT)
        for state, count in sorted(run.state_counts.items()):
            step = f"the artifact's table shows {state} = {count}, as the database says"
            row = page.get_by_role("row").filter(has=page.get_by_text(state, exact=True))
            expect(row.get_by_role("cell").nth(1)).to_have_text(str(count), timeout=UI_TIMEOUT)
    except Exception as exc:
        shot = tmp_path / f"{ui}-failure.png"
        try:
            page.screenshot(path=shot, full_page=True)
            saved = f"screenshot: {shot}"
        except Exception as shot_error:  # the browser itself is gone
            saved = f"no screenshot ({shot_error})"
        raise AssertionError(
            f"{ui} UI, {step}: failed at {page.url}\n{saved}\n"
            f"server and worker logs: {run.logs}\n{exc}"
        ) from exc
    finally:
        context.close()
