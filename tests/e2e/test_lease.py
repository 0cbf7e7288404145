"""One pipeline run at a time, held by a lock that dies with its process: a live holder
refuses a second run with one line, and a holder killed with SIGKILL frees it at once.
Real SQLite files (or PostgreSQL databases), real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from kofu.models import Batch, RunLease
from kofu.models.db import unit_of_work
from kofu.models.run_lock import RunInProgress, acquire, check_free, held, lock_path, release
from tests.conftest import TEST_KEY
from tests.e2e.test_cli import assert_one_line_error, kofu
from tests.helpers import ON_POSTGRES, application_line, db_url_for, write_delivery


def test_a_held_lock_refuses_a_second_run_and_is_free_once_released(kofu_env):
    url = kofu_env.db_url
    lock, first = acquire(url, "nightly A", "run-a")
    assert first.dead_holder is None
    with pytest.raises(RunInProgress, match=r"nightly A, since \d{4}-\d\d-\d\d \d\d:\d\d JST"):
        acquire(url, "nightly B", "run-b")
    with pytest.raises(RunInProgress, match="another run is writing this database"):
        check_free(url)
    release(url, lock, "nightly A")
    check_free(url)  # free again, and the record is gone
    with unit_of_work(url) as session:
        assert session.scalars(select(RunLease)).all() == []
    if not ON_POSTGRES:
        assert lock_path(url) == kofu_env.data_dir.resolve() / "kofu.sqlite3.lock"


def test_the_lock_is_released_even_when_the_body_fails(kofu_env):
    with pytest.raises(RuntimeError, match="boom"), held(kofu_env.db_url, "nightly A"):
        raise RuntimeError("boom")
    check_free(kofu_env.db_url)


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from kofu.models.run_lock import acquire
    acquire(sys.argv[1], "nightly 2026-11-25 on host-a, pid 4242", "dead-run-id")
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_a_holder_killed_with_sigkill_frees_the_lock_at_once(kofu_env):
    """A real process takes the lock and is killed with SIGKILL: the very next attempt gets
    the lock, and learns which run died holding it (to mark its flow run Crashed)."""
    url = kofu_env.db_url
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInProgress, match="nightly 2026-11-25 on host-a"):
            check_free(url)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    lock, taken = acquire(url, "nightly B")  # no wait, no retry: the kernel freed it
    assert (taken.dead_holder, taken.dead_flow_run_id) == (
        "nightly 2026-11-25 on host-a, pid 4242",
        "dead-run-id",
    )
    assert taken.dead_since is not None
    release(url, lock, "nightly B")


def test_the_cli_refuses_a_second_run_with_one_line_and_takes_nothing_in(tmp_path):
    from kofu.models.db import upgrade_schema

    var = tmp_path / "var"
    var.mkdir(mode=0o700)  # owner-only, as the CLI wants it: its one line is the refusal
    url = db_url_for(var)  # what the CLI below uses with KOFU_DATA_DIR=var
    upgrade_schema(url)
    lock, _ = acquire(url, "nightly 2026-11-25 on host-a, pid 4242")
    try:
        folder = write_delivery(tmp_path / "2026-11-26", [application_line()], {})
        result = kofu(
            "nightly", "--inbox", str(folder), env={"KOFU_SECRET_KEY": TEST_KEY}, tmp_path=tmp_path
        )
        assert_one_line_error(result, "another run is writing this database: nightly 2026-11-25")
        with unit_of_work(url) as session:
            assert session.scalars(select(Batch)).all() == []
    finally:
        release(url, lock, "nightly 2026-11-25 on host-a, pid 4242")
