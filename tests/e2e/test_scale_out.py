"""Scale-out: chunk tasks on other processes, through the task runner the run starts with
(flows/runners.py), and two workers that are handed the same chunks.

- The real nightly flow on the default runner (a process pool) and on a local Dask cluster
  of two worker processes (prefect-dask): every application ends in a state, the run's
  counts equal a GROUP BY on the database, and the Dask run's chunks were taken by both
  workers, each chunk once (read back from the run's logs in Prefect's API).
- Every chunk submitted twice at once, to two Dask workers: between them the two copies
  process each chunk exactly once, whole, and the counts add up. On PostgreSQL the chunk
  lock (tasks/chunks/records.py claim_chunk) makes the second copy skip a chunk the first holds;
  on SQLite the one-writer lock and the state guard record it once.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from prefect import flow
from sqlalchemy import func, select

from kofu.flows.runners import KofuTaskRunner
from kofu.models import Application, ApplicationState, Notice
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY  # here, not in a test: a late import reruns its env reset
from tests.helpers import portrait_jpeg, write_delivery

S = ApplicationState
TAKEN = re.compile(
    r"chunk (\d+/\d+) of batch (\S+) \((\w+)\): (\d+) application\(s\) taken on (\S+), pid (\d+)"
)


@pytest.fixture
def small_chunks(kofu_env, tmp_path, monkeypatch):
    """kofu_env with chunks of 8 applications, so a small night has several per stage."""
    from kofu.base.settings import SAMPLE_CONFIG, get_settings

    config = tmp_path / "municipality.toml"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(re.sub(r"chunk_size = \d+", "chunk_size = 8", text), encoding="utf-8")
    monkeypatch.setenv("KOFU_CONFIG", str(config))
    return get_settings()


def _demo_night(settings, applications: int = 60):
    from kofu.tasks.demo.generator import write_demo_data
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    register_csv, truth = write_demo_data(
        settings.data_dir / "demo",
        seed=11,
        residents=applications * 5,
        applications=applications,
        submitted_on=date(2026, 11, 26),
    )
    with unit_of_work(settings.db_url, write=True) as session:
        upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
        session.commit()
    return truth


def _states(settings, batch_id: str) -> dict[str, int]:
    with unit_of_work(settings.db_url) as session:
        rows = session.execute(
            select(Application.state, func.count())
            .where(Application.batch_id == batch_id)
            .group_by(Application.state)
        ).all()
        notices = session.scalar(select(func.count()).select_from(Notice))
    return {**{state.value: n for state, n in rows}, "notices": notices}


def _taken_lines(flow_run_id, expected: int, timeout: float = 30.0) -> list[tuple]:
    """The "taken" lines the chunk tasks logged in the run, from Prefect's API. Dask workers
    send their logs from their own processes: wait until ``expected`` have arrived."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            logs, offset = [], 0
            while True:
                page = client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                    offset=offset,
                    limit=200,
                )
                logs += page
                offset += len(page)
                if len(page) < 200:
                    break
        taken = [m.groups() for log in logs if (m := TAKEN.search(log.message))]
        if len(taken) >= expected or time.monotonic() > deadline:
            return taken
        time.sleep(0.5)


