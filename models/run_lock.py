"""One pipeline run at a time, held by a lock that dies with its process.

- SQLite: ``fcntl.flock`` on ``<database>.lock`` beside the database file, kept open for the
  run. The kernel drops the lock the moment the process dies, however it dies.
- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept
  open for the run. The server drops it the moment that connection ends: the kernel closes
  the socket of a killed process at once, and TCP keepalives (set below) end the session of
  a machine that lost power within about two minutes.

A second run is refused at once with one line naming the holder. The ``run_leases`` row is
only the record of who holds the lock, for that message: it grants nothing. A row found by
a run that did get the lock was left by a run that died holding it; that run is reported
and its Prefect flow run marked Crashed (flows/lease.py ``begin_run``).

The deployment's concurrency limit (prefect.yaml) stops overlapping scheduled runs too; the
lock also covers runs started by hand (`kofu nightly`, `kofu rerun`) and from other hosts.

No Prefect here: the CLI takes the lock before Prefect starts (``reserved``, ``check_free``).
The writes of the lock's record are the flow's own database calls, so the flow passes its
retry in (``retry=``: tasks/chunks/retry.py ``with_db_retry``, which models cannot import).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.models.db import ENGINE_OPTIONS, is_sqlite, unit_of_work
from kofu.models.leases import RunLease

PIPELINE = "pipeline"
# The run lock's advisory key ("kofu" "run" in ASCII). Not PG_WRITER_LOCK (models/db.py): every
# write transaction takes that one, and the run must not block its own writes.
PG_RUN_LOCK = 0x6B6F6675_0072756E
# Server-side keepalives on the lock's connection: a client machine that vanished (power
# cut, network gone) is noticed after about 60 + 6 x 10 s and its lock freed. A server-wide
# idle_session_timeout must not end the idle lock connection (and the lock) mid-run.
_PG_LOCK_SESSION = (
    "SET tcp_keepalives_idle = 60",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 6",
    "SET idle_session_timeout = 0",
    "SET idle_in_transaction_session_timeout = 0",
)


class RunInProgress(UserError):
    pass


@dataclass(frozen=True)
class Taken:
    """The lock, and the run that held it before us if that one died holding it."""

    holder: str
    dead_holder: str | None = None
    dead_flow_run_id: str | None = None
    dead_since: datetime | None = None


def holder_name(run_name: str) -> str:
    return f"{run_name} on {socket.gethostname()}, pid {os.getpid()}"[:200]


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; everything here is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- The lock itself ------------------------------------------------------------------


class _Lock:
    """A held run lock: a locked file descriptor (SQLite) or a connection (PostgreSQL)."""

    def __init__(self, fd: int | None = None, conn: Connection | None = None) -> None:
        self.fd, self.conn = fd, conn

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops its flock
            self.fd = None
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_RUN_LOCK})
            finally:
                engine = self.conn.engine
                self.conn.close()  # the session ends: the server drops the lock anyway
                engine.dispose()
                self.conn = None


def lock_path(db_url: str) -> Path | None:
    """``<database file>.lock``; None for an in-memory database (one process only)."""
    database = make_url(db_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(f"{Path(database).resolve()}.lock")


def _try_lock(db_url: str) -> _Lock | None:
    """The run lock if it is free now, else None. Never waits."""
    if is_sqlite(db_url):
        return _try_file_lock(db_url)
    return _try_advisory_lock(db_url)


def _try_file_lock(db_url: str) -> _Lock | None:
    path = lock_path(db_url)
    if path is None:
        return _Lock()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise UserError(
            f"cannot open the run lock file {path} ({type(exc).__name__}): the data"
            " directory must be writable"
        ) from None
    try:
        # flock, not fcntl/lockf: a flock belongs to the open file, so a second open in
        # the same process (the CLI's check before its flow takes the lock) conflicts too.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return _Lock(fd=fd)


def _try_advisory_lock(db_url: str) -> _Lock | None:
    # Its own connection, outside every pool: a pooled one would keep the session's lock
    # when handed back.
    engine = create_engine(
        db_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c timezone=UTC"},
        **ENGINE_OPTIONS,
    )
    conn = engine.connect()
    try:
        for statement in _PG_LOCK_SESSION:
            # A server too old for a setting (idle_session_timeout: PostgreSQL 14) goes without.
            with suppress(DBAPIError):
                conn.execute(text(statement))
        got = conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_RUN_LOCK})
    except BaseException:
        conn.close()
        engine.dispose()
        raise
    if not got:
        conn.close()
        engine.dispose()
        return None
    return _Lock(conn=conn)


def _refusal(db_url: str) -> RunInProgress:
    with unit_of_work(db_url) as session:
        lease = session.get(RunLease, PIPELINE)
        if lease is None:  # it took the lock a moment ago and has not written its name yet
            return RunInProgress(
                "another run is writing this database (it is just starting): wait for it to finish"
            )
        since = _utc(lease.acquired_at).astimezone(JST)
        return RunInProgress(
            f"another run is writing this database: {lease.holder}, since"
            f" {since:%Y-%m-%d %H:%M} JST. Wait for it to finish; if its process is killed,"
            " the next run can start at once"
        )


# --- Taking it for a run ----------------------------------------------------------------


# How the record's writes are retried: the caller's (the flow's with_db_retry), else once.
Retry = Callable[[Callable[[], Any]], Any]


def _once(write: Callable[[], Any]) -> Any:
    return write()


# Locks a caller (the CLI) took for the flow it is about to run in this process, by database.
_reserved: dict[str, _Lock] = {}


@contextmanager
def reserved(db_url: str) -> Iterator[None]:
    """Take the run lock for a flow this process is about to run, or raise RunInProgress with
    one line now. The flow's own ``held`` then uses this lock instead of taking another."""
    lock = _try_lock(db_url)
    if lock is None:
        raise _refusal(db_url)
    _reserved[db_url] = lock
    try:
        yield
    finally:
        del _reserved[db_url]
        lock.release()


