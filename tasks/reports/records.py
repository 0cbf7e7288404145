"""Counts and per-application outcomes, for the CLI, the run summary and other tools."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kofu.models import (
    Application,
    ApplicationState,
    Batch,
    Card,
    FailureItem,
    FailureStatus,
    Notice,
    PrintBatch,
    RefusalLetter,
    RejectedLine,
    Reminder,
    Resident,
    ReviewItem,
    ReviewStatus,
)
from kofu.models.states import AFTER_NOTICE


def state_counts(session: Session, batch_id: str | None = None) -> dict[str, int]:
    query = select(Application.state, func.count()).group_by(Application.state)
    if batch_id:
        query = query.where(Application.batch_id == batch_id)
    found = {state.value: n for state, n in session.execute(query)}
    return {
        s.value: found.get(s.value, 0) for s in ApplicationState if s.value in found or s in _SHOWN
    }


_SHOWN = frozenset(
    {
        ApplicationState.RECEIVED,
        ApplicationState.PHOTO_OK,
        ApplicationState.MATCHED,
        ApplicationState.NOTICE_GENERATED,
        ApplicationState.NEEDS_REVIEW,
        ApplicationState.INVALID,
        ApplicationState.PHOTO_REJECTED,
        ApplicationState.NO_MATCH,
        ApplicationState.INELIGIBLE,
    }
)


def batch_summary(session: Session, batch_id: str | None = None) -> dict:
    """Counts only: safe to publish as a Prefect artifact."""

    def count(model, *where) -> int:  # type: ignore[no-untyped-def]
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    failure_where = [FailureItem.status != FailureStatus.RESOLVED]
    review_where = [ReviewItem.status == ReviewStatus.OPEN]
    lines_where = []
    if batch_id:
        failure_where.append(FailureItem.batch_id == batch_id)
        review_where.append(
            ReviewItem.application_pk.in_(
                select(Application.id).where(Application.batch_id == batch_id)
            )
        )
        lines_where.append(RejectedLine.batch_id == batch_id)
    states = state_counts(session, batch_id)
    return {
        "batch_id": batch_id,
        "applications": sum(states.values()),
        "states": states,
        "rejected_lines": count(RejectedLine, *lines_where),
        "failure_queue": count(FailureItem, *failure_where),
        "failure_dead": count(
            FailureItem, *failure_where, FailureItem.status == FailureStatus.DEAD
        ),
        "review_queue": count(ReviewItem, *review_where),
    }


def export_outcomes(session: Session, batch_id: str) -> list[dict]:
    """One object per application: DESIGN.md's export contract.

    ``notice_number`` and ``notice_pdf`` name the application's current notice;
    ``letter_number`` and ``letter_pdf`` the refusal letter of a refused photo. A withdrawn
    application's notice is void: it is listed with ``notice_void``."""
    rows = session.execute(
        select(
            Application,
            Resident.resident_code,
            Notice.notice_number,
            Notice.pdf_path,
            Notice.voided_at,
            RefusalLetter.letter_number,
            RefusalLetter.pdf_path,
            Card,
            Reminder.letter_number,
            Reminder.pdf_path,
        )
        .outerjoin(Resident, Application.resident_id == Resident.id)
        .outerjoin(Notice, Notice.id == _latest_notice_id())
        .outerjoin(RefusalLetter, RefusalLetter.application_pk == Application.id)
        .outerjoin(Card, Card.application_pk == Application.id)
        .outerjoin(Reminder, Reminder.application_pk == Application.id)
        .where(Application.batch_id == batch_id)
        .order_by(Application.line_no)
    )
    out = []
    for (
        app,
        resident_code,
        number,
        pdf,
        voided_at,
        letter_number,
        letter_pdf,
        card,
        reminder_number,
        reminder_pdf,
    ) in rows:
        item: dict = {
            "application_id": app.application_id,
            "state": app.state.value,
            "reasons": list(app.reasons),
        }
        if resident_code and app.state in MATCHED_TO:
            item["resident_code"] = resident_code
        if number:
            item["notice_number"] = number
            item["notice_pdf"] = pdf
            if voided_at is not None:
                item["notice_void"] = True
        if letter_number:
            item["letter_number"] = letter_number
            item["letter_pdf"] = letter_pdf
        if reminder_number:
            item["reminder_number"] = reminder_number
            item["reminder_pdf"] = reminder_pdf
        item.update(lifecycle_dates(card))
        out.append(item)
    return out


