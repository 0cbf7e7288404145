"""Column types shared by the tables."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import DateTime, Enum


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
