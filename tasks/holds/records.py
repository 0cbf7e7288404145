"""`kofu hold`: a staff hold in the database. The card waits in ``on_hold`` until the day
given, its clock stopped; tonight's sweep after that day puts it back where it was, with
its deadlines moved on by the days held (tasks/lifecycle/core.py ``released``). Holding a
held card again changes its day and reason, not when the clock stopped.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.errors import UserError
from kofu.models import Application, ApplicationState, Card, Notice, transition
from kofu.tasks.audit.records import record as audit_record
from kofu.tasks.holds.core import HoldRequest
from kofu.tasks.lifecycle.core import STAFF
from kofu.tasks.returns.core import shown_number

S = ApplicationState
HOLDABLE = frozenset({S.NOTICE_GENERATED, S.MAILED, S.REMINDED, S.ON_HOLD})


def hold_card(
    session: Session,
    number: str,
    request: HoldRequest,
    on: date,
    *,
    actor: str,
    os_user: str | None = None,
) -> Application:
    """Hold the card of the current notice ``number``; a UserError says why not. The caller
    commits."""
    notice = session.scalar(select(Notice).where(Notice.notice_number == number))
    if notice is None:
        raise UserError(f"no notice has {shown_number(number)}: check the number on the notice")
    if notice.voided_at is not None:
        raise UserError(f"notice {number} is void ({notice.void_reason or 'withdrawn'})")
    app = session.get_one(Application, notice.application_pk)
    card = session.scalar(select(Card).where(Card.application_pk == app.id))
    if app.state not in HOLDABLE:
        raise UserError(f"the card cannot be held: the application is {app.state.value}")
    if card is None:
        card = Card(application_pk=app.id)
        session.add(card)
    if app.state is S.ON_HOLD:
        if card.hold_kind != STAFF:
            raise UserError("the card is held for a register change: a person decides first")
    else:
        card.held_from, card.held_on, card.hold_kind = app.state.value, on, STAFF
        transition(app, S.ON_HOLD)
    card.hold_until, card.hold_reason = request.until, request.reason
    audit_record(
        session,
        "card-held",
        actor=actor,
        os_user=os_user,
        batch_id=app.batch_id,
        application_id=app.application_id,
        detail={"notice_number": number, "until": request.until.isoformat()},
    )
    return app
