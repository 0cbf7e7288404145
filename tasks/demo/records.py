"""The demo's database side: import the synthetic register, and check each outcome of the
night against what the generator meant (flows/demo.py and `kofu demo`)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from kofu.base.secret import load_secret_key
from kofu.base.settings import Settings
from kofu.models.db import unit_of_work, upgrade_schema
from kofu.tasks.audit.core import fingerprint
from kofu.tasks.demo.core import DEMO_SEED
from kofu.tasks.demo.generator import DeliveryTruth, write_demo_data
from kofu.tasks.register.core import read_register
from kofu.tasks.register.records import import_register
from kofu.tasks.reports.records import export_outcomes, match_methods


def demo_data(
    settings: Settings, *, residents: int, applications: int, today: date
) -> tuple[DeliveryTruth, int, int]:
    """Write the synthetic register and delivery under ``data_dir/demo`` and import the
    register. Returns the generator's truth and the residents added and updated."""
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
        result = import_register(
            session,
            rows,
            actor="demo",
            os_user=None,
            file=register_csv,
            file_print=fingerprint(register_csv),
            list_codes=False,
        )
        session.commit()
    return truth, result.inserted, result.updated


def check_demo(settings: Settings, truth: DeliveryTruth) -> tuple[Counter[str], list[dict]]:
    """How many outcomes agree with the generator ("as expected" / "differs"), and each
    application's matching decision (state, tier, review stage: no personal data)."""
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
