"""Column types shared by the tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Enum

JST = ZoneInfo("Asia/Tokyo")


def enum_column(enum_cls: type[StrEnum]) -> Enum:
    # Stored as the enum's string value (VARCHAR), so SQL reads like the business terms.
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


TZDateTime = DateTime(timezone=True)


def japan_wall_clock(stored: datetime) -> datetime:
    """A stamp read back from a TZDateTime column that was written with its offset (an
    application's ``submitted_at``, +09:00 from J-LIS), as naive wall-clock time in Japan.

    SQLite keeps the wall-clock time the stamp was written with and drops the offset: it
    comes back naive, and is already that. PostgreSQL (timestamptz) keeps the instant and
    gives it back aware, in the session's zone (kofu/db.py sets UTC)."""
    return stored.astimezone(JST).replace(tzinfo=None) if stored.tzinfo else stored