S = ApplicationState
# The states whose application is the matched resident's: the export names the resident.
MATCHED_TO = frozenset(
    {S.MATCHED, S.INELIGIBLE, S.WITHDRAWN, S.PICKED_UP, S.DESTROYED} | AFTER_NOTICE
)
# A card's lifecycle events (docs/formats.md, "The export"), in the order they happen.
LIFECYCLE_DATES = (
    "mailed_on",
    "returned_on",
    "reminded_on",
    "picked_up_on",
    "destruction_due_on",
    "destroyed_on",
)


def lifecycle_dates(card: Card | None) -> dict[str, str]:
    """The dates of the lifecycle events that happened, as YYYY-MM-DD."""
    if card is None:
        return {}
    return {name: day.isoformat() for name in LIFECYCLE_DATES if (day := getattr(card, name))}


def _latest_notice_id():  # noqa: ANN202 (a SQLAlchemy scalar subquery)
    """The application's notice as it stands (kofu.models.notices.latest_notice), in SQL."""
    return (
        select(Notice.id)
        .where(Notice.application_pk == Application.id)
        .order_by(Notice.voided_at.is_not(None), Notice.id.desc())
        .limit(1)
        .correlate(Application)
        .scalar_subquery()
    )


def match_methods(session: Session, batch_id: str) -> dict[str, dict[str, str | None]]:
    """By application id: its state, the matching tier that found its resident, if any
    ("individual-number", "exact", "scored"), and the stage of its open review, if any."""
    review_stage = (
        select(ReviewItem.stage)
        .where(ReviewItem.application_pk == Application.id, ReviewItem.status == ReviewStatus.OPEN)
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Application.application_id, Application.state, Application.match_method, review_stage
        ).where(Application.batch_id == batch_id)
    )
    return {
        app_id: {
            "state": state.value,
            "method": method,
            "review_stage": stage.value if stage else None,
        }
        for app_id, state, method, stage in rows
    }


def open_failures_by_code(session: Session, batch_id: str) -> list[tuple[str, str, str, int]]:
    """(stage, error code, status, count) of the batch's failure-queue items not yet
    resolved."""
    columns = (FailureItem.stage, FailureItem.error_code, FailureItem.status)
    rows = session.execute(
        select(*columns, func.count())
        .where(FailureItem.batch_id == batch_id, FailureItem.status != FailureStatus.RESOLVED)
        .group_by(*columns)
        .order_by(*columns)
    )
    return [(stage.value, code, status.value, n) for stage, code, status, n in rows]


# --- What the Prefect UI shows after a run (flows/stages.py publishes these as artifacts).
# Counts, codes, batch ids and file names only: never a name, number, address or id of a
# person or an application.


def previous_batch(session: Session, batch_id: str) -> str | None:
    """The batch taken in just before ``batch_id`` (by intake time): last night's delivery,
    which the run summary compares against."""
    this = session.get(Batch, batch_id)
    if this is None:
        return None
    earlier = or_(
        Batch.created_at < this.created_at,
        and_(Batch.created_at == this.created_at, Batch.id < this.id),
    )
    return session.scalar(
        select(Batch.id).where(earlier).order_by(Batch.created_at.desc(), Batch.id.desc()).limit(1)
    )


REFUSED_STATES = (ApplicationState.INVALID, ApplicationState.PHOTO_REJECTED)


