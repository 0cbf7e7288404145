"""A staff hold's request (tasks/holds/core.py): a date ahead within the limit, and a reason
that is text staff may store: never an individual number, a control character or a novel."""

from __future__ import annotations

from datetime import date

import pytest

from kofu.base.errors import UserError
from kofu.tasks.holds.core import HoldRequest, check_hold

TODAY = date(2026, 12, 20)


def test_a_hold_until_a_day_ahead_with_a_reason_is_taken():
    assert check_hold(date(2027, 2, 1), " 長期入院 ", TODAY, 365) == HoldRequest(
        date(2027, 2, 1), "長期入院"
    )


@pytest.mark.parametrize(
    ("until", "reason", "words"),
    [
        (date(2027, 2, 1), "  ", "give the hold a reason"),
        (date(2027, 2, 1), "入院" * 101, "at most 200"),
        (date(2027, 2, 1), "入院\x1b[31m", "control or invisible"),
        (date(2027, 2, 1), "入院\u202e", "control or invisible"),
        (date(2027, 2, 1), "番号 1234 5678 9018 のため", "individual number"),
        (TODAY, "入院", "not after today"),
        (date(2028, 1, 1), "入院", "more than 365 days"),
    ],
)
def test_a_bad_hold_is_refused_with_one_line(until, reason, words):
    with pytest.raises(UserError) as refused:
        check_hold(until, reason, TODAY, 365)
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert "1234" not in str(refused.value)
