"""A `kofu nightly` stopped half-way: by SIGTERM to its process group (a service manager),
by SIGTERM to its pid alone, by Ctrl-C (SIGINT to the terminal's process group), and by
SIGKILL. Each is a real `kofu nightly` subprocess on its own embedded Prefect server (no
PREFECT_API_URL), stopped while it is inside the photo checks.

On SIGTERM and SIGINT kofu stops at the next chunk boundary: it exits within seconds with
one line on stderr and code 143 or 130, leaves no process behind (embedded server, pool
workers), marks its flow run Cancelled in its Prefect server's database, releases the run
lock, and leaves every application in a state of the pipeline; the next run finishes the
delivery with one notice per application. On SIGKILL the embedded server dies with it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from kofu.base.settings import SAMPLE_CONFIG
from kofu.models import Application, ApplicationState, Notice
from kofu.models.db import unit_of_work
from tests.conftest import FONT_CACHE, TEST_KEY
from tests.helpers import ON_POSTGRES, db_env

S = ApplicationState
STOP_WITHIN = 15  # s, from the signal to kofu's exit
LINE = re.compile(
    r"^kofu: stopped by (SIGTERM|SIGINT) at a chunk boundary; \d+ application\(s\) left as"
    r" they were .*goes on from there$"
)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    from kofu.tasks.demo.generator import write_demo_data

    folder = tmp_path_factory.mktemp("stops-demo")
    register_csv, truth = write_demo_data(
        folder, seed=11, residents=400, applications=120, submitted_on=date(2026, 11, 26)
    )
    config = folder / "municipality.toml"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    # Small chunks: the photo stage has many chunk boundaries to stop at.
    config.write_text(re.sub(r"chunk_size = \d+", "chunk_size = 6", text), encoding="utf-8")
    return register_csv, truth, config


@pytest.fixture
def night(delivery, tmp_path, monkeypatch):
    """A data directory with the register imported, and the environment of a `kofu` process
    with an embedded Prefect server of its own (its own PREFECT_HOME, no PREFECT_API_URL)."""
    from kofu.base.settings import get_settings
    from kofu.models.db import upgrade_schema
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    register_csv, truth, config = delivery
    data = tmp_path / "var"
    (data / "fonts").mkdir(parents=True)
    data.chmod(0o700)
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():
        (data / "fonts" / cached.name).symlink_to(cached)
    env_vars = {
        "KOFU_DATA_DIR": str(data),
        "KOFU_SECRET_KEY": TEST_KEY,
        "KOFU_CONFIG": str(config),
        **db_env(data),
    }
    for name, value in env_vars.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    upgrade_schema(settings.db_url)
    with unit_of_work(settings.db_url, write=True) as session:
        upsert_residents(session, read_register(register_csv, TEST_KEY.encode()))
        session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOFU_", "PREFECT_API"))}
    env.update(env_vars, PREFECT_HOME=str(tmp_path / "prefect"), KOFU_TASK_RUNNER="threads")
    # A copy of the delivery: intake blanks the individual numbers in the file it took in.
    folder = shutil.copytree(truth.folder, tmp_path / "inbox" / truth.folder.name)
    return settings, replace(truth, folder=folder), env, tmp_path / "prefect"


def _states(db_url: str) -> Counter:
    with unit_of_work(db_url) as session:
        query = select(Application.state, func.count()).group_by(Application.state)
        return Counter({state: n for state, n in session.execute(query)})


def _mid_photos(db_url: str) -> bool:
    try:
        states = _states(db_url)
    except (OperationalError, ProgrammingError):
        return False  # no tables yet
    return states[S.RECEIVED] > 0 and states[S.PHOTO_OK] + states[S.PHOTO_REJECTED] > 0


def _descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (the embedded server, pool workers...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie is dead, only not reaped yet


def _start(env: dict, inbox: Path, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kofu.cli", "nightly", "--inbox", str(inbox)],
        env={**env, **extra},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a service manager gives
    )


def _when_mid_run(process: subprocess.Popen, db_url: str) -> set[int]:
    """Wait until the run is inside the photo checks; its processes then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}): {process.stderr.read()}")
        if _mid_photos(db_url):
            return _descendants(process.pid)
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("the photo stage was not reached in time")


def _flow_run_states(prefect_home: Path) -> list[str]:
    with sqlite3.connect(prefect_home / "prefect.db") as conn:
        return [row[0] for row in conn.execute("SELECT state_type FROM flow_run")]


def _assert_stopped(settings, process, others, prefect_home, signum, group, code):
    started = time.monotonic()
    if group:
        os.killpg(process.pid, signum)
    else:
        os.kill(process.pid, signum)
    try:
        _, stderr = process.communicate(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"kofu did not stop within {STOP_WITHIN} s")
    took = time.monotonic() - started
    print(f"{signal.Signals(signum).name} {'group' if group else 'pid'}: exit in {took:.1f} s")
    # Prefect's run log lines go to stderr as on every run; kofu's own is the last, alone,
    # and there is no traceback.
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert LINE.match(lines[-1]) and not [ln for ln in lines if ln.startswith("kofu:")][:-1]
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert process.returncode == code
    assert others, "the embedded server should have been running"
    time.sleep(1.5)  # the pool workers notice their parent is gone within a second
    assert not [pid for pid in others if _alive(pid)], "processes outlived kofu"
    assert _flow_run_states(prefect_home) == ["CANCELLED"]
    from kofu.models.run_lock import check_free

    check_free(settings.db_url)  # the lock is free: no RunInProgress
    # Nothing half-way: each application is in a state of the pipeline, none is dropped.
    states = _states(settings.db_url)
    assert states[S.RECEIVED] + states[S.PHOTO_OK] + states[S.MATCHED] > 0, stderr
    return took


