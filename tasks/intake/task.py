"""Intake: take in one delivery folder (applications.jsonl + photos).

Each line becomes an application in state ``received``, or ``invalid`` with reason codes.
A line whose application id cannot even be read becomes a rejected line of the batch.
Taking in the same delivery twice adds nothing: application ids are unique.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Final

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.base.mynumber import (
    has_valid_check_digit,
    individual_numbers_in,
    is_well_formed,
    keyed_hash,
)
from kofu.base.paths import check_batch_id, check_text_path
from kofu.base.secret import load_secret_key
from kofu.base.settings import Settings
from kofu.base.text import has_unprintable
from kofu.models import Application, ApplicationState, AuditEvent, Batch, RejectedLine
from kofu.models.db import unit_of_work
from kofu.models.key_check import check_key
from kofu.tasks.chunks.retry import with_db_retry
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.intake.scrub import scrub_delivery

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
# The longest value each text field may hold: its column's length, so that a long name is
# invalid here instead of failing the whole intake on a database that enforces lengths.
_MAX_CHARS: Final = {name: Application.__table__.c[name].type.length for name in _TEXT_CODES}
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
    if len(raw) > MAX_LINE_BYTES:
        return RejectedDeliveryLine(line_no, "line-too-long")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return RejectedDeliveryLine(line_no, "not-utf8")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError: not JSON, or an integer of thousands of digits (Python refuses to
        # convert it); RecursionError: arrays or objects nested thousands deep.
        return RejectedDeliveryLine(line_no, "malformed-json")
    if not isinstance(obj, dict):
        return RejectedDeliveryLine(line_no, "not-an-object")
    app_id = obj.get("application_id")
    if not isinstance(app_id, str) or not _APPLICATION_ID.fullmatch(app_id):
        return RejectedDeliveryLine(line_no, "bad-application-id")

    parsed = ParsedApplication(line_no=line_no, application_id=app_id)
    reasons = parsed.reasons
    if any(f not in obj for f in REQUIRED_FIELDS):
        reasons.append("missing-field")
    if set(obj) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS):
        reasons.append("unexpected-field")
    out = parsed.fields

    def field_text(name: str, code: str) -> str | None:
        """The field's text, stripped; None when absent. A field that is there but not a
        string (null, a number, a list) or holds a lone surrogate breaks the contract:
        ``code``."""
        if name not in obj:
            return None
        value = obj[name]
        if not isinstance(value, str) or _SURROGATE.search(value):
            reasons.append(code)
            return None
        return value.strip()

    # An individual number typed into another field (an address, a name, the photo's path)
    # is refused, never stored: the line is invalid, and an invalid line keeps only its id.
    if any(
        isinstance(value, str) and individual_numbers_in(value)
        for name, value in obj.items()
        if name != "individual_number"
    ):
        reasons.append("individual-number-in-field")

    submitted = field_text("submitted_at", "bad-submitted-at")
    if submitted is not None:
        stamp = submission_time(submitted, today)
        if stamp is None:
            reasons.append("bad-submitted-at")
        else:
            out["submitted_at"] = stamp

    channel = field_text("channel", "bad-channel")
    if channel is not None and channel not in CHANNELS:
        reasons.append("bad-channel")
    out["channel"] = channel

    number = obj.get("individual_number")
    # null, "" and blanks count as absent: the field is optional, and a delivery whose numbers
    # were blanked (scrub_delivery) is taken in again as it was, without them.
    if isinstance(number, str) and not number.strip():
        number = None
    if number is not None:
        if not isinstance(number, str) or not is_well_formed(number):
            reasons.append("bad-individual-number")
        elif not has_valid_check_digit(number):
            # Not an individual number (総務省令第85号 第5条): a typing mistake on an optional
            # field. It is neither stored nor used; the reason stays on the application.
            reasons.append("individual-number-check-digit")
        else:
            out["individual_number_hmac"] = keyed_hash(number, key)

    for name, code in _TEXT_CODES.items():
        value = field_text(name, code)
        if value is not None and (
            not value or has_unprintable(value) or len(value) > _MAX_CHARS[name]
        ):
            reasons.append(code)
        out[name] = value

    birth_text = field_text("birth_date", "bad-birth-date")
    if birth_text is not None:
        try:
            if not _DATE.fullmatch(birth_text):
                raise ValueError
            birth = date.fromisoformat(birth_text)  # 2026-02-30 raises
            if not _OLDEST_BIRTH <= birth <= today:
                raise ValueError
            out["birth_date"] = birth
        except ValueError:
            reasons.append("bad-birth-date")

    sex = obj.get("sex")
    # "1" or 2, but not true (True == 1 in Python) nor 1.0.
    sex_ok = sex in ("1", "2") if isinstance(sex, str) else type(sex) is int and sex in (1, 2)
    if "sex" in obj and not sex_ok:
        reasons.append("bad-sex")
    out["sex"] = str(sex) if sex_ok else None

    postal = field_text("postal_code", "bad-postal-code")
    if postal is not None and not _POSTAL_CODE.fullmatch(postal):
        reasons.append("bad-postal-code")
    out["postal_code"] = postal

    photo = field_text("photo", "bad-photo-path")
    if photo is not None:
        code = photo_path_problem(folder, photo)
        if code:
            reasons.append(code)
        else:
            out["photo"] = photo
    # Keep each code once, in the order found.
    parsed.reasons[:] = list(dict.fromkeys(reasons))
    return parsed


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


def take_in_delivery(
    session: Session, folder: Path, batch_id: str, key: bytes, today: date
) -> IntakeResult:
    """Record the delivery's applications. The caller commits."""
    path = folder / DELIVERY_FILE
    if not path.is_file():
        raise UserError(f"no {DELIVERY_FILE} in {folder}: is this a delivery folder?")
    # A name, no path (it names folders), and within the column's length, which PostgreSQL
    # enforces (SQLite would store any): refused up front.
    check_batch_id(batch_id, "--batch-id, or the delivery folder's name")
    # The batch records where it came from: a path PostgreSQL can hold as text.
    where = str(check_text_path(folder, "the delivery folder").resolve())
    batch = session.get(Batch, batch_id)
    if batch is None:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        batch = Batch(id=batch_id, inbox=where, delivery_sha256=digest)
        session.add(batch)
        session.flush()

    known_ids = set(
        session.scalars(select(Application.application_id).where(Application.batch_id == batch_id))
    )
    known_lines = set(
        session.scalars(select(RejectedLine.line_no).where(RejectedLine.batch_id == batch_id))
    )
    seen_here: set[str] = set()
    lines = received = invalid = rejected = already = 0
    for line_no, raw in read_delivery_lines(path):
        lines += 1
        item = parse_line(line_no, raw, folder, key, today)
        if isinstance(item, ParsedApplication) and item.application_id in seen_here:
            item = RejectedDeliveryLine(line_no, "duplicate-application-id")
        if isinstance(item, RejectedDeliveryLine):
            if line_no in known_lines:
                already += 1
            else:
                session.add(RejectedLine(batch_id=batch_id, line_no=line_no, reason=item.reason))
                rejected += 1
            continue
        seen_here.add(item.application_id)
        if item.application_id in known_ids:
            already += 1
            continue
        if _known_elsewhere(session, item.application_id):
            session.add(
                RejectedLine(batch_id=batch_id, line_no=line_no, reason="duplicate-application-id")
            )
            rejected += 1
            continue
        session.add(_application_row(batch_id, item))
        if item.valid:
            received += 1
        else:
            invalid += 1

    batch.lines_read = lines
    session.add(
        AuditEvent(
            actor="nightly",
            action="intake",
            batch_id=batch_id,
            detail={"received": received, "invalid": invalid, "rejected_lines": rejected},
        )
    )
    return IntakeResult(batch_id, lines, received, invalid, rejected, already)


