"""The failure queue's life across nights: pending -> retrying -> resolved, or dead after
too many failed runs, and only a person's rerun takes a dead item again. Real Prefect runs
on a real SQLite file; each "night" is a nightly run on its own delivery."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kofu.base.settings import SAMPLE_CONFIG, FailureRetry, load_municipality
from kofu.models import Application, FailureItem, FailureStatus, Notice
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY
from tests.e2e.test_queues_flow import person
from tests.helpers import (
    aid,
    application_for,
    import_register,
    portrait_jpeg,
    valid_number,
    write_delivery,
)

# (application id, register row index): one per resident, so each matches by number.
NIGHT_1 = [(aid(3001), 0), (aid(3002), 1), (aid(3003), 2)]
NIGHT_2 = [(aid(3101), 3)]


@pytest.fixture
def env(kofu_env, tmp_path, monkeypatch):
    """Settings with two attempts before an item is dead, and a register of four."""
    config = tmp_path / "municipality.toml"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    assert "max_attempts = 3\n" in text
    config.write_text(text.replace("max_attempts = 3\n", "max_attempts = 2\n"), encoding="utf-8")
    monkeypatch.setenv("KOFU_CONFIG", str(config))
    assert load_municipality(config).failures.max_attempts == 2

    rng = random.Random(11)
    rows = [
        person(f"2000000000{i}", valid_number(rng), family, given, kana, f"見本市中央{i}丁目1番1号")
        for i, (family, given, kana) in enumerate(
            [
                ("山田", "花子", ("ヤマダ", "ハナコ")),
                ("川口", "直子", ("カワグチ", "ナオコ")),
                ("森", "幸子", ("モリ", "サチコ")),
                ("林", "健一", ("ハヤシ", "ケンイチ")),
            ],
            start=1,
        )
    ]
    import_register(kofu_env.db_url, rows, tmp_path / "register.csv", TEST_KEY.encode())
    return {"settings": kofu_env, "rows": rows, "root": tmp_path}


def delivery(env, name: str, apps: list[tuple[str, int]], with_photo: set[str]) -> Path:
    lines, photos = [], {}
    for app_id, index in apps:
        lines.append(application_for(app_id, env["rows"][index]))
        if app_id in with_photo:
            photos[f"photos/{app_id}.jpg"] = portrait_jpeg(int(app_id) % 10_000)
    return write_delivery(env["root"] / name, lines, photos)


def items(settings) -> dict[str, FailureItem]:
    with unit_of_work(settings.db_url) as session:
        rows = session.execute(
            select(FailureItem, Application.application_id).join(
                Application, FailureItem.application_pk == Application.id
            )
        ).all()
        session.expunge_all()
    return {app_id: item for item, app_id in rows}


def state(settings, app_id: str) -> str:
    with unit_of_work(settings.db_url) as session:
        return session.scalar(
            select(Application.state).where(Application.application_id == app_id)
        ).value


def arrive(folder: Path, app_id: str) -> None:
    """The missing photo is put in place (the cause of the failure is fixed)."""
    (folder / "photos").mkdir(exist_ok=True)
    (folder / "photos" / f"{app_id}.jpg").write_bytes(portrait_jpeg(int(app_id) % 10_000))


def an_hour_passes(settings) -> None:
    """The pending items' next attempt time comes: moved back, as an hour would."""
    with unit_of_work(settings.db_url, write=True) as session:
        session.execute(
            update(FailureItem)
            .where(FailureItem.next_attempt_at.is_not(None))
            .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        session.commit()


def test_pending_items_are_retried_by_later_nights_until_dead_then_a_person_reruns(env):
    from kofu.flows.nightly import nightly
    from kofu.flows.rerun import rerun_failed

    settings = env["settings"]
    # Night 1: two photos have not arrived (a technical failure: the file is unreadable).
    night_1 = delivery(env, "2026-11-24", NIGHT_1, with_photo={aid(3003)})
    started = datetime.now(UTC)
    first = nightly(inbox=str(night_1))
    assert first["this_run"]["failures"] == {"resolved": 0, "pending": 2, "dead": 0}
    queued = items(settings)
    assert set(queued) == {aid(3001), aid(3002)}
    for item in queued.values():
        assert (item.status, item.attempts, item.error_code) == (
            FailureStatus.PENDING,
            1,
            "photo-file-unreadable",
        )
        # The first retry waits first_delay_hours (1 h) from the run's start.
        # (SQLite hands back the stored UTC time without its zone.)
        wait = item.next_attempt_at.replace(tzinfo=UTC) - started
        assert timedelta(minutes=59) < wait < timedelta(minutes=61)
    assert state(settings, aid(3003)) == "notice_generated"

    # The same night again: the items are not due, so the stages leave them alone.
    again = nightly(inbox=str(night_1))
    assert "retried" not in again["this_run"] and again["this_run"]["photos"] == {}
    assert {k: i.attempts for k, i in items(settings).items()} == {aid(3001): 1, aid(3002): 1}

    # Night 2, a new delivery. 3001's photo has arrived meanwhile; 3002's has not.
    arrive(night_1, aid(3001))
    an_hour_passes(settings)
    second = nightly(inbox=str(delivery(env, "2026-11-25", NIGHT_2, with_photo={aid(3101)})))
    assert second["states"]["notice_generated"] == 1  # the new batch went through
    assert second["this_run"]["retried"]["2026-11-24"]["failures"] == {
        "resolved": 1,
        "pending": 0,
        "dead": 1,
    }
    after = items(settings)
    assert after[aid(3001)].status == FailureStatus.RESOLVED
    assert state(settings, aid(3001)) == "notice_generated"
    # Two failed runs with max_attempts = 2: dead, with no next attempt.
    assert (after[aid(3002)].status, after[aid(3002)].attempts) == (FailureStatus.DEAD, 2)
    assert after[aid(3002)].next_attempt_at is None
    with unit_of_work(settings.db_url) as session:
        from kofu.tasks.reports.records import batch_summary

        summary = batch_summary(session, "2026-11-24")
    assert (summary["failure_queue"], summary["failure_dead"]) == (1, 1)
    listed = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "queue", "list", "--kind", "failure"],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert aid(3002) in listed and "dead" in listed and "waits for a person" in listed

    # Night 3: a dead item is not taken again automatically, however much time passes.
    an_hour_passes(settings)
    third = nightly(inbox=str(delivery(env, "2026-11-26", [], with_photo=set())))
    assert "retried" not in third["this_run"]
    assert items(settings)[aid(3002)].attempts == 2

    # A person fixes the cause and reruns the batch: the dead item goes through.
    arrive(night_1, aid(3002))
    # From the CLI, as staff would, then once more in-process: the second finds nothing to do.
    by_hand = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "rerun", "--batch-id", "2026-11-24"],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )
    assert by_hand.returncode == 0, by_hand.stderr[-2000:]
    assert "Traceback" not in by_hand.stderr
    assert items(settings)[aid(3002)].status == FailureStatus.RESOLVED
    rerun = rerun_failed(batch_id="2026-11-24")
    assert rerun["failure_queue"] == 0 and rerun["this_run"]["failures"]["resolved"] == 0
    assert items(settings)[aid(3002)].status == FailureStatus.RESOLVED
    assert state(settings, aid(3002)) == "notice_generated"
    with unit_of_work(settings.db_url) as session:
        assert len(session.scalars(select(Notice)).all()) == 4  # one each, none twice


