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


def disk_full_error(
    exc: BaseException, what: str, where: object, batch_id: str | None, db_url: str
) -> DiskFull:
    """``exc`` (a disk-full error) as its one line: the file write, or the database."""
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError):
        return disk_full(what, where, batch_id)
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    place = url.database if url.get_backend_name() == "sqlite" else f"{url.host} (PostgreSQL)"
    return disk_full("the database", place, batch_id, under=False)
