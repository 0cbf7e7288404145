"""Atomic file writes: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def removed_unless_recorded(
    paths: list[Path], what: str, where: Path, batch_id: str, db_url: str
) -> Iterator[None]:
    """Record what ``paths`` hold inside the block. If the block fails, the files are
    removed (nothing on disk that the database does not know of), and a disk that filled up
    (the files' or the database's) becomes kofu.errors.DiskFull, one line saying where."""
    from kofu.errors import disk_full_error, is_disk_full

    try:
        yield
    except BaseException as exc:
        for path in paths:
            path.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(exc, what, where, batch_id, db_url) from None
        raise
