"""Intake's records: take in one delivery folder (applications.jsonl + photos).

Each line becomes an application in state ``received``, or ``invalid`` with reason codes.
A line whose application id cannot even be read becomes a rejected line of the batch.
Taking in the same delivery twice adds nothing: application ids are unique. The lines are
read by the pure core (tasks/intake/core.py).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.errors import UserError
from kofu.base.paths import check_batch_id, check_text_path
from kofu.base.secret import load_secret_key
from kofu.base.settings import Settings
from kofu.models import Application, ApplicationState, AuditEvent, Batch, RejectedLine
from kofu.models.db import unit_of_work
from kofu.models.key_check import check_key
from kofu.tasks.intake.core import (
    DELIVERY_FILE,
    MAX_LINE_BYTES,
    IntakeResult,
    ParsedApplication,
    RejectedDeliveryLine,
    parse_line,
    read_delivery_lines,
)
from kofu.tasks.intake.scrub import scrub_delivery


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
    lines = 0
    counts: Counter[str] = Counter()
    for line_no, raw in read_delivery_lines(path):
        lines += 1
        item = parse_line(line_no, raw, folder, key, today)
        if isinstance(item, ParsedApplication):
            if item.application_id in seen_here:
                item = RejectedDeliveryLine(line_no, "duplicate-application-id")
            else:
                seen_here.add(item.application_id)
        counts[_take_line(session, batch_id, item, known_ids, known_lines)] += 1

    batch.lines_read = lines
    received, invalid, rejected = counts["received"], counts["invalid"], counts["rejected"]
    session.add(
        AuditEvent(
            actor="nightly",
            action="intake",
            batch_id=batch_id,
            detail={"received": received, "invalid": invalid, "rejected_lines": rejected},
        )
    )
    return IntakeResult(batch_id, lines, received, invalid, rejected, counts["already"])


def _take_line(
    session: Session,
    batch_id: str,
    item: ParsedApplication | RejectedDeliveryLine,
    known_ids: set[str],
    known_lines: set[int],
) -> str:
    """Add one line's row, unless an earlier intake of the batch did: what became of the
    line (received, invalid, rejected, or already taken in)."""
    if isinstance(item, RejectedDeliveryLine):
        if item.line_no in known_lines:
            return "already"
        session.add(RejectedLine(batch_id=batch_id, line_no=item.line_no, reason=item.reason))
        return "rejected"
    if item.application_id in known_ids:
        return "already"
    if _known_elsewhere(session, item.application_id):
        session.add(
            RejectedLine(batch_id=batch_id, line_no=item.line_no, reason="duplicate-application-id")
        )
        return "rejected"
    session.add(_application_row(batch_id, item))
    return "received" if item.valid else "invalid"


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


def take_in(settings: Settings, folder: Path, batch_id: str, today: date) -> IntakeResult:
    """Take the delivery in, in one write transaction, then blank its individual numbers.
    Nothing here retries: a transient database error is the intake task's to retry
    (tasks/chunks/retry.py)."""
    key = load_secret_key(settings)
    check_key(settings.db_url, key)  # another key would hash every number differently
    with unit_of_work(settings.db_url, write=True) as session:
        result = take_in_delivery(session, folder, batch_id, key, today)
        session.commit()
    # Only now that every line is recorded (the numbers as keyed hashes) may the plain numbers
    # go: the delivery is the last place they are in.
    return replace(result, numbers_scrubbed=scrub_delivery(folder / DELIVERY_FILE, MAX_LINE_BYTES))


def taken_in(session: Session) -> dict[str, str]:
    """Batch id -> the folder it was taken in from (for tasks/intake/inbox.py scan_inbox)."""
    return dict(session.execute(select(Batch.id, Batch.inbox)).tuples().all())
