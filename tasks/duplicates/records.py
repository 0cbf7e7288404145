"""One resident, one card in progress (DESIGN.md, "Application states").

A resident may apply twice: the same night (a re-application because the first seemed to
fail), or again before the first card is picked up. Two notices would mean two cards in
progress, two letters to one home and confusion at the counter. So:

- Whenever an application is about to be matched to a resident (the matching stage) or to
  get its notice (the notice stage, a last guard), the resident's other applications still
  in progress are looked up (``others_in_progress``).
- If there is one, the application goes to ``needs_review`` with the reason
  ``duplicate-application`` instead (``hold_as_duplicate``). An other one still waiting for
  its notice (``matched``) goes back to a person too, so neither of a pair gets a notice
  before a person decides. An other one that has its notice keeps it until then.
- A person decides which application stands (tasks/review/records.py). The other is withdrawn
  (``withdraw``): its notice, if it had one, is void and never prints again, and its visit
  window is freed. It stays, with the decision, in the audit trail.

These run inside the write transaction that records the result (one writer at a time), so
two chunks matching the two applications of a pair side by side still see each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kofu.base.clock import JST, japan_wall_clock
from kofu.models import (
    Application,
    ApplicationState,
    FailureItem,
    FailureStatus,
    Resident,
    ReviewItem,
    ReviewStatus,
    Stage,
    VisitWindow,
    transition,
)
from kofu.models.notices import latest_notice
from kofu.models.states import CARD_IN_PROGRESS
from kofu.tasks.audit.records import record as audit_record
from kofu.tasks.queues.records import open_review

S = ApplicationState
DUPLICATE = "duplicate-application"
# A card is in progress from the match until it is picked up or destroyed (models/states.py).
# A ``needs_review`` application counts only when a duplicate hold gave it its resident: any
# other review has not decided who the applicant is.
IN_PROGRESS = CARD_IN_PROGRESS


def others_in_progress(
    session: Session, resident_id: int, application_pk: int
) -> list[Application]:
    """The resident's applications in progress other than ``application_pk``, oldest first."""
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.resident_id == resident_id,
                Application.id != application_pk,
                Application.state.in_(IN_PROGRESS),
            )
            .order_by(Application.submitted_at, Application.id)
        )
    )


def submitted(app: Application) -> str | None:
    """When the resident submitted it, ISO 8601 with the Japan offset."""
    if app.submitted_at is None:
        return None
    return japan_wall_clock(app.submitted_at).replace(tzinfo=JST).isoformat()


def _summary(session: Session, app: Application) -> dict:
    notice = latest_notice(session, app.id)
    return {
        "application_id": app.application_id,
        "batch_id": app.batch_id,
        "state": app.state.value,
        "submitted_at": submitted(app),
        "notice_number": notice.notice_number if notice is not None else None,
    }


def duplicate_evidence(
    session: Session, app: Application, others: list[Application], resident_code: str
) -> dict:
    """What the person deciding needs: the resident, this application and the others, each
    with its submission time. Ids, codes and times only."""
    return {
        "method": "duplicate",
        "resident_code": resident_code,
        "application": _summary(session, app),
        "other_applications": [_summary(session, other) for other in others],
    }


def hold_as_duplicate(
    session: Session,
    app: Application,
    resident_id: int,
    others: list[Application],
    matching_evidence: dict | None = None,
) -> list[Application]:
    """``app`` (about to be matched, or matched and about to get its notice) goes to a
    person instead, keeping the resident it was found to be. Each other application still
    waiting for its notice goes back to a person too. Returns those sent back."""
    code = session.get_one(Resident, resident_id).resident_code
    evidence = duplicate_evidence(session, app, others, code)
    if matching_evidence and matching_evidence.get("candidates"):
        evidence["candidates"] = matching_evidence["candidates"]
    transition(app, S.NEEDS_REVIEW, [DUPLICATE])
    # The resident stays on it: the person deciding sees who, and it counts as in progress.
    app.resident_id, app.match_method = resident_id, None
    open_review(session, app, Stage.MATCHING, [DUPLICATE], evidence)
    sent_back = []
    for other in others:
        if other.state != S.MATCHED:
            continue  # it has its notice (or waits for a person already): it keeps it
        rest = [a for a in [app, *others] if a.id != other.id]
        transition(other, S.NEEDS_REVIEW, [DUPLICATE])
        other.match_method = None
        open_review(
            session,
            other,
            Stage.MATCHING,
            [DUPLICATE],
            duplicate_evidence(session, other, rest, code),
        )
        sent_back.append(other)
    return sent_back


