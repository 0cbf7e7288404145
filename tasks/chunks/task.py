"""What every chunk task shares with Prefect: its options, its retry rule, its logger."""

from __future__ import annotations

import logging

from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

from kofu.models.db import is_transient


def retry_transient_only(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect retry condition: re-run a chunk only for a transient database error, never
    for a bug (tasks/chunks/retry.py: layer 1)."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The task run's logger (its lines reach the Prefect UI), else kofu's own."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("kofu")


# Options shared by every chunk task: results are not persisted (they are counts, but the
# stage code touches personal data and Prefect need not keep anything of it), nothing is
# cached, and a chunk is retried only for a transient error.
CHUNK_TASK_OPTIONS: dict = dict(
    persist_result=False,
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient_only,
)
