"""Intake's pure core: reading the lines of a delivery's applications.jsonl.

Each line becomes a parsed application, valid or with the reason codes that make it invalid
(``ParsedApplication``), or a rejected line when its application id cannot even be read
(``RejectedDeliveryLine``). The records (tasks/intake/records.py) take them in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Final

from kofu.base.clock import JST
from kofu.base.mynumber import (
    has_valid_check_digit,
    individual_numbers_in,
    is_well_formed,
    keyed_hash,
)
from kofu.base.text import has_unprintable

DELIVERY_FILE = "applications.jsonl"
# A real line is well under 2 KB; anything far beyond is not an application.
MAX_LINE_BYTES = 64 * 1024
REQUIRED_FIELDS = (
    "application_id",
    "submitted_at",
    "channel",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "postal_code",
    "address",
    "photo",
)
OPTIONAL_FIELDS = ("individual_number",)
# Reasons kept on the application that do not make it invalid. A wrong check digit on the
# optional individual number is a typing mistake (DESIGN.md): the number is dropped, the
# reason stays, and matching goes on without the number.
NOTED_ONLY: Final = frozenset({"individual-number-check-digit"})
CHANNELS = frozenset({"smartphone", "pc", "kiosk", "mail"})
# J-LIS application ids are 23 digits. ASCII digits only: \d would also take full-width and
# other scripts' digits.
_APPLICATION_ID = re.compile(r"[0-9]{23}")
# A UTF-8 byte order mark, which some editors put at the start of a file.
_BOM = b"\xef\xbb\xbf"
_POSTAL_CODE = re.compile(r"[0-9]{3}-[0-9]{4}")
# date.fromisoformat alone also takes 19800401 and week dates (1980-W14-2).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A JSON escape like "\ud800" decodes to a lone surrogate, which no database can store.
_SURROGATE = re.compile("[\ud800-\udfff]")
_OLDEST_BIRTH = date(1890, 1, 1)
# Online applications for the card opened on 2015-10-05 (the notification cards went out from
# then). An earlier time, or one after tomorrow, is no submission: and a time such as
# 9999-12-31T23:59:59-09:00 is past year 9999 in UTC, which no database column can hold.
_FIRST_SUBMISSION = datetime(2015, 10, 5, tzinfo=JST)
_TEXT_CODES: Final = {
    "family_name": "bad-name",
    "given_name": "bad-name",
    "family_name_kana": "bad-name",
    "given_name_kana": "bad-name",
    "address": "bad-address",
}
# The longest value each text field may hold: its column's length (models/applications.py),
# so that a long name is invalid here instead of failing the whole intake on a database that
# enforces lengths. The core does not read the table: tests/integration/test_intake.py
# checks that these are the columns' lengths.
MAX_CHARS: Final = {
    "family_name": 100,
    "given_name": 100,
    "family_name_kana": 200,
    "given_name_kana": 200,
    "address": 300,
}
# A photo path longer than this, or with a longer part, is no path a delivery would carry
# (and opening it would fail on every run).
MAX_PHOTO_PATH = 1024
MAX_PATH_PART_BYTES = 255


@dataclass(frozen=True)
class RejectedDeliveryLine:
    line_no: int
    reason: str


@dataclass
class ParsedApplication:
    line_no: int
    application_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return all(reason in NOTED_ONLY for reason in self.reasons)


@dataclass(frozen=True)
class IntakeResult:
    batch_id: str
    lines_read: int
    received: int
    invalid: int
    rejected_lines: int
    already_known: int
    # Individual numbers blanked in the delivery file once recorded; None if the file could
    # not be rewritten (a read-only share).
    numbers_scrubbed: int | None = 0


def read_delivery_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines and their numbers. A line longer than MAX_LINE_BYTES comes back
    cut to MAX_LINE_BYTES + 1 bytes, enough for ``parse_line`` to refuse it; the rest of it
    is skipped piece by piece, so a 10 MB line is never held in memory."""
    with path.open("rb") as fh:
        line_no = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            line_no += 1
            if line_no == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := fh.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
            if raw.strip():
                yield line_no, raw


def parse_line(
    line_no: int, raw: bytes, folder: Path, key: bytes, today: date
) -> ParsedApplication | RejectedDeliveryLine:
    obj = _json_object(raw)
    if isinstance(obj, str):
        return RejectedDeliveryLine(line_no, obj)
    app_id = obj.get("application_id")
    if not isinstance(app_id, str) or not _APPLICATION_ID.fullmatch(app_id):
        return RejectedDeliveryLine(line_no, "bad-application-id")
    line = _Line(obj, ParsedApplication(line_no=line_no, application_id=app_id))
    # Each step adds the reasons it finds; their order is the order of the steps.
    _check_fields(line)
    _take_submitted_at(line, today)
    _take_channel(line)
    _take_individual_number(line, key)
    _take_texts(line)
    _take_birth_date(line, today)
    _take_sex(line)
    _take_postal_code(line)
    _take_photo(line, folder)
    parsed = line.parsed
    # Keep each code once, in the order found.
    parsed.reasons[:] = list(dict.fromkeys(parsed.reasons))
    return parsed


