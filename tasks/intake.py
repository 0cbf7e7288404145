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
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.atomic import write_bytes_atomic
from kofu.db import unit_of_work
from kofu.errors import UserError
from kofu.mynumber import has_valid_check_digit, is_well_formed, keyed_hash
from kofu.secret import load_secret_key
from kofu.settings import Settings
from models import Application, ApplicationState, AuditEvent, Batch, RejectedLine
from tasks.chunks import CHUNK_TASK_OPTIONS, with_db_retry

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
CHANNELS = frozenset({"smartphone", "pc", "kiosk", "mail"})
_APPLICATION_ID = re.compile(r"\d{1,64}")
_POSTAL_CODE = re.compile(r"\d{3}-\d{4}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_OLDEST_BIRTH = date(1890, 1, 1)


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
        # individual-number-check-digit is a note for matching, not a broken contract.
        return all(r == "individual-number-check-digit" for r in self.reasons)


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
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
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
    except json.JSONDecodeError:
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

    submitted = _text(obj, "submitted_at")
    try:
        stamp = datetime.fromisoformat(submitted) if submitted else None
        if stamp is not None and stamp.tzinfo is None:
            raise ValueError
        out["submitted_at"] = stamp
    except ValueError:
        reasons.append("bad-submitted-at")

    channel = _text(obj, "channel")
    if channel is not None and channel not in CHANNELS:
        reasons.append("bad-channel")
    out["channel"] = channel

    number = obj.get("individual_number")
    if number is not None:
        if not isinstance(number, str) or not is_well_formed(number):
            reasons.append("bad-individual-number")
        elif not has_valid_check_digit(number):
            # Matching goes on without the number (and says so).
            reasons.append("individual-number-check-digit")
        else:
            out["individual_number_hmac"] = keyed_hash(number, key)

    for name in ("family_name", "given_name", "family_name_kana", "given_name_kana", "address"):
        value = _text(obj, name)
        if name in obj and (not value or _CONTROL.search(value) or len(value) > 200):
            reasons.append("bad-address" if name == "address" else "bad-name")
        out[name] = value

    birth_text = _text(obj, "birth_date")
    if birth_text is not None:
        try:
            birth = date.fromisoformat(birth_text)
            if not _OLDEST_BIRTH <= birth <= today:
                raise ValueError
            out["birth_date"] = birth
        except ValueError:
            reasons.append("bad-birth-date")

    sex = obj.get("sex")
    if "sex" in obj and sex not in ("1", "2", 1, 2):
        reasons.append("bad-sex")
    out["sex"] = str(sex) if sex in ("1", "2", 1, 2) else None

    postal = _text(obj, "postal_code")
    if postal is not None and not _POSTAL_CODE.fullmatch(postal):
        reasons.append("bad-postal-code")
    out["postal_code"] = postal

    photo = _text(obj, "photo")
    if photo is not None:
        code = photo_path_problem(folder, photo)
        if code:
            reasons.append(code)
        else:
            out["photo"] = photo
    # Keep each code once, in the order found.
    parsed.reasons[:] = list(dict.fromkeys(reasons))
    return parsed


def _text(obj: dict, name: str) -> str | None:
    value = obj.get(name)
    return value.strip() if isinstance(value, str) else None


def photo_path_problem(folder: Path, relative: str) -> str | None:
    """The photo must be a relative path that stays inside the delivery folder."""
    if not relative or "\x00" in relative or "\\" in relative:
        return "bad-photo-path"
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        return "photo-path-outside-delivery"
    root = folder.resolve()
    # resolve() follows symlinks, so a link that leads outside is caught here too.
    if not (root / pure).resolve().is_relative_to(root):
        return "photo-path-outside-delivery"
    return None


def take_in_delivery(
    session: Session, folder: Path, batch_id: str, key: bytes, today: date
) -> IntakeResult:
    """Record the delivery's applications. The caller commits."""
    path = folder / DELIVERY_FILE
    if not path.is_file():
        raise UserError(f"no {DELIVERY_FILE} in {folder}: is this a delivery folder?")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    batch = session.get(Batch, batch_id)
    if batch is None:
        batch = Batch(id=batch_id, inbox=str(folder.resolve()), delivery_sha256=digest)
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

    def run() -> IntakeResult:
        with unit_of_work(settings.db_url, write=True) as session:
            result = take_in_delivery(session, folder, batch_id, key, today)
            session.commit()
            return result

    result = with_db_retry(run)
    # Only now that every line is recorded (the numbers as keyed hashes) may the plain numbers
    # go: the delivery is the last place they are in.
    return replace(result, numbers_scrubbed=scrub_delivery(folder))


# Twelve digits, plain or as 4-4-4 with spaces or hyphens, in ASCII or full-width, standing
# alone (an application id has 23 digits and is left as it is).
_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9０-９])[0-9０-９]{4}[ -]?[0-9０-９]{4}[ -]?[0-9０-９]{4}(?![0-9０-９])"
)


def scrub_delivery(folder: Path) -> int | None:
    """Blank every individual number in the delivery file, atomically; everything else in it
    stays byte for byte, so taking the delivery in again still finds every line known.
    Returns how many were blanked, or None if the file cannot be rewritten."""
    path = folder / DELIVERY_FILE
    try:
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        scrubbed, count = _NUMBER_IN_TEXT.subn("", text)
        if count:
            mode = path.stat().st_mode & 0o777
            write_bytes_atomic(path, scrubbed.encode("utf-8", errors="surrogateescape"), mode)
        return count
    except OSError:
        return None


@task(
    name="intake",
    task_run_name="{batch_id} intake",
    **CHUNK_TASK_OPTIONS,
)
def intake_task(settings: Settings, folder: Path, batch_id: str, today: date) -> dict:
    return asdict(take_in(settings, folder, batch_id, today))
