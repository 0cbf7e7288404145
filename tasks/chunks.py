"""Chunks of applications, and the retry rules shared by every stage.

Work moves in chunks (hundreds of applications) named by id bounds only, so nothing
personal crosses a Prefect task boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from models import Application, ApplicationState
from tasks.queues import held_back

T = TypeVar("T")


@dataclass(frozen=True)
class Chunk:
    batch_id: str
    first_pk: int
    last_pk: int
    index: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.total}"


def plan_chunks(session: Session, batch_id: str, state: ApplicationState, size: int) -> list[Chunk]:
    """The batch's applications waiting in ``state``, in chunks of ``size``; those the
    failure queue holds back (tasks/queues.py) are left out."""
    pks = list(
        session.scalars(
            select(Application.id)
            .where(Application.batch_id == batch_id, Application.state == state, ~held_back())
            .order_by(Application.id)
        )
    )
    groups = [pks[i : i + size] for i in range(0, len(pks), size)]
    return [
        Chunk(batch_id, group[0], group[-1], index, len(groups))
        for index, group in enumerate(groups, start=1)
    ]


def chunk_applications(
    session: Session, chunk: Chunk, state: ApplicationState
) -> list[Application]:
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.batch_id == chunk.batch_id,
                Application.id.between(chunk.first_pk, chunk.last_pk),
                Application.state == state,
                ~held_back(),
            )
            .order_by(Application.id)
        )
    )


def is_transient(exc: BaseException) -> bool:
    """Errors that go away by themselves: a database busy or locked, a dropped connection."""
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else ""
        return any(s in text for s in ("locked", "busy", "could not connect", "connection"))
    return isinstance(exc, TimeoutError | ConnectionError)


# Layer 1 of 2: tenacity around the code that touches the database. (Layer 2 is the
# Prefect task retry of a whole idempotent chunk; the two never wrap the same call.)
db_retry = retry(
    retry=retry_if_exception(is_transient),
    stop=stop_after_attempt(5),
    wait=wait_exponential_jitter(initial=0.2, max=5),
    reraise=True,
)


def with_db_retry(fn: Callable[[], T]) -> T:
    return db_retry(fn)()


def retry_transient_only(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Prefect retry condition: re-run a chunk only for a transient error, never for a bug."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


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
