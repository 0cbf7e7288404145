"""Atomic file writes: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], None], mode: int = 0o600) -> None:
    """Write through ``write(fh)`` to a temp file in the same directory, fsync, then rename.

    A crash leaves the previous file (or none), never a truncated PDF that a print batch
    would pick up. ``mode`` defaults to owner-only: outputs hold residents' names."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    write_atomic(path, lambda fh: fh.write(data), mode)


def remove_stale_temp_files(*roots: Path) -> int:
    """Delete the temp files a killed writer left behind (``.name.XXXX.tmp``, see
    ``write_atomic``). Call only while holding the run lease: then no live writer owns one."""
    removed = 0
    for root in roots:
        if root.is_dir():
            for stale in root.rglob(".*.tmp"):
                stale.unlink(missing_ok=True)
                removed += 1
    return removed