@pytest.mark.parametrize("runner", ["processes", "dask"])
def test_nightly_on_two_worker_processes(small_chunks, monkeypatch, runner):
    """The real nightly flow with its chunks on two other processes: the default process
    pool, and a local Dask cluster of two workers as a real cluster would run them."""
    import os

    from kofu.flows.nightly import nightly

    monkeypatch.setenv("KOFU_TASK_RUNNER", runner)
    monkeypatch.setenv("KOFU_WORKERS", "2")
    settings = small_chunks
    truth = _demo_night(settings)
    batch = truth.folder.name

    state = nightly(inbox=str(truth.folder), return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()

    counted = _states(settings, batch)
    # Everything taken in ended somewhere past the stage inputs, and the run says so.
    assert {k: v for k, v in summary["states"].items() if v} == {
        k: v for k, v in counted.items() if k != "notices"
    }
    for waiting in (S.RECEIVED, S.PHOTO_OK, S.MATCHED):
        assert waiting.value not in counted
    expected = Counter(o.expected_state for o in truth.outcomes if o.application_id)
    assert counted[S.NOTICE_GENERATED.value] == expected[S.NOTICE_GENERATED.value]
    assert counted["notices"] == counted[S.NOTICE_GENERATED.value]

    # Each chunk taken once, by a process other than this one; both workers used.
    taken = _taken_lines(state.state_details.flow_run_id, expected=1)
    by_chunk = Counter((label, stage) for label, _batch, stage, *_ in taken)
    assert by_chunk and max(by_chunk.values()) == 1, by_chunk
    pids = {int(pid) for *_, pid in taken}
    assert os.getpid() not in pids
    assert len(pids) == 2, pids
    photo_chunks = {label for label, _b, stage, *_ in taken if stage == S.RECEIVED.value}
    total = int(next(iter(photo_chunks)).split("/")[1])
    assert len(photo_chunks) == total  # every photo chunk logged its taker


@pytest.fixture
def received_batch(small_chunks):
    """A batch of 56 received applications with real photos: 7 chunks of 8."""
    from kofu.base.secret import load_secret_key
    from kofu.tasks.intake.records import take_in_delivery
    from tests.helpers import application_line

    settings = small_chunks
    lines = [
        application_line(application_id=f"{n:023d}", photo=f"photos/{n}.jpg") for n in range(1, 57)
    ]
    photos = {f"photos/{n}.jpg": portrait_jpeg(n % 3) for n in range(1, 57)}
    folder = write_delivery(settings.data_dir / "inbox" / "b-twice", lines, photos)
    with unit_of_work(settings.db_url, write=True) as session:
        take_in_delivery(session, folder, "b-twice", load_secret_key(settings), date(2026, 11, 26))
        session.commit()
    return settings, "b-twice"


def test_two_workers_handed_the_same_chunks_process_each_once(received_batch, monkeypatch):
    """Every photo chunk submitted twice at once, on a Dask cluster of two workers: a chunk
    is processed whole by one of the two copies, the other gets nothing of it, and the
    counts add up to the batch."""
    from kofu.tasks.chunks.records import plan_chunks
    from kofu.tasks.photos.task import check_photos_task

    settings, batch = received_batch
    monkeypatch.setenv("KOFU_TASK_RUNNER", "dask")
    monkeypatch.setenv("KOFU_WORKERS", "2")
    now = datetime.now(UTC)
    with unit_of_work(settings.db_url) as session:
        chunks = plan_chunks(session, batch, S.RECEIVED, settings.municipality.chunk_size)
    assert len(chunks) == 7

    @flow(task_runner=KofuTaskRunner(), persist_result=False)
    def both_workers() -> list[tuple[str, dict, dict]]:
        rules = settings.municipality.photo
        pairs = [
            (
                c.label,
                check_photos_task.submit(settings.db_url, rules, c, now),
                check_photos_task.submit(settings.db_url, rules, c, now),
            )
            for c in chunks
        ]
        return [(label, a.result(), b.result()) for label, a, b in pairs]

    results = both_workers()
    total: Counter[str] = Counter()
    for label, first, second in results:
        done = [r for r in (first, second) if sum(r.values())]
        # One copy did the whole chunk; the other found it taken or already done.
        assert len(done) == 1, (label, first, second)
        assert sum(done[0].values()) == 8, (label, done)
        total.update(done[0])
    assert sum(total.values()) == 56
    counted = _states(settings, batch)
    assert counted.get(S.RECEIVED.value, 0) == 0
    assert sum(v for k, v in counted.items() if k != "notices") == 56
    assert total[S.PHOTO_OK.value] == counted.get(S.PHOTO_OK.value, 0)
    # On SQLite (no row locks) both copies may have checked a chunk's photos; the one-writer
    # lock and the state guard still record the chunk once, by one copy, whole.
