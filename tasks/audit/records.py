"""The audit trail: who read or changed which resident's record, or decided which review,
and when (DOMAIN.md: recording access). Every event is written through this module.

Records of use must not themselves hold the number, so an event holds codes and ids only:
resident codes (11 digits), application and batch ids, counts, reason codes, file digests.
Never an individual number, never a name. Free text that reaches an event (a file name, an
error line, the actor) goes through the individual-number mask first.

Actions (``detail`` keys in brackets):
- ``residents-import``: the register was loaded [file, sha256, bytes, inserted, updated,
  resident_codes when the file has at most LISTED_CODES_MAX rows];
- ``residents-import-refused``: nothing was imported [file, sha256, bytes, error];
- ``queue-list``: the queues were shown [kind, format, review_items, failure_items,
  application_ids of the review items, resident_codes of the candidates shown];
- ``export``: a batch's outcomes were exported [applications, resident_codes, sha256 of
  the output];
- ``review-resolve``: a person decided a review [decision, stage, state, reason, accept];
- ``review-resolve-refused``: a decision was refused, nothing changed [decision, refused];
- ``nightly-run``, ``rerun``: a person started a run [outcome, applications, states,
  review_queue, failure_queue, or error].
The nightly intake writes ``intake`` events of its own (tasks/intake/records.py), the demo its import.
Events also carry ``os_user``, the login account, when it differs from the actor named by
KOFU_ACTOR, which anyone can set.

What an event may hold (the mask, resident codes, a file's fingerprint) and how an event
reads back are the pure core, tasks/audit/core.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from kofu.base.clock import JST
from kofu.base.text import RESIDENT_CODE
from kofu.models import AuditEvent
from kofu.tasks.audit.core import actor_text, masked, resident_codes, single

# What a person typed as a batch id is recorded even when refused; PostgreSQL refuses a
# value longer than the column (SQLite would keep it), so the trail keeps what fits.
ID_MAX = AuditEvent.__table__.c.batch_id.type.length


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    os_user: str | None = None,
    batch_id: str | None = None,
    application_id: str | None = None,
    resident_code: str | None = None,
    detail: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to the session; the caller commits it with (or instead of) its work."""
    detail = masked(dict(detail or {}))
    actor = actor_text(actor)
    if os_user and os_user != actor:
        detail["os_user"] = actor_text(os_user)
    if resident_code is not None and not RESIDENT_CODE.fullmatch(resident_code):
        raise ValueError("an audit event's resident_code must be an 11-digit resident code")
    event = AuditEvent(
        at=at or datetime.now(UTC),
        actor=actor,
        action=action,
        batch_id=batch_id[:ID_MAX] if batch_id else batch_id,
        application_id=application_id[:ID_MAX] if application_id else application_id,
        resident_code=resident_code,
        detail=detail,
    )
    session.add(event)
    return event


# --- The register ---------------------------------------------------------------------------


def record_import(
    session: Session,
    *,
    actor: str,
    os_user: str | None,
    file: Path,
    file_print: dict,
    inserted: int,
    updated: int,
    codes: list[str] | None,
) -> AuditEvent:
    """``file_print`` is ``fingerprint(file)``. ``updated`` counts every row already in the
    register, changed or not."""
    detail: dict = {
        "file": file.name,
        **file_print,
        "inserted": inserted,
        "updated": updated,
    }
    listed = resident_codes(codes) if codes is not None else None
    if listed is not None:
        detail["resident_codes"] = listed
    return record(
        session,
        "residents-import",
        actor=actor,
        os_user=os_user,
        resident_code=single(listed or []),
        detail=detail,
    )


def record_import_refused(
    session: Session,
    *,
    actor: str,
    os_user: str | None,
    file: Path,
    file_print: dict,
    error: str,
) -> AuditEvent:
    """Nothing was imported. ``error`` is the line the person saw: it names a row by its line
    number, never by its contents."""
    return record(
        session,
        "residents-import-refused",
        actor=actor,
        os_user=os_user,
        detail={"file": file.name, **file_print, "error": error},
    )


# --- Reads of residents' data ---------------------------------------------------------------


