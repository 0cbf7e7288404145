"""Errors the user can act on: the CLI prints them as one line, never a traceback."""


class UserError(Exception):
    """Bad input or configuration, with a message that says what to do."""


class DiskFull(UserError):
    """A disk filled up under a run: the run stops with one line saying where. What was
    written but could not be recorded is removed; the rerun writes it again."""


def is_disk_full(exc: BaseException | None) -> bool:
    """ENOSPC or EDQUOT from a file write, or a database that could not grow: SQLite's
    "database or disk is full", PostgreSQL's "could not extend file" / "No space left"
    (SQLSTATE 53100 disk_full). Looks through the exception's causes too."""
    import errno

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(getattr(exc, "orig", None) or exc).lower()
        if type(exc).__name__ in ("OperationalError", "DiskFull") and (
            "database or disk is full" in text
            or "no space left on device" in text
            or "could not extend file" in text
        ):
            return True
        if isinstance(exc, DiskFull):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def disk_full(what: str, where: object, batch_id: str | None, under: bool = True) -> DiskFull:
    """The one line for a disk that filled up writing ``what`` under ``where``."""
    again = f"kofu rerun --batch-id {batch_id}" if batch_id else "kofu nightly"
    place = f"under {where}" if under else str(where)
    return DiskFull(f"no space left on device writing {what} {place}; free space, then `{again}`")


class NeedsPerson(Exception):
    """Work only a person can unblock (a photo path that now leads out of the delivery): the
    failure queue keeps it without retrying it on its own (tasks/chunks/retry.py). A person
    fixes the cause and runs ``kofu rerun``."""

    code = "needs-a-person"


class Passing(Exception):
    """A condition that goes away by itself (a photo file not there yet): the failure queue
    retries it on later nights (tasks/chunks/retry.py)."""
