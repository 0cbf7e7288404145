"""Register import, the pure part: read and check the municipality's register CSV, row by
row (tasks/register/records.py writes the rows)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from kofu.base.errors import UserError
from kofu.base.mynumber import has_valid_check_digit, individual_numbers_in, keyed_hash
from kofu.base.text import RESIDENT_CODE, has_unprintable
from kofu.tasks.matching.normalize import address_key, kana_key, name_key

REGISTER_COLUMNS = (
    "resident_code",
    "individual_number",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "postal_code",
    "address",
    "status",
    "status_date",
)
_POSTAL_CODE = re.compile(r"[0-9]{3}-[0-9]{4}")
# What errors="surrogateescape" turns bytes that are not UTF-8 into.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# The register statuses: the values of kofu.models.ResidentStatus.
STATUSES = ("resident", "moved_out", "deceased", "removed")
# The longest text each column takes: PostgreSQL refuses a longer value (SQLite would keep
# it), so a row with one is refused by name, like any other bad row. The keys made from the
# names are checked too (normalising can lengthen a name: ㍿ is 株式会社), named by the
# fields they are made from. The residents table's lengths (models/residents.py), written
# out as the pure core names no model: tests/integration/test_register.py checks they agree.
MAX_CHARS = {
    "resident_code": 11,
    "individual_number_hmac": 64,
    "family_name": 100,
    "given_name": 100,
    "family_name_kana": 200,
    "given_name_kana": 200,
    "sex": 1,
    "postal_code": 8,
    "address": 300,
    "status": 32,
    "name_key": 200,
    "kana_key": 200,
    "family_kana_key": 100,
    "given_kana_key": 100,
    "address_key": 300,
}
_KEY_SOURCE = {
    "name_key": "family_name and given_name",
    "kana_key": "family_name_kana and given_name_kana",
    "family_kana_key": "family_name_kana",
    "given_kana_key": "given_name_kana",
    "address_key": "address",
}


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int


class RegisterRowError(UserError):
    pass


def read_register(path: Path, key: bytes) -> Iterator[dict]:
    """Rows of the register, parsed and validated one at a time as they are read.

    The file and its header are checked now; each row when it is reached. A bad row raises
    RegisterRowError from the iteration, so consume the rows inside the transaction that
    imports them and roll it back on error: then a bad row imports nothing. Streaming keeps
    memory flat: a list of a million parsed rows took gigabytes.
    """
    try:
        # Bytes that are not UTF-8 (a row saved as Shift_JIS) are kept as surrogates and
        # refused with their row's line number by _parse_row.
        fh = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except FileNotFoundError:
        raise UserError(f"register file not found: {path}") from None
    except OSError as exc:  # a folder, no permission
        raise UserError(f"cannot read the register file {path}: {exc.strerror}") from None
    try:
        with _csv_errors(path):
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
        if any(_NOT_UTF8.search(c) for c in columns):
            raise UserError(f"{path}: the header is not UTF-8 text")
        missing = [c for c in REGISTER_COLUMNS if c not in columns]
        if missing:
            raise UserError(f"{path}: missing column(s): {', '.join(missing)}")
    except BaseException:
        fh.close()
        raise
    return _rows(fh, reader, path, key)


def _rows(fh: TextIO, reader: csv.DictReader, path: Path, key: bytes) -> Iterator[dict]:
    # A resident_code twice would be inserted twice (a unique-constraint crash) or
    # updated twice (the last one silently wins): refuse the file instead. About 100 MB
    # for a million codes.
    seen: set[str] = set()
    with _csv_errors(path, reader), fh:
        for raw in reader:
            # The row's (last) line in the file, as an editor shows it: blank lines and
            # line breaks inside quotes counted.
            line = reader.line_num
            values = [v for v in raw.values() if isinstance(v, str)] + (raw.get(None) or [])
            if any(_NOT_UTF8.search(value) for value in values):
                raise _row_error(line, "not UTF-8 text (saved as Shift_JIS?)")
            if None in raw:
                raise _row_error(line, "more fields than the header")
            if None in raw.values():
                raise _row_error(line, "fewer fields than the header")
            row = _parse_row(raw, key, line)
            if row["resident_code"] in seen:
                raise _row_error(line, "resident_code appears earlier in the file")
            seen.add(row["resident_code"])
            yield row


@contextmanager
def _csv_errors(path: Path, reader: csv.DictReader | None = None) -> Iterator[None]:
    try:
        yield
    except csv.Error as exc:
        # The csv module's messages name the problem, never the data.
        where = f" at line {reader.line_num}" if reader is not None else ""
        raise UserError(
            f"{path}: not a readable CSV{where} ({exc}); nothing was imported"
        ) from None


def _row_error(line: int, what: str) -> RegisterRowError:
    # The row is named by its line, never by its contents: it may hold an individual number.
    return RegisterRowError(f"register line {line}: {what}; nothing was imported")


def _parse_row(row: dict, key: bytes, line: int) -> dict:
    def fail(what: str) -> RegisterRowError:
        return _row_error(line, what)

    code = (row.get("resident_code") or "").strip()
    if not RESIDENT_CODE.fullmatch(code):
        raise fail("resident_code must be 11 digits")
    number = (row.get("individual_number") or "").strip()
    if number and not has_valid_check_digit(number):
        raise fail("individual_number is not 12 digits with a valid check digit")
    names = {f: (row.get(f) or "").strip() for f in REGISTER_COLUMNS[2:6]}
    if not all(names.values()):
        raise fail("a name or reading is empty")
    _check_text(fail, {**names, "address": (row.get("address") or "").strip()})
    try:
        birth = date.fromisoformat((row.get("birth_date") or "").strip())
        status_date_text = (row.get("status_date") or "").strip()
        status_date = date.fromisoformat(status_date_text) if status_date_text else None
    except ValueError:
        raise fail("birth_date/status_date must be YYYY-MM-DD") from None
    sex = (row.get("sex") or "").strip()
    if sex not in ("1", "2"):
        raise fail("sex must be 1 or 2")
    postal = (row.get("postal_code") or "").strip()
    if not _POSTAL_CODE.fullmatch(postal):
        raise fail("postal_code must be NNN-NNNN")
    address = (row.get("address") or "").strip()
    if not address:
        raise fail("address is empty")
    status = (row.get("status") or "").strip()
    if status not in STATUSES:
        raise fail("status must be resident, moved_out, deceased or removed")
    parsed = {
        "resident_code": code,
        "individual_number_hmac": keyed_hash(number, key) if number else None,
        **names,
        "birth_date": birth,
        "sex": sex,
        "postal_code": postal,
        "address": address,
        "status": status,
        "status_date": status_date,
        "name_key": name_key(names["family_name"], names["given_name"]),
        "kana_key": kana_key(names["family_name_kana"], names["given_name_kana"]),
        "family_kana_key": kana_key(names["family_name_kana"], ""),
        "given_kana_key": kana_key("", names["given_name_kana"]),
        "address_key": address_key(address),
    }
    _check_lengths(fail, parsed)
    return parsed


def _check_lengths(fail, parsed: dict) -> None:
    """No value longer than its column (MAX_CHARS); a key is named by what it is made from."""
    for column, value in parsed.items():
        longest = MAX_CHARS.get(column)
        if longest is not None and isinstance(value, str) and len(value) > longest:
            if column in _KEY_SOURCE:
                raise fail(f"{_KEY_SOURCE[column]} too long once normalised ({longest} at most)")
            raise fail(f"{column} is longer than {longest} characters")


def _check_text(fail, texts: dict[str, str]) -> None:
    """Names and the address go onto envelopes: no control or format characters (the rule
    intake applies to a delivery), and no individual number typed into them."""
    for name, value in texts.items():
        if has_unprintable(value):
            raise fail(f"{name} holds a control or invisible format character")
        if individual_numbers_in(value):
            raise fail(f"{name} holds an individual number (12 digits with a valid check digit)")
