"""The check value of the secret key the database's keyed hashes were made with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.types import TZDateTime


class KeyCheck(Base):
    """One row: HMAC-SHA256 of a fixed text under the secret key (kofu/secret.py), never the
    key. A run with another key would hash every individual number differently and match no
    one by number, so it is stopped before it does anything."""

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
