"""One pipeline run at a time. A nightly run or a rerun holds the "pipeline" lease, a row in
the application database, while it writes, and a heartbeat thread renews it. A second run is
refused with one line while the lease is live. A run that was killed cannot release its
lease; the lease expires ``ttl`` after the last heartbeat, and the next run takes it over,
reports the dead run, and marks its Prefect flow run crashed.

The deployment's concurrency limit (prefect.yaml) stops overlapping scheduled runs too; the
lease also covers runs started by hand (`kofu nightly`, `kofu rerun`) and from other hosts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update

from kofu.atomic import remove_stale_temp_files
from kofu.db import unit_of_work
from kofu.errors import UserError
from kofu.private import secure_data_dir
from kofu.settings import Settings
from models import RunLease
from tasks.chunks import with_db_retry
from tasks.queues import release_abandoned

PIPELINE = "pipeline"
# Long enough that a busy machine never misses it, short enough that a dead run's lease
# frees itself before the next night.
DEFAULT_TTL = timedelta(minutes=10)


class RunInProgress(UserError):
    pass


@dataclass(frozen=True)
class Taken:
    """The lease, and the run that held it before us if that one died holding it."""

    holder: str
    dead_holder: str | None = None
    dead_flow_run_id: str | None = None
    dead_since: datetime | None = None


def current_flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


def holder_name(run_name: str) -> str:
    return f"{run_name} on {socket.gethostname()}, pid {os.getpid()}"[:200]


def _utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; everything here is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refusal(lease: RunLease) -> RunInProgress:
    return RunInProgress(
        f"another run is writing this database: {lease.holder}, since "
        f"{_utc(lease.acquired_at):%Y-%m-%d %H:%M} UTC. Wait for it to finish; if its process "
        f"is gone, its lease frees itself at {_utc(lease.expires_at):%H:%M} UTC"
    )


def acquire(
    db_url: str,
    holder: str,
    flow_run_id: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> Taken:
    def attempt() -> Taken:
        moment = now or datetime.now(UTC)
        with unit_of_work(db_url, write=True) as session:
            lease = session.get(RunLease, PIPELINE)
            if lease is not None and _utc(lease.expires_at) > moment:
                raise _refusal(lease)
            taken = Taken(holder)
            if lease is None:
                session.add(
                    RunLease(
                        name=PIPELINE,
                        holder=holder,
                        flow_run_id=flow_run_id,
                        acquired_at=moment,
                        expires_at=moment + ttl,
                    )
                )
            else:  # expired: its holder died without releasing it
                taken = Taken(holder, lease.holder, lease.flow_run_id, _utc(lease.expires_at))
                lease.holder, lease.flow_run_id = holder, flow_run_id
                lease.acquired_at, lease.expires_at = moment, moment + ttl
            session.commit()
            return taken

    return with_db_retry(attempt)


def renew(db_url: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Push the expiry on; False if the lease is no longer ours."""

    def attempt() -> bool:
        with unit_of_work(db_url, write=True) as session:
            done = session.execute(
                update(RunLease)
                .where(RunLease.name == PIPELINE, RunLease.holder == holder)
                .values(expires_at=datetime.now(UTC) + ttl)
            )
            session.commit()
            return done.rowcount == 1

    return with_db_retry(attempt)


def release(db_url: str, holder: str) -> None:
    def attempt() -> None:
        with unit_of_work(db_url, write=True) as session:
            session.execute(
                delete(RunLease).where(RunLease.name == PIPELINE, RunLease.holder == holder)
            )
            session.commit()

    with_db_retry(attempt)


def check_free(db_url: str, now: datetime | None = None) -> None:
    """Refuse now, with one line, if a live run holds the lease (the CLI asks before it
    starts a flow; the flow's own ``acquire`` still decides)."""
    moment = now or datetime.now(UTC)
    with unit_of_work(db_url) as session:
        lease = session.get(RunLease, PIPELINE)
        if lease is not None and _utc(lease.expires_at) > moment:
            raise _refusal(lease)


@contextmanager
def held(
    db_url: str, holder: str, flow_run_id: str | None = None, ttl: timedelta = DEFAULT_TTL
) -> Iterator[Taken]:
    """Hold the lease for the body, renewed every fifth of ``ttl``; released at the end,
    whatever happens. A process killed inside never reaches ``finally``: the lease expires."""
    taken = acquire(db_url, holder, flow_run_id, ttl)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl.total_seconds() / 5):
            try:
                if not renew(db_url, holder, ttl):
                    # Stalled past the ttl and taken over: say so loudly; the guarded
                    # transitions keep the two runs from doing any application twice.
                    logging.getLogger("kofu.lease").error(
                        "the run lease was taken over by another run while this one still ran"
                    )
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                continue

    beat = threading.Thread(target=heartbeat, name="kofu-lease-heartbeat", daemon=True)
    beat.start()
    try:
        yield taken
    finally:
        stop.set()
        beat.join()
        release(db_url, holder)


def _release_abandoned(db_url: str) -> int:
    with unit_of_work(db_url, write=True) as session:
        released = release_abandoned(session, datetime.now(UTC))
        session.commit()
        return released


def begin_run(taken: Taken, settings: Settings) -> None:
    """First thing under the lease: clear what a killed run left, and report the run that
    died holding the lease, marking its Prefect flow run crashed if Prefect still shows it
    running."""
    from uuid import UUID

    from prefect import get_run_logger
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    logger = get_run_logger()
    # A worker-started run does not go through the CLI, which tightens the data directory.
    notice = secure_data_dir(settings.data_dir)
    if notice:
        logger.warning(notice.removeprefix("kofu: notice: "))
    # No live writer owns a temp file now, so every one left is a killed write's.
    removed = remove_stale_temp_files(
        settings.notices_dir, settings.letters_dir, settings.print_dir
    )
    if removed:
        logger.warning("removed %d unfinished file(s) left by a killed run", removed)
    # Items a run was retrying when it died (or raised) wait again, due at once.
    released = with_db_retry(lambda: _release_abandoned(settings.db_url))
    if released:
        logger.warning(
            "%d failure-queue item(s) left retrying by a stopped run are due again", released
        )
    if taken.dead_holder is None:
        return
    logger.warning(
        "the previous run (%s) stopped without finishing: its lease expired at %s UTC. This run"
        " carries its applications on from their last good state.",
        taken.dead_holder,
        f"{taken.dead_since:%Y-%m-%d %H:%M}",
    )
    if not taken.dead_flow_run_id:
        return
    try:
        with get_client(sync_client=True) as client:
            dead = client.read_flow_run(UUID(taken.dead_flow_run_id))
            if dead.state is not None and not dead.state.is_final():
                message = "killed: its lease expired and the next run took over"
                client.set_flow_run_state(dead.id, Crashed(message=message), force=True)
                logger.warning("flow run %s marked Crashed", dead.name)
    except Exception as exc:  # noqa: BLE001 - reporting must not stop tonight's run
        logger.warning("could not mark the dead flow run crashed (%s)", type(exc).__name__)
