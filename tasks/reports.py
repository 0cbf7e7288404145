"""Counts and per-application outcomes, for the CLI, the run summary and other tools."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Application,
    ApplicationState,
    FailureItem,
    FailureStatus,
    Notice,
    RejectedLine,
    Resident,
    ReviewItem,
    ReviewStatus,
)


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
    """One object per application: DESIGN.md's export contract."""
    rows = session.execute(
        select(Application, Resident.resident_code, Notice.notice_number, Notice.pdf_path)
        .outerjoin(Resident, Application.resident_id == Resident.id)
        .outerjoin(Notice, Notice.application_pk == Application.id)
        .where(Application.batch_id == batch_id)
        .order_by(Application.line_no)
    )
    out = []
    for app, resident_code, number, pdf in rows:
        item: dict = {
            "application_id": app.application_id,
            "state": app.state.value,
            "reasons": list(app.reasons),
        }
        if resident_code and app.state in (
            ApplicationState.MATCHED,
            ApplicationState.NOTICE_GENERATED,
            ApplicationState.INELIGIBLE,
        ):
            item["resident_code"] = resident_code
        if number:
            item["notice_number"] = number
            item["notice_pdf"] = pdf
        out.append(item)
    return out


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
