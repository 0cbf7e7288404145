"""One pipeline run at a time: the lease refuses a second run, and a run that died holding
it is taken over and reported. Real SQLite files, real Prefect runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from flows.lease import RunInProgress, acquire, check_free, held, release, renew
from kofu.db import unit_of_work
from models import Batch, RunLease
from tests.conftest import TEST_KEY
from tests.helpers import application_line, db_url_for, write_delivery
from tests.test_cli import assert_one_line_error, kofu

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def test_a_live_lease_refuses_a_second_run_and_an_expired_one_is_taken_over(kofu_env):
    url = kofu_env.db_url
    first = acquire(url, "nightly A", "run-a", TTL, now=T0)
    assert first.dead_holder is None
    with pytest.raises(RunInProgress, match="nightly A"):
        acquire(url, "nightly B", "run-b", TTL, now=T0 + TTL - timedelta(seconds=1))
    with pytest.raises(RunInProgress, match="another run is writing this database"):
        check_free(url, now=T0 + timedelta(minutes=1))
    # A died without releasing: once its lease has expired, B takes over and learns of A.
    second = acquire(url, "nightly B", "run-b", TTL, now=T0 + TTL + timedelta(seconds=1))
    assert (second.dead_holder, second.dead_flow_run_id) == ("nightly A", "run-a")
    assert second.dead_since == T0 + TTL
    # A, if it were still alive, can no longer renew or release what B holds.
    assert renew(url, "nightly A") is False
    release(url, "nightly A")
    assert renew(url, "nightly B") is True
    release(url, "nightly B")
    check_free(url)  # free again
    with unit_of_work(url) as session:
        assert session.scalars(select(RunLease)).all() == []


def test_the_lease_is_released_even_when_the_body_fails(kofu_env):
    with pytest.raises(RuntimeError, match="boom"), held(kofu_env.db_url, "nightly A"):
        raise RuntimeError("boom")
    check_free(kofu_env.db_url)


def test_the_heartbeat_keeps_a_long_run_alive(kofu_env):
    ttl = timedelta(seconds=0.5)
    with held(kofu_env.db_url, "nightly A", ttl=ttl):
        import time

        time.sleep(1.2)  # more than twice the ttl: only the heartbeat keeps it
        with pytest.raises(RunInProgress):
            acquire(kofu_env.db_url, "nightly B", ttl=ttl)


def test_the_cli_refuses_a_second_run_with_one_line_and_takes_nothing_in(tmp_path):
    from kofu.db import upgrade_schema

    var = tmp_path / "var"
    var.mkdir()
    url = db_url_for(var)  # what the CLI below uses with KOFU_DATA_DIR=var
    upgrade_schema(url)
    acquire(url, "nightly 2026-11-25 on host-a, pid 4242", ttl=timedelta(hours=1))
    folder = write_delivery(tmp_path / "2026-11-26", [application_line()], {})
    result = kofu(
        "nightly", "--inbox", str(folder), env={"KOFU_SECRET_KEY": TEST_KEY}, tmp_path=tmp_path
    )
    assert_one_line_error(result, "another run is writing this database: nightly 2026-11-25")
    with unit_of_work(url) as session:
        assert session.scalars(select(Batch)).all() == []
    result = kofu("rerun", "--batch-id", "2026-11-26", tmp_path=tmp_path)
    assert_one_line_error(result, "no batch")


def test_a_run_killed_holding_the_lease_is_reported_and_marked_crashed(kofu_env, tmp_path):
    from uuid import UUID

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Running

    from flows.nightly import nightly

    # Only its record is needed: the run that "was killed". Another flow name than the
    # nightly's, so other tests that count nightly runs do not see a crashed one.
    @flow(name="lease-test-killed-run")
    def stand_in() -> None:
        pass

    with get_client(sync_client=True) as client:
        dead = client.create_flow_run(stand_in, name="nightly 2026-11-25", state=Running())
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    acquire(kofu_env.db_url, "nightly 2026-11-25 on host-a, pid 4242", str(dead.id), now=long_ago)

    folder = write_delivery(tmp_path / "lease-takeover", [], {})
    nightly(inbox=str(folder))

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(str(dead.id))).state
    assert state.type.value == "CRASHED" and "lease expired" in state.message
    check_free(kofu_env.db_url)  # tonight's run released its own lease
