"""What a pickup notice (交付通知書) says: its number and its content, from the settings and
the register's fields. Values only: the notice stage (tasks/notices/records.py) and the print
file (tasks/printing/records.py, drawing it again) build it the same way."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Protocol

from kofu.base.settings import Municipality
from kofu.tasks.notices.pdf import CounterInfo, NoticeContent, VisitLine
from kofu.tasks.visits.core import serving_counters


class Addressed(Protocol):
    """The register's fields a notice shows (a kofu.models.Resident has them)."""

    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    postal_code: str
    address: str
    birth_date: date


class Booked(Protocol):
    """A booked visit window's fields (a kofu.models.VisitWindow has them)."""

    counter: str
    visit_date: date
    band_start: time
    band_end: time


def notice_number(application_pk: int, issued_on: date, issue: int = 1) -> str:
    """Derived from the application's key: the same application always gets the same number.
    A reissued notice (the card's ``issue``-th, after a return from a move within the city)
    carries its issue after a hyphen, so no two notices ever share a number."""
    if issue < 1 or issue > 99:
        raise ValueError(f"a notice's issue is 1 to 99, not {issue}")
    base = f"{issued_on.year}-{application_pk:08d}"
    return base if issue == 1 else f"{base}-{issue}"


def reminder_number(application_pk: int, reminded_on: date) -> str:
    """再通知's own number: the card has one reminder, so the application's key names it. "RM",
    not the refusal letter's "R" (tasks/letters/core.py ``letter_number``): the two never share
    a number in a print file's manifest."""
    return f"RM{reminded_on.year}-{application_pk:08d}"


def notice_content(
    municipality: Municipality,
    number: str,
    resident: Addressed,
    issued_on: date,
    booked: Booked | None = None,
) -> NoticeContent:
    """The notice goes to the register's current name and address: after a move inside the
    municipality the register is right and the application is out of date.

    The pickup place is the counter of the booked visit window (tasks/visits/records.py);
    without one, the first counter serving the resident's postal code."""
    by_name = {c.name: c for c in municipality.counters}
    if booked is not None and booked.counter in by_name:
        counter = by_name[booked.counter]
        visit = VisitLine(booked.counter, booked.visit_date, booked.band_start, booked.band_end)
    else:
        counter = municipality.counters[serving_counters(municipality, resident.postal_code)[0]]
        visit = None
    return NoticeContent(
        municipality=municipality.name,
        issuer_title=municipality.notice.issuer_title,
        notice_number=number,
        issued_on=issued_on,
        pickup_deadline=issued_on + timedelta(days=municipality.notice.pickup_days),
        family_name=resident.family_name,
        given_name=resident.given_name,
        family_name_kana=resident.family_name_kana,
        given_name_kana=resident.given_name_kana,
        postal_code=resident.postal_code,
        address=resident.address,
        birth_date=resident.birth_date,
        counter=CounterInfo(
            name=counter.name,
            address=counter.address,
            phone=counter.phone,
            hours=f"平日 {counter.opens:%-H:%M}〜{counter.closes:%-H:%M}",
        ),
        visit=visit,
    )