def acquire(
    db_url: str, holder: str, flow_run_id: str | None = None, retry: Retry = _once
) -> tuple[_Lock, Taken]:
    """Take the run lock now, or raise RunInProgress. Writes the holder's record (through
    ``retry``, the lock held meanwhile), and returns the record of a run that died holding
    the lock, if it left one."""
    lock = _reserved.get(db_url) or _try_lock(db_url)
    if lock is None:
        raise _refusal(db_url)

    def record() -> Taken:
        moment = datetime.now(UTC)
        with unit_of_work(db_url, write=True) as session:
            lease = session.get(RunLease, PIPELINE)
            taken = Taken(holder)
            if lease is None:
                session.add(
                    RunLease(
                        name=PIPELINE, holder=holder, flow_run_id=flow_run_id, acquired_at=moment
                    )
                )
            else:  # we have the lock, so its holder is gone: it died without releasing
                taken = Taken(holder, lease.holder, lease.flow_run_id, _utc(lease.acquired_at))
                lease.holder, lease.flow_run_id, lease.acquired_at = holder, flow_run_id, moment
            session.commit()
            return taken

    try:
        return lock, retry(record)
    except BaseException:
        _let_go(db_url, lock)
        raise


def release(db_url: str, lock: _Lock, holder: str, retry: Retry = _once) -> None:
    """Delete our record, then drop the lock (in that order: a record without a lock behind
    it only ever means a run that died)."""

    def forget() -> None:
        with unit_of_work(db_url, write=True) as session:
            session.execute(
                delete(RunLease).where(RunLease.name == PIPELINE, RunLease.holder == holder)
            )
            session.commit()

    try:
        retry(forget)
    finally:
        _let_go(db_url, lock)


def _let_go(db_url: str, lock: _Lock) -> None:
    """Drop the lock, unless the caller reserved it: then it drops it once the flow is over."""
    if _reserved.get(db_url) is not lock:
        lock.release()


def check_free(db_url: str) -> None:
    """Refuse now, with one line, if a run holds the lock (the CLI asks before it starts a
    flow; the flow's own ``acquire`` still decides)."""
    lock = _try_lock(db_url)
    if lock is None:
        raise _refusal(db_url)
    lock.release()


@contextmanager
def held(
    db_url: str, holder: str, flow_run_id: str | None = None, retry: Retry = _once
) -> Iterator[Taken]:
    """Hold the run lock for the body; released at the end, whatever happens. A process
    killed inside never reaches ``finally``, and needs not: the lock dies with it."""
    lock, taken = acquire(db_url, holder, flow_run_id, retry)
    try:
        yield taken
    except BaseException:
        # The run's own error is what to report. If the record cannot be deleted too (a
        # database on a full disk), the lock is still dropped; the next run finds the
        # record, takes it for a run that died, and overwrites it.
        with suppress(Exception):  # release() drops the lock in its finally
            release(db_url, lock, holder, retry)
        raise
    release(db_url, lock, holder, retry)
