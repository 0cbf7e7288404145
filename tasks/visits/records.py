"""Visit windows in the database: the batch's one ordered pass that books them
(tasks/visits/core.py has the rules: which counter, which days, first come first served),
the windows booked, and the counts the nightly summary shows."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from kofu.base.settings import Municipality, Settings
from kofu.models import Application, ApplicationState, Notice, Resident, VisitWindow
from kofu.models.db import unit_of_work
from kofu.tasks.queues.records import held_back
from kofu.tasks.visits.core import (
    LOAD_DAYS,
    WEEKDAYS,
    FreeBands,
    is_open,
    offer_period,
    serving_counters,
)


def _booked(session: Session, first: date, last: date) -> dict[tuple[str, date, time], int]:
    rows = session.execute(
        select(VisitWindow.counter, VisitWindow.visit_date, VisitWindow.band_start, func.count())
        .where(VisitWindow.visit_date.between(first, last))
        .group_by(VisitWindow.counter, VisitWindow.visit_date, VisitWindow.band_start)
    )
    return {(name, day, start): n for name, day, start, n in rows}


def assign_visit_windows(
    session: Session, municipality: Municipality, batch_id: str, issued_on: date
) -> dict[str, int]:
    """Give each matched application of the batch that has no window yet the earliest free
    one, first come first served. Writes through the session; the caller commits."""
    counters = municipality.counters
    periods = [offer_period(c, issued_on, municipality.notice.pickup_days) for c in counters]
    booked = _booked(session, min(p[0] for p in periods), max(p[1] for p in periods))
    free = [FreeBands(i, c, *periods[i], booked) for i, c in enumerate(counters)]

    has_window = select(VisitWindow.application_pk)
    waiting = session.execute(
        select(Application.id, Resident.postal_code)
        .join(Resident, Resident.id == Application.resident_id)
        .where(
            Application.batch_id == batch_id,
            Application.state == ApplicationState.MATCHED,
            Application.id.not_in(has_window),
            ~held_back(),  # no slot for a notice the failure queue holds back
        )
        # First come, first served. (SQLite keeps submitted_at's wall-clock time, written in
        # Japan time whatever its offset (models/types.py): the order is the instants'.)
        .order_by(Application.submitted_at.asc().nulls_last(), Application.id)
    ).all()

    counts = {"assigned": 0, "no_window": 0}
    rows: list[dict] = []
    for application_pk, postal_code in waiting:
        offers = [free[i] for i in serving_counters(municipality, postal_code)]
        open_offers = [f for f in offers if f.current is not None]
        if not open_offers:
            counts["no_window"] += 1
            continue
        # Earliest day and band; min() keeps the first counter listed on a tie.
        best = min(open_offers, key=lambda f: (f.current.day, f.current.band.start))  # type: ignore[union-attr]
        window = best.take()
        rows.append(
            {
                "application_pk": application_pk,
                "counter": counters[window.counter].name,
                "visit_date": window.day,
                "band_start": window.band.start,
                "band_end": window.band.end,
            }
        )
    if rows:
        # One executemany: an ORM object per row would cost ~0.1 ms each at 100,000 a night.
        session.execute(insert(VisitWindow), rows)
    counts["assigned"] = len(rows)
    return counts


def visit_windows_for(session: Session, application_pks: list[int]) -> dict[int, VisitWindow]:
    rows = session.scalars(
        select(VisitWindow).where(VisitWindow.application_pk.in_(application_pks))
    )
    return {row.application_pk: row for row in rows}


def notices_without_window(session: Session, batch_id: str) -> int:
    """Notices of the batch that ask the resident to book by phone."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Notice)
            .join(Application, Application.id == Notice.application_pk)
            .where(
                Application.batch_id == batch_id,
                Notice.application_pk.not_in(select(VisitWindow.application_pk)),
            )
        )
        or 0
    )


def counter_load(
    session: Session, municipality: Municipality, start: date, days: int = LOAD_DAYS
) -> list[dict]:
    """Booked places against capacity per counter per open day: counts only."""
    last = start + timedelta(days=days - 1)
    rows = session.execute(
        select(VisitWindow.counter, VisitWindow.visit_date, func.count())
        .where(VisitWindow.visit_date.between(start, last))
        .group_by(VisitWindow.counter, VisitWindow.visit_date)
    )
    booked = {(name, day): n for name, day, n in rows}
    table = []
    for counter in municipality.counters:
        capacity = sum(band.slots for band in counter.bands)
        for offset in range(days):
            day = start + timedelta(days=offset)
            if not is_open(counter, day):
                continue
            n = booked.get((counter.name, day), 0)
            table.append(
                {
                    "counter": counter.name,
                    "date": f"{day:%Y-%m-%d} ({WEEKDAYS[day.weekday()]})",
                    "booked": n,
                    "capacity": capacity,
                    "load": f"{n / capacity:.0%}" if capacity else "-",
                }
            )
    return table


def assign_batch_windows(settings: Settings, batch_id: str, issued_on: date) -> dict[str, int]:
    """The batch's pass (``assign_visit_windows``) in one write transaction, committed. Not
    retried here: its task's retry is the one layer (tasks/chunks/retry.py)."""
    with unit_of_work(settings.db_url, write=True) as session:
        counts = assign_visit_windows(session, settings.municipality, batch_id, issued_on)
        session.commit()
        return counts
