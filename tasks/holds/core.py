"""A staff hold (`kofu hold NOTICE_NUMBER --until DATE --reason TEXT`), checked before any
write: the card waits, its clock stopped, until the day given (a long hospital stay, say).

The reason is staff's own words and goes into the database and the audit trail, so it is
held to the rules of a name: printable text, short, and never an individual number (a
number typed into it refuses it; it is not masked and stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from kofu.base.errors import UserError
from kofu.base.mynumber import individual_numbers_in
from kofu.base.text import has_unprintable

MAX_REASON = 200


@dataclass(frozen=True)
class HoldRequest:
    until: date
    reason: str


def check_hold(until: date, reason: str, today: date, max_days: int) -> HoldRequest:
    reason = reason.strip()
    if not reason:
        raise UserError("give the hold a reason (--reason), such as a long hospital stay")
    if len(reason) > MAX_REASON:
        raise UserError(f"the reason is {len(reason)} characters; at most {MAX_REASON}")
    if has_unprintable(reason):
        raise UserError("the reason holds a control or invisible character")
    if individual_numbers_in(reason):
        raise UserError("the reason holds what looks like an individual number: leave it out")
    if until <= today:
        raise UserError(f"--until {until.isoformat()} is not after today ({today.isoformat()})")
    if until > today + timedelta(days=max_days):
        raise UserError(f"--until is more than {max_days} days ahead ([lifecycle] max_hold_days)")
    return HoldRequest(until, reason)
