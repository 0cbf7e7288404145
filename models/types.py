"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from enum import StrEnum

from sqlalchemy import DateTime, Dialect, Enum
from sqlalchemy.types import TypeDecorator

from kofu.base.clock import JST


def enum_column(enum_cls: type[StrEnum]) -> Enum:
    # Stored as the enum's string value (VARCHAR), so SQL reads like the business terms.
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class TZDateTime(TypeDecorator[datetime]):
    """A moment, always read back aware: the one place SQLite's naive datetimes are made
    whole. PostgreSQL (timestamptz) keeps the instant and gives it back aware, in UTC
    (models/db.py sets the session's zone). SQLite keeps the wall-clock time the value was
    written with and drops its offset: an aware value is written in UTC (kofu's own stamps
    are UTC already, models/base.py utcnow), so a naive value read back is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True
    naive_zone: tzinfo = UTC

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        # SQLite writes an aware value's wall-clock time and drops its offset, and reads a
        # naive value back in ``naive_zone``: so write it in that zone, and a value given in
        # another zone (a stamp with +00:00, a query's bound in Japan time) keeps its instant.
        # PostgreSQL keeps the instant itself.
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            return value.astimezone(self.naive_zone)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=self.naive_zone)
        return value


class JapanDateTime(TZDateTime):
    """A moment that arrives with its Japan offset (+09:00: an application's
    ``submitted_at``, from J-LIS). SQLite keeps its wall-clock time in Japan (a value given
    with another offset is written in Japan time first), so a naive value read back is
    Japan time."""

    cache_ok = True
    naive_zone = JST