def _assert_finished(settings, truth) -> None:
    with unit_of_work(settings.db_url) as session:
        apps = list(session.scalars(select(Application)))
        notices = list(session.scalars(select(Notice)))
    assert not {a.state for a in apps} & {S.RECEIVED, S.PHOTO_OK, S.MATCHED}
    generated = sorted(a.id for a in apps if a.state == S.NOTICE_GENERATED)
    assert generated and sorted(n.application_pk for n in notices) == generated
    expected = {
        o.application_id: o.expected_state
        for o in truth.outcomes
        if o.expected_state != "rejected-line"  # a broken line may repeat a good one's id
    }
    for app in apps:
        assert app.state.value == expected[app.application_id]


def test_sigterm_to_the_group_stops_at_a_chunk_boundary_and_the_next_run_finishes(night):
    settings, truth, env, prefect_home = night
    # Processes: the pool workers get the group's SIGTERM too, and must neither die of it
    # nor outlive kofu.
    process = _start(env, truth.folder, KOFU_TASK_RUNNER="processes", KOFU_WORKERS="2")
    others = _when_mid_run(process, settings.db_url)
    _assert_stopped(settings, process, others, prefect_home, signal.SIGTERM, True, 143)
    rerun = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "nightly", "--inbox", str(truth.folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rerun.returncode == 0, rerun.stderr
    _assert_finished(settings, truth)


@pytest.mark.parametrize(
    ("signum", "group", "code"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm-pid", "ctrl-c"],
)
def test_sigterm_to_the_pid_and_ctrl_c_stop_too(night, signum, group, code):
    from kofu.flows.nightly import nightly

    settings, truth, env, prefect_home = night
    process = _start(env, truth.folder)
    others = _when_mid_run(process, settings.db_url)
    _assert_stopped(settings, process, others, prefect_home, signum, group, code)
    nightly(inbox=str(truth.folder))  # in-process: the session's server
    _assert_finished(settings, truth)


def test_the_embedded_server_dies_with_a_sigkilled_kofu(night):
    settings, truth, env, _ = night
    process = _start(env, truth.folder)
    others = _when_mid_run(process, settings.db_url)
    assert others
    os.kill(process.pid, signal.SIGKILL)  # kofu alone: its server is in a session of its own
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and [pid for pid in others if _alive(pid)]:
        time.sleep(0.1)
    assert not [pid for pid in others if _alive(pid)], "the embedded server outlived kofu"


@pytest.fixture
def small_disk(night):
    """The notices directory on a tmpfs of its own, too small for the night's notices."""
    settings = night[0]
    where = settings.notices_dir
    where.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_writing_notices_stops_with_one_line_and_the_rerun_finishes(night, small_disk):
    settings, truth, env, _ = night
    run = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "nightly", "--inbox", str(truth.folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    batch = truth.folder.name
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("kofu:")]
    assert run.returncode == 2, run.stderr
    assert lines == [
        f"kofu: error: no space left on device writing notices under {small_disk / batch};"
        f" free space, then `kofu rerun --batch-id {batch}`"
    ], run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    from kofu.models.run_lock import check_free

    check_free(settings.db_url)
    with unit_of_work(settings.db_url) as session:
        recorded = {Path(n.pdf_path).name for n in session.scalars(select(Notice))}
    # Nothing recorded that was not written, nothing written that is not recorded.
    assert {p.name for p in (small_disk / batch).iterdir()} == recorded
    assert _states(settings.db_url)[S.MATCHED] > 0
    # Space freed: the rerun gives every application its one notice.
    subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
    rerun = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "rerun", "--batch-id", batch],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rerun.returncode == 0, rerun.stderr
    _assert_finished(settings, truth)
    with unit_of_work(settings.db_url) as session:
        recorded = {Path(n.pdf_path).name for n in session.scalars(select(Notice))}
    assert {p.name for p in (small_disk / batch).iterdir()} == recorded


@pytest.fixture
def data_disk(tmp_path):
    """The whole data directory (the SQLite database too) on a small tmpfs of its own."""
    if ON_POSTGRES:
        pytest.skip("the database is on the PostgreSQL server, not in the data directory")
    where = tmp_path / "var"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_database_disk_stops_with_one_line_and_the_suggested_command_finishes(
    data_disk, night
):
    settings, truth, env, _ = night
    # Fill the disk but for a little: the database cannot grow far into the night.
    filler = data_disk / "filler"
    free = os.statvfs(data_disk).f_bavail * os.statvfs(data_disk).f_frsize
    filler.write_bytes(b"\0" * max(0, free - 160_000))
    run = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "nightly", "--inbox", str(truth.folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("kofu:")]
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and re.match(
        r"kofu: error: no space left on device writing .+; free space, then `kofu .+`$",
        lines[0],
    ), run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    from kofu.models.run_lock import check_free

    check_free(settings.db_url)
    filler.unlink()  # space freed: what the line says to run finishes the night
    command = lines[0].rsplit("`", 2)[1].split()[1:]
    if command == ["nightly"]:  # the batch was not taken in: the delivery again
        command += ["--inbox", str(truth.folder)]
    rerun = subprocess.run(
        [sys.executable, "-m", "kofu.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rerun.returncode == 0, rerun.stderr
    _assert_finished(settings, truth)
    with unit_of_work(settings.db_url) as session:
        recorded = {Path(n.pdf_path).name for n in session.scalars(select(Notice))}
    assert {p.name for p in (settings.notices_dir / truth.folder.name).iterdir()} == recorded