def record_queue_list(
    session: Session,
    *,
    actor: str,
    os_user: str | None,
    kind: str | None,
    output: str,
    entries: list,
) -> AuditEvent | None:
    """The queues as shown. The table shows which applications wait for a person; the JSON
    also shows each review's evidence, with the candidates' resident codes and how each field
    compared. None when no review item was shown: failure items carry an application id and
    an error code, nothing about a resident."""
    reviews = [e for e in entries if e.kind == "review"]
    if not reviews:
        return None
    codes: list[str] = []
    if output == "json":
        for e in reviews:
            codes += [c.get("resident_code") for c in e.evidence.get("candidates", [])]
    listed = resident_codes(codes)
    detail = {
        "kind": kind or "all",
        "format": output,
        "review_items": len(reviews),
        "failure_items": len(entries) - len(reviews),
        "application_ids": sorted({e.application_id for e in reviews}),
        "resident_codes": listed,
    }
    batches = {e.batch_id for e in reviews}
    return record(
        session,
        "queue-list",
        actor=actor,
        os_user=os_user,
        batch_id=batches.pop() if len(batches) == 1 else None,
        application_id=reviews[0].application_id if len(reviews) == 1 else None,
        resident_code=single(listed),
        detail=detail,
    )


def record_export(
    session: Session,
    *,
    actor: str,
    os_user: str | None,
    batch_id: str,
    outcomes: list[dict],
    output_sha256: str,
) -> AuditEvent:
    """Every resident code the export showed; the output's SHA-256 ties a copy found later to
    this event."""
    listed = resident_codes(o.get("resident_code") for o in outcomes)
    return record(
        session,
        "export",
        actor=actor,
        os_user=os_user,
        batch_id=batch_id,
        resident_code=single(listed),
        detail={"applications": len(outcomes), "resident_codes": listed, "sha256": output_sha256},
    )


# --- Decisions and runs ---------------------------------------------------------------------


def record_review_decision(
    session: Session,
    *,
    actor: str,
    os_user: str | None,
    at: datetime,
    batch_id: str,
    application_id: str,
    stage: str,
    decision: str,
    state: str,
    resident_code: str | None,
    reason: str | None,
) -> AuditEvent:
    return record(
        session,
        "review-resolve",
        actor=actor,
        os_user=os_user,
        at=at,
        batch_id=batch_id,
        application_id=application_id,
        resident_code=resident_code,
        detail={
            "decision": decision,
            "stage": stage,
            "state": state,
            "reason": reason,
            "accept": decision == "accept",
        },
    )


def record_review_refused(
    session: Session,
    *,
    actor: str,
    os_user: str | None,
    batch_id: str | None,
    application_id: str | None,
    resident_code: str | None,
    decision: str,
    refused: str,
) -> AuditEvent:
    """A refused decision changed nothing. The application id is kept only when it named an
    application, and the resident code only when it is 11 digits: what a person typed in the
    wrong place could be anything, an individual number included."""
    well_formed = (
        resident_code if resident_code and RESIDENT_CODE.fullmatch(resident_code) else None
    )
    return record(
        session,
        "review-resolve-refused",
        actor=actor,
        os_user=os_user,
        batch_id=batch_id,
        application_id=application_id,
        resident_code=well_formed,
        detail={"decision": decision, "refused": refused},
    )


def record_run(
    session: Session,
    action: str,
    *,
    actor: str,
    os_user: str | None,
    batch_id: str | None,
    summary: dict | None = None,
    error: str | None = None,
) -> AuditEvent:
    """Who started a run by hand, and its counts. What it did to each application is in the
    applications' own rows (state, resident, matching tier) and the intake event."""
    detail: dict = {"outcome": "completed" if error is None else "failed"}
    if summary is not None:
        detail.update(
            applications=summary.get("applications"),
            states=summary.get("states"),
            review_queue=summary.get("review_queue"),
            failure_queue=summary.get("failure_queue"),
        )
    if error is not None:
        detail["error"] = error
    return record(
        session,
        action,
        actor=actor,
        os_user=os_user,
        batch_id=(summary or {}).get("batch_id") or batch_id,
        detail=detail,
    )


# --- Reading the trail ----------------------------------------------------------------------


def list_events(
    session: Session, *, since: date | None = None, resident_code: str | None = None
) -> list[AuditEvent]:
    """Events in the order they were written. ``since`` is a day in Japan time; a resident
    code finds the events that name it, in the column or in a list in ``detail``."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.at >= datetime.combine(since, time(), JST).astimezone(UTC))
    if resident_code is not None:
        # The JSON text narrows the scan (a code is digits, nothing to escape); the exact test
        # on the parsed detail follows.
        query = query.where(
            or_(
                AuditEvent.resident_code == resident_code,
                cast(AuditEvent.detail, Text).like(f'%"{resident_code}"%'),
            )
        )
    events = list(session.scalars(query))
    if resident_code is not None:
        events = [
            e
            for e in events
            if e.resident_code == resident_code
            or resident_code in (e.detail or {}).get("resident_codes", [])
        ]
    return events
