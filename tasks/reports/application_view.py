"""One application on one screen (``kofu show``): what a person deciding a review needs.

Its state and reasons; what was typed; the resident it was matched to; the evidence of each
review (the candidates with their scores, the fields that agreed, and who they are in the
register; or the photo's measures; or the other applications of a duplicate); its failure
queue items; its files (photo, notice, refusal letter, print file, visit window); and its
audit trail. Never the individual number: only its keyed hash is stored, and it is not
shown either."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.clock import local_time
from kofu.models import (
    Application,
    AuditEvent,
    Batch,
    Card,
    FailureItem,
    Notice,
    PrintBatch,
    RefusalLetter,
    Reminder,
    Resident,
    ReviewItem,
    VisitWindow,
)
from kofu.models.notices import latest_notice
from kofu.tasks.audit.core import event_as_dict
from kofu.tasks.duplicates.records import submitted
from kofu.tasks.reports.records import lifecycle_dates


def _iso(at) -> str | None:  # type: ignore[no-untyped-def]
    return local_time(at).isoformat() if at is not None else None


def _person(resident: Resident) -> dict:
    return {
        "resident_code": resident.resident_code,
        "status": resident.status.value,
        "family_name": resident.family_name,
        "given_name": resident.given_name,
        "family_name_kana": resident.family_name_kana,
        "given_name_kana": resident.given_name_kana,
        "birth_date": resident.birth_date.isoformat(),
        "sex": resident.sex,
        "postal_code": resident.postal_code,
        "address": resident.address,
    }


def _with_register(session: Session, evidence: dict) -> dict:
    """The review's evidence, each candidate with who it is in the register."""
    evidence = dict(evidence)
    candidates = []
    for candidate in evidence.get("candidates", []):
        resident = session.scalar(
            select(Resident).where(Resident.resident_code == candidate.get("resident_code"))
        )
        candidates.append({**candidate, "register": _person(resident) if resident else None})
    if candidates:
        evidence["candidates"] = candidates
    return evidence


def _print_file(session: Session, print_batch_id: int | None) -> str | None:
    if print_batch_id is None:
        return None
    return session.get_one(PrintBatch, print_batch_id).pdf_path


def application_view(session: Session, application_id: str) -> dict | None:
    app = session.scalar(select(Application).where(Application.application_id == application_id))
    if app is None:
        return None
    batch = session.get_one(Batch, app.batch_id)
    resident = session.get(Resident, app.resident_id) if app.resident_id else None
    notice = latest_notice(session, app.id)
    letter = session.scalar(select(RefusalLetter).where(RefusalLetter.application_pk == app.id))
    window = session.scalar(select(VisitWindow).where(VisitWindow.application_pk == app.id))
    card = session.scalar(select(Card).where(Card.application_pk == app.id))
    reminder = session.scalar(select(Reminder).where(Reminder.application_pk == app.id))
    notices = session.scalars(
        select(Notice).where(Notice.application_pk == app.id).order_by(Notice.id)
    ).all()
    reviews = session.scalars(
        select(ReviewItem).where(ReviewItem.application_pk == app.id).order_by(ReviewItem.id)
    )
    failures = session.scalars(
        select(FailureItem).where(FailureItem.application_pk == app.id).order_by(FailureItem.id)
    )
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.application_id == application_id)
        .order_by(AuditEvent.id)
    )
    return {
        "application_id": app.application_id,
        "batch_id": app.batch_id,
        "line_no": app.line_no,
        "state": app.state.value,
        "reasons": list(app.reasons),
        "submitted_at": submitted(app),
        "channel": app.channel,
        "applicant": {
            "family_name": app.family_name,
            "given_name": app.given_name,
            "family_name_kana": app.family_name_kana,
            "given_name_kana": app.given_name_kana,
            "birth_date": app.birth_date.isoformat() if app.birth_date else None,
            "sex": app.sex,
            "postal_code": app.postal_code,
            "address": app.address,
            "gave_individual_number": app.individual_number_hmac is not None,
        },
        "resident": _person(resident) if resident is not None else None,
        "match": {"method": app.match_method, "score": app.match_score},
        "photo_measures": dict(app.photo_measures or {}),
        "reviews": [
            {
                "stage": item.stage.value,
                "status": item.status.value,
                "reasons": list(item.reasons),
                "opened_at": _iso(item.created_at),
                "resolved_at": _iso(item.resolved_at),
                "resolution": item.resolution,
                "evidence": _with_register(session, item.evidence or {}),
            }
            for item in reviews
        ],
        "failures": [
            {
                "stage": item.stage.value,
                "error_code": item.error_code,
                "status": item.status.value,
                "attempts": item.attempts,
                "next_attempt_at": _iso(item.next_attempt_at),
                "evidence": dict(item.evidence or {}),
            }
            for item in failures
        ],
        "files": {
            "photo": str(Path(batch.inbox) / app.photo) if app.photo else None,
            "notice": {
                "notice_number": notice.notice_number,
                "pdf": notice.pdf_path,
                "void": notice.voided_at is not None,
                "pickup_deadline": notice.pickup_deadline.isoformat(),
                "print_file": _print_file(session, notice.print_batch_id),
            }
            if notice is not None
            else None,
            "letter": {
                "letter_number": letter.letter_number,
                "pdf": letter.pdf_path,
                "print_file": _print_file(session, letter.print_batch_id),
            }
            if letter is not None
            else None,
            "reminder": {
                "letter_number": reminder.letter_number,
                "pdf": reminder.pdf_path,
                "deadline": reminder.deadline.isoformat(),
                "print_file": _print_file(session, reminder.print_batch_id),
            }
            if reminder is not None
            else None,
            "visit_window": {
                "counter": window.counter,
                "date": window.visit_date.isoformat(),
                "from": f"{window.band_start:%H:%M}",
                "to": f"{window.band_end:%H:%M}",
            }
            if window is not None
            else None,
        },
        "lifecycle": _lifecycle(card, notices),
        "audit": [event_as_dict(e) for e in events],
    }


def _lifecycle(card: Card | None, notices: list[Notice]) -> dict:
    """The card after its notice: its dates, deadlines, hold and reasons, and every notice
    it had (a reissue voids the one before)."""
    history = [
        {
            "notice_number": n.notice_number,
            "issued_on": n.issued_on.isoformat() if n.issued_on else None,
            "void": n.void_reason if n.voided_at is not None else None,
        }
        for n in notices
    ]
    if card is None:
        return {"notices": history}

    def day(value: date | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        **lifecycle_dates(card),
        "deadline": day(card.deadline),
        "reminder_deadline": day(card.reminder_deadline),
        "return_reason": card.return_reason,
        "hold": {
            "kind": card.hold_kind,
            "until": day(card.hold_until),
            "reason": card.hold_reason,
            "since": day(card.held_on),
        }
        if card.hold_kind
        else None,
        "destruction_reason": card.destruction_reason,
        "notices": history,
    }
