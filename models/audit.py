"""Audit trail: who did what to which record, and when. Never the individual number."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from kofu.models.base import Base, utcnow
from kofu.models.types import TZDateTime


class AuditEvent(Base):
    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(64))
    application_id: Mapped[str | None] = mapped_column(String(64))
    resident_code: Mapped[str | None] = mapped_column(String(11))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
