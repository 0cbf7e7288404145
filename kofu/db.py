"""Engine, sessions and schema upgrades for the application database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from kofu.settings import REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "migrations"
# How long SQLite waits for another writer before raising "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


@cache
def get_engine(url: str, write: bool = False) -> Engine:
    if not url.startswith("sqlite:"):
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

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


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_schema(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
