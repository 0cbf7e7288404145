"""A person's decision on an application in ``needs_review``, recorded in the audit trail.

The next run continues from the decision: a matched application gets its notice then."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.errors import UserError
from models import (
    Application,
    ApplicationState,
    AuditEvent,
    Resident,
    ResidentStatus,
    ReviewItem,
    ReviewStatus,
    check_transition,
)
from tasks.matching import STATUS_REASONS

_REASON = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def resolve_review(
    session: Session,
    application_id: str,
    *,
    resident_code: str | None,
    reject_reason: str | None,
    actor: str,
    now: datetime,
) -> ApplicationState:
    app = session.scalar(select(Application).where(Application.application_id == application_id))
    if app is None:
        raise UserError(f"no application {application_id}")
    if app.state != ApplicationState.NEEDS_REVIEW:
        raise UserError(f"application {application_id} is {app.state.value}, not needs_review")
    detail: dict = {}
    if resident_code is not None:
        resident = session.scalar(select(Resident).where(Resident.resident_code == resident_code))
        if resident is None:
            raise UserError(f"no resident with code {resident_code}")
        app.resident_id = resident.id
        app.match_method = "person"
        if resident.status == ResidentStatus.RESIDENT:
            target = ApplicationState.MATCHED
        else:
            target = ApplicationState.INELIGIBLE
            app.reasons = [*app.reasons, STATUS_REASONS[resident.status]]
    else:
        assert reject_reason is not None
        if not _REASON.fullmatch(reject_reason):
            raise UserError("--reject takes a kebab-case reason code, e.g. not-in-register")
        target = ApplicationState.NO_MATCH
        app.reasons = [*app.reasons, reject_reason]
        detail["reason"] = reject_reason
    check_transition(app.state, target)
    app.state = target
    for item in session.scalars(
        select(ReviewItem).where(
            ReviewItem.application_pk == app.id, ReviewItem.status == ReviewStatus.OPEN
        )
    ):
        item.status = ReviewStatus.RESOLVED
        item.resolution = target.value
        item.resolved_at = now
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action="review-resolve",
            batch_id=app.batch_id,
            application_id=application_id,
            resident_code=resident_code,
            detail={"state": target.value, **detail},
        )
    )
    return target
