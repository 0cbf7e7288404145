"""Japan's time: the zone every date a resident sees is in, once for all of kofu."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def japan_wall_clock(stored: datetime) -> datetime:
    """A stamp read back from a TZDateTime column that was written with its offset (an
    application's ``submitted_at``, +09:00 from J-LIS), as naive wall-clock time in Japan.

    SQLite keeps the wall-clock time the stamp was written with and drops the offset: it
    comes back naive, and is already that. PostgreSQL (timestamptz) keeps the instant and
    gives it back aware, in the session's zone (models/db.py sets UTC)."""
    return stored.astimezone(JST).replace(tzinfo=None) if stored.tzinfo else stored
