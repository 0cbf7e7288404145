"""Owner-only at rest: what kofu writes, only the account that runs it can read.

The data directory holds the register database, notices with names and addresses, print
batches and the secret key. Two measures keep it private:
- a process umask of 0o077, set by kofu's entry points (the CLI's ``main()`` and the import of
  the ``flows`` package, which a Prefect worker's flow run goes through), so every file and
  directory kofu, SQLite or Prefect creates has no group or other permissions;
- the data directory itself made 0700 whenever kofu starts using it, so files an older version
  or another tool left readable are out of reach too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kofu.base.errors import UserError

PRIVATE_UMASK = 0o077
OWNER_ONLY_DIR = 0o700


def set_private_umask() -> None:
    """Take group and other permissions away from everything this process creates. Bits the
    operator's own umask already takes away stay away (0o277 stays 0o277)."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)


def _check_writable(path: Path) -> None:
    """kofu writes its database, notices and print files here: find out now, with a file
    that is gone at once, rather than halfway through a run."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=path, prefix=".kofu-write-check-"):
            pass
    except OSError as exc:
        raise UserError(
            f"the data directory {path} is not writable ({exc.strerror}): kofu writes its"
            " database, notices and print files there (KOFU_DATA_DIR)"
        ) from None


def secure_data_dir(path: Path) -> str | None:
    """Create the data directory owner-only (0700), or take group and other permissions
    away from an existing one (0755 becomes 0700).

    Returns a one-line notice when an existing directory had to be tightened, else None.
    Raises UserError when it is open to others and kofu may not change it (not its owner)."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIR)
    except FileExistsError:
        raise UserError(f"data directory {path} is not a directory (KOFU_DATA_DIR)") from None
    except PermissionError:
        raise UserError(f"cannot create the data directory {path}: permission denied") from None
    except OSError as exc:  # a read-only file system, a path through a file
        raise UserError(f"cannot create the data directory {path}: {exc.strerror}") from None
    _check_writable(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None
    try:
        path.chmod(mode & ~0o077)  # only group and other bits go: the owner's stay as they were
    except PermissionError:
        raise UserError(
            f"data directory {path} has mode {mode:04o} and kofu cannot change it:"
            f" run `chmod 700 {path}` as its owner"
        ) from None
    return (
        f"kofu: notice: data directory {path} was open to group or others (mode {mode:04o});"
        f" it is now owner-only ({mode & ~0o077:04o})"
    )
