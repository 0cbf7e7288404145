"""Run leases: one pipeline run at a time writes a municipality's database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import TZDateTime


class RunLease(Base):
    """Held by the run that writes; renewed by its heartbeat while it lives. A lease past
    ``expires_at`` belonged to a run that died (killed, power lost) without releasing it."""

    __tablename__ = "run_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "pipeline"
    holder: Mapped[str] = mapped_column(String(200))  # "nightly 2026-11-26 on host, pid 123"
    # The Prefect flow run that holds it, to mark it crashed if it died.
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    acquired_at: Mapped[datetime] = mapped_column(TZDateTime)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime)
