"""Japan's time: the zone every date a resident sees is in, once for all of kofu."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def japan_wall_clock(moment: datetime) -> datetime:
    """A moment as naive wall-clock time in Japan (what the camera's clock and a resident's
    calendar say). Columns read back aware (kofu.models.types); a naive value is taken to be
    Japan time already."""
    return (moment.astimezone(JST) if moment.tzinfo else moment).replace(tzinfo=None)


def local_time(at: datetime) -> datetime:
    """A recorded moment in Japan time, for staff to read. A naive value is UTC (how a
    database without zones hands one back)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(JST)
