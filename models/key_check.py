"""The check value of the secret key the database's keyed hashes were made with."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from kofu.base.errors import UserError
from kofu.models.base import Base, utcnow
from kofu.models.db import unit_of_work
from kofu.models.types import TZDateTime


class KeyCheck(Base):
    """One row: HMAC-SHA256 of a fixed text under the secret key (check_key below), never the
    key. A run with another key would hash every individual number differently and match no
    one by number, so it is stopped before it does anything."""

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


# The fixed text whose keyed hash is the key's check value: changing it would make every
# database's check value differ.
_CHECK_TEXT = b"kofu secret key check, version 1"
KEY_CHANGED = (
    "the secret key is not the one this database was made with (its check value differs):"
    " set KOFU_SECRET_KEY or KOFU_SECRET_KEY_FILE back to that key; nothing was done"
)


def key_check_value(key: bytes) -> str:
    """HMAC-SHA256 of a fixed text under ``key``: equal for the same key, and the key cannot
    be found from it."""
    return hmac.new(key, _CHECK_TEXT, hashlib.sha256).hexdigest()


def check_key(db_url: str, key: bytes) -> None:
    """Stop with one line when ``key`` is not the key the database's keyed hashes were made
    with. A database without a check value (new, or from before it was kept) takes this
    key's."""
    value = key_check_value(key)
    with unit_of_work(db_url, write=True) as session:
        stored = session.get(KeyCheck, 1)
        if stored is None:
            session.add(KeyCheck(id=1, check_value=value))
            try:
                session.commit()
                return
            except IntegrityError:  # another process stored one first: compare with it
                session.rollback()
                stored = session.get(KeyCheck, 1)
        if stored is None or not hmac.compare_digest(stored.check_value, value):
            raise UserError(KEY_CHANGED)
