"""The failure queue and the review queue: what failed for the system, and what needs a person."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Application,
    FailureItem,
    FailureStatus,
    ReviewItem,
    ReviewStatus,
    Stage,
)

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
    application and stage."""
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
        item.status = FailureStatus.PENDING
    return item


def resolve_failures(session: Session, application_pk: int, stage: Stage) -> None:
    """The application got through this stage: its open failure items are done."""
    for item in session.scalars(
        select(FailureItem).where(
            FailureItem.application_pk == application_pk,
            FailureItem.stage == stage,
            FailureItem.status != FailureStatus.RESOLVED,
        )
    ):
        item.status = FailureStatus.RESOLVED


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
