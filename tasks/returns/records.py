"""Returned notices (返戻) in the database: each return recorded against the notice's card,
by its number (the number printed on the notice, or its QR code). What follows a return is
tonight's sweep's (tasks/lifecycle/records.py): the register decides between a new notice to
the new address, a reminder and the destruction list.

A return is refused, alone, when its notice is unknown, void, not the card's current one or
not in the post (not mailed yet, handed over, destroyed); the other returns of the same
command or file are recorded. Recording the same return twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.mynumber import mask_individual_numbers
from kofu.models import Application, ApplicationState, Card, Notice, transition
from kofu.tasks.audit.records import record as audit_record
from kofu.tasks.returns.core import ReturnRow, safe_number

S = ApplicationState
# A card in the post, or back at the office on a hold, can come back.
RETURNABLE = frozenset({S.MAILED, S.REMINDED, S.ON_HOLD})


@dataclass(frozen=True)
class Recorded:
    notice_number: str
    outcome: str  # "recorded", "already" or "refused"
    why: str | None = None  # a refusal's one line


def record_returns(
    session: Session, rows: list[ReturnRow], *, actor: str, os_user: str | None = None
) -> list[Recorded]:
    """Record each return; the caller commits. One audit event for the lot."""
    done = [_record(session, row) for row in rows]
    recorded = [r.notice_number for r in done if r.outcome == "recorded"]
    # Masked: a number no notice has may be anything a person typed.
    refused = [
        {"notice": mask_individual_numbers(r.notice_number), "why": r.why}
        for r in done
        if r.outcome == "refused"
    ]
    audit_record(
        session,
        "notices-returned",
        actor=actor,
        os_user=os_user,
        detail={
            "recorded": recorded,
            "refused": refused,
            "already": len(done) - len(recorded) - len(refused),
        },
    )
    return done


def _record(session: Session, row: ReturnRow) -> Recorded:
    number = row.notice_number
    notice = session.scalar(select(Notice).where(Notice.notice_number == number))
    if notice is None:
        return Recorded(safe_number(number), "refused", "no notice has it")
    app = session.get_one(Application, notice.application_pk)
    card = session.scalar(select(Card).where(Card.application_pk == app.id))
    if notice.voided_at is not None:
        if app.state is S.RETURNED or notice.void_reason == "reissued":
            return Recorded(number, "already")  # returned before, and reissued since
        return Recorded(number, "refused", "the notice is void (its application was withdrawn)")
    if app.state is S.RETURNED and card is not None and card.returned_on is not None:
        return Recorded(number, "already")
    if app.state not in RETURNABLE or card is None or card.mailed_on is None:
        why = {
            S.NOTICE_GENERATED: "the notice is not recorded as mailed (kofu mail)",
            S.PICKED_UP: "the card was handed over",
            S.DESTROYED: "the card was destroyed",
            S.DESTRUCTION_DUE: "the card is due for destruction",
        }.get(app.state, f"the application is {app.state.value}")
        return Recorded(number, "refused", why)
    if row.returned_on < card.mailed_on:
        return Recorded(number, "refused", "returned before it was mailed")
    if app.state is S.ON_HOLD:
        if card.hold_kind == "register":
            return Recorded(number, "refused", "the card is held for a register change")
        card.hold_until = card.hold_kind = card.held_from = card.held_on = None
    transition(app, S.RETURNED)
    card.returned_on = row.returned_on
    card.return_reason = row.reason
    return Recorded(number, "recorded")
