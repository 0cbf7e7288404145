"""The failure queue (technical problems, retried) and the review queue (a person decides)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kofu.models.base import Base, utcnow
from kofu.models.states import FailureStatus, ReviewStatus, Stage
from kofu.models.types import TZDateTime, enum_column


class FailureItem(Base):
    __tablename__ = "failure_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    application_pk: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    error_code: Mapped[str] = mapped_column(String(64))
    # The exception type and a code; never the exception text, which may quote personal data.
    last_error: Mapped[str] = mapped_column(Text)
    # What failed, for the person fixing it: the photo's path inside the delivery, the file
    # an OSError names, an errno code (tasks/queues/records.py failure_evidence). No personal data.
    evidence: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[FailureStatus] = mapped_column(
        enum_column(FailureStatus), default=FailureStatus.PENDING, index=True
    )
    next_attempt_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)


class ReviewItem(Base):
    __tablename__ = "review_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the machine saw: method, candidate resident codes, fields that agreed or differed.
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus), default=ReviewStatus.OPEN, index=True
    )
    resolution: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(TZDateTime)
