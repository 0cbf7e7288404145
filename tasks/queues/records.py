"""The failure queue and the review queue: what failed for the system, and what needs a person.

A failure-queue item's life (kofu.models.states.FailureStatus):

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

import errno
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.orm import Session

from kofu.base.clock import local_time
from kofu.base.mynumber import mask_individual_numbers
from kofu.base.settings import FailureRetry
from kofu.models import (
    Application,
    Batch,
    FailureItem,
    FailureStatus,
    ReviewItem,
    ReviewStatus,
    Stage,
)
from kofu.models.states import STAGE_INPUT
from kofu.tasks.chunks.retry import FailureKind, classify

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
    evidence = failure_evidence(session, application_pk, stage, exc)
    evidence["kind"] = classify(exc).value  # settle_failures: only a transient one is retried
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
            evidence=evidence,
            created_at=now,
        )
        session.add(item)
    else:
        item.attempts += 1
        item.error_code = code
        item.evidence = evidence
        item.last_error = f"{type(exc).__module__}.{type(exc).__qualname__}"
        item.status = FailureStatus.PENDING
        item.next_attempt_at = None
    return item


def failure_evidence(
    session: Session, application_pk: int | None, stage: Stage, exc: BaseException
) -> dict:
    """What failed, for the person fixing it: the exception's type, the file it names (an
    OSError's), and at the photo stage the photo's path inside the delivery and whether it is
    there. Paths and codes only, never the exception's text (it may quote personal data);
    anything shaped like an individual number is masked."""
    evidence: dict = {"exception": type(exc).__name__}
    if isinstance(exc, OSError) and exc.errno in errno.errorcode:
        evidence["errno"] = errno.errorcode[exc.errno]
    filename = getattr(exc, "filename", None)
    if isinstance(filename, str | os.PathLike):
        # The folder and the file (notices/<batch>/<number>.pdf names no one): enough to find it.
        evidence["file"] = mask_individual_numbers("/".join(Path(filename).parts[-2:]))
    if application_pk is not None and stage == Stage.PHOTOS:
        app = session.get(Application, application_pk)
        batch = session.get(Batch, app.batch_id) if app is not None else None
        if app is not None and app.photo and batch is not None:
            evidence["photo"] = mask_individual_numbers(app.photo)  # as the delivery names it
            evidence["photo_found"] = (Path(batch.inbox) / app.photo).is_file()
    return evidence


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
    - Pending without a next attempt time (it failed in this run): dead at once unless
      its error was transient (tasks/chunks/retry.py: a bug, or one that needs a person, is
      not retried on its own), dead after ``retry.max_attempts`` failed runs, else due again
      after ``retry.delay``.
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
        if item.attempts >= retry.max_attempts or not _retried(item):
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


def _retried(item: FailureItem) -> bool:
    """Transient, or queued before kinds were kept (retried as every error was then)."""
    return (item.evidence or {}).get("kind", FailureKind.TRANSIENT) == FailureKind.TRANSIENT


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
    created_at: str  # ISO 8601 with the Japan offset
    # Failure items: when the nightly run takes it again (None: dead, or due now).
    next_attempt_at: str | None = None
    # Review items of one resident's duplicate applications: the others' ids. The list
    # shows such items one after the other.
    pair: list[str] = field(default_factory=list)


def _jst(at: datetime | None) -> str | None:
    return local_time(at).isoformat() if at is not None else None


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
                    dict(item.evidence or {}),
                    _jst(item.created_at) or "",
                    _jst(item.next_attempt_at),
                )
            )
    if kind in (None, "review"):
        rows = session.execute(
            select(ReviewItem, Application.application_id, Application.batch_id)
            .join(Application, ReviewItem.application_pk == Application.id)
            .where(ReviewItem.status == ReviewStatus.OPEN)
            .order_by(ReviewItem.id)
        )
        reviews = []
        for item, app_id, batch_id in rows:
            evidence = dict(item.evidence)
            pair = [o["application_id"] for o in evidence.get("other_applications", [])]
            reviews.append(
                QueueEntry(
                    "review",
                    app_id,
                    batch_id,
                    item.stage,
                    list(item.reasons),
                    item.status,
                    None,
                    evidence,
                    _jst(item.created_at) or "",
                    pair=pair,
                )
            )
        entries += _pairs_together(reviews)
    return entries


def _pairs_together(reviews: list[QueueEntry]) -> list[QueueEntry]:
    """Each duplicate's review straight after the first review of its resident's group,
    the rest in the order they were opened."""
    group_of: dict[str, int] = {}
    keyed = []
    for n, entry in enumerate(reviews):
        ids = [entry.application_id or "", *entry.pair] if entry.pair else []
        first = min((group_of[i] for i in ids if i in group_of), default=n)
        for i in ids:
            group_of.setdefault(i, first)
        keyed.append((first, n, entry))
    return [entry for _, _, entry in sorted(keyed, key=lambda k: (k[0], k[1]))]
