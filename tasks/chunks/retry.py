"""What is retried, by whom, and what waits for a person: the one place errors are sorted.

Every error an application's work raises is one of three kinds, told by its class, never by
its message (``classify``):

- **transient** (a database busy or locked, a dropped connection, a lock wait past its
  timeout, a deadlock the server broke; kofu.base.errors.Passing such as a photo file not
  there yet): retried.
- **needs a person** (kofu.base.errors.NeedsPerson, such as a photo path that now leads out
  of the delivery; and any other OSError: a file or folder in the way, a permission, which
  do not mend themselves): queued, never retried on its own; a person fixes the cause and
  runs ``kofu rerun``.
- **bug** (anything else): queued and dead at once; retrying a bug only repeats it.

Which layer retries what; each call has exactly one:

1. A chunk task's database errors: Prefect's task retry (tasks/chunks/task.py), for a
   transient error only, of the whole chunk. A chunk is idempotent (the state guard), and on
   PostgreSQL a transient error aborts the claiming transaction, so the chunk is the unit
   that can be retried. Nothing inside a chunk task retries by itself.
2. The flow's own database calls between tasks (planning chunks, taking and settling the
   failure queue, the run lock): tenacity, ``with_db_retry`` below. They run in no task.
3. An application whose work failed: the failure queue (tasks/queues/records.py), across
   runs. A transient failure waits its delay and is taken again by a later night, up to
   ``[failures] max_attempts``; the other two kinds are dead at once.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from kofu.base.errors import NeedsPerson, Passing
from kofu.models.db import is_transient, unit_of_work

T = TypeVar("T")


class FailureKind(StrEnum):
    TRANSIENT = "transient"
    NEEDS_PERSON = "needs-a-person"
    BUG = "bug"


def classify(exc: BaseException) -> FailureKind:
    if isinstance(exc, NeedsPerson):
        return FailureKind.NEEDS_PERSON
    if isinstance(exc, Passing) or is_transient(exc):
        return FailureKind.TRANSIENT
    if isinstance(exc, OSError):  # after is_transient: TimeoutError is an OSError too
        return FailureKind.NEEDS_PERSON
    return FailureKind.BUG


# Layer 2: the flow's own database calls, outside any task.
db_retry = retry(
    retry=retry_if_exception(is_transient),
    stop=stop_after_attempt(5),
    wait=wait_exponential_jitter(initial=0.2, max=5),
    reraise=True,
)


def with_db_retry(fn: Callable[[], T]) -> T:
    return db_retry(fn)()


def read_with_retry(db_url: str, query: Callable[[Session], T]) -> T:
    """One read of the flow's own, in its own session, retried whole on a transient error."""

    def once() -> T:
        with unit_of_work(db_url) as session:
            return query(session)

    return with_db_retry(once)