def _known_elsewhere(session: Session, application_id: str) -> bool:
    found = select(Application.id).where(Application.application_id == application_id)
    return session.scalar(found) is not None


def _application_row(batch_id: str, item: ParsedApplication) -> Application:
    state = ApplicationState.RECEIVED if item.valid else ApplicationState.INVALID
    # An invalid line keeps its id and reasons only: its other fields broke the contract.
    fields = item.fields if item.valid else {}
    return Application(
        application_id=item.application_id,
        batch_id=batch_id,
        line_no=item.line_no,
        state=state,
        reasons=list(item.reasons),
        **fields,
    )


# --- The stage as a Prefect task ----------------------------------------------------------


def take_in(settings: Settings, folder: Path, batch_id: str, today: date) -> IntakeResult:
    key = load_secret_key(settings)
    check_key(settings.db_url, key)  # another key would hash every number differently

    def run() -> IntakeResult:
        with unit_of_work(settings.db_url, write=True) as session:
            result = take_in_delivery(session, folder, batch_id, key, today)
            session.commit()
            return result

    result = with_db_retry(run)
    # Only now that every line is recorded (the numbers as keyed hashes) may the plain numbers
    # go: the delivery is the last place they are in.
    return replace(result, numbers_scrubbed=scrub_delivery(folder / DELIVERY_FILE, MAX_LINE_BYTES))


@task(
    name="intake",
    task_run_name="{batch_id} intake",
    **CHUNK_TASK_OPTIONS,
)
def intake_task(settings: Settings, folder: Path, batch_id: str, today: date) -> dict:
    return asdict(take_in(settings, folder, batch_id, today))