def _json_object(raw: bytes) -> dict[str, Any] | str:
    """The line's JSON object, or the reason the line is rejected."""
    if len(raw) > MAX_LINE_BYTES:
        return "line-too-long"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not-utf8"
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError: not JSON, or an integer of thousands of digits (Python refuses to
        # convert it); RecursionError: arrays or objects nested thousands deep.
        return "malformed-json"
    if not isinstance(obj, dict):
        return "not-an-object"
    return obj


@dataclass
class _Line:
    """One line's object while its fields are taken: into ``parsed.fields``, or refused
    with a reason in ``parsed.reasons``."""

    obj: dict[str, Any]
    parsed: ParsedApplication

    @property
    def out(self) -> dict[str, Any]:
        return self.parsed.fields

    def refuse(self, code: str) -> None:
        self.parsed.reasons.append(code)

    def text(self, name: str, code: str) -> str | None:
        """The field's text, stripped; None when absent. A field that is there but not a
        string (null, a number, a list) or holds a lone surrogate breaks the contract:
        ``code``."""
        if name not in self.obj:
            return None
        value = self.obj[name]
        if not isinstance(value, str) or _SURROGATE.search(value):
            self.refuse(code)
            return None
        return value.strip()


def _check_fields(line: _Line) -> None:
    obj = line.obj
    if any(f not in obj for f in REQUIRED_FIELDS):
        line.refuse("missing-field")
    if set(obj) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS):
        line.refuse("unexpected-field")
    # An individual number typed into another field (an address, a name, the photo's path)
    # is refused, never stored: the line is invalid, and an invalid line keeps only its id.
    if any(
        isinstance(value, str) and individual_numbers_in(value)
        for name, value in obj.items()
        if name != "individual_number"
    ):
        line.refuse("individual-number-in-field")


def _take_submitted_at(line: _Line, today: date) -> None:
    submitted = line.text("submitted_at", "bad-submitted-at")
    if submitted is None:
        return
    stamp = submission_time(submitted, today)
    if stamp is None:
        line.refuse("bad-submitted-at")
    else:
        line.out["submitted_at"] = stamp


def _take_channel(line: _Line) -> None:
    channel = line.text("channel", "bad-channel")
    if channel is not None and channel not in CHANNELS:
        line.refuse("bad-channel")
    line.out["channel"] = channel


def _take_individual_number(line: _Line, key: bytes) -> None:
    number = line.obj.get("individual_number")
    # null, "" and blanks count as absent: the field is optional, and a delivery whose numbers
    # were blanked (scrub_delivery) is taken in again as it was, without them.
    if number is None or (isinstance(number, str) and not number.strip()):
        return
    if not isinstance(number, str) or not is_well_formed(number):
        line.refuse("bad-individual-number")
    elif not has_valid_check_digit(number):
        # Not an individual number (総務省令第85号 第5条): a typing mistake on an optional
        # field. It is neither stored nor used; the reason stays on the application.
        line.refuse("individual-number-check-digit")
    else:
        line.out["individual_number_hmac"] = keyed_hash(number, key)


def _take_texts(line: _Line) -> None:
    for name, code in _TEXT_CODES.items():
        value = line.text(name, code)
        if value is not None and (
            not value or has_unprintable(value) or len(value) > MAX_CHARS[name]
        ):
            line.refuse(code)
        line.out[name] = value


def _take_birth_date(line: _Line, today: date) -> None:
    birth_text = line.text("birth_date", "bad-birth-date")
    if birth_text is None:
        return
    try:
        if not _DATE.fullmatch(birth_text):
            raise ValueError
        birth = date.fromisoformat(birth_text)  # 2026-02-30 raises
        if not _OLDEST_BIRTH <= birth <= today:
            raise ValueError
        line.out["birth_date"] = birth
    except ValueError:
        line.refuse("bad-birth-date")


def _take_sex(line: _Line) -> None:
    sex = line.obj.get("sex")
    # "1" or 2, but not true (True == 1 in Python) nor 1.0.
    sex_ok = sex in ("1", "2") if isinstance(sex, str) else type(sex) is int and sex in (1, 2)
    if "sex" in line.obj and not sex_ok:
        line.refuse("bad-sex")
    line.out["sex"] = str(sex) if sex_ok else None


def _take_postal_code(line: _Line) -> None:
    postal = line.text("postal_code", "bad-postal-code")
    if postal is not None and not _POSTAL_CODE.fullmatch(postal):
        line.refuse("bad-postal-code")
    line.out["postal_code"] = postal


def _take_photo(line: _Line, folder: Path) -> None:
    photo = line.text("photo", "bad-photo-path")
    if photo is None:
        return
    code = photo_path_problem(folder, photo)
    if code:
        line.refuse(code)
    else:
        line.out["photo"] = photo


def submission_time(text: str, today: date) -> datetime | None:
    """The submission time, or None when it is no time a submission can have: not ISO 8601
    with an offset, before online applications opened, or after tomorrow (JST)."""
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    latest = datetime.combine(today + timedelta(days=2), time(), JST)
    if stamp.tzinfo is None or not _FIRST_SUBMISSION <= stamp < latest:
        return None
    return stamp


def photo_path_problem(folder: Path, relative: str) -> str | None:
    """The photo must be a relative path that stays inside the delivery folder. Nothing is
    opened here: a symlink is resolved to see where it leads, never followed to read."""
    if not relative or "\x00" in relative or "\\" in relative:
        return "bad-photo-path"
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        return "photo-path-outside-delivery"
    if len(relative) > MAX_PHOTO_PATH or any(
        len(part.encode("utf-8", "surrogatepass")) > MAX_PATH_PART_BYTES for part in pure.parts
    ):
        return "bad-photo-path"
    root = folder.resolve()
    try:
        # resolve() follows symlinks, so a link that leads outside is caught here too.
        target = (root / pure).resolve()
    except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
        return "bad-photo-path"
    if not target.is_relative_to(root):
        return "photo-path-outside-delivery"
    if target.exists() and not target.is_file():  # a folder, a pipe, a device
        return "bad-photo-path"
    return None  # a photo still missing is the system's problem: the photo stage queues it
