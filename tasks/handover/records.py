"""`kofu pickup`: the handover (交付) at the counter, in the database. The notice presented is
looked up by its number, the rule (tasks/handover/core.py) is applied to what is recorded
tonight, and the handover or the refusal goes into the audit trail with who and when, in
the same transaction as the handover itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.mynumber import mask_individual_numbers
from kofu.models import Application, ApplicationState, Card, Notice, Resident, transition
from kofu.models.notices import current_notice
from kofu.tasks.audit.records import record as audit_record
from kofu.tasks.destruction.records import supersede_lists_with
from kofu.tasks.handover.core import PickupFacts, Refusal, refusal
from kofu.tasks.returns.core import safe_number, shown_number


@dataclass(frozen=True)
class Handover:
    notice_number: str
    application_id: str | None
    refused: Refusal | None


def pickup(
    session: Session, number: str, on: date, *, actor: str, os_user: str | None = None
) -> Handover:
    """Hand the card of notice ``number`` over on ``on``, or refuse; either way audited. The
    caller commits."""
    notice = session.scalar(select(Notice).where(Notice.notice_number == number))
    if notice is None:
        shown = shown_number(number)
        refused = Refusal(
            "unknown-notice", f"no notice has {shown}: check the number on the notice"
        )
        _audit(session, None, mask_individual_numbers(number), on, refused, actor, os_user)
        return Handover(safe_number(number), None, refused)
    app = session.get_one(Application, notice.application_pk)
    card = session.scalar(select(Card).where(Card.application_pk == app.id))
    refused = refusal(_facts(session, app, notice, card, number))
    if refused is None:
        transition(app, ApplicationState.PICKED_UP)
        if card is None:  # mailed before cards were recorded: the handover is still right
            card = Card(application_pk=app.id)
            session.add(card)
        card.picked_up_on = on
        card.hold_until = card.hold_kind = card.held_from = card.held_on = None
        supersede_lists_with(session, app.id)
    _audit(session, app, number, on, refused, actor, os_user)
    return Handover(number, app.application_id, refused)


def _facts(
    session: Session, app: Application, notice: Notice, card: Card | None, number: str
) -> PickupFacts:
    current = current_notice(session, app.id)
    resident = session.get(Resident, app.resident_id) if app.resident_id is not None else None
    return PickupFacts(
        state=app.state.value,
        notice_void=notice.voided_at is not None,
        void_reason=notice.void_reason,
        current_notice_number=current.notice_number if current is not None else None,
        presented=number,
        resident_status=resident.status.value if resident is not None else None,
        hold_kind=card.hold_kind if card is not None else None,
        hold_until=card.hold_until.isoformat() if card and card.hold_until else None,
    )


def _audit(
    session: Session,
    app: Application | None,
    number: str,
    on: date,
    refused: Refusal | None,
    actor: str,
    os_user: str | None,
) -> None:
    detail: dict = {"notice_number": number, "on": on.isoformat()}
    if refused is not None:
        detail["refusal"] = refused.code
    audit_record(
        session,
        "card-handover-refused" if refused else "card-handed-over",
        actor=actor,
        os_user=os_user,
        batch_id=app.batch_id if app else None,
        application_id=app.application_id if app else None,
        detail=detail,
    )
