"""The secret key that protects individual numbers (KOFU_SECRET_KEY or KOFU_SECRET_KEY_FILE)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from kofu.base.errors import UserError
from kofu.base.settings import Settings

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
