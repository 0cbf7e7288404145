"""The `monthly-stats` deployment: the figures of the twelve months ending with a month
(tasks/stats/core.py says what each counts), as files staff can open and as artifacts in the
Prefect UI. Scheduled on the 1st of each month (prefect.yaml), for the month just ended.

Files, under the data directory's ``stats/`` (each written whole or not at all):
- ``YYYY-MM.csv``: one line a month, headers in English and Japanese, UTF-8 with a
  byte-order mark so that Excel reads the Japanese;
- ``YYYY-MM.json``: the same figures, with the English names (``figures_json``);
- ``YYYY-MM.png``: the chart (tasks/stats/chart.py).

Artifacts, counts only:
- ``monthly-stats``: a table of the twelve months;
- ``monthly-stats-chart``: a markdown artifact showing the chart. Prefect's image artifact
  takes only a URL, and kofu serves no files over HTTP, so the PNG goes inside the markdown
  as a ``data:image/png;base64,`` image (about 30 KB): both of Prefect's UIs show it (checked
  in Chromium with Prefect 3.9, tests/e2e/test_stats_flow.py). An image artifact with that
  data URL shows the picture too, but prints the whole URL under it.

Reads only: it takes no run lock, and may run while a nightly run writes.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from kofu.base.atomic import write_bytes_atomic
from kofu.base.clock import JST
from kofu.base.settings import get_settings
from kofu.models.db import upgrade_schema
from kofu.tasks.chunks.retry import read_with_retry
from kofu.tasks.stats.chart import stats_chart
from kofu.tasks.stats.core import (
    COLUMNS,
    Month,
    figures_csv,
    figures_dict,
    figures_for,
    figures_json,
    parse_month,
    previous_month,
    shown,
    twelve_months,
)
from kofu.tasks.stats.records import stats_input

TABLE_KEY = "monthly-stats"
CHART_KEY = "monthly-stats-chart"


def _target(month: str | None) -> Month:
    today = datetime.now(UTC).astimezone(JST).date()
    return parse_month(month, today) if month else previous_month(today)


def _run_name() -> str:
    """`stats 2026-11`: the month reported on."""
    month = flow_run.parameters.get("month")
    try:
        return f"stats {_target(month)}"
    except Exception:  # a bad month: the run itself says what is wrong with it
        return "stats (bad month)"


@flow(name="monthly-stats", flow_run_name=_run_name, persist_result=False)
def monthly_stats(month: str | None = None) -> dict:
    """The twelve months ending with ``month`` (YYYY-MM; default: the last whole month in
    Japan time)."""
    logger = get_run_logger()
    settings = get_settings()
    target = _target(month)
    months = twelve_months(target)
    upgrade_schema(settings.db_url)
    data = read_with_retry(settings.db_url, lambda session: stats_input(session, months))
    rows = figures_for(months, data)
    chart = stats_chart(rows)

    folder = settings.stats_dir
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": folder / f"{target}.csv",
        "json": folder / f"{target}.json",
        "png": folder / f"{target}.png",
    }
    write_bytes_atomic(files["csv"], figures_csv(rows).encode("utf-8-sig"))
    document = json.dumps(figures_json(target, rows), ensure_ascii=False, indent=2) + "\n"
    write_bytes_atomic(files["json"], document.encode("utf-8"))
    write_bytes_atomic(files["png"], chart)
    logger.info("figures of %s to %s written to %s", months[0], target, folder)

    span = f"{months[0]}〜{target}"
    create_table_artifact(
        key=TABLE_KEY,
        table=[{COLUMNS[k]: shown(v) for k, v in figures_dict(r).items()} for r in rows],
        description=f"{settings.municipality.name}: monthly figures {span}"
        " (what each counts: tasks/stats/core.py)",
    )
    picture = base64.b64encode(chart).decode("ascii")
    create_markdown_artifact(
        key=CHART_KEY,
        markdown=(
            f"## {settings.municipality.name} 月次統計 {span}\n\n"
            f"![交付枚数・申請件数・保管中の未交付枚数 {span}](data:image/png;base64,{picture})\n\n"
            f"Files: `{files['csv'].name}`, `{files['json'].name}`, `{files['png'].name}`"
            f" in `{folder}`\n"
        ),
        description=f"Cards handed over, applications and cards in storage, {span}",
    )
    last = figures_dict(rows[-1])
    return {"month": target.label, "files": {k: str(v) for k, v in files.items()}, "figures": last}
