"""A person's decision on an application in ``needs_review``, recorded in the audit trail.

The next run continues from the decision: an accepted photo goes on to matching, a matched
application gets its notice, a refused photo gets its letter. A decision that cannot be
taken raises ReviewRefused and changes nothing; its ``code`` says why, for the trail.

One resident, one card in progress (tasks/duplicates/records.py): naming a resident who has another
application in progress decides which one stands. On a ``duplicate-application`` review,
``--resident`` lets this one stand and withdraws the other (its notice, if any, is void);
``--reject duplicate-application`` withdraws this one and lets the other stand. On any other
review, naming such a resident turns it into a duplicate review, so the person sees the other
application before anything is withdrawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.models import (
    Application,
    ApplicationState,
    Resident,
    ResidentStatus,
    ReviewItem,
    ReviewStatus,
    Stage,
    transition,
)
from kofu.tasks.audit.records import record_review_decision
from kofu.tasks.duplicates.records import (
    DUPLICATE,
    Withdrawn,
    duplicate_evidence,
    others_in_progress,
    release_partners,
    withdraw,
)
from kofu.tasks.matching.core import STATUS_REASONS
from kofu.tasks.queues.records import open_review
from kofu.tasks.review.core import (
    ReviewRefused,
    check_match_decision,
    decision_kind,
    photo_decision,
)
from kofu.tasks.review.held_card import resolve_held_card

S = ApplicationState
# What a person may give as the reason when a matching review ends without a match, and the
# state each leads to. Only these: the code is what the export and the statistics count.
MATCH_REJECTIONS: dict[str, ApplicationState] = {
    "not-in-register": S.NO_MATCH,  # the applicant is not this municipality's resident
    "identity-not-confirmed": S.NO_MATCH,  # a candidate, but not confirmed to be the applicant
    DUPLICATE: S.WITHDRAWN,  # a second application of a resident: the other one stands
    "withdrawn-by-applicant": S.WITHDRAWN,  # the resident asked to withdraw it
}


@dataclass
class Decision:
    state: ApplicationState
    batch_id: str = ""
    resident_code: str | None = None  # the resident it was matched (or held) to
    # Other applications of the resident withdrawn by this decision (their notices void).
    withdrawn: list[Withdrawn] = field(default_factory=list)
    # Applications held only as this one's duplicate, which now stand (matched).
    released: list[str] = field(default_factory=list)
    # Set when the decision became a duplicate review: the resident's other applications.
    duplicate_of: list[str] = field(default_factory=list)


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
) -> Decision:
    """Exactly one of: ``resident_code`` (a matching review: this is the person),
    ``accept`` (a photo review: the photo is fine) or ``reject_reason`` (either kind)."""
    app = _in_review(session, application_id)
    if app.state is S.ON_HOLD:
        return _held_card(
            session,
            app,
            resident_code=resident_code,
            reject_reason=reject_reason,
            accept=accept,
            actor=actor,
            os_user=os_user,
            now=now,
        )
    items = _open_items(session, app)
    about_photo = any(item.stage == Stage.PHOTOS for item in items)
    decision = Decision(S.NEEDS_REVIEW)
    previous_resident = app.resident_id  # set when a duplicate hold named the resident
    try:
        if about_photo:
            target = _decide_photo(app, resident_code, reject_reason, accept)
        else:
            target = _decide_match(session, app, resident_code, reject_reason, accept)
    except ReviewRefused as refused:
        raise refused.about(app) from None
    for item in items:
        item.status = ReviewStatus.RESOLVED
        item.resolution = target.value
        item.resolved_at = now
    if target == S.MATCHED:
        target = _one_card_in_progress(
            session, app, items, previous_resident, decision, actor=actor, os_user=os_user, now=now
        )
    if target == S.WITHDRAWN:
        withdraw(
            session,
            app,
            reason=reject_reason or DUPLICATE,
            actor=actor,
            os_user=os_user,
            now=now,
        )
    elif target != S.NEEDS_REVIEW:
        transition(app, target)
    keeps_resident = target in (S.MATCHED, S.NEEDS_REVIEW) and app.resident_id == previous_resident
    if previous_resident is not None and not keeps_resident:
        # This one no longer takes the resident's card: a partner held only as its duplicate
        # now stands.
        released = release_partners(
            session,
            previous_resident,
            now,
            actor=actor,
            os_user=os_user,
            because=application_id,
        )
        decision.released = [a.application_id for a in released]
    decision.state, decision.batch_id = target, app.batch_id
    if app.resident_id is not None and target in (S.MATCHED, S.NEEDS_REVIEW, S.INELIGIBLE):
        decision.resident_code = session.get_one(Resident, app.resident_id).resident_code
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
    return decision


def _held_card(
    session: Session,
    app: Application,
    *,
    resident_code: str | None,
    reject_reason: str | None,
    accept: bool,
    actor: str,
    os_user: str | None,
    now: datetime,
) -> Decision:
    """A card held after its notice for a name change in the register (tasks/review/held_card.py)."""
    items = _open_items(session, app)
    try:
        target, code = resolve_held_card(
            session, app, items, resident_code=resident_code, reject_reason=reject_reason, now=now
        )
    except ReviewRefused as refused:
        raise refused.about(app) from None
    record_review_decision(
        session,
        actor=actor,
        os_user=os_user,
        at=now,
        batch_id=app.batch_id,
        application_id=app.application_id,
        stage=Stage.LIFECYCLE.value,
        decision=decision_kind(resident_code, reject_reason, accept),
        state=target.value,
        resident_code=code,
        reason=reject_reason,
    )
    return Decision(target, app.batch_id, code)


def _open_items(session: Session, app: Application) -> list[ReviewItem]:
    return list(
        session.scalars(
            select(ReviewItem).where(
                ReviewItem.application_pk == app.id, ReviewItem.status == ReviewStatus.OPEN
            )
        )
    )


def _in_review(session: Session, application_id: str) -> Application:
    app = session.scalar(select(Application).where(Application.application_id == application_id))
    if app is None:
        # Not echoed: a mistyped id could be anything, an individual number included.
        raise ReviewRefused(
            "no application with that id: see `kofu queue list --kind review`", "no-application"
        )
    held = app.state is S.ON_HOLD and any(
        item.stage is Stage.LIFECYCLE for item in _open_items(session, app)
    )
    if app.state != S.NEEDS_REVIEW and not held:
        raise ReviewRefused(
            f"application {application_id} is {app.state.value}, not needs_review",
            "not-in-review",
        ).about(app)
    return app


def _one_card_in_progress(
    session: Session,
    app: Application,
    items: list[ReviewItem],
    previous_resident: int | None,
    decision: Decision,
    *,
    actor: str,
    os_user: str | None,
    now: datetime,
) -> ApplicationState:
    """A match to a resident who has another application in progress: matched, the others
    withdrawn, when this is the duplicate review of the resident it was held for; else a
    duplicate review (needs_review), so a person sees both first."""
    others = others_in_progress(session, app.resident_id, app.id)
    if not others:
        return S.MATCHED
    held_for = previous_resident == app.resident_id
    if held_for and any(DUPLICATE in item.reasons for item in items):
        # A duplicate review, decided for the resident it was held for: the person let
        # this one stand, so the others go.
        for other in others:
            decision.withdrawn.append(
                withdraw(
                    session,
                    other,
                    reason=DUPLICATE,
                    actor=actor,
                    os_user=os_user,
                    now=now,
                    stands=app.application_id,
                )
            )
        return S.MATCHED
    # The person named a resident who has another card in progress (on another kind of
    # review, or another resident than the duplicate's): show them both before anything is
    # withdrawn.
    code = session.get_one(Resident, app.resident_id).resident_code
    app.reasons = [*app.reasons, DUPLICATE]
    open_review(
        session, app, Stage.MATCHING, [DUPLICATE], duplicate_evidence(session, app, others, code)
    )
    for item in items:
        item.resolution = DUPLICATE
    decision.duplicate_of = [other.application_id for other in others]
    return S.NEEDS_REVIEW


def _decide_photo(
    app: Application, resident_code: str | None, reject_reason: str | None, accept: bool
) -> ApplicationState:
    target = S(photo_decision(resident_code, reject_reason, accept))
    if target == S.PHOTO_REJECTED:
        assert reject_reason is not None
        app.reasons = [*app.reasons, reject_reason]  # the letter explains it
    return target


def _decide_match(
    session: Session,
    app: Application,
    resident_code: str | None,
    reject_reason: str | None,
    accept: bool,
) -> ApplicationState:
    check_match_decision(resident_code, accept)
    if resident_code is None:
        assert reject_reason is not None
        if reject_reason not in MATCH_REJECTIONS:
            # Not echoed: what was typed could be anything, an individual number included.
            known = ", ".join(MATCH_REJECTIONS)
            raise ReviewRefused(
                f"--reject for a matching review takes one of: {known}", "bad-reason"
            )
        app.reasons = [*app.reasons, reject_reason]
        target = MATCH_REJECTIONS[reject_reason]
        if target == S.NO_MATCH:
            app.resident_id = None  # not the resident a duplicate hold named
        return target
    resident = session.scalar(select(Resident).where(Resident.resident_code == resident_code))
    if resident is None:
        raise ReviewRefused(f"no resident with code {resident_code}", "unknown-resident")
    app.resident_id = resident.id
    app.match_method = "person"
    if resident.status == ResidentStatus.RESIDENT:
        return S.MATCHED
    app.reasons = [*app.reasons, STATUS_REASONS[resident.status]]
    return S.INELIGIBLE
