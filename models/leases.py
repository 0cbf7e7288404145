"""The run lock's record: who holds it, for the message that refuses a second run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kofu.models.base import Base
from kofu.models.types import TZDateTime


class RunLease(Base):
    """Written by the run that holds the run lock (models/run_lock.py: a file lock or a
    PostgreSQL advisory lock, which dies with its process) and deleted when it lets go. The
    row grants nothing: a row found by the next run that gets the lock was left by a run
    that died holding it."""

    __tablename__ = "run_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "pipeline"
    holder: Mapped[str] = mapped_column(String(200))  # "nightly 2026-11-26 on host, pid 123"
    # The Prefect flow run that holds it, to mark it crashed if it died.
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    acquired_at: Mapped[datetime] = mapped_column(TZDateTime)
