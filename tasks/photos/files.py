"""Reading a photo file out of its delivery folder: only a regular file inside it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kofu.base.errors import NeedsPerson, Passing


class PhotoUnreadable(Passing):
    """The photo file could not be read (missing, permission, I/O): a technical failure,
    retried on later nights (the photo may arrive)."""

    code = "photo-file-unreadable"


class PhotoOutsideDelivery(PhotoUnreadable, NeedsPerson):
    """The path leads out of the delivery folder now (a symlink put there after intake
    checked it): never followed, queued for a person to look at."""

    code = "photo-path-outside-delivery"


# Do not follow a symlink in the last part of the path, nor wait on a named pipe.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_photo(folder: Path, relative: str, max_bytes: int) -> bytes:
    """Read at most one byte more than the limit: enough to tell "too large" without
    pulling a huge file into memory. Only a regular file inside the delivery folder is
    read: intake checked the path, and this checks it again at the moment of reading."""
    try:
        root = folder.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise PhotoOutsideDelivery
        with os.fdopen(os.open(target, _OPEN_FLAGS), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise PhotoUnreadable("not a regular file")
            return fh.read(max_bytes + 1)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise PhotoUnreadable(type(exc).__name__) from None
