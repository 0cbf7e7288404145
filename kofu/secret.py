"""The secret key that protects individual numbers (KOFU_SECRET_KEY or KOFU_SECRET_KEY_FILE)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from kofu.errors import UserError
from kofu.settings import Settings

MIN_KEY_BYTES = 16


def load_secret_key(settings: Settings) -> bytes:
    if settings.secret_key:
        key = settings.secret_key.encode("utf-8")
    elif settings.secret_key_file:
        key = _read_key_file(settings.secret_key_file)
    else:
        raise UserError(
            "no secret key: set KOFU_SECRET_KEY or KOFU_SECRET_KEY_FILE "
            "(a file readable by its owner only); `kofu demo` creates one for the demo"
        )
    if len(key) < MIN_KEY_BYTES:
        raise UserError(f"secret key is too short: use at least {MIN_KEY_BYTES} bytes")
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UserError(f"secret key file not found: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read the secret key file {path} ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"secret key file {path} is not a file (KOFU_SECRET_KEY_FILE)")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(f"secret key file {path} is readable by others: run `chmod 600 {path}`")
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise UserError(f"cannot read the secret key file {path} ({exc.strerror})") from None
    if not key:
        raise UserError(f"secret key file {path} is empty")
    return key


def create_key_file(path: Path) -> Path:
    """Write a fresh random key readable by its owner only; keep an existing one."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path


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
    from sqlalchemy.exc import IntegrityError

    from kofu.db import unit_of_work
    from models import KeyCheck

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
