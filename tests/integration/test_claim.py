"""Two workers on the same chunk at once (what scaling out across processes will do) never
take the same application: on PostgreSQL the first claim holds the whole chunk (an advisory
lock) and the rows it takes, and a second worker is told the chunk is taken and gets nothing
(tasks/chunks/records.py claim_chunk); on SQLite one writer at a time and the state guard record each
application once. Real databases, real threads, each with its own
connection."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kofu.models import Application, ApplicationState, Batch
from kofu.models.db import unit_of_work
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import claim_chunk, plan_chunks
from tests.helpers import ON_POSTGRES, jpeg_bytes, write_delivery

S = ApplicationState
APPLICATIONS = 40
NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


def seed(db_url: str, inbox: str = "/inbox") -> Chunk:
    """A batch of APPLICATIONS received applications, as one chunk."""
    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id="b1", inbox=inbox, delivery_sha256="0" * 64))
        session.flush()
        for n in range(1, APPLICATIONS + 1):
            session.add(
                Application(
                    application_id=f"{n:023d}",
                    batch_id="b1",
                    line_no=n,
                    state=S.RECEIVED,
                    reasons=[],
                    photo=f"photos/{n}.jpg",
                )
            )
        session.commit()
    with unit_of_work(db_url) as session:
        (chunk,) = plan_chunks(session, "b1", S.RECEIVED, APPLICATIONS)
    return chunk


def run_both(work) -> list:
    """``work(i)`` in two threads started together; their results, or their first error."""
    results: list = [None, None]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="SQLite has no row locks: a claim there is a plain read, and each application is "
    "recorded once by the one-writer lock and the state guard (the test below)",
)
def test_two_workers_claiming_the_same_chunk_at_once_one_takes_it_whole(kofu_env):
    """Each worker claims a few applications at a time and records them; both make their
    first claim while the other may hold one (a barrier), so neither can be done before the
    other starts. The one that got the chunk keeps it claim after claim; the other is told
    it is taken and gets nothing. Without the chunk lock both would take rows (SKIP LOCKED
    alone splits a chunk); without any lock both would take the same rows."""
    chunk = seed(kofu_env.db_url)
    both_made_a_claim = threading.Barrier(2, timeout=30)

    def worker(i: int) -> list[int]:
        taken: list[int] = []
        first = True
        while True:
            with claim_chunk(kofu_env.db_url, chunk, S.RECEIVED, limit=5) as claim:
                pks = [app.id for app in claim.applications]
                if first:
                    both_made_a_claim.wait()
                    first = False
                if not pks:
                    return taken

                def record(session, pks=pks) -> None:
                    for pk in pks:
                        app = session.get_one(Application, pk)
                        assert app.state == S.RECEIVED  # the claim held it: nobody moved it
                        app.state = S.PHOTO_OK
                        app.reasons = [*app.reasons, f"worker-{i}"]

                claim.record(record)
                taken += pks

    first, second = run_both(worker)
    assert sorted([len(first), len(second)]) == [0, APPLICATIONS]  # one took the whole chunk
    everyone = Counter(first + second)
    with unit_of_work(kofu_env.db_url) as session:
        apps = session.scalars(select(Application)).all()
    assert sorted(everyone) == sorted(a.id for a in apps)
    assert set(everyone.values()) == {1}
    assert {a.state for a in apps} == {S.PHOTO_OK}
    assert all(len(a.reasons) == 1 for a in apps)


def test_two_photo_stage_workers_on_the_same_chunk_record_each_application_once(kofu_env):
    """The real photo stage, twice at once on one chunk: every application is decided once,
    whichever worker decides it. (On SQLite both may check a photo; the second finds it
    moved on and records nothing for it.)"""
    from kofu.base.photo_rules import PhotoRules
    from kofu.tasks.photos.records import check_photo_chunk

    small = jpeg_bytes(width=120, height=160)  # refused: too small
    folder = write_delivery(
        kofu_env.data_dir.parent / "in",
        [],
        {f"photos/{n}.jpg": small for n in range(1, APPLICATIONS + 1)},
    )
    chunk = seed(kofu_env.db_url, inbox=str(folder))
    rules = PhotoRules()

    counts = run_both(lambda i: check_photo_chunk(kofu_env.db_url, rules, chunk, NOW))

    assert sum(counts, Counter()) == Counter({S.PHOTO_REJECTED.value: APPLICATIONS})
    with unit_of_work(kofu_env.db_url) as session:
        apps = session.scalars(select(Application)).all()
    assert {a.state for a in apps} == {S.PHOTO_REJECTED}
    # Recorded twice, an application would carry its reason codes twice.
    assert all(len(a.reasons) == len(set(a.reasons)) > 0 for a in apps)


def test_a_writer_kept_waiting_too_long_is_a_transient_error(kofu_env):
    """What a writer gets when another holds the write lock past its patience is retried,
    not queued as a bug: SQLite's "database is locked", PostgreSQL's lock timeout (waited
    for 0.2 s here, not the 30 s kofu gives it)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from kofu.models.db import PG_WRITER_LOCK, get_engine, is_transient

    with unit_of_work(kofu_env.db_url, write=True) as holder:
        holder.add(Batch(id="b1", inbox="/inbox", delivery_sha256="0" * 64))
        holder.flush()  # holds the write lock now, on either database
        other = get_engine(kofu_env.db_url).connect()
        try:
            with pytest.raises(OperationalError) as err, other.begin():
                if ON_POSTGRES:
                    other.execute(text("SET LOCAL lock_timeout = 200"))
                    other.execute(text(f"SELECT pg_advisory_xact_lock({PG_WRITER_LOCK})"))
                else:
                    other.exec_driver_sql("PRAGMA busy_timeout = 200")
                    other.execute(text("INSERT INTO batches VALUES ('b2', '/', '0', 0, '', '')"))
        finally:
            other.invalidate()  # not back to the pool with its short patience
            other.close()
    assert is_transient(err.value), err.value
