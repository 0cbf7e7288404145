"""Counter visit windows (来庁日時): the date and time band each notice offers the resident."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Date, ForeignKey, Index, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from kofu.models.base import Base, utcnow
from kofu.models.types import TZDateTime


class VisitWindow(Base):
    """One booked place in a counter's time band. Bookings stay across nights: a band's
    remaining capacity is its slots minus every row here, whichever batch made it."""

    __tablename__ = "visit_windows"
    # Counting a band's bookings is the hot query of the assignment pass.
    __table_args__ = (Index("ix_visit_windows_band", "counter", "visit_date", "band_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique: one window per application, kept on every rerun.
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    # The counter's name as in the settings file (it is also what the notice prints).
    counter: Mapped[str] = mapped_column(String(200))
    visit_date: Mapped[date] = mapped_column(Date)
    band_start: Mapped[time] = mapped_column(Time)
    band_end: Mapped[time] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
