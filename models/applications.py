"""Deliveries (batches), the applications they carry, and lines that could not be read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kofu.models.base import Base, utcnow
from kofu.models.states import ApplicationState, check_transition
from kofu.models.types import JapanDateTime, TZDateTime, enum_column


class Batch(Base):
    """One delivery taken in, e.g. ``inbox/2026-11-26/``."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    inbox: Mapped[str] = mapped_column(Text)
    # SHA-256 of applications.jsonl when first taken in: tells a re-delivery from a new one.
    delivery_sha256: Mapped[str] = mapped_column(String(64))
    lines_read: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    state: Mapped[ApplicationState] = mapped_column(enum_column(ApplicationState), index=True)
    # Reason codes (kebab-case) explaining the current state; empty when none apply.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)

    submitted_at: Mapped[datetime | None] = mapped_column(JapanDateTime)
    channel: Mapped[str | None] = mapped_column(String(16))
    # Keyed hash only; the plain number never reaches the database.
    individual_number_hmac: Mapped[str | None] = mapped_column(String(64))
    family_name: Mapped[str | None] = mapped_column(String(100))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name_kana: Mapped[str | None] = mapped_column(String(200))
    given_name_kana: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    postal_code: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(300))
    photo: Mapped[str | None] = mapped_column(Text)

    # Indexed: one resident, one card in progress (tasks/duplicates/records.py) looks a resident's
    # other applications up by it for every match.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    match_method: Mapped[str | None] = mapped_column(String(32))
    match_score: Mapped[float | None] = mapped_column(Float)
    # Measures behind the photo decision (sizes, dimensions), for review and audit.
    photo_measures: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)


class RejectedLine(Base):
    """A delivery line whose application id could not even be read."""

    __tablename__ = "rejected_lines"
    __table_args__ = (UniqueConstraint("batch_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))


def transition(app: Application, target: ApplicationState, reasons: Iterable[str] = ()) -> None:
    """Move ``app`` to ``target``: the one place an application's state changes. Refused
    (IllegalTransition) unless the states' table allows the move (models/states.py); the
    reason codes are added to the application's."""
    check_transition(app.state, target)
    app.state = target
    if reasons:
        app.reasons = [*app.reasons, *reasons]