@dataclass(frozen=True)
class Withdrawn:
    application_id: str
    batch_id: str
    notice_number: str | None  # the notice made void, if it had one
    printed: bool  # that notice was already in a print file: take it out of the mail


def withdraw(
    session: Session,
    app: Application,
    *,
    reason: str,
    actor: str,
    os_user: str | None,
    now: datetime,
    stands: str | None = None,
) -> Withdrawn:
    """``app`` no longer stands: withdrawn, its notice void, its visit window freed, its
    open review and failure items closed, and an audit event naming what was voided."""
    transition(app, S.WITHDRAWN)  # refused before anything else changes
    notice = latest_notice(session, app.id)
    if notice is not None and notice.voided_at is None:
        notice.voided_at, notice.void_reason = now, "withdrawn"
    session.execute(delete(VisitWindow).where(VisitWindow.application_pk == app.id))
    for item in session.scalars(
        select(ReviewItem).where(
            ReviewItem.application_pk == app.id, ReviewItem.status == ReviewStatus.OPEN
        )
    ):
        item.status, item.resolution, item.resolved_at = ReviewStatus.RESOLVED, "withdrawn", now
    for failure in session.scalars(
        select(FailureItem).where(
            FailureItem.application_pk == app.id, FailureItem.status != FailureStatus.RESOLVED
        )
    ):
        failure.status, failure.next_attempt_at = FailureStatus.RESOLVED, None
    if reason not in app.reasons:
        app.reasons = [*app.reasons, reason]
    resident = session.get(Resident, app.resident_id) if app.resident_id else None
    done = Withdrawn(
        app.application_id,
        app.batch_id,
        notice.notice_number if notice is not None else None,
        notice is not None and notice.print_batch_id is not None,
    )
    audit_record(
        session,
        "application-withdrawn",
        actor=actor,
        os_user=os_user,
        at=now,
        batch_id=app.batch_id,
        application_id=app.application_id,
        resident_code=resident.resident_code if resident is not None else None,
        # The notice is the application's one notice: its id names it (a notice number
        # would be masked here, as it has the shape of an individual number).
        detail={
            "reason": reason,
            "stands": stands,
            "notice_void": done.notice_number is not None,
            "already_printed": done.printed,
        },
    )
    return done


def release_partners(
    session: Session,
    resident_id: int,
    now: datetime,
    *,
    actor: str,
    os_user: str | None,
    because: str,
) -> list[Application]:
    """After a decision took application ``because`` away from ``resident_id``: each of the
    resident's applications held only as a duplicate that now has no other application in
    progress stands, and is matched (an audit event each). Returns them."""
    released = []
    held = session.scalars(
        select(Application).where(
            Application.resident_id == resident_id, Application.state == S.NEEDS_REVIEW
        )
    )
    for app in list(held):
        items = list(
            session.scalars(
                select(ReviewItem).where(
                    ReviewItem.application_pk == app.id, ReviewItem.status == ReviewStatus.OPEN
                )
            )
        )
        if not items or any(item.reasons != [DUPLICATE] for item in items):
            continue  # waits for a person for another reason too
        if others_in_progress(session, resident_id, app.id):
            continue
        transition(app, S.MATCHED)
        app.match_method = "person"
        for item in items:
            item.status, item.resolution, item.resolved_at = ReviewStatus.RESOLVED, "matched", now
        audit_record(
            session,
            "duplicate-stands",
            actor=actor,
            os_user=os_user,
            at=now,
            batch_id=app.batch_id,
            application_id=app.application_id,
            resident_code=session.get_one(Resident, resident_id).resident_code,
            detail={"state": S.MATCHED.value, "other": because},
        )
        released.append(app)
    return released
