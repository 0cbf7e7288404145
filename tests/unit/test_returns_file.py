"""The returns CSV (tasks/returns/core.py): good rows read, and each kind of bad line refuses
the whole file with one line naming it."""

from __future__ import annotations

from datetime import date

import pytest

from kofu.base.errors import UserError
from kofu.tasks.returns.core import ReturnRow, parse_returns

TODAY = date(2026, 12, 20)
HEADER = "notice_number,reason,returned_on\n"


def test_good_rows_are_read_with_a_bom_and_blank_lines():
    data = (
        "\ufeff" + HEADER + "2026-00000001,moved,2026-12-18\n\n"
        "2026-00000002-2,not-collected,2026-12-19\n"
    ).encode()
    assert parse_returns(data, TODAY) == [
        ReturnRow("2026-00000001", "moved", date(2026, 12, 18)),
        ReturnRow("2026-00000002-2", "not-collected", date(2026, 12, 19)),
    ]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("2026-1,moved,2026-12-18", "not a notice number"),
        ("../../etc,moved,2026-12-18", "not a notice number"),
        ("2026-00000001,lost,2026-12-18", "reason must be one of"),
        ("2026-00000001,moved,18/12/2026", "not a date"),
        ("2026-00000001,moved,2027-01-01", "in the future"),
        ("2026-00000001,moved", "2 fields"),
        ("2026-00000001,moved,2026-12-18\n2026-00000001,moved,2026-12-18", "listed twice"),
    ],
)
def test_a_bad_line_refuses_the_file_naming_the_line(line, words):
    with pytest.raises(UserError) as refused:
        parse_returns((HEADER + line + "\n").encode(), TODAY)
    message = str(refused.value)
    assert message.startswith("returns line ") and words in message
    assert message.endswith("nothing was imported") and "\n" not in message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"", "first line must be"),
        (b"number,why,when\n", "first line must be"),
    ],
)
def test_a_file_that_is_not_a_returns_csv_is_refused(data, words):
    with pytest.raises(UserError, match=words):
        parse_returns(data, TODAY)


def test_a_number_no_notice_has_is_never_repeated_when_it_could_be_an_individual_number():
    from kofu.base.mynumber import check_digit
    from kofu.tasks.returns.core import safe_number, shown_number

    eleven = "12345678901"
    number = f"{eleven}{check_digit(eleven)}"
    shaped = f"{number[:4]}-{number[4:]}"  # a notice number's shape
    other = f"{number[:4]}-{number[4:11]}{(int(number[11]) + 1) % 10}"  # wrong check digit
    assert safe_number(shaped) == "[individual-number]" and shown_number(shaped) == "that number"
    assert safe_number(other) == other and shown_number(other) == f"the number {other}"