def refusal_reasons(session: Session, batch_id: str) -> list[tuple[str, str, int]]:
    """(outcome, reason code, count) for the batch's invalid applications, refused photos
    and rejected lines, most frequent first. An application with several reasons counts
    once under each."""
    counts: Counter[tuple[str, str]] = Counter()
    rows = session.execute(
        select(Application.state, Application.reasons).where(
            Application.batch_id == batch_id, Application.state.in_(REFUSED_STATES)
        )
    )
    for state, reasons in rows:
        for reason in set(reasons or ()):
            counts[(state.value, str(reason))] += 1
    lines = session.execute(
        select(RejectedLine.reason, func.count())
        .where(RejectedLine.batch_id == batch_id)
        .group_by(RejectedLine.reason)
    )
    for reason, n in lines:
        counts[("rejected line", reason)] += n
    return [
        (outcome, reason, n)
        for (outcome, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


# The review queue's age bands: what waited under a day, up to three days, and longer.
REVIEW_AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1 day", timedelta(days=1)),
    ("1-3 days", timedelta(days=3)),
    ("over 3 days", None),
)


def review_queue_age(session: Session, now: datetime) -> list[dict]:
    """Open review items of every batch, per stage and in all: how many, how many in each
    age band, and the oldest one's age in days (one decimal)."""
    rows = session.execute(
        select(ReviewItem.stage, ReviewItem.created_at).where(
            ReviewItem.status == ReviewStatus.OPEN
        )
    )
    by_stage: dict[str, list[timedelta]] = {}
    for stage, created in rows:
        by_stage.setdefault(stage.value, []).append(max(now - created, timedelta(0)))
    everything = [age for ages in by_stage.values() for age in ages]
    return [_age_row(stage, ages) for stage, ages in sorted(by_stage.items())] + [
        _age_row("all stages", everything)
    ]


def _age_row(stage: str, ages: list[timedelta]) -> dict:
    row: dict = {"stage": stage, "open": len(ages)}
    lower = timedelta(0)
    for label, upper in REVIEW_AGE_BANDS:
        row[label] = sum(1 for a in ages if a >= lower and (upper is None or a < upper))
        lower = upper or lower
    row["oldest (days)"] = round(max(ages) / timedelta(days=1), 1) if ages else "-"
    return row


def failure_queue_counts(session: Session) -> list[tuple[str, str, str, str, int]]:
    """(batch, stage, error code, status, count) of every failure-queue item not resolved,
    whatever its batch: the nightly run retries earlier batches' items too."""
    columns = (FailureItem.batch_id, FailureItem.stage, FailureItem.error_code, FailureItem.status)
    rows = session.execute(
        select(*columns, func.count())
        .where(FailureItem.status != FailureStatus.RESOLVED)
        .group_by(*columns)
        .order_by(*columns)
    )
    return [(batch, stage.value, code, status.value, n) for batch, stage, code, status, n in rows]


def print_batch_files(session: Session, batch_id: str) -> list[dict]:
    """The batch's print files in order: file name (never the folder), pages, sheets (one
    A4 sheet a page, printed one-sided; the cover sheet included), notices and letters."""

    def pieces(model) -> dict[int, int]:  # type: ignore[no-untyped-def]
        return dict(
            session.execute(
                select(model.print_batch_id, func.count())
                .join(PrintBatch, PrintBatch.id == model.print_batch_id)
                .where(PrintBatch.batch_id == batch_id)
                .group_by(model.print_batch_id)
            ).all()
        )

    notices, letters = pieces(Notice), pieces(RefusalLetter)
    files = session.scalars(
        select(PrintBatch).where(PrintBatch.batch_id == batch_id).order_by(PrintBatch.id)
    )
    return [
        {
            "file": Path(f.pdf_path).name,
            "pages": f.page_count,
            "sheets": f.page_count,
            "notices": notices.get(f.id, 0),
            "letters": letters.get(f.id, 0),
        }
        for f in files
    ]
