"""`kofu stats --month YYYY-MM [--json|--csv]`: the month's figures (tasks/stats/core.py says
what each one counts). Registered in kofu/cli/app.py as ``app.command("stats")(stats)``.

Counts only, nothing about a resident: not an audited read (like `kofu status`)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.cli.common import fail, load_settings, out, ready_db

# What a person reads beside each figure: Japanese as the national table names it, English.
LABELS = {
    "population": "人口 population (at the month's end)",
    "applications": "申請件数 applications",
    "handed_over": "交付枚数 cards handed over",
    "handed_over_total": "累計交付枚数 handed over, to the month's end",
    "handover_rate_percent": "人口に対する交付枚数率 % handed over / population",
    "pending_in_storage": "保管中の未交付枚数 in storage at the month's end",
    "returned": "返戻 notices returned",
    "reminded": "再通知 reminders",
    "destruction_due": "廃棄対象 due for destruction",
    "destroyed": "廃棄 destroyed",
    "days_to_handover_median": "申請から交付まで 中央値 days, median",
    "days_to_handover_mean": "申請から交付まで 平均 days, mean",
}


def stats(
    month: Annotated[
        str, typer.Option("--month", help="The month, YYYY-MM (a calendar month in Japan).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV on stdout, headers in English and Japanese.")
    ] = False,
) -> None:
    """The month's figures: population, applications, cards handed over and in storage."""
    from kofu.tasks.stats.core import figures_csv, figures_dict, figures_for, parse_month

    if as_json and as_csv:
        fail("--json and --csv: choose one")
    try:
        wanted = parse_month(month, datetime.now(UTC).astimezone(JST).date())
    except UserError as exc:
        fail(str(exc))
    settings = load_settings()
    ready_db(settings)
    from kofu.models.db import unit_of_work
    from kofu.tasks.stats.records import stats_input

    with unit_of_work(settings.db_url) as session:
        data = stats_input(session, [wanted])
    [figures] = figures_for([wanted], data)
    if as_json:
        print(json.dumps(figures_dict(figures), ensure_ascii=False, indent=2))
    elif as_csv:
        sys.stdout.write(figures_csv([figures]))
    else:
        out.print(_table(settings.municipality.name, figures))


def _table(municipality: str, figures):  # type: ignore[no-untyped-def]
    from rich.table import Table

    from kofu.tasks.stats.core import figures_dict, shown

    table = Table(title=f"{municipality} {figures.month}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures_dict(figures).items():
        if name in LABELS:
            table.add_row(LABELS[name], shown(value))
    return table
