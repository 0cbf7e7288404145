"""Register import: load or refresh the resident register from the municipality's CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import TextIO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kofu.base.errors import UserError
from kofu.base.mynumber import has_valid_check_digit, individual_numbers_in, keyed_hash
from kofu.base.text import has_unprintable
from kofu.models import Resident, ResidentStatus
from kofu.models.base import utcnow
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
# ASCII digits: \d would also take full-width ones.
_RESIDENT_CODE = re.compile(r"[0-9]{11}")
_POSTAL_CODE = re.compile(r"[0-9]{3}-[0-9]{4}")
# What errors="surrogateescape" turns bytes that are not UTF-8 into.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# The longest text each column takes: PostgreSQL refuses a longer value (SQLite would keep
# it), so a row with one is refused by name, like any other bad row. The keys made from the
# names are checked too (normalising can lengthen a name: ㍿ is 株式会社), named by the
# fields they are made from.
_MAX_CHARS = {
    c.name: c.type.length
    for c in Resident.__table__.columns
    if getattr(c.type, "length", None) is not None
}
_KEY_SOURCE = {
    "name_key": "family_name and given_name",
    "kana_key": "family_name_kana and given_name_kana",
    "family_kana_key": "family_name_kana",
    "given_kana_key": "given_name_kana",
    "address_key": "address",
}
# Rows per lookup and per bulk INSERT/UPDATE. The lookup binds one parameter per row;
# SQLite allows 32,766 per statement.
_SLICE = 5_000


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
    if not _RESIDENT_CODE.fullmatch(code):
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
    try:
        status = ResidentStatus((row.get("status") or "").strip())
    except ValueError:
        raise fail("status must be resident, moved_out, deceased or removed") from None
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
    for column, value in parsed.items():
        longest = _MAX_CHARS.get(column)
        if longest is not None and isinstance(value, str) and len(value) > longest:
            if column in _KEY_SOURCE:
                raise fail(f"{_KEY_SOURCE[column]} too long once normalised ({longest} at most)")
            raise fail(f"{column} is longer than {longest} characters")
    return parsed


def _check_text(fail, texts: dict[str, str]) -> None:
    """Names and the address go onto envelopes: no control or format characters (the rule
    intake applies to a delivery), and no individual number typed into them."""
    for name, value in texts.items():
        if has_unprintable(value):
            raise fail(f"{name} holds a control or invisible format character")
        if individual_numbers_in(value):
            raise fail(f"{name} holds an individual number (12 digits with a valid check digit)")


def upsert_residents(session: Session, rows: Iterable[dict]) -> ImportResult:
    """Upsert by resident_code, in slices, so rows can stream in from read_register.

    The caller commits, so the import is all or nothing: an error from ``rows`` part-way
    leaves earlier slices only in the open transaction, which the caller rolls back.
    Every row already in the register counts as updated; only those that differ are written.
    """
    # One executemany per slice instead of one ORM object and one statement per row
    # (that was ~200 µs a row). One timestamp for the whole import, set here rather than
    # left to the column's default/onupdate, which bulk statements need not run.
    now = utcnow()
    inserted = updated = 0
    rows = iter(rows)
    while batch := list(islice(rows, _SLICE)):
        # Read back what a row writes (its keys), to leave unchanged rows untouched.
        fields = [getattr(Resident, name) for name in batch[0]]
        existing = {
            found.resident_code: found
            for found in session.execute(
                select(Resident.id, *fields).where(
                    Resident.resident_code.in_([row["resident_code"] for row in batch])
                )
            )
        }
        new: list[dict] = []
        changed: list[dict] = []
        for row in batch:
            found = existing.get(row["resident_code"])
            if found is None:
                new.append({**row, "updated_at": now})
            elif tuple(found[1:]) != tuple(row.values()):
                changed.append({**row, "id": found.id, "updated_at": now})
        if new:
            # Core INSERT on the table: the ORM's bulk insert leaves out None values and
            # starts a new statement whenever the set of keys changes (23,000 statements
            # for 100,000 rows, as rows with and without a number or status_date mix).
            session.execute(insert(Resident.__table__), new)
        if changed:
            session.execute(update(Resident), changed)  # ORM bulk UPDATE by primary key
        inserted += len(new)
        updated += len(batch) - len(new)
    return ImportResult(inserted=inserted, updated=updated)
