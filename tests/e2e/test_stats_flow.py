"""The monthly-stats flow (flows/stats.py) on the records of tests/integration/test_stats.py:
the files it writes under stats/, its two artifacts read back through Prefect's client, and,
when a Chromium is there, the chart as both of Prefect's UIs show it."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from PIL import Image

from kofu.base.clock import JST
from kofu.tasks.stats.core import COLUMNS, previous_month, twelve_months
from tests.integration.test_stats import REPORTED, build_world, expected

DATA_URL = re.compile(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)")


def _artifacts(flow_run_id: UUID) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


def _png_in(markdown: str) -> Image.Image:
    [encoded] = DATA_URL.findall(markdown)
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    image.load()
    return image


def test_the_flow_writes_the_twelve_months_and_shows_them_in_the_ui(kofu_env):
    from kofu.flows.stats import CHART_KEY, TABLE_KEY, monthly_stats

    world = build_world(kofu_env.db_url)
    state = monthly_stats(month="2026-11", return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    months = twelve_months(REPORTED)
    want = [expected(world, m) for m in months]
    assert result["month"] == "2026-11" and result["figures"] == want[-1]

    folder = kofu_env.stats_dir
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-11.csv",
        "2026-11.json",
        "2026-11.png",
    ]
    raw = (folder / "2026-11.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # for Excel
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0] == list(COLUMNS.values())
    assert lines[1:] == [["" if v is None else str(v) for v in w.values()] for w in want]
    document = json.loads((folder / "2026-11.json").read_text(encoding="utf-8"))
    assert document["month"] == "2026-11" and document["months"] == want
    image = Image.open(folder / "2026-11.png")
    assert image.format == "PNG" and image.size == (800, 400)
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path  # owner-only, like every kofu file

    found = _artifacts(state.state_details.flow_run_id)
    assert set(found) == {TABLE_KEY, CHART_KEY}
    table = found[TABLE_KEY].data
    table = json.loads(table) if isinstance(table, str) else table
    assert [row[COLUMNS["month"]] for row in table] == [m.label for m in months]
    last = table[-1]
    assert last[COLUMNS["handed_over_total"]] == str(want[-1]["handed_over_total"])
    assert last[COLUMNS["handover_rate_percent"]] == f"{want[-1]['handover_rate_percent']:.1f}"
    chart = found[CHART_KEY]
    assert chart.type == "markdown"
    shown = _png_in(chart.data)
    assert shown.size == (800, 400)
    assert (
        base64.b64decode(DATA_URL.findall(chart.data)[0]) == (folder / "2026-11.png").read_bytes()
    )
    assert len(chart.data) < 60_000  # the whole chart travels in the artifact


def test_without_a_month_it_reports_the_last_whole_month(kofu_env):
    from kofu.flows.stats import monthly_stats

    state = monthly_stats(return_state=True)
    assert state.is_completed(), state.message
    month = previous_month(datetime.now(UTC).astimezone(JST).date())
    assert state.result()["month"] == month.label
    assert (kofu_env.stats_dir / f"{month}.csv").is_file()


@pytest.mark.parametrize("month", ["2026-13", "26-01", "2999-01"])
def test_a_bad_month_fails_the_run_with_one_line_and_writes_nothing(kofu_env, month):
    from kofu.flows.stats import monthly_stats

    state = monthly_stats(month=month, return_state=True)
    assert state.is_failed()
    assert ("must be YYYY-MM" in state.message) or ("no figures for" in state.message)
    assert not kofu_env.stats_dir.exists()


# --- In a browser: the chart in both of Prefect's UIs ---

CHROMIUM = (
    shutil.which(os.environ["KOFU_CHROMIUM"])
    if os.environ.get("KOFU_CHROMIUM")
    else shutil.which("chromium") or shutil.which("chromium-browser")
)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (scripts/install-chromium)")
def test_both_prefect_uis_show_the_chart(kofu_env, tmp_path: Path):
    """The markdown artifact's data-URL image, opened in headless Chromium on a real
    `prefect server`: a picture 800 px wide in the V2 UI (/v2) and in the V1 UI."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from kofu.flows.runtime import PREFECT_SETTINGS
    from kofu.flows.stats import CHART_KEY, monthly_stats
    from tests.prefect_server import prefect_server_process

    build_world(kofu_env.db_url)
    with prefect_server_process(
        tmp_path, **PREFECT_SETTINGS, PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false"
    ) as server:
        server.wait_ready()
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            state = monthly_stats(month="2026-11", return_state=True)
            assert state.is_completed(), state.message
        with server.client() as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

            [artifact] = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[CHART_KEY]))
            )
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
            try:
                for ui, base in (("v2", "/v2"), ("v1", "")):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(f"{server.ui_url}{base}/artifacts/artifact/{artifact.id}")
                    picture = page.locator('img[src^="data:image/png;base64,"]').first
                    try:
                        picture.wait_for(state="visible", timeout=30_000)
                        page.wait_for_function(
                            "img => img.complete && img.naturalWidth > 0",
                            arg=picture.element_handle(),
                            timeout=30_000,
                        )
                        width = picture.evaluate("img => img.naturalWidth")
                        assert width == 800, f"{ui}: the picture is {width} px wide"
                    except Exception as exc:
                        shot = tmp_path / f"{ui}-stats-chart.png"
                        page.screenshot(path=shot, full_page=True)
                        raise AssertionError(f"{ui} UI: no chart ({exc}); see {shot}") from exc
                    finally:
                        page.close()
            finally:
                browser.close()
