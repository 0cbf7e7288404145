"""``kofu demo`` and the ``demo`` deployment (flows/demo.py): a synthetic register and
delivery, then a real nightly run on them, and a check of each outcome against what the
generator meant."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

from rich.console import Console

from kofu.console import matching_table, summary_table
from kofu.demo_data import DeliveryTruth
from kofu.settings import Settings

DEMO_SEED = 20261126
# What `kofu demo` and the demo deployment generate unless told otherwise: small enough to
# run in well under a minute once the notice font is converted.
DEMO_RESIDENTS = 3000
DEMO_APPLICATIONS = 300


def ensure_demo_key() -> None:
    """The demo keeps its own key file (owner-only) unless a key is configured already."""
    if os.environ.get("KOFU_SECRET_KEY") or os.environ.get("KOFU_SECRET_KEY_FILE"):
        return
    from kofu.secret import create_key_file

    data_dir = Path(os.environ.get("KOFU_DATA_DIR", "var"))
    os.environ["KOFU_SECRET_KEY_FILE"] = str(create_key_file(data_dir / "secret.key"))


def demo_data(
    settings: Settings, *, residents: int, applications: int, today: date
) -> tuple[DeliveryTruth, int, int]:
    """Write the synthetic register and delivery under ``data_dir/demo`` and import the
    register. Returns the generator's truth and the residents added and updated."""
    from kofu.db import unit_of_work, upgrade_schema
    from kofu.demo_data import write_demo_data
    from kofu.secret import load_secret_key
    from tasks.audit import fingerprint, record_import
    from tasks.register import read_register, upsert_residents

    register_csv, truth = write_demo_data(
        settings.data_dir / "demo",
        seed=DEMO_SEED,
        residents=residents,
        applications=applications,
        submitted_on=today,
    )
    upgrade_schema(settings.db_url)
    rows = read_register(register_csv, load_secret_key(settings))
    with unit_of_work(settings.db_url, write=True) as session:
        result = upsert_residents(session, rows)
        record_import(
            session,
            actor="demo",
            os_user=None,
            file=register_csv,
            file_print=fingerprint(register_csv),
            inserted=result.inserted,
            updated=result.updated,
            codes=None,
        )
        session.commit()
    return truth, result.inserted, result.updated


def check_demo(settings: Settings, truth: DeliveryTruth) -> tuple[Counter[str], list[dict]]:
    """How many outcomes agree with the generator ("as expected" / "differs"), and each
    application's matching decision (state, tier, review stage: no personal data)."""
    from kofu.db import unit_of_work
    from tasks.reports import export_outcomes, match_methods

    with unit_of_work(settings.db_url) as session:
        outcomes = {o["application_id"]: o for o in export_outcomes(session, truth.folder.name)}
        methods = match_methods(session, truth.folder.name)
    agree: Counter[str] = Counter()
    for expected in truth.outcomes:
        got = outcomes.get(expected.application_id)
        if expected.expected_state == "rejected-line":
            agree["as expected" if got is None else "differs"] += 1
        elif (
            got
            and got["state"] == expected.expected_state
            and all(r in got["reasons"] for r in expected.reasons)
            and methods[expected.application_id]["method"] == expected.match_method
        ):
            agree["as expected"] += 1
        else:
            agree["differs"] += 1
    return agree, list(methods.values())


def run_demo(
    make_settings: Callable[[], Settings], *, residents: int, applications: int, console: Console
) -> dict:
    ensure_demo_key()
    settings = make_settings()  # also points Prefect at a served server: import it after
    from kofu.runners import runner_choice

    runner_choice()  # a wrong KOFU_TASK_RUNNER or KOFU_WORKERS: one line, before any data
    from flows.nightly import japan_today
    from flows.nightly import nightly as nightly_flow

    demo_dir = settings.data_dir / "demo"
    console.print(
        f"[bold]1/3[/] writing a synthetic register ({residents} residents) and "
        f"a delivery ({applications} applications) under {demo_dir}"
    )
    truth, inserted, updated = demo_data(
        settings, residents=residents, applications=applications, today=japan_today()
    )
    console.print(f"[bold]2/3[/] register imported: {inserted} added, {updated} updated")

    console.print(
        f"[bold]3/3[/] nightly run on {truth.folder} (Prefect records in "
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
    return summary
