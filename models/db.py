"""Engine, sessions and schema upgrades for the application database.

Two engines, one story: one writer at a time, readers never wait.

- SQLite: a write transaction starts with ``BEGIN IMMEDIATE`` and waits on the busy timeout
  for the writer before it, so parallel chunks take turns instead of failing half-way.
- PostgreSQL (``postgresql+psycopg://``): READ COMMITTED, and a write transaction starts by
  taking a transaction-scoped advisory lock (``pg_advisory_xact_lock``), waiting at most
  ``lock_timeout`` for it. The code that records a chunk reads, checks a guard, then writes
  (a state, a failure-queue row, a visit window against a band's capacity); holding the one
  writer lock makes that as safe as on SQLite without locking each invariant on its own.
  Write transactions are short by design (compute first, then record), so they queue for
  milliseconds. Which applications a chunk works on is claimed apart from this, with row
  locks (``FOR NO KEY UPDATE SKIP LOCKED``, tasks/chunks/records.py ``claim_chunk``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from kofu.base.errors import DiskFull, disk_full, is_disk_full

# Alembic's scripts ship inside the package (models/migrations), beside the tables.
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# How long SQLite waits for another writer before raising "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL's equivalent: how long a writer waits for the writer lock before
# "canceling statement due to lock timeout" (transient: retried like a busy SQLite).
PG_LOCK_TIMEOUT_MS = SQLITE_BUSY_TIMEOUT_MS
# A database error's message quotes its statement's parameters (names, addresses) by
# default, and Prefect would keep it as the failed run's state message: never.
ENGINE_OPTIONS: dict = {"hide_parameters": True}
# The advisory lock every PostgreSQL write transaction takes ("kofu" in ASCII). Advisory
# locks are per database: two municipalities' databases on one server do not share it.
PG_WRITER_LOCK = 0x6B6F6675

_engines: list[Engine] = []


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def lock_for_writing(conn: Connection | Session) -> None:
    """Make the transaction open on ``conn`` the one writer (PostgreSQL only; a SQLite write
    transaction gets its lock from ``BEGIN IMMEDIATE``). Held until commit or rollback."""
    conn.execute(text(f"SET LOCAL lock_timeout = {PG_LOCK_TIMEOUT_MS}"))
    conn.execute(text(f"SELECT pg_advisory_xact_lock({PG_WRITER_LOCK})"))


@cache
def get_engine(url: str, write: bool = False) -> Engine:
    if not is_sqlite(url):
        # Aware datetimes come back in UTC whatever the server's TimeZone, as SQLite's
        # naive ones are UTC: "since 17:00 UTC" in the lease message must be true.
        engine = create_engine(
            url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"}, **ENGINE_OPTIONS
        )
        _engines.append(engine)
        if write:

            @event.listens_for(engine, "begin")
            def _pg_begin(conn) -> None:  # type: ignore[no-untyped-def]
                lock_for_writing(conn)

        return engine
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **ENGINE_OPTIONS
    )
    _engines.append(engine)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin
        # (SQLAlchemy's documented recipe; SAVEPOINT and BEGIN IMMEDIATE need it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # WAL lets the CLI read status while the nightly run writes.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # A writer takes the lock up front (IMMEDIATE), so it waits for another writer
        # (busy_timeout) instead of failing half-way through its transaction.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@cache
def _sessionmaker(url: str, write: bool) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url, write), expire_on_commit=False)


@contextmanager
def unit_of_work(url: str, *, write: bool = False) -> Iterator[Session]:
    """A session that commits only when told to, and rolls back on any exception.

    Keep write transactions short: compute first, then open one with ``write=True``."""
    session = _sessionmaker(url, write)()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every pooled connection this process holds, and forget the engines (the next
    session makes new ones): before a database is dropped, or at the end of a process."""
    for engine in _engines:
        engine.dispose()
    _engines.clear()
    _sessionmaker.cache_clear()
    get_engine.cache_clear()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_schema(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def disk_full_error(
    exc: BaseException, what: str, where: object, batch_id: str | None, db_url: str
) -> DiskFull:
    """``exc`` (a disk-full error) as its one line: the file write, or the database."""
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError):
        return disk_full(what, where, batch_id)
    url = make_url(db_url)
    place = url.database if url.get_backend_name() == "sqlite" else f"{url.host} (PostgreSQL)"
    return disk_full("the database", place, batch_id, under=False)


@contextmanager
def removed_unless_recorded(
    paths: list[Path], what: str, where: Path, batch_id: str, db_url: str
) -> Iterator[None]:
    """Record what ``paths`` hold inside the block. If the block fails, the files are
    removed (nothing on disk that the database does not know of), and a disk that filled up
    (the files' or the database's) becomes kofu.base.errors.DiskFull, one line saying where."""
    try:
        yield
    except BaseException as exc:
        for path in paths:
            path.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(exc, what, where, batch_id, db_url) from None
        raise


# SQLite's primary result codes for "another connection holds the lock": waited out, not a bug.
_SQLITE_WAIT = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def is_transient(exc: BaseException) -> bool:
    """A database error that goes away by itself, told by its class and error code, never by
    its message: SQLite busy or locked (``sqlite_errorcode``), PostgreSQL a lost connection,
    a lock wait past ``lock_timeout``, a deadlock or serialization failure the server broke
    by aborting us (psycopg's SQLSTATE classes), a connection pool that timed out."""
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return isinstance(exc, TimeoutError | ConnectionError)
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_WAIT
    return _pg_transient(orig)


def _pg_transient(orig: BaseException | None) -> bool:
    import psycopg
    from psycopg import errors

    waits = (
        errors.DeadlockDetected,
        errors.SerializationFailure,
        errors.LockNotAvailable,
        errors.ConnectionException,
        errors.AdminShutdown,
        errors.CrashShutdown,
        errors.CannotConnectNow,
    )
    if isinstance(orig, waits):
        return True
    # A connection that failed or dropped: psycopg raises OperationalError with no SQLSTATE.
    return isinstance(orig, psycopg.OperationalError) and orig.sqlstate is None
