"""The failure queue and the review queue: what failed for the system, and what needs a person.

A failure-queue item's life (models.states.FailureStatus):

    stage fails ──► pending ──(next attempt time passed: the nightly run takes it,
                      ▲  │      or a person runs `kofu rerun` at any time)──► retrying
                      │  │                                                       │
                      │  └─────────────── failed max_attempts times ──► dead     │
                      └──── failed again ◄───────────────────────────────────────┤
                                                                                 ▼
                                                        got through the stage: resolved

A dead item waits for a person: `kofu rerun` takes it too. The stages leave alone every
application with a pending or dead item (``held_back``), so only a run that took the item
(``take_failures``) works on it, and ``settle_failures`` closes the books at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.orm import Session

from kofu.settings import FailureRetry
from models import (
    Application,
    FailureItem,
    FailureStatus,
    ReviewItem,
    ReviewStatus,
    Stage,
)
from models.states import STAGE_INPUT

_KEBAB = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def error_code(exc: BaseException) -> str:
    """A kebab-case code for a technical error: the exception's own ``code`` when it has
    one, else its type (OperationalError -> operational-error). Never the message: it
    may quote personal data."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and _KEBAB.fullmatch(code) and "-" in code:
        return code
    return re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()


def record_failure(
    session: Session,
    batch_id: str,
    application_pk: int | None,
    stage: Stage,
    exc: BaseException,
    now: datetime,
) -> FailureItem:
    """Queue a technical failure, or count another attempt on the open item for the same
    application and stage. The item is pending with no next attempt time yet:
    ``settle_failures`` gives it one (or declares it dead) at the end of the run, and an
    item a killed run left without one counts as due."""
    code = error_code(exc)
    item = session.scalar(
        select(FailureItem).where(
            FailureItem.batch_id == batch_id,
            FailureItem.application_pk == application_pk,
            FailureItem.stage == stage,
            FailureItem.status != FailureStatus.RESOLVED,
        )
    )
    if item is None:
        item = FailureItem(
            batch_id=batch_id,
            application_pk=application_pk,
            stage=stage,
            error_code=code,
            last_error=f"{type(exc).__module__}.{type(exc).__qualname__}",
            attempts=1,
            status=FailureStatus.PENDING,
            created_at=now,
        )
        session.add(item)
    else:
        item.attempts += 1
        item.error_code = code
        item.last_error = f"{type(exc).__module__}.{type(exc).__qualname__}"
        item.status = FailureStatus.PENDING
        item.next_attempt_at = None
    return item


def resolve_failures(
    session: Session, application_pk: int | None, stage: Stage, batch_id: str | None = None
) -> None:
    """The application (or, with ``application_pk=None``, the batch's own step such as the
    print batch) got through this stage: its open failure items are done."""
    where = [
        FailureItem.application_pk == application_pk,
        FailureItem.stage == stage,
        FailureItem.status != FailureStatus.RESOLVED,
    ]
    if batch_id is not None:
        where.append(FailureItem.batch_id == batch_id)
    for item in session.scalars(select(FailureItem).where(*where)):
        item.status = FailureStatus.RESOLVED
        item.next_attempt_at = None


def held_back() -> ColumnElement[bool]:
    """SQL condition on Application: the failure queue holds it back from every stage
    (an item waiting for its next attempt, or dead). Only a run that took the item works
    on the application."""
    return exists().where(
        FailureItem.application_pk == Application.id,
        FailureItem.status.in_((FailureStatus.PENDING, FailureStatus.DEAD)),
    )


def take_failures(session: Session, now: datetime, batch_id: str | None = None) -> set[str]:
    """Mark items ``retrying`` for this run and return their batches.

    With ``batch_id`` (a person's rerun): every open item of that batch, dead ones too.
    Without (the nightly run): the pending items of any batch whose next attempt time has
    passed; an item without one (its run was killed before settling) is due."""
    if batch_id is not None:
        where = [
            FailureItem.batch_id == batch_id,
            FailureItem.status.in_((FailureStatus.PENDING, FailureStatus.DEAD)),
        ]
    else:
        where = [
            FailureItem.status == FailureStatus.PENDING,
            or_(FailureItem.next_attempt_at.is_(None), FailureItem.next_attempt_at <= now),
        ]
    batches = set(session.scalars(select(FailureItem.batch_id).where(*where).distinct()))
    session.execute(
        update(FailureItem)
        .where(*where)
        .values(status=FailureStatus.RETRYING, next_attempt_at=None, updated_at=now)
    )
    return batches


