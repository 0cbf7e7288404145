"""Returned notices (返戻): a return as staff record it, or as a scanner's CSV gives them,
checked before anything is written. Values in, values out.

The CSV is ``notice_number,reason,returned_on`` with that header (UTF-8, a BOM allowed):
one returned envelope a line. Like the register, a file with one bad line imports nothing,
and the message names the line, never its data beyond the field that is wrong.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from kofu.base.errors import UserError
from kofu.base.mynumber import individual_numbers_in, mask_individual_numbers

REASONS = ("unknown-address", "not-collected", "moved")
COLUMNS = ("notice_number", "reason", "returned_on")
# A notice number as kofu prints it: the year, the application's key, and for a reissued
# notice its issue (tasks/notices/core.py notice_number).
NOTICE_NUMBER = re.compile(r"[0-9]{4}-[0-9]{8}(?:-[0-9]{1,2})?")
MAX_LINES = 1_000_000


@dataclass(frozen=True)
class ReturnRow:
    notice_number: str
    reason: str
    returned_on: date


def check_notice_number(value: str) -> str:
    value = value.strip()
    if not NOTICE_NUMBER.fullmatch(value):
        # Not echoed when it could be an individual number typed by mistake.
        shown = mask_individual_numbers(value[:40])
        raise UserError(f"not a notice number: {shown!r} (like 2026-00000123)")
    return value


def safe_number(value: str) -> str:
    """A number no notice has, as it may be shown: itself, unless it could be an individual
    number (it passes the check digit: a notice number has the same 4-4-4 shape)."""
    return "[individual-number]" if individual_numbers_in(value) else value


def shown_number(value: str) -> str:
    """A notice number as a message may repeat it when no notice has it: masked if it could
    be an individual number (a notice number has the same 4-4-4 shape)."""
    return "that number" if individual_numbers_in(value) else f"the number {value}"


def check_return(notice_number: str, reason: str, returned_on: date, today: date) -> ReturnRow:
    number = check_notice_number(notice_number)
    if reason not in REASONS:
        raise UserError(f"reason must be one of {', '.join(REASONS)}, not {reason[:40]!r}")
    if returned_on > today:
        raise UserError(f"returned_on {returned_on.isoformat()} is in the future")
    return ReturnRow(number, reason, returned_on)


def parse_returns(data: bytes, today: date) -> list[ReturnRow]:
    """Every row of a returns CSV, or a UserError naming the first bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError("the returns file is not UTF-8; nothing was imported") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise UserError(f"the returns file's first line must be {','.join(COLUMNS)}")
    rows: list[ReturnRow] = []
    seen: set[str] = set()
    for fields in reader:
        line = reader.line_num
        if line > MAX_LINES:
            raise UserError(f"the returns file has more than {MAX_LINES:,} lines")
        if not any(f.strip() for f in fields):
            continue  # a blank line
        try:
            rows.append(_row(fields, today, seen))
        except UserError as exc:
            raise UserError(f"returns line {line}: {exc}; nothing was imported") from None
    return rows


def _row(fields: list[str], today: date, seen: set[str]) -> ReturnRow:
    if len(fields) != len(COLUMNS):
        raise UserError(f"{len(fields)} fields, not {len(COLUMNS)}")
    number, reason, day = (f.strip() for f in fields)
    try:
        returned_on = date.fromisoformat(day)
    except ValueError:
        raise UserError(f"returned_on is not a date (YYYY-MM-DD): {day[:20]!r}") from None
    row = check_return(number, reason, returned_on, today)
    if row.notice_number in seen:
        raise UserError(f"notice {row.notice_number} is listed twice")
    seen.add(row.notice_number)
    return row
