"""The reminder letter (再通知): what it says, from the settings and the card's values. One
per card, ever (tasks/lifecycle/core.py decides when; tasks/notices/core.py
``reminder_number`` names it). Drawing it is tasks/reminders/pdf.py."""

from __future__ import annotations

from datetime import date

from kofu.base.settings import Municipality
from kofu.tasks.reminders.pdf import OPENINGS, ReminderContent
from kofu.tasks.visits.core import serving_counters


def reminder_content(
    municipality: Municipality,
    *,
    letter_number: str,
    issued_on: date,
    notice_number: str,
    notice_issued_on: date,
    deadline: date,
    reason: str,
    family_name: str,
    given_name: str,
    family_name_kana: str,
    given_name_kana: str,
    postal_code: str,
    address: str,
    pickup_counter: str | None = None,
) -> ReminderContent:
    """The reminder goes to the address the notice went to: it is sent only while the
    resident is still registered there (a move within the city gets a new notice instead).

    The card waits at the counter the notice named (``pickup_counter``, the name of the
    notice's booked visit window counter); without one, or when the settings no longer list
    it, the first counter serving the resident's postal code, as the notice does without a
    booked window. That counter's name, phone and hours are the contact, as on the refusal
    letter."""
    if reason not in OPENINGS:
        raise ValueError(f"reminder {letter_number}: unknown reason {reason!r}")
    by_name = {c.name: c for c in municipality.counters}
    if pickup_counter is not None and pickup_counter in by_name:
        counter = by_name[pickup_counter]
    else:
        counter = municipality.counters[serving_counters(municipality, postal_code)[0]]
    return ReminderContent(
        municipality=municipality.name,
        issuer_title=municipality.notice.issuer_title,
        letter_number=letter_number,
        issued_on=issued_on,
        notice_number=notice_number,
        notice_issued_on=notice_issued_on,
        family_name=family_name,
        given_name=given_name,
        family_name_kana=family_name_kana,
        given_name_kana=given_name_kana,
        postal_code=postal_code,
        address=address,
        deadline=deadline,
        reason=reason,
        pickup_place=f"{counter.name}\n{counter.address}",
        contact_name=counter.name,
        contact_phone=counter.phone,
        contact_hours=f"平日 {counter.opens:%-H:%M}〜{counter.closes:%-H:%M}",
    )
