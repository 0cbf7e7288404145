"""A flow run's hold on the run lock (models/run_lock.py: one run at a time, by a lock
that dies with its process), and what the run does first under it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run
from prefect.states import Crashed

from kofu.base.atomic import remove_stale_temp_files
from kofu.base.clock import JST
from kofu.base.private import secure_data_dir
from kofu.base.settings import Settings
from kofu.flows.failures import release_abandoned_items
from kofu.models.run_lock import Taken, held, holder_name
from kofu.tasks.chunks.retry import with_db_retry


def current_flow_run_id() -> str | None:
    return str(flow_run.id) if flow_run.id else None


@contextmanager
def run_lock(db_url: str, run_name: str) -> Iterator[Taken]:
    """Hold the run lock for this flow run (``run_name`` on this host and pid), its record
    written and deleted as the flow's own database calls (``with_db_retry``)."""
    with held(db_url, holder_name(run_name), current_flow_run_id(), with_db_retry) as taken:
        yield taken


def begin_run(taken: Taken, settings: Settings) -> None:
    """First thing under the lock: clear what a killed run left, and report the run that
    died holding the lock, marking its Prefect flow run crashed if Prefect still shows it
    running."""
    _clear_leftovers(settings)
    if taken.dead_holder is None:
        return
    logger = get_run_logger()
    logger.warning(
        "the previous run (%s, started %s JST) stopped without finishing: its process died and"
        " the run lock with it. This run carries its applications on from their last good"
        " state.",
        taken.dead_holder,
        f"{taken.dead_since.astimezone(JST):%Y-%m-%d %H:%M}" if taken.dead_since else "?",
    )
    if taken.dead_flow_run_id:
        _mark_crashed(taken.dead_flow_run_id)


def _clear_leftovers(settings: Settings) -> None:
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
    released = release_abandoned_items(settings)
    if released:
        logger.warning(
            "%d failure-queue item(s) left retrying by a stopped run are due again", released
        )


def _mark_crashed(flow_run_id: str) -> None:
    logger = get_run_logger()
    try:
        with get_client(sync_client=True) as client:
            dead = client.read_flow_run(UUID(flow_run_id))
            if dead.state is not None and not dead.state.is_final():
                message = "killed: its process died holding the run lock; the next run took over"
                client.set_flow_run_state(dead.id, Crashed(message=message), force=True)
                logger.warning("flow run %s marked Crashed", dead.name)
    except Exception as exc:  # noqa: BLE001 - reporting must not stop tonight's run
        logger.warning("could not mark the dead flow run crashed (%s)", type(exc).__name__)
