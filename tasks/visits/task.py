"""Visit windows (来庁日時): spread counter visits over the pickup period.

One ordered pass over the whole batch, run before the notices are drawn in parallel chunks,
so that "first come" holds across chunks:
- applications in the order they were submitted (then by id) take the earliest free band;
- a band never takes more than its slots, counting the bookings of earlier nights;
- an application that already has a window keeps it, so a rerun never reassigns or
  double-books;
- when no band is free up to the pickup deadline, the application gets no window and its
  notice asks the resident to book by phone.

Which counter: the counters that serve the resident's postal code (``postal_prefixes``);
when none does, the counters that serve everyone (no prefixes); when there are none of
those either, all counters. Among them the resident gets the earliest free window, and on
a tie the counter listed first in the settings file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

import jpholiday
from prefect import task
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from kofu.base.settings import Counter, Municipality, Settings, TimeBand
from kofu.models import Application, ApplicationState, Notice, Resident, VisitWindow
from kofu.models.db import unit_of_work
from kofu.tasks.chunks.retry import with_db_retry
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.queues.records import held_back

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# 年末年始: municipal offices close from 29 December to 3 January.
YEAR_END_DAYS = frozenset({(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)})
# How far ahead the nightly summary shows each counter's load.
LOAD_DAYS = 28


def is_open(counter: Counter, day: date) -> bool:
    if WEEKDAYS[day.weekday()] in counter.closed_weekdays or day in counter.closed_dates:
        return False
    if counter.closed_at_year_end and (day.month, day.day) in YEAR_END_DAYS:
        return False
    return not (counter.closed_on_public_holidays and jpholiday.is_holiday(day))


def serving_counters(municipality: Municipality, postal_code: str | None) -> list[int]:
    """Indexes of the counters a resident may be sent to, in settings order."""
    digits = (postal_code or "").replace("-", "")
    counters = municipality.counters
    local = [
        i
        for i, c in enumerate(counters)
        if any(digits.startswith(p.replace("-", "")) for p in c.postal_prefixes)
    ]
    if local:
        return local
    general = [i for i, c in enumerate(counters) if not c.postal_prefixes]
    return general or list(range(len(counters)))


def offer_period(counter: Counter, issued_on: date, pickup_days: int) -> tuple[date, date]:
    """First and last day a window may fall on. The first comes after the lead time (never
    the notice date itself: the resident does not have the notice yet); the last is the
    pickup deadline (交付期限)."""
    first = issued_on + timedelta(days=max(counter.lead_days, 1))
    return first, issued_on + timedelta(days=pickup_days)


@dataclass(frozen=True)
class Window:
    counter: int  # index into municipality.counters
    day: date
    band: TimeBand


class FreeBands:
    """One counter's bands from the first day offered to the deadline, earliest first, with
    the places left in each after the bookings already made."""

    def __init__(self, index: int, counter: Counter, first: date, last: date, booked: dict) -> None:
        self._bands = self._with_room(index, counter, first, last, booked)
        self.current: Window | None = None
        self._left = 0
        self._advance()

    @staticmethod
    def _with_room(
        index: int, counter: Counter, first: date, last: date, booked: dict
    ) -> Iterator[tuple[Window, int]]:
        day = first
        while day <= last:
            if is_open(counter, day):
                for band in counter.bands:
                    left = band.slots - booked.get((counter.name, day, band.start), 0)
                    if left > 0:
                        yield Window(index, day, band), left
            day += timedelta(days=1)

    def _advance(self) -> None:
        self.current, self._left = next(self._bands, (None, 0))

    def take(self) -> Window:
        assert self.current is not None
        window = self.current
        self._left -= 1
        if self._left == 0:
            self._advance()
        return window


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
        # First come, first served. (SQLite keeps the wall-clock time of submitted_at, not
        # its offset; J-LIS stamps are all +09:00.)
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
    def run() -> dict[str, int]:
        with unit_of_work(settings.db_url, write=True) as session:
            counts = assign_visit_windows(session, settings.municipality, batch_id, issued_on)
            session.commit()
            return counts

    return with_db_retry(run)


@task(name="visit-windows", task_run_name="{batch_id} visit windows", **CHUNK_TASK_OPTIONS)
def assign_visit_windows_task(settings: Settings, batch_id: str, issued_on: date) -> dict:
    return assign_batch_windows(settings, batch_id, issued_on)
