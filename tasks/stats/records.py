"""The monthly figures' reads: the dates tasks/stats/core.py counts, for a run of months.

Counts are made in SQL where a count is all that is needed (residents, handovers before the
months); otherwise only the date columns are read, of the rows that matter to the months:
applications submitted in them, and cards with a date in them or in storage at one of
their ends. Moments are compared with bounds in Japan time, which both databases compare
by instant (models/types.py), and turned into Japan dates here, so the same queries run on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kofu.base.clock import JST
from kofu.models import Application, Card, Notice, Resident, ResidentStatus
from kofu.tasks.stats.core import CardDates, Month, StatsInput

# The void reason of a notice whose application a person withdrew (tasks/duplicates/records.py).
WITHDRAWN = "withdrawn"


def _start_of(day: date) -> datetime:
    """The first moment of ``day`` in Japan."""
    return datetime.combine(day, time(), JST)


def _japan_date(moment: datetime | None) -> date | None:
    return moment.astimezone(JST).date() if moment is not None else None


def stats_input(session: Session, months: Sequence[Month]) -> StatsInput:
    """Everything the figures of ``months`` (consecutive, oldest first) are counted from."""
    first, last = months[0].first, months[-1].last
    start, end = _start_of(first), _start_of(last + timedelta(days=1))

    residents_now = session.scalar(
        select(func.count()).select_from(Resident).where(Resident.status == ResidentStatus.RESIDENT)
    )
    left_on = dict(
        session.execute(
            select(Resident.status_date, func.count())
            .where(
                Resident.status != ResidentStatus.RESIDENT,
                Resident.status_date > months[0].last,
            )
            .group_by(Resident.status_date)
        ).all()
    )
    submitted_on = [
        _japan_date(at)
        for at in session.scalars(
            select(Application.submitted_at).where(
                Application.submitted_at >= start, Application.submitted_at < end
            )
        )
    ]
    handed_over_before = session.scalar(
        select(func.count()).select_from(Card).where(Card.picked_up_on < first)
    )

    first_notice = (
        select(Notice.application_pk, func.min(Notice.created_at).label("at"))
        .group_by(Notice.application_pk)
        .subquery()
    )
    withdrawn = (
        select(Notice.application_pk, func.min(Notice.voided_at).label("at"))
        .where(Notice.void_reason == WITHDRAWN, Notice.voided_at.is_not(None))
        .group_by(Notice.application_pk)
        .subquery()
    )
    dated = [
        Card.picked_up_on,
        Card.returned_on,
        Card.reminded_on,
        Card.destruction_due_on,
        Card.destroyed_on,
    ]
    in_months = or_(*(column.between(first, last) for column in dated))
    # In storage at some month's end: its notice made by the last one, and not gone before
    # the first month began.
    in_storage = and_(
        first_notice.c.at < end,
        or_(Card.picked_up_on.is_(None), Card.picked_up_on >= first),
        or_(Card.destroyed_on.is_(None), Card.destroyed_on >= first),
        or_(withdrawn.c.at.is_(None), withdrawn.c.at >= start),
    )
    rows = session.execute(
        select(first_notice.c.at, Application.submitted_at, *dated, withdrawn.c.at)
        .select_from(Application)
        .outerjoin(Card, Card.application_pk == Application.id)
        .outerjoin(first_notice, first_notice.c.application_pk == Application.id)
        .outerjoin(withdrawn, withdrawn.c.application_pk == Application.id)
        .where(or_(Card.id.is_not(None), first_notice.c.at.is_not(None)))
        .where(or_(in_months, in_storage))
    ).all()
    cards = [
        CardDates(
            notice_on=_japan_date(notice_at),
            submitted_on=_japan_date(submitted_at),
            picked_up_on=picked_up_on,
            returned_on=returned_on,
            reminded_on=reminded_on,
            destruction_due_on=destruction_due_on,
            destroyed_on=destroyed_on,
            withdrawn_on=_japan_date(withdrawn_at),
        )
        for (
            notice_at,
            submitted_at,
            picked_up_on,
            returned_on,
            reminded_on,
            destruction_due_on,
            destroyed_on,
            withdrawn_at,
        ) in rows
    ]
    return StatsInput(
        residents_now=residents_now or 0,
        left_on=left_on,
        submitted_on=[d for d in submitted_on if d is not None],
        cards=cards,
        handed_over_before=handed_over_before or 0,
    )