def release_abandoned(session: Session, now: datetime) -> int:
    """Items a killed run left ``retrying`` go back to pending, due at once. Called by the
    run that takes the lease: no other run can be working on them."""
    result = session.execute(
        update(FailureItem)
        .where(FailureItem.status == FailureStatus.RETRYING)
        .values(status=FailureStatus.PENDING, next_attempt_at=None, updated_at=now)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class Settled:
    resolved: int = 0
    pending: int = 0
    dead: int = 0


def settle_failures(session: Session, batch_id: str, retry: FailureRetry, now: datetime) -> Settled:
    """End of a run over ``batch_id``: close the books on its failure-queue items.

    - Still ``retrying`` (the stages neither failed nor resolved it): resolved if its
      application has left the stage's input state, else pending again, no attempt counted.
    - Pending without a next attempt time (it failed in this run): dead after
      ``retry.max_attempts`` failed runs, else due again after ``retry.delay``.
    """
    pending = dead = 0
    rows = session.execute(
        select(FailureItem, Application.state)
        .outerjoin(Application, FailureItem.application_pk == Application.id)
        .where(
            FailureItem.batch_id == batch_id,
            or_(
                FailureItem.status == FailureStatus.RETRYING,
                (FailureItem.status == FailureStatus.PENDING)
                & FailureItem.next_attempt_at.is_(None),
            ),
        )
    )
    for item, state in rows:
        if item.status == FailureStatus.RETRYING:
            waits_in = STAGE_INPUT.get(item.stage)
            if state is not None and waits_in is not None and state != waits_in:
                item.status = FailureStatus.RESOLVED
                continue
            item.status = FailureStatus.PENDING
        if item.attempts >= retry.max_attempts:
            item.status = FailureStatus.DEAD
            item.next_attempt_at = None
            dead += 1
        else:
            item.next_attempt_at = now + retry.delay(item.attempts)
            pending += 1
    # Resolved during this run (``now`` is when it started): by the stages, or just above.
    session.flush()
    resolved = (
        session.scalar(
            select(func.count()).where(
                FailureItem.batch_id == batch_id,
                FailureItem.status == FailureStatus.RESOLVED,
                FailureItem.updated_at >= now,
            )
        )
        or 0
    )
    return Settled(resolved, pending, dead)


def open_review(
    session: Session, app: Application, stage: Stage, reasons: list[str], evidence: dict
) -> ReviewItem:
    item = ReviewItem(
        application_pk=app.id,
        stage=stage,
        reasons=reasons,
        evidence=evidence,
        status=ReviewStatus.OPEN,
    )
    session.add(item)
    return item


@dataclass(frozen=True)
class QueueEntry:
    kind: str
    application_id: str | None
    batch_id: str
    stage: str
    codes: list[str]
    status: str
    attempts: int | None
    evidence: dict
    created_at: str
    # Failure items: when the nightly run takes it again (None: dead, or due now).
    next_attempt_at: str | None = None


def list_queue(session: Session, kind: str | None = None) -> list[QueueEntry]:
    entries: list[QueueEntry] = []
    if kind in (None, "failure"):
        rows = session.execute(
            select(FailureItem, Application.application_id)
            .outerjoin(Application, FailureItem.application_pk == Application.id)
            .where(FailureItem.status != FailureStatus.RESOLVED)
            .order_by(FailureItem.id)
        )
        for item, app_id in rows:
            entries.append(
                QueueEntry(
                    "failure",
                    app_id,
                    item.batch_id,
                    item.stage,
                    [item.error_code],
                    item.status,
                    item.attempts,
                    {},
                    item.created_at.isoformat(),
                    item.next_attempt_at.isoformat() if item.next_attempt_at else None,
                )
            )
    if kind in (None, "review"):
        rows = session.execute(
            select(ReviewItem, Application.application_id, Application.batch_id)
            .join(Application, ReviewItem.application_pk == Application.id)
            .where(ReviewItem.status == ReviewStatus.OPEN)
            .order_by(ReviewItem.id)
        )
        for item, app_id, batch_id in rows:
            entries.append(
                QueueEntry(
                    "review",
                    app_id,
                    batch_id,
                    item.stage,
                    list(item.reasons),
                    item.status,
                    None,
                    dict(item.evidence),
                    item.created_at.isoformat(),
                )
            )
    return entries
