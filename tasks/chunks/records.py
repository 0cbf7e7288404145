"""Planning chunks of applications and claiming them for one worker.

Claiming (``claim_chunk``). A stage's chunk function reads its applications, computes (checks
the photos, renders the PDFs), then records every result in one short write transaction
guarded by the state. Two workers running chunks of the same stage at once must never take
the same application:

- PostgreSQL: the claim first takes the chunk itself, a transaction-scoped advisory lock
  named by the batch, the stage's input state and the chunk's first id: a worker that finds
  it taken skips the whole chunk, so two workers never share one (row locks alone could split
  a chunk between two workers that start it at the same instant). It then selects the chunk's applications still in the stage's input state
  ``FOR NO KEY UPDATE SKIP LOCKED``, in a transaction held open while the chunk computes and
  until it has recorded its results (``Claim.record`` writes in that same transaction, then
  commits). A second worker skips the rows the first holds, and finds them moved on once the
  first commits; between them they take every application exactly once. Row locks were
  chosen over a claim column: a worker that dies (SIGKILL, power cut) loses its connection
  and the server frees its rows at once, so there is no stale claim to expire, no migration,
  and nothing to clean up. NO KEY UPDATE rather than UPDATE, so that rows other transactions
  insert that point at a claimed application (a review item, a failure-queue entry) are not
  blocked by the foreign-key check. The write itself also takes the one-writer lock
  (models/db.py), after the rows. Its state guard reads the rows the claim loaded: nobody
  else can have changed them while they were locked. Nothing kofu runs while holding the
  writer lock waits for a claimed row (were it to, PostgreSQL would break the deadlock and
  the loser, a transient error, is retried).
- SQLite: no row locks. The claim is a plain read; the record step opens its own write
  transaction (``BEGIN IMMEDIATE``: one writer at a time, waiting on the busy timeout; a
  chunk that still finds it busy is retried whole, tasks/chunks/retry.py) and its state guard skips what another worker recorded first. So
  each application is still recorded once, though two workers may both compute it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kofu.models import Application, ApplicationState
from kofu.models.db import is_sqlite, lock_for_writing, unit_of_work
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.queues.records import held_back

T = TypeVar("T")


def plan_chunks(session: Session, batch_id: str, state: ApplicationState, size: int) -> list[Chunk]:
    """The batch's applications waiting in ``state``, in chunks of ``size``; those the
    failure queue holds back (tasks/queues/records.py) are left out."""
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


def batches_with_work(session: Session) -> set[str]:
    """Batches an earlier run left work in: applications waiting in a stage's input state
    (a run killed half-way, a person's decision since), refused photos without their letter,
    reminded cards without their reminder, notices, letters and reminders not yet in a print
    file. Those the failure queue holds back wait for
    their next attempt instead (a batch whose print step failed, too)."""
    from kofu.models import FailureItem, FailureStatus, Notice, RefusalLetter, Reminder, Stage

    waiting = select(Application.batch_id).where(
        Application.state.in_(
            (ApplicationState.RECEIVED, ApplicationState.PHOTO_OK, ApplicationState.MATCHED)
        ),
        ~held_back(),
    )
    no_letter = select(Application.batch_id).where(
        Application.state == ApplicationState.PHOTO_REJECTED,
        ~held_back(),
        ~select(RefusalLetter.id).where(RefusalLetter.application_pk == Application.id).exists(),
    )
    no_reminder = select(Application.batch_id).where(
        Application.state == ApplicationState.REMINDED,
        ~held_back(),
        ~select(Reminder.id).where(Reminder.application_pk == Application.id).exists(),
    )
    print_held = select(FailureItem.batch_id).where(
        FailureItem.stage == Stage.PRINT,
        FailureItem.status.in_((FailureStatus.PENDING, FailureStatus.DEAD)),
    )
    unprinted = [
        select(Application.batch_id)
        .join(table, table.application_pk == Application.id)
        .where(table.print_batch_id.is_(None), Application.batch_id.not_in(print_held), *extra)
        for table, extra in (
            (Notice, [Notice.voided_at.is_(None)]),
            (RefusalLetter, []),
            (Reminder, []),
        )
    ]
    found: set[str] = set()
    for query in (waiting, no_letter, no_reminder, *unprinted):
        found |= set(session.scalars(query.distinct()))
    return found


def chunk_applications(
    session: Session,
    chunk: Chunk,
    state: ApplicationState,
    *,
    claim: bool = False,
    limit: int | None = None,
) -> list[Application]:
    """The chunk's applications waiting in ``state`` (not held back by the failure queue).
    With ``claim`` (PostgreSQL only), locked for this transaction, skipping those another
    transaction holds; at most ``limit`` of them."""
    query = (
        select(Application)
        .where(
            Application.batch_id == chunk.batch_id,
            Application.id.between(chunk.first_pk, chunk.last_pk),
            Application.state == state,
            ~held_back(),
        )
        .order_by(Application.id)
        .limit(limit)
    )
    if claim:
        query = query.with_for_update(of=Application, skip_locked=True, key_share=True)
    return list(session.scalars(query))


@dataclass
class Claim:
    """The applications a worker took from a chunk, and where to record their results."""

    db_url: str
    session: Session  # the claim's own session: read the applications' data through it
    applications: list[Application]

    def record(self, write: Callable[[Session], T]) -> T:
        """Run ``write(session)`` in the chunk's one write transaction and commit it. It
        must look the applications up again by key and check their state (the guard)."""
        if is_sqlite(self.db_url):
            self.session.commit()  # end whatever the compute read: it holds nothing

            with unit_of_work(self.db_url, write=True) as session:
                result = write(session)
                session.commit()
                return result
        # PostgreSQL: the claiming transaction, which holds the rows. A transient error
        # here loses the claim with the transaction; Prefect retries the whole chunk.
        lock_for_writing(self.session)
        result = write(self.session)
        self.session.commit()
        return result


@contextmanager
def claim_chunk(
    db_url: str,
    chunk: Chunk,
    state: ApplicationState,
    limit: int | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Iterator[Claim]:
    """Take the chunk's applications waiting in ``state`` for this worker (module docstring):
    compute inside the block, then ``claim.record(...)``. Leaving the block without
    recording gives the applications back. Logs which host and process took the chunk, to
    ``log`` (the task run's logger: tasks/chunks/task.py), else to kofu's own."""
    log = log or logging.getLogger("kofu")
    with unit_of_work(db_url) as session:
        if is_sqlite(db_url):
            apps = chunk_applications(session, chunk, state, limit=limit)
            session.commit()  # end the read: a SQLite read holds nothing for the others
        elif _lock_chunk(session, chunk, state):
            apps = chunk_applications(session, chunk, state, claim=True, limit=limit)
        else:
            log.info(
                "chunk %s of batch %s (%s): another worker has it, skipped",
                chunk.label,
                chunk.batch_id,
                state.value,
            )
            apps = []
        if apps:
            log.info(
                "chunk %s of batch %s (%s): %d application(s) taken on %s, pid %d",
                chunk.label,
                chunk.batch_id,
                state.value,
                len(apps),
                socket.gethostname(),
                os.getpid(),
            )
        yield Claim(db_url, session, apps)


def _lock_chunk(session: Session, chunk: Chunk, state: ApplicationState) -> bool:
    """PostgreSQL: this transaction's hold on the chunk, or False when another has it."""
    name = f"kofu-chunk:{chunk.batch_id}:{state.value}:{chunk.first_pk}".encode()
    key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))


def without_row(claim: Claim, table: Any, chunk: Chunk) -> list[Application]:
    """The claim's applications with no row of ``table`` yet (a letter stage's: one letter
    per application, ever). Only this chunk's rows are read: the table grows every night,
    the chunk does not."""
    done = set(
        claim.session.scalars(
            select(table.application_pk).where(
                table.application_pk.between(chunk.first_pk, chunk.last_pk)
            )
        )
    )
    return [app for app in claim.applications if app.id not in done]
