"""The month's figures (月次統計): `kofu stats --month YYYY-MM` and the monthly-stats flow.
Values in, values out: no Prefect, no database (tasks/stats/records.py reads the dates).

A month is a calendar month in Japan time. Every figure is counted from dates, not from the
states as they stand tonight, so a past month's figures stay what they were when a card
moves on later (except where the data model keeps only a card's latest date: below).

- ``population`` (人口): register rows that were residents at the month's end: status
  ``resident`` now, or moved out, deceased or removed with a ``status_date`` after the
  month's end. The register holds no moving-in date: a resident who moved in (or was
  born) after the month is counted in it too, and one who left with no ``status_date`` is
  counted in no month.
- ``applications`` (申請件数): applications whose ``submitted_at`` falls in the month, by its
  date in Japan time. An ``invalid`` application keeps no ``submitted_at`` (its line broke
  the format), so it is counted in no month.
- ``handed_over`` (交付枚数): cards with ``picked_up_on`` in the month;
  ``handed_over_total`` (累計交付枚数): on or before the month's last day, since kofu began.
- ``handover_rate_percent`` (人口に対する交付枚数率): ``handed_over_total`` / ``population``
  x 100, rounded half up to one decimal; None when the population is 0. It counts kofu's
  handovers only (none from before kofu), and none are taken off for residents who have
  since left: it is not the national table's 保有枚数率.
- ``pending_in_storage`` (保管中の未交付枚数): at the month's end, cards whose first notice
  was made on or before that day (its ``created_at`` in Japan time: the card is at the
  counter from then, whether or not the notice has been mailed yet) and which by that day
  were neither picked up, nor destroyed, nor withdrawn (their notice voided "withdrawn").
  A card due for destruction and not yet destroyed is still in storage.
- ``returned`` (返戻), ``reminded`` (再通知), ``destruction_due`` (廃棄対象), ``destroyed``
  (廃棄): cards with ``returned_on``, ``reminded_on``, ``destruction_due_on``,
  ``destroyed_on`` in the month. A card returned twice keeps only its latest
  ``returned_on``: its first return leaves the earlier month's figure.
- ``days_to_handover_median`` / ``_mean`` (申請から交付までの日数): for the cards handed over in
  the month, ``picked_up_on`` minus the application's ``submitted_at`` date in Japan time,
  in days; the mean rounded half up to one decimal; None when no card was handed over (or
  none has a submission time).
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta

from kofu.base.errors import UserError

MONTH_FORMAT = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.shifted(1).first - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return self.label


# The first online applications (tasks/intake/core.py refuses a submitted_at before 2015-10-05).
FIRST_MONTH = Month(2015, 10)


def parse_month(text: str | None, today: date) -> Month:
    """``YYYY-MM``, from October 2015 to the current month in Japan (``today``): a month
    still running gives its figures so far. Anything else is refused with one line."""
    value = (text or "").strip()
    found = MONTH_FORMAT.fullmatch(value)
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise UserError(
            f"the month must be YYYY-MM (month 01 to 12), like 2026-11: not {value[:20]!r}"
        )
    month = Month(int(found.group(1)), int(found.group(2)))
    latest = Month.of(today)
    if not FIRST_MONTH <= month <= latest:
        raise UserError(
            f"no figures for {month}: the month must be from {FIRST_MONTH} to {latest}"
            " (this month, in Japan time)"
        )
    return month


def previous_month(today: date) -> Month:
    """The last whole month: what the monthly-stats deployment reports on the 1st."""
    return Month.of(today).shifted(-1)


def twelve_months(month: Month) -> list[Month]:
    """The twelve months ending with ``month``, oldest first."""
    return [month.shifted(n) for n in range(-11, 1)]


@dataclass(frozen=True)
class CardDates:
    """One card's dates, as the figures need them (tasks/stats/records.py reads them).
    ``notice_on``, ``submitted_on`` and ``withdrawn_on`` are Japan dates of moments."""

    notice_on: date | None = None  # its application's first notice was made
    submitted_on: date | None = None
    picked_up_on: date | None = None
    returned_on: date | None = None
    reminded_on: date | None = None
    destruction_due_on: date | None = None
    destroyed_on: date | None = None
    withdrawn_on: date | None = None  # its notice was voided "withdrawn"

    @property
    def gone_on(self) -> date | None:
        """The day the card left storage: picked up, destroyed or withdrawn."""
        days = [d for d in (self.picked_up_on, self.destroyed_on, self.withdrawn_on) if d]
        return min(days) if days else None


@dataclass(frozen=True)
class StatsInput:
    """What the database holds for a run of months (tasks/stats/records.py ``stats_input``)."""

    residents_now: int  # register rows with status resident
    # Register rows no longer resident, by their status_date (at least those after the
    # first month's end: earlier ones count in no month asked for).
    left_on: Mapping[date, int]
    submitted_on: Sequence[date]  # Japan dates of the applications submitted in the months
    cards: Sequence[CardDates]  # at least every card with a date in the months or pending in one
    handed_over_before: int  # cards picked up before the first month


@dataclass(frozen=True)
class MonthFigures:
    month: str  # YYYY-MM
    population: int
    applications: int
    handed_over: int
    handed_over_total: int
    handover_rate_percent: float | None
    pending_in_storage: int
    returned: int
    reminded: int
    destruction_due: int
    destroyed: int
    days_to_handover_median: float | None
    days_to_handover_mean: float | None


# Each figure's column: English for a program, Japanese as the national table names it.
COLUMNS: dict[str, str] = {
    "month": "month(月)",
    "population": "population(人口)",
    "applications": "applications(申請件数)",
    "handed_over": "handed_over(交付枚数)",
    "handed_over_total": "handed_over_total(累計交付枚数)",
    "handover_rate_percent": "handover_rate_percent(人口に対する交付枚数率)",
    "pending_in_storage": "pending_in_storage(保管中の未交付枚数)",
    "returned": "returned(返戻)",
    "reminded": "reminded(再通知)",
    "destruction_due": "destruction_due(廃棄対象)",
    "destroyed": "destroyed(廃棄)",
    "days_to_handover_median": "days_to_handover_median(申請から交付までの日数・中央値)",
    "days_to_handover_mean": "days_to_handover_mean(申請から交付までの日数・平均)",
}
assert list(COLUMNS) == [f.name for f in fields(MonthFigures)]


def half_up_tenths(numerator: int, denominator: int) -> float:
    """numerator / denominator rounded half up to one decimal, in integers: 1 / 4 is 0.3
    (``round(0.25, 1)`` would give 0.2), and no float error on a half."""
    return ((20 * numerator + denominator) // (2 * denominator)) / 10


def rate_percent(part: int, whole: int) -> float | None:
    return half_up_tenths(100 * part, whole) if whole > 0 else None


def figures_for(months: Sequence[Month], data: StatsInput) -> list[MonthFigures]:
    """Each month's figures, in the order given (consecutive months, oldest first)."""
    months = list(months)
    if not months or any(b != a.shifted(1) for a, b in zip(months, months[1:], strict=False)):
        raise ValueError("figures_for needs consecutive months, oldest first")
    slot = {m: i for i, m in enumerate(months)}
    ends = [m.last for m in months]
    n = len(months)

    def index(day: date | None) -> int | None:
        return slot.get(Month.of(day)) if day is not None else None

    def tally(days: Iterable[date | None]) -> list[int]:
        counts = [0] * n
        for day in days:
            i = index(day)
            if i is not None:
                counts[i] += 1
        return counts

    cards = data.cards
    handed = tally(c.picked_up_on for c in cards)
    waits: list[list[int]] = [[] for _ in months]
    # Pending from the first month whose end is on or after the notice day, until the first
    # whose end is on or after the day it left storage: +1 and -1 at those months.
    pending_change = [0] * (n + 1)
    for card in cards:
        i = index(card.picked_up_on)
        if i is not None and card.picked_up_on and card.submitted_on:
            waits[i].append((card.picked_up_on - card.submitted_on).days)
        if card.notice_on is not None:
            start = bisect_left(ends, card.notice_on)
            gone = card.gone_on
            stop = bisect_left(ends, gone) if gone is not None else n
            if start < stop:
                pending_change[start] += 1
                pending_change[stop] -= 1

    applications = tally(data.submitted_on)
    returned = tally(c.returned_on for c in cards)
    reminded = tally(c.reminded_on for c in cards)
    due = tally(c.destruction_due_on for c in cards)
    destroyed = tally(c.destroyed_on for c in cards)
    out: list[MonthFigures] = []
    total, pending = data.handed_over_before, 0
    for i, month in enumerate(months):
        total += handed[i]
        pending += pending_change[i]
        population = data.residents_now + sum(
            count for day, count in data.left_on.items() if day > ends[i]
        )
        out.append(
            MonthFigures(
                month=month.label,
                population=population,
                applications=applications[i],
                handed_over=handed[i],
                handed_over_total=total,
                handover_rate_percent=rate_percent(total, population),
                pending_in_storage=pending,
                returned=returned[i],
                reminded=reminded[i],
                destruction_due=due[i],
                destroyed=destroyed[i],
                days_to_handover_median=float(statistics.median(waits[i])) if waits[i] else None,
                days_to_handover_mean=(
                    half_up_tenths(sum(waits[i]), len(waits[i])) if waits[i] else None
                ),
            )
        )
    return out


def figures_dict(figures: MonthFigures) -> dict:
    """One month as JSON: the English column names, numbers as numbers, null for none."""
    return asdict(figures)


def figures_json(month: Month, rows: Sequence[MonthFigures]) -> dict:
    """The file the monthly-stats flow writes: the month it reports and its twelve months."""
    return {"month": month.label, "columns": COLUMNS, "months": [figures_dict(r) for r in rows]}


def figures_csv(rows: Iterable[MonthFigures]) -> str:
    """A header of COLUMNS' headings and one line a month; an empty cell for none (a rate
    with no population, no handover to take days from). No byte-order mark: the flow's
    file adds one, for Excel."""
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    out.writerow(COLUMNS.values())
    for row in rows:
        out.writerow("" if v is None else v for v in figures_dict(row).values())
    return text.getvalue()


def shown(value: object) -> str:
    """A figure for a person: "-" for none, a rate and a mean with their one decimal."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