def test_a_rerun_that_fails_again_counts_the_attempt_and_waits(env):
    from kofu.flows.nightly import nightly
    from kofu.flows.rerun import rerun_failed

    settings = env["settings"]
    night_1 = delivery(env, "2026-11-24", NIGHT_1[:1], with_photo=set())
    nightly(inbox=str(night_1))
    rerun = rerun_failed(batch_id="2026-11-24")  # the photo is still missing
    # A person's rerun counts too: the second failed run makes the item dead.
    assert rerun["this_run"]["failures"] == {"resolved": 0, "pending": 0, "dead": 1}
    item = items(settings)[aid(3001)]
    assert (item.status, item.attempts) == (FailureStatus.DEAD, 2)


def test_items_left_retrying_by_a_stopped_run_are_due_again(env):
    """A run killed while retrying leaves its items `retrying`; the next run, which holds
    the lease, puts them back in line and takes them at once."""
    from kofu.flows.nightly import nightly

    settings = env["settings"]
    night_1 = delivery(env, "2026-11-24", NIGHT_1[:1], with_photo=set())
    nightly(inbox=str(night_1))
    with unit_of_work(settings.db_url, write=True) as session:
        session.execute(
            update(FailureItem).values(status=FailureStatus.RETRYING, next_attempt_at=None)
        )
        session.commit()
    arrive(night_1, aid(3001))
    summary = nightly(inbox=str(delivery(env, "2026-11-25", [], with_photo=set())))
    assert summary["this_run"]["retried"]["2026-11-24"]["failures"]["resolved"] == 1
    assert state(settings, aid(3001)) == "notice_generated"


def test_retry_delay_doubles_up_to_a_day():
    retry = FailureRetry(max_attempts=9, first_delay_hours=2)
    assert [retry.delay(n) for n in (1, 2, 3, 4, 5)] == [
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=16),
        timedelta(hours=24),
    ]


def test_a_failed_print_batch_is_queued_for_the_batch_and_the_rerun_prints_it(env):
    """Something in the way of the print folder: the notices are safe, the run completes
    with the print step queued, and the rerun assembles the batch once the way is clear."""
    from kofu.flows.nightly import nightly
    from kofu.flows.rerun import rerun_failed
    from kofu.models import PrintBatch

    settings = env["settings"]
    settings.print_dir.mkdir(parents=True)
    blocker = settings.print_dir / "2026-11-24"
    blocker.write_text("not a folder")  # mkdir of the batch's print folder fails
    night_1 = delivery(env, "2026-11-24", NIGHT_1[:2], with_photo={aid(3001), aid(3002)})
    first = nightly(inbox=str(night_1))
    assert first["this_run"]["print"]["failed"] == 1
    assert first["states"]["notice_generated"] == 2  # the notices themselves are done
    with unit_of_work(settings.db_url) as session:
        item = session.scalars(select(FailureItem)).one()
        assert session.scalars(select(PrintBatch)).all() == []
    # A file in the way does not go away by itself: no automatic retry, a person's rerun.
    assert (item.application_pk, item.stage, item.status) == (None, "print", "dead")
    assert item.error_code == "file-exists-error"
    assert item.evidence["kind"] == "needs-a-person"

    blocker.unlink()
    rerun = rerun_failed(batch_id="2026-11-24")
    assert rerun["failure_queue"] == 0 and rerun["this_run"]["failures"]["resolved"] == 1
    assert len(rerun["this_run"]["print"]["files"]) == 1
    with unit_of_work(settings.db_url) as session:
        assert session.scalars(select(FailureItem.status)).one() == FailureStatus.RESOLVED
        assert len(session.scalars(select(PrintBatch)).all()) == 1
