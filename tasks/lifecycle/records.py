"""The night's sweep over the cards after their notice, in the database: each card of a
chunk read with its register entry, decided by the pure core (tasks/lifecycle/core.py
``decide``) and moved behind the state guard, in one write transaction per chunk.

A card may take more than one step in a night (held for a register change, then due for
destruction; a staff hold ended, then reminded), never the same step twice: each step
moves its state on, and a rerun of the sweep with the same date decides nothing new.

What the steps leave for the stages: a reminded card waits for its reminder letter (the
reminders stage, tasks/reminders/records.py) and a reissued card waits in ``matched`` for
its next notice (the notices stage, to the register's new address); the night's run of the
stages prints both in the batch's next print file.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kofu.base.settings import LifecycleSettings
from kofu.models import (
    Application,
    ApplicationState,
    Card,
    Notice,
    Resident,
    ResidentStatus,
    Stage,
    VisitWindow,
    transition,
)
from kofu.models.db import is_transient, unit_of_work
from kofu.tasks.lifecycle.core import (
    REGISTER,
    CardClock,
    Decision,
    RegisterNow,
    Step,
    decide,
    released,
    reminder_dates,
)
from kofu.tasks.notices.addressee import addressee_digests
from kofu.tasks.queues.records import open_review

S = ApplicationState
log = logging.getLogger("kofu")
# The states the sweep looks at: a card with its notice, not yet handed over or due.
SWEPT = (S.NOTICE_GENERATED, S.MAILED, S.RETURNED, S.REMINDED, S.ON_HOLD)
MAX_STEPS = 4  # a card's steps in one night (see the module's docstring)


def plan_sweep(session: Session, size: int) -> list[tuple[int, ...]]:
    """The keys of the cards to sweep, in chunks of ``size`` (ids only cross to the tasks)."""
    pks = list(
        session.scalars(
            select(Application.id).where(Application.state.in_(SWEPT)).order_by(Application.id)
        )
    )
    return [tuple(pks[i : i + size]) for i in range(0, len(pks), size)]


@dataclass
class _Card:
    app: Application
    card: Card
    notice: Notice | None
    resident: Resident | None


def sweep_chunk(
    db_url: str, pks: tuple[int, ...], as_of: date, rules: LifecycleSettings
) -> Counter[str]:
    """One chunk of the sweep in its own write transaction, committed."""
    with unit_of_work(db_url, write=True) as session:
        counts = sweep_cards(session, pks, as_of, rules)
        session.commit()
    return counts


def sweep_cards(
    session: Session, pks: tuple[int, ...], as_of: date, rules: LifecycleSettings
) -> Counter[str]:
    """Decide and move each card of ``pks`` as of ``as_of``: the steps taken, counted. The
    caller commits."""
    counts: Counter[str] = Counter()
    for found in _load(session, pks):
        try:
            # One card's steps in a savepoint: a card that cannot be moved (a bug, bad data)
            # is left as it was, and the chunk's other cards go on.
            with session.begin_nested():
                counts.update(_steps(session, found, as_of, rules))
        except Exception as exc:
            if is_transient(exc):
                raise  # the chunk's task is retried whole
            log.warning(
                "sweep: application %s left as it was (%s)",
                found.app.application_id,
                type(exc).__name__,
            )
            counts["failed"] += 1
    return counts


def _steps(session: Session, found: _Card, as_of: date, rules: LifecycleSettings) -> Counter[str]:
    steps: Counter[str] = Counter()
    for _ in range(MAX_STEPS):
        decision = decide(_clock(found), _register(found), as_of)
        if decision.step is Step.NOTHING:
            break
        _apply(session, found, decision, as_of, rules)
        steps[decision.step.value] += 1
        if found.app.state not in SWEPT:
            break
    return steps


def _load(session: Session, pks: tuple[int, ...]) -> list[_Card]:
    """The chunk's cards still to sweep (one moved on since the plan, by a handover or a
    rerun, is left out), each with its current notice and resident: four reads a chunk."""
    apps = session.scalars(
        select(Application)
        .where(Application.id.in_(pks), Application.state.in_(SWEPT))
        .order_by(Application.id)
    ).all()
    cards = {
        c.application_pk: c
        for c in session.scalars(select(Card).where(Card.application_pk.in_(pks)))
    }
    current = select(Notice).where(Notice.application_pk.in_(pks), Notice.voided_at.is_(None))
    notices = {n.application_pk: n for n in session.scalars(current)}
    wanted = {a.resident_id for a in apps if a.resident_id is not None}
    residents = {r.id: r for r in session.scalars(select(Resident).where(Resident.id.in_(wanted)))}
    found = []
    for app in apps:
        card = cards.get(app.id)
        if card is None:
            card = Card(application_pk=app.id)
            session.add(card)
        resident = residents.get(app.resident_id) if app.resident_id is not None else None
        found.append(_Card(app, card, notices.get(app.id), resident))
    return found


def _clock(c: _Card) -> CardClock:
    card = c.card
    printed = c.notice.pickup_deadline if c.notice is not None else date.max
    return CardClock(
        state=c.app.state.value,
        printed_deadline=printed,
        mailed_on=card.mailed_on,
        deadline=card.deadline,
        reminded_on=card.reminded_on,
        reminder_deadline=card.reminder_deadline,
        hold_until=card.hold_until,
        hold_kind=card.hold_kind,
        held_from=card.held_from,
        held_on=card.held_on,
    )


def _register(c: _Card) -> RegisterNow:
    resident = c.resident
    if resident is None:
        return RegisterNow(eligible=False, status="removed")
    status = resident.status.value
    if c.notice is None or c.notice.name_digest is None or c.notice.address_digest is None:
        same_name = same_address = None  # a notice from before migration 0012: not known
    else:
        name, address = addressee_digests(resident)
        same_name, same_address = name == c.notice.name_digest, address == c.notice.address_digest
    return RegisterNow(
        eligible=resident.status is ResidentStatus.RESIDENT,
        status=status,
        same_name=same_name,
        same_address=same_address,
    )


def _apply(session: Session, c: _Card, d: Decision, as_of: date, rules: LifecycleSettings) -> None:
    app, card = c.app, c.card
    match d.step:
        case Step.REMIND:
            transition(app, S.REMINDED)
            card.reminded_on = as_of
            card.reminder_deadline = reminder_dates(as_of, rules)[1]
        case Step.BACK_TO_CLOCK:
            transition(app, S.REMINDED)  # reminded before: its reminder's clock runs on
        case Step.REISSUE:
            _reissue(session, c)
        case Step.DESTRUCTION_DUE:
            transition(app, S.DESTRUCTION_DUE)
            card.destruction_due_on = as_of
            card.destruction_reason = _destruction_reason(card, d.reason)
            card.hold_until = card.hold_kind = card.held_from = card.held_on = None
        case Step.HOLD_FOR_REGISTER | Step.HOLD_FOR_NAME:
            card.held_from, card.held_on = app.state.value, as_of
            card.hold_kind, card.hold_reason, card.hold_until = REGISTER, d.reason, None
            transition(app, S.ON_HOLD)
            if d.step is Step.HOLD_FOR_NAME:
                open_review(
                    session, app, Stage.LIFECYCLE, [d.reason or "register-name-changed"], {}
                )
        case Step.RELEASE_HOLD:
            after = released(_clock(c), as_of)
            transition(app, S(after.state))
            card.deadline, card.reminder_deadline = after.deadline, after.reminder_deadline
            card.hold_until = card.hold_kind = card.held_from = card.held_on = None
            card.hold_reason = None


def _destruction_reason(card: Card, reason: str | None) -> str:
    if reason == "not-collected" and card.return_reason == "unknown-address":
        return "returned-unknown-address"
    return reason or "not-collected"


def _reissue(session: Session, c: _Card) -> None:
    """The returned notice is void; the application waits in ``matched`` for its next
    notice, to the register's new address, with a new visit window."""
    if c.notice is not None:
        c.notice.voided_at = datetime.now(UTC)
        c.notice.void_reason = "reissued"
        session.flush()  # the partial unique index: the void one first, then the new one
    session.execute(delete(VisitWindow).where(VisitWindow.application_pk == c.app.id))
    transition(c.app, S.MATCHED)
    c.card.mailed_on = c.card.deadline = None


def waiting(session: Session) -> dict[str, int]:
    """The cards as they stand, for the sweep's artifact and `kofu lifecycle`."""
    counts = dict(
        session.execute(
            select(Application.state, func.count())
            .where(Application.state.in_(SWEPT + (S.DESTRUCTION_DUE,)))
            .group_by(Application.state)
        ).all()
    )
    held = session.scalar(
        select(func.count())
        .select_from(Card)
        .join(Application, Application.id == Card.application_pk)
        .where(Application.state == S.ON_HOLD, Card.hold_kind == REGISTER)
    )
    return {
        "not_mailed": counts.get(S.NOTICE_GENERATED, 0),
        "mailed": counts.get(S.MAILED, 0),
        "returned": counts.get(S.RETURNED, 0),
        "reminded": counts.get(S.REMINDED, 0),
        "on_hold": counts.get(S.ON_HOLD, 0),
        "held_for_register": held or 0,
        "destruction_due": counts.get(S.DESTRUCTION_DUE, 0),
    }
