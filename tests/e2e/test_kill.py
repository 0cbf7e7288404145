"""A nightly run killed with SIGKILL, three times in a row at different points (during the
photo checks, while notices are written, while the print batch is assembled), then run to
the end: nothing lost, nothing done twice, no half-written file.

Each killed run is a real `kofu nightly` process in a process group of its own, so the kill
takes everything down at once, as a power cut would. The test watches the application
database and kills when the run is inside the stage it wants. Each next run starts the
moment the last one is dead: the run lock dies with its process, so it is never refused,
and it marks the killed run's Prefect flow run Crashed (the killed runs report to this
session's Prefect server, so the test can read their states)."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from kofu.base.settings import SAMPLE_CONFIG
from kofu.models import Application, ApplicationState, Notice, PrintBatch, RefusalLetter, RunLease
from kofu.models.db import unit_of_work
from tests.conftest import FONT_CACHE, TEST_KEY
from tests.helpers import db_env

S = ApplicationState
TRANSIENT = {S.RECEIVED, S.PHOTO_OK, S.MATCHED}


def _counts(db_url: str) -> tuple[Counter, int, int]:
    with unit_of_work(db_url) as session:
        query = select(Application.state, func.count()).group_by(Application.state)
        states = Counter({state: n for state, n in session.execute(query)})
        notices = session.scalar(select(func.count()).select_from(Notice)) or 0
        batches = session.scalar(select(func.count()).select_from(PrintBatch)) or 0
    return states, notices, batches


def _during_photos(states: Counter, notices: int, batches: int) -> bool:
    return states[S.RECEIVED] > 0 and sum(states.values()) > states[S.RECEIVED]


def _during_notices(states: Counter, notices: int, batches: int) -> bool:
    return notices > 0 and states[S.MATCHED] > 0


def _during_print(states: Counter, notices: int, batches: int) -> bool:
    # Every application has left the working states, and no batch file is recorded yet.
    return notices > 0 and batches == 0 and not states.keys() & TRANSIENT


KILL_POINTS = {"photos": _during_photos, "notices": _during_notices, "print": _during_print}


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    from kofu.tasks.demo.generator import write_demo_data

    folder = tmp_path_factory.mktemp("kill-demo")
    register_csv, truth = write_demo_data(
        folder, seed=7, residents=600, applications=150, submitted_on=date(2026, 11, 26)
    )
    config = folder / "municipality.toml"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    # Small chunks: each stage commits many times, so a kill lands between commits too.
    config.write_text(re.sub(r"chunk_size = \d+", "chunk_size = 15", text), encoding="utf-8")
    return register_csv, truth, config


def _kill_when(env: dict, inbox: Path, db_url: str, point: str) -> str:
    """Start a run, kill it inside ``point``, and return its Prefect flow run's id."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kofu.cli", "nightly", "--inbox", str(inbox)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the run ended (exit {process.returncode}) before the {point} stage")
            try:
                reached = KILL_POINTS[point](*_counts(db_url)) and _holder_run(db_url)
            except (OperationalError, ProgrammingError):  # no tables yet (SQLite, PostgreSQL)
                reached = None
            if reached:
                return reached
            time.sleep(0.01)
        pytest.fail(f"the {point} stage was not reached in time")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _holder_run(db_url: str) -> str | None:
    """The flow run id of the run holding the run lock, once it has written its record."""
    with unit_of_work(db_url) as session:
        lease = session.get(RunLease, "pipeline")
        return lease.flow_run_id if lease is not None else None


def test_killed_three_times_then_finished_loses_nothing_and_repeats_nothing(
    delivery, tmp_path, monkeypatch
):
    from kofu.flows.nightly import nightly
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    register_csv, truth, config = delivery
    data = tmp_path / "var"
    (data / "fonts").mkdir(parents=True)
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():  # the converted notice font, as kofu_env does
        (data / "fonts" / cached.name).symlink_to(cached)
    env_vars = {
        "KOFU_DATA_DIR": str(data),
        "KOFU_SECRET_KEY": TEST_KEY,
        "KOFU_CONFIG": str(config),
        **db_env(data),
    }
    for name, value in env_vars.items():
        monkeypatch.setenv(name, value)
    from kofu.base.settings import get_settings
    from kofu.models.db import upgrade_schema

    settings = get_settings()
    upgrade_schema(settings.db_url)
    with unit_of_work(settings.db_url, write=True) as session:
        upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
        session.commit()
    from prefect.client.orchestration import get_client

    env = {k: v for k, v in os.environ.items() if not k.startswith("KOFU_")}
    # The killed runs report to this session's Prefect server, which outlives them.
    env.update(env_vars, PREFECT_API_URL=str(get_client(sync_client=True).api_url))

    # No pause between a kill and the next run: the lock died with the killed process.
    killed = [_kill_when(env, truth.folder, settings.db_url, point) for point in KILL_POINTS]
    summary = nightly(inbox=str(truth.folder))

    # Each killed run was marked Crashed by the run after it.
    with get_client(sync_client=True) as client:
        states = [client.read_flow_run(UUID(run_id)).state for run_id in killed]
    assert [s.type.value for s in states] == ["CRASHED"] * 3
    assert all("died holding the run lock" in s.message for s in states)

    with unit_of_work(settings.db_url) as session:
        apps = {a.application_id: a for a in session.scalars(select(Application))}
        notices = list(session.scalars(select(Notice)))
        letters = list(session.scalars(select(RefusalLetter)))
    # Every application of the delivery is in exactly one final state, the one it was meant for.
    for expected in truth.outcomes:
        if expected.expected_state == "rejected-line":
            assert expected.application_id not in apps
            continue
        app = apps[expected.application_id]
        assert app.state.value == expected.expected_state, expected
    assert not {a.state for a in apps.values()} & TRANSIENT
    # One notice per application that reached notice_generated, and no other.
    generated = {a.id for a in apps.values() if a.state == S.NOTICE_GENERATED}
    assert sorted(n.application_pk for n in notices) == sorted(generated)
    # The notice files are exactly the recorded ones, whole, and no temp file is left.
    batch_dir = settings.notices_dir / summary["batch_id"]
    assert {p.name for p in batch_dir.iterdir()} == {Path(n.pdf_path).name for n in notices}
    for notice in notices:
        assert len(PdfReader(notice.pdf_path).pages) == 1
    assert not [p for p in data.rglob("*.tmp")]
    # The print batches hold every notice and letter exactly once, on the page the manifest says.
    printed: Counter[str] = Counter()
    for manifest in sorted(settings.print_dir.rglob("*.csv")):
        with manifest.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        pdf = manifest.with_suffix(".pdf")
        assert len(PdfReader(pdf).pages) == len(rows) + 1  # the cover sheet
        printed.update(row["notice_number"] for row in rows)
    expected_numbers = [n.notice_number for n in notices] + [r.letter_number for r in letters]
    assert printed == Counter(expected_numbers)
