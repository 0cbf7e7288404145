"""A person's decision on an application in ``needs_review``, recorded in the audit trail.

The next run continues from the decision: an accepted photo goes on to matching, a matched
application gets its notice, a refused photo gets its letter."""

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
    Stage,
    check_transition,
)
from tasks.matching import STATUS_REASONS
from tasks.photos import PROBLEMS

S = ApplicationState
_REASON = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def resolve_review(
    session: Session,
    application_id: str,
    *,
    resident_code: str | None = None,
    reject_reason: str | None = None,
    accept: bool = False,
    actor: str,
    now: datetime,
) -> ApplicationState:
    """Exactly one of: ``resident_code`` (a matching review: this is the person),
    ``accept`` (a photo review: the photo is fine) or ``reject_reason`` (either kind)."""
    app = session.scalar(select(Application).where(Application.application_id == application_id))
    if app is None:
        raise UserError(f"no application {application_id}")
    if app.state != S.NEEDS_REVIEW:
        raise UserError(f"application {application_id} is {app.state.value}, not needs_review")
    items = list(
        session.scalars(
            select(ReviewItem).where(
                ReviewItem.application_pk == app.id, ReviewItem.status == ReviewStatus.OPEN
            )
        )
    )
    about_photo = any(item.stage == Stage.PHOTOS for item in items)
    if about_photo:
        target = _decide_photo(app, resident_code, reject_reason, accept)
    else:
        target = _decide_match(session, app, resident_code, reject_reason, accept)
    check_transition(app.state, target)
    app.state = target
    for item in items:
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
            detail={"state": target.value, "reason": reject_reason, "accept": accept},
        )
    )
    return target


def _decide_photo(
    app: Application, resident_code: str | None, reject_reason: str | None, accept: bool
) -> ApplicationState:
    if resident_code is not None:
        raise UserError("this review is about the photo: use --accept or --reject CODE")
    if accept:
        return S.PHOTO_OK
    assert reject_reason is not None
    if reject_reason not in PROBLEMS:
        # The resident's letter explains each code, so only known photo codes will do.
        known = ", ".join(sorted(PROBLEMS))
        raise UserError(f"--reject for a photo takes one of: {known}")
    app.reasons = [*app.reasons, reject_reason]
    return S.PHOTO_REJECTED


def _decide_match(
    session: Session,
    app: Application,
    resident_code: str | None,
    reject_reason: str | None,
    accept: bool,
) -> ApplicationState:
    if accept:
        raise UserError("this review is about matching: use --resident CODE or --reject REASON")
    if resident_code is None:
        assert reject_reason is not None
        if not _REASON.fullmatch(reject_reason):
            raise UserError("--reject takes a kebab-case reason code, e.g. not-in-register")
        app.reasons = [*app.reasons, reject_reason]
        return S.NO_MATCH
    resident = session.scalar(select(Resident).where(Resident.resident_code == resident_code))
    if resident is None:
        raise UserError(f"no resident with code {resident_code}")
    app.resident_id = resident.id
    app.match_method = "person"
    if resident.status == ResidentStatus.RESIDENT:
        return S.MATCHED
    app.reasons = [*app.reasons, STATUS_REASONS[resident.status]]
    return S.INELIGIBLE
