"""Notice and reminder numbers (tasks/notices/core.py): derived from the application's key,
a reissue's own, and every one readable by the returns file's check."""

from __future__ import annotations

from datetime import date

import pytest

from kofu.tasks.letters.core import letter_number
from kofu.tasks.notices.core import notice_number, reminder_number
from kofu.tasks.returns.core import check_notice_number

DAY = date(2026, 12, 1)


def test_the_first_notice_keeps_its_number_and_a_reissue_gets_its_own():
    assert notice_number(123, DAY) == "2026-00000123"
    assert notice_number(123, DAY, issue=2) == "2026-00000123-2"
    numbers = {notice_number(123, DAY, issue=n) for n in range(1, 100)}
    assert len(numbers) == 99
    assert all(check_notice_number(n) == n for n in numbers)


@pytest.mark.parametrize("issue", [0, 100])
def test_an_issue_out_of_range_is_a_bug(issue):
    with pytest.raises(ValueError):
        notice_number(1, DAY, issue=issue)


def test_a_reminder_number_is_never_a_notice_or_a_letter_number():
    number = reminder_number(123, date(2027, 3, 11))
    assert number == "RM2027-00000123"
    assert number != letter_number(123, date(2027, 3, 11))
    with pytest.raises(Exception, match="not a notice number"):
        check_notice_number(number)
