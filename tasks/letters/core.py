"""Refusal letters (再申請のお願い): one letter per application whose photo was refused,
listing every reason in words the resident can act on. They go into the print batch beside
the pickup notices. Like notices, each application gets at most one letter, ever.

The pure core: a letter's number and its content, from values. Writing the letters of a
chunk is tasks/letters/records.py; drawing one is tasks/letters/pdf.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from kofu.base.clock import japan_wall_clock
from kofu.base.settings import Municipality
from kofu.tasks.letters.pdf import RefusalContent, RefusalReason
from kofu.tasks.photos.problems import PROBLEMS

# The letter is one page; six reasons fit with room to spare (measured on the layout).
MAX_REASONS_ON_LETTER = 6


def letter_number(application_pk: int, issued_on: date) -> str:
    return f"R{issued_on.year}-{application_pk:08d}"


def refusal_content(
    municipality: Municipality,
    number: str,
    issued_on: date,
    *,
    application_id: str,
    submitted_at: datetime | None,
    reasons: Iterable[str],
    family_name: str | None,
    given_name: str | None,
    family_name_kana: str | None,
    given_name_kana: str | None,
    postal_code: str | None,
    address: str | None,
) -> RefusalContent:
    """The letter goes to the address the applicant typed: matching has not run for a
    refused photo, and the applicant is the one who must act. ``reasons`` are the
    application's reason codes; the photo codes among them go on the letter."""
    counter = municipality.counters[0]
    on_letter = [
        RefusalReason(code, PROBLEMS[code].message_ja) for code in reasons if code in PROBLEMS
    ]
    assert on_letter, "a refused photo always carries at least one photo reason"
    if len(on_letter) > MAX_REASONS_ON_LETTER:
        more = len(on_letter) - (MAX_REASONS_ON_LETTER - 1)
        on_letter = on_letter[: MAX_REASONS_ON_LETTER - 1] + [
            RefusalReason(
                "more-reasons",
                f"このほか{more}件の理由があります。詳しくは下記の窓口にお問い合わせください",
            )
        ]
    assert submitted_at is not None
    return RefusalContent(
        municipality=municipality.name,
        issuer_title=municipality.notice.issuer_title,
        letter_number=number,
        issued_on=issued_on,
        application_id=application_id,
        submitted_on=japan_wall_clock(submitted_at).date(),  # the day in Japan
        family_name=family_name or "",
        given_name=given_name or "",
        family_name_kana=family_name_kana or "",
        given_name_kana=given_name_kana or "",
        postal_code=postal_code or "",
        address=address or "",
        reasons=tuple(on_letter),
        contact_name=counter.name,
        contact_phone=counter.phone,
        contact_hours=f"平日 {counter.opens:%-H:%M}〜{counter.closes:%-H:%M}",
    )
