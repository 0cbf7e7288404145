"""``kofu demo``: a synthetic register and delivery (kofu.tasks.demo), then a real nightly run
on them, and a check of each outcome against what the generator meant, shown on the terminal.
The ``demo`` deployment (flows/demo.py) does the same as a flow run."""

from __future__ import annotations

import os
from collections.abc import Callable

from rich.console import Console

from kofu.base.settings import Settings
from kofu.cli.console import lives_table, matching_table, summary_table
from kofu.tasks.demo.core import ensure_demo_key


def run_demo(
    make_settings: Callable[[], Settings], *, residents: int, applications: int, console: Console
) -> dict:
    ensure_demo_key()
    settings = make_settings()  # also points Prefect at a served server: import it after
    from kofu.flows.runners import runner_choice

    runner_choice()  # a wrong KOFU_TASK_RUNNER or KOFU_WORKERS: one line, before any data
    from kofu.flows.nightly import japan_today
    from kofu.flows.nightly import nightly as nightly_flow
    from kofu.tasks.demo.records import check_demo, demo_data

    demo_dir = settings.data_dir / "demo"
    console.print(
        f"[bold]1/4[/] writing a synthetic register ({residents} residents) and "
        f"a delivery ({applications} applications) under {demo_dir}"
    )
    truth, inserted, updated = demo_data(
        settings, residents=residents, applications=applications, today=japan_today()
    )
    console.print(f"[bold]2/4[/] register imported: {inserted} added, {updated} updated")

    console.print(
        f"[bold]3/4[/] nightly run on {truth.folder} (Prefect records in "
        f"{os.environ.get('PREFECT_HOME')})"
    )
    summary = nightly_flow(inbox=str(truth.folder), batch_id=None)
    agree, decisions = check_demo(settings, truth)

    console.print(summary_table(summary))
    console.print(matching_table(decisions))
    console.print(
        f"outcomes that match the generator's expectation: "
        f"{agree['as expected']}/{len(truth.outcomes)}"
    )
    console.print(f"notices:      {settings.notices_dir / summary['batch_id']}/")
    console.print(f"letters:      {settings.letters_dir / summary['batch_id']}/  (refused photos)")
    printed = summary["this_run"].get("print", {}).get("files") or ["(nothing new to print)"]
    console.print(f"print batch:  {', '.join(printed)}")
    console.print("same counts:  kofu status --json --batch-id " + summary["batch_id"])

    from kofu.flows.demo import two_months_after
    from kofu.tasks.demo.lives import DAYS

    console.print(
        f"[bold]4/4[/] {DAYS} days after the notice, swept with kofu lifecycle --as-of:"
        " mailings, returns, register changes, handovers, a hold and a destruction"
    )
    months, lived = two_months_after(settings, summary["batch_id"], japan_today())
    checked = lived["as expected"] + lived["differs"]
    if checked:
        console.print(lives_table(months))
        console.print(f"lives after the notice as meant: {lived['as expected']}/{checked}")
    else:
        console.print("no notice waits for its first mailing: the two months ran here before")
    console.print(
        f"reminders:    {settings.reminders_dir / summary['batch_id']}/  destruction lists:"
        f" {settings.destruction_dir}/"
    )
    console.print("one card:     kofu show APPLICATION_ID  (its dates after the notice)")
    console.print(
        f"the month:    kofu stats --month {japan_today():%Y-%m}  (人口, 申請件数, 交付枚数, …)"
    )
    summary["two_months"] = dict(lived)
    return summary
