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

The rules are here, pure; the pass over the database is tasks/visits/records.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import jpholiday

from kofu.base.settings import Municipality, PickupCounter, TimeBand

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# 年末年始: municipal offices close from 29 December to 3 January.
YEAR_END_DAYS = frozenset({(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)})
# How far ahead the nightly summary shows each counter's load.
LOAD_DAYS = 28


def is_open(counter: PickupCounter, day: date) -> bool:
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


def offer_period(counter: PickupCounter, issued_on: date, pickup_days: int) -> tuple[date, date]:
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

    def __init__(
        self, index: int, counter: PickupCounter, first: date, last: date, booked: dict
    ) -> None:
        self._bands = self._with_room(index, counter, first, last, booked)
        self.current: Window | None = None
        self._left = 0
        self._advance()

    @staticmethod
    def _with_room(
        index: int, counter: PickupCounter, first: date, last: date, booked: dict
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
