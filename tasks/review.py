"""A person's decision on an application in ``needs_review``, recorded in the audit trail.

The next run continues from the decision: an accepted photo goes on to matching, a matched
application gets its notice, a refused photo gets its letter. A decision that cannot be
taken raises ReviewRefused and changes nothing; its ``code`` says why, for the trail."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.errors import UserError
from kofu.runtime import mask_individual_numbers
from models import (
    Application,
    ApplicationState,
    Resident,
    ResidentStatus,
    ReviewItem,
    ReviewStatus,
    Stage,
    check_transition,
)
from tasks.audit import RESIDENT_CODE, record_review_decision
from tasks.matching import STATUS_REASONS
from tasks.photos import PROBLEMS

S = ApplicationState
# A reason code is words: it starts with a letter, so a number typed in the wrong place is
# not taken for one (and so never reaches the application's reasons or the audit trail).
_REASON = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


class ReviewRefused(UserError):
    """The decision was not taken. ``code`` (kebab-case) says why; ``application_id`` and
    ``batch_id`` are set when the id named an application."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.application_id: str | None = None
        self.batch_id: str | None = None

    def about(self, app: Application) -> ReviewRefused:
        # Plain strings: the session that loaded ``app`` is rolled back before they are used.
        self.application_id, self.batch_id = app.application_id, app.batch_id
        return self


def decision_kind(resident_code: str | None, reject_reason: str | None, accept: bool) -> str:
    if resident_code is not None:
        return "resident"
    return "accept" if accept else "reject"


def resolve_review(
    session: Session,
    application_id: str,
    *,
    resident_code: str | None = None,
    reject_reason: str | None = None,
    accept: bool = False,
    actor: str,
    now: datetime,
    os_user: str | None = None,
) -> ApplicationState:
    """Exactly one of: ``resident_code`` (a matching review: this is the person),
    ``accept`` (a photo review: the photo is fine) or ``reject_reason`` (either kind)."""
    app = session.scalar(select(Application).where(Application.application_id == application_id))
    if app is None:
        # Not echoed: a mistyped id could be anything, an individual number included.
        raise ReviewRefused(
            "no application with that id: see `kofu queue list --kind review`", "no-application"
        )
    if app.state != S.NEEDS_REVIEW:
        raise ReviewRefused(
            f"application {application_id} is {app.state.value}, not needs_review",
            "not-in-review",
        ).about(app)
    items = list(
        session.scalars(
            select(ReviewItem).where(
                ReviewItem.application_pk == app.id, ReviewItem.status == ReviewStatus.OPEN
            )
        )
    )
    about_photo = any(item.stage == Stage.PHOTOS for item in items)
    try:
        if about_photo:
            target = _decide_photo(app, resident_code, reject_reason, accept)
        else:
            target = _decide_match(session, app, resident_code, reject_reason, accept)
    except ReviewRefused as refused:
        raise refused.about(app) from None
    check_transition(app.state, target)
    app.state = target
    for item in items:
        item.status = ReviewStatus.RESOLVED
        item.resolution = target.value
        item.resolved_at = now
    record_review_decision(
        session,
        actor=actor,
        os_user=os_user,
        at=now,
        batch_id=app.batch_id,
        application_id=application_id,
        stage=(Stage.PHOTOS if about_photo else Stage.MATCHING).value,
        decision=decision_kind(resident_code, reject_reason, accept),
        state=target.value,
        resident_code=resident_code,
        reason=reject_reason,
    )
    return target


def _decide_photo(
    app: Application, resident_code: str | None, reject_reason: str | None, accept: bool
) -> ApplicationState:
    if resident_code is not None:
        raise ReviewRefused(
            "this review is about the photo: use --accept or --reject CODE", "wrong-decision"
        )
    if accept:
        return S.PHOTO_OK
    assert reject_reason is not None
    if reject_reason not in PROBLEMS:
        # The resident's letter explains each code, so only known photo codes will do.
        known = ", ".join(sorted(PROBLEMS))
        raise ReviewRefused(f"--reject for a photo takes one of: {known}", "unknown-reason")
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
        raise ReviewRefused(
            "this review is about matching: use --resident CODE or --reject REASON",
            "wrong-decision",
        )
    if resident_code is None:
        assert reject_reason is not None
        if (
            not _REASON.fullmatch(reject_reason)
            or mask_individual_numbers(reject_reason) != reject_reason
        ):
            raise ReviewRefused(
                "--reject takes a kebab-case reason code, e.g. not-in-register", "bad-reason"
            )
        app.reasons = [*app.reasons, reject_reason]
        return S.NO_MATCH
    if not RESIDENT_CODE.fullmatch(resident_code):
        # Not echoed: 12 digits here would be an individual number typed in the wrong place.
        raise ReviewRefused(
            "--resident takes the 11-digit resident code (住民票コード)", "bad-resident-code"
        )
    resident = session.scalar(select(Resident).where(Resident.resident_code == resident_code))
    if resident is None:
        raise ReviewRefused(f"no resident with code {resident_code}", "unknown-resident")
    app.resident_id = resident.id
    app.match_method = "person"
    if resident.status == ResidentStatus.RESIDENT:
        return S.MATCHED
    app.reasons = [*app.reasons, STATUS_REASONS[resident.status]]
    return S.INELIGIBLE
