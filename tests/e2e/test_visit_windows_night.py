"""Visit windows through one real Prefect flow run (the assignment itself:
tests/integration/test_visit_windows.py)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from kofu.models import Application, VisitWindow
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY


def test_a_nightly_run_gives_every_notice_a_window_and_publishes_the_load(kofu_env, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from kofu.flows.nightly import nightly
    from kofu.tasks.demo.generator import write_demo_data
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    register_csv, truth = write_demo_data(
        kofu_env.data_dir / "demo",
        seed=11,
        residents=150,
        applications=30,
        submitted_on=date(2026, 11, 26),
    )
    with unit_of_work(kofu_env.db_url, write=True) as session:
        upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
        session.commit()

    summary = nightly(inbox=str(truth.folder), batch_id="visits-night")

    notices = summary["states"]["notice_generated"]
    assert notices > 15
    assert summary["notices_without_window"] == 0
    assert summary["this_run"]["visits"] == {"assigned": notices, "no_window": 0}
    with unit_of_work(kofu_env.db_url) as session:
        batch_apps = select(Application.id).where(Application.batch_id == "visits-night")
        booked = session.scalar(
            select(func.count())
            .select_from(VisitWindow)
            .where(VisitWindow.application_pk.in_(batch_apps))
        )
    assert booked == notices

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["counter-load"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert artifacts  # the newest: this run's (Prefect's records are shared by the session)
    table = artifacts[0].data
    table = table if isinstance(table, list) else json.loads(table)
    assert sum(row["booked"] for row in table) >= notices
    assert all(row["booked"] <= row["capacity"] for row in table)
    # Counts and counter names only: no resident's name reaches the artifact.
    assert set(table[0]) == {"counter", "date", "booked", "capacity", "load"}
