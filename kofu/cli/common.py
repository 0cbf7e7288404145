"""What every ``kofu`` command shares: the consoles, who is acting, the one-line failure, the
settings and database set-up, the audit-trail helpers and how times are shown to staff.

Times: tables show Japan time with its zone (``2026-11-26 09:00 JST``); JSON carries ISO 8601
with the offset (``2026-11-26T09:00:00+09:00``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.base.private import secure_data_dir
from kofu.base.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

out = Console()
err = Console(stderr=True)


def _os_user() -> str:
    """The login account this process runs as (from its uid, not from $USER)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        import getpass

        return getpass.getuser()


OS_USER = _os_user()
# Who the audit trail names: KOFU_ACTOR when staff share a service account, else the login.
# KOFU_ACTOR is not authenticated, so an event also keeps the login when the two differ.
ACTOR = os.environ.get("KOFU_ACTOR") or OS_USER


def error_line(message: str, code: int) -> int:
    err.print(f"kofu: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return code


def fail(message: str, code: int = 2) -> NoReturn:
    error_line(message, code)
    raise typer.Exit(code)


def say(text: str) -> None:
    """A plain line for staff: no markup, no highlighting, wrapped only at spaces."""
    out.print(text, markup=False, highlight=False)


def load_settings() -> Settings:
    settings = get_settings()
    notice = secure_data_dir(settings.data_dir)  # owner-only, before anything is written
    if notice:
        err.print(notice, markup=False, highlight=False, soft_wrap=True)
    settings.municipality  # noqa: B018 - read the settings file now, so a bad one fails first
    from kofu.flows.runtime import prepare_prefect

    prepare_prefect(settings)
    return settings


def display_url(url: str) -> str:
    """The database URL as it may be printed: never with the password a PostgreSQL URL holds."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ready_db(settings: Settings) -> None:
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from kofu.models.db import upgrade_schema

    try:
        upgrade_schema(settings.db_url)
    except ArgumentError:
        # Not quoted: a mistyped URL may still carry a password.
        raise UserError(
            "KOFU_DATABASE_URL is not a database URL kofu can use"
            " (e.g. postgresql+psycopg://kofu@db.example/kofu)"
        ) from None
    except DBAPIError as exc:
        shown = display_url(settings.db_url)
        # The driver's first line only (statement parameters are hidden: models/db.py).
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        why = f"{type(getattr(exc, 'orig', exc)).__name__}: {lines[0][:200] if lines else ''}"
        raise UserError(f"cannot use the database {shown}: {why}") from None


def audit(settings: Settings, write: Callable[[Session], object]) -> None:
    """Write one audit event in a transaction of its own. Reads are recorded before what they
    read is shown: if the trail cannot be written, nothing is shown."""
    from kofu.models.db import unit_of_work

    with unit_of_work(settings.db_url, write=True) as session:
        write(session)
        session.commit()


def audit_refusal(settings: Settings, write: Callable[[Session], object]) -> None:
    """Record that something was refused, after its own transaction was rolled back. The
    refusal's error line is what the person must see: if the trail cannot be written too
    (the database is what failed), that line still goes out alone."""
    try:
        ready_db(settings)
        audit(settings, write)
    except Exception:
        if os.environ.get("KOFU_DEBUG"):
            raise


def error_text(exc: BaseException) -> str:
    # A UserError's line is written to carry no personal data; other messages may quote some.
    return str(exc) if isinstance(exc, UserError) else f"unexpected {type(exc).__name__}"


def _aware(at: datetime) -> datetime:
    # Stamps kofu writes are UTC; SQLite hands them back without their offset.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def jst(at: datetime | str | None, seconds: bool = False) -> str:
    """A stamp for a table: Japan time, with the zone."""
    if at is None:
        return "-"
    moment = _aware(datetime.fromisoformat(at) if isinstance(at, str) else at).astimezone(JST)
    return f"{moment:%Y-%m-%d %H:%M:%S JST}" if seconds else f"{moment:%Y-%m-%d %H:%M JST}"


def iso(at: datetime | None) -> str | None:
    """A stamp for JSON: ISO 8601 in Japan time, with its offset."""
    return _aware(at).astimezone(JST).isoformat() if at is not None else None


def known_batch(settings: Settings, batch_id: str) -> None:
    from kofu.models import Batch
    from kofu.models.db import unit_of_work

    with unit_of_work(settings.db_url) as session:
        if session.get(Batch, batch_id) is None:
            # The id is the delivery folder's name, typed by staff: safe to repeat.
            fail(f"no batch {batch_id!r}: see `kofu status` for the batches")
