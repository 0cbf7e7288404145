"""Register import: load or refresh the resident register from the municipality's CSV."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.errors import UserError
from kofu.mynumber import has_valid_check_digit, keyed_hash
from models import Resident, ResidentStatus
from tasks.normalize import address_key, kana_key, name_key

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
_RESIDENT_CODE = re.compile(r"\d{11}")
_POSTAL_CODE = re.compile(r"\d{3}-\d{4}")
# Bound parameters per IN (...) lookup; SQLite allows 32,766 per statement.
_LOOKUP_CHUNK = 5_000


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    updated: int


class RegisterRowError(UserError):
    pass


def read_register(path: Path, key: bytes) -> list[dict]:
    """Parse and validate the whole file first: a bad row imports nothing."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REGISTER_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{path}: missing column(s): {', '.join(missing)}")
            return [_parse_row(row, key, line) for line, row in enumerate(reader, start=2)]
    except FileNotFoundError:
        raise UserError(f"register file not found: {path}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV ({exc})") from None


def _parse_row(row: dict, key: bytes, line: int) -> dict:
    def fail(what: str) -> RegisterRowError:
        # The row is named by its line, never by its contents: it may hold an individual number.
        return RegisterRowError(f"register line {line}: {what}; nothing was imported")

    code = (row.get("resident_code") or "").strip()
    if not _RESIDENT_CODE.fullmatch(code):
        raise fail("resident_code must be 11 digits")
    number = (row.get("individual_number") or "").strip()
    if number and not has_valid_check_digit(number):
        raise fail("individual_number is not 12 digits with a valid check digit")
    names = {f: (row.get(f) or "").strip() for f in REGISTER_COLUMNS[2:6]}
    if not all(names.values()):
        raise fail("a name or reading is empty")
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
    return {
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
        "address_key": address_key(address),
    }


def upsert_residents(session: Session, rows: Iterable[dict]) -> ImportResult:
    """Upsert by resident_code. The caller commits, so the import is all or nothing."""
    rows = list(rows)
    existing: dict[str, Resident] = {}
    codes = [row["resident_code"] for row in rows]
    for start in range(0, len(codes), _LOOKUP_CHUNK):
        found = select(Resident).where(
            Resident.resident_code.in_(codes[start : start + _LOOKUP_CHUNK])
        )
        existing.update((r.resident_code, r) for r in session.scalars(found))
    inserted = updated = 0
    for row in rows:
        resident = existing.get(row["resident_code"])
        if resident is None:
            session.add(Resident(**row))
            inserted += 1
        else:
            for field, value in row.items():
                setattr(resident, field, value)
            updated += 1
    return ImportResult(inserted=inserted, updated=updated)
