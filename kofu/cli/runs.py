"""What the commands that start a run share (`kofu nightly`, `kofu rerun`, `kofu lifecycle`):
the checks before a flow starts, and the run recorded in the audit trail with how it ended."""

from __future__ import annotations

from collections.abc import Callable

import typer

from kofu.base.settings import Settings, print_password
from kofu.cli.common import ACTOR, OS_USER, audit, audit_refusal, error_text, ready_db


def run_recorded(
    settings: Settings, action: str, batch_id: str | None, run: Callable[[], dict]
) -> dict:
    """A run started by hand: the trail says who started it and how it ended (counts only;
    each application's own row says what happened to it)."""
    from kofu.base import stops
    from kofu.flows.runtime import embedded_server
    from kofu.models.run_lock import reserved
    from kofu.tasks.audit.records import record_run

    try:
        # The lock is taken here, before Prefect starts: a second run started at the same
        # moment is refused with one line, not with a failed flow run's traceback. SIGTERM
        # or Ctrl-C: the run stops at a chunk boundary (kofu/base/stops.py).
        with reserved(settings.db_url), stops.catching(), embedded_server():
            summary = run()
        if stops.requested() is not None:
            raise stops.RunStopped(stops.requested() or 0)
    except Exception as exc:
        error = error_text(exc)
        signum = stops.requested()
        if signum is not None:
            error = str(stops.RunStopped(signum))
        audit_refusal(
            settings,
            lambda s: record_run(
                s, action, actor=ACTOR, os_user=OS_USER, batch_id=batch_id, error=error
            ),
        )
        if signum is not None:
            stopped(settings, signum, action, batch_id)
        from kofu.base.errors import is_disk_full
        from kofu.models.db import disk_full_error

        if is_disk_full(exc):  # one line saying where, whichever step found the disk full
            raise disk_full_error(
                exc, "the run's files", settings.data_dir, batch_id, settings.db_url
            ) from None
        raise
    audit(
        settings,
        lambda s: record_run(
            s, action, actor=ACTOR, os_user=OS_USER, batch_id=batch_id, summary=summary
        ),
    )
    return summary


def stopped(settings: Settings, signum: int, action: str, batch_id: str | None) -> None:
    """The one line of a run stopped by SIGTERM or Ctrl-C, and its exit code (143, 130)."""
    from kofu.base import stops
    from kofu.cli.common import err

    again = f"kofu rerun --batch-id {batch_id}" if action == "rerun" else "kofu nightly"
    err.print(
        f"kofu: {stops.RunStopped(signum)}; {_waiting(settings)} application(s) left as they"
        f" were (their last recorded state); `{again}` goes on from there",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(stops.EXIT_CODES.get(signum, 128 + signum))


def _waiting(settings: Settings) -> int | str:
    """Applications still in a working state (received, photo_ok, matched)."""
    from sqlalchemy import func, select

    from kofu.models import Application, ApplicationState
    from kofu.models.db import unit_of_work

    working = (ApplicationState.RECEIVED, ApplicationState.PHOTO_OK, ApplicationState.MATCHED)
    try:
        with unit_of_work(settings.db_url) as session:
            query = select(func.count()).where(Application.state.in_(working))
            return session.scalar(query) or 0
    except Exception:  # noqa: BLE001 - the count is a courtesy; the stop line goes out
        return "?"


def check_run_settings(settings: Settings) -> None:
    """What a run would otherwise find wrong only once started: fail with one line now."""
    from kofu.flows.runners import runner_choice
    from kofu.models.run_lock import check_free
    from kofu.tasks.matching.scoring import ScoringRules
    from kofu.tasks.photos.landmarks import check_installed

    runner_choice()  # KOFU_TASK_RUNNER and KOFU_WORKERS
    check_installed()  # the face model and MediaPipe
    print_password(settings)  # the print batches' encryption
    ScoringRules.from_settings(settings.municipality.matching)
    ready_db(settings)
    check_free(settings.db_url)  # another run is writing: say so before starting a flow


def check_key_matches(settings: Settings) -> None:
    """The secret key is there, and is the one the database was made with."""
    from kofu.base.secret import load_secret_key
    from kofu.models.key_check import check_key

    key = load_secret_key(settings)
    ready_db(settings)
    check_key(settings.db_url, key)
