"""`kofu mail`: the batch's printed notices went to the post office on a day. The pickup
deadline (交付期限) runs from that day (tasks/lifecycle/core.py ``mailing_deadline``).

Idempotent: a notice already recorded as mailed is left as it is, so running it again (or
after a reissue printed into the same batch) records only what is new. A notice not yet in
a print file is not mailed: it is counted, for the one-line answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.models import Application, ApplicationState, Card, Notice, transition
from kofu.tasks.audit.records import record as audit_record
from kofu.tasks.lifecycle.core import mailing_deadline


@dataclass(frozen=True)
class Mailed:
    mailed: int  # recorded now
    already: int  # recorded before
    not_printed: int  # notices of the batch in no print file yet: not mailed


def card_for(session: Session, application_pk: int) -> Card:
    """The application's card row, made on first use."""
    card = session.scalar(select(Card).where(Card.application_pk == application_pk))
    if card is None:
        card = Card(application_pk=application_pk)
        session.add(card)
    return card


def mail_batch(
    session: Session, batch_id: str, on: date, pickup_days: int, *, actor: str
) -> Mailed:
    """Record the batch's printed, current notices as mailed on ``on``. The caller commits."""
    rows = session.execute(
        select(Application, Notice)
        .join(Notice, Notice.application_pk == Application.id)
        .where(Application.batch_id == batch_id, Notice.voided_at.is_(None))
        .order_by(Application.id)
    ).all()
    mailed = already = not_printed = 0
    for app, notice in rows:
        if app.state is not ApplicationState.NOTICE_GENERATED:
            already += app.state is ApplicationState.MAILED or card_mailed(session, app.id)
            continue
        if notice.print_batch_id is None:
            not_printed += 1
            continue
        transition(app, ApplicationState.MAILED)
        card = card_for(session, app.id)
        card.mailed_on = on
        card.deadline = mailing_deadline(notice.pickup_deadline, on, pickup_days)
        mailed += 1
    if mailed:
        audit_record(
            session,
            "notices-mailed",
            actor=actor,
            batch_id=batch_id,
            detail={"mailed_on": on.isoformat(), "notices": mailed},
        )
    return Mailed(mailed, already, not_printed)


def card_mailed(session: Session, application_pk: int) -> bool:
    """Whether the application's card has a mailing recorded (any later state)."""
    mailed_on = session.scalar(select(Card.mailed_on).where(Card.application_pk == application_pk))
    return mailed_on is not None
