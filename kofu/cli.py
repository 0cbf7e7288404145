"""The ``kofu`` command. Every command exits non-zero with one line on bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from kofu.errors import UserError
from kofu.private import secure_data_dir, set_private_umask
from kofu.settings import Settings, get_settings, print_password

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(
    help="kofu (交付): nightly My Number Card issuance: intake, photos, matching, notices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
residents_app = typer.Typer(help="The resident register.", no_args_is_help=True)
queue_app = typer.Typer(help="The failure and review queues.", no_args_is_help=True)
review_app = typer.Typer(help="Decisions on applications that need a person.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit trail: who read or changed which record, and when.", no_args_is_help=True
)
app.add_typer(residents_app, name="residents")
app.add_typer(queue_app, name="queue")
app.add_typer(review_app, name="review")
app.add_typer(audit_app, name="audit")

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


def fail(message: str, code: int = 2) -> NoReturn:
    _error_line(message, code)
    raise typer.Exit(code)


def _settings() -> Settings:
    settings = get_settings()
    notice = secure_data_dir(settings.data_dir)  # owner-only, before anything is written
    if notice:
        err.print(notice, markup=False, highlight=False, soft_wrap=True)
    settings.municipality  # noqa: B018 - read the settings file now, so a bad one fails first
    from kofu.runtime import prepare_prefect

    prepare_prefect(settings)
    return settings


def _ready_db(settings: Settings) -> None:
    from kofu.db import upgrade_schema

    upgrade_schema(settings.db_url)


def _audit(settings: Settings, write: Callable[[Session], object]) -> None:
    """Write one audit event in a transaction of its own. Reads are recorded before what they
    read is shown: if the trail cannot be written, nothing is shown."""
    from kofu.db import unit_of_work

    with unit_of_work(settings.db_url, write=True) as session:
        write(session)
        session.commit()


def _audit_refusal(settings: Settings, write: Callable[[Session], object]) -> None:
    """Record that something was refused, after its own transaction was rolled back. The
    refusal's error line is what the person must see: if the trail cannot be written too
    (the database is what failed), that line still goes out alone."""
    try:
        _ready_db(settings)
        _audit(settings, write)
    except Exception:
        if os.environ.get("KOFU_DEBUG"):
            raise


def _error_text(exc: BaseException) -> str:
    # A UserError's line is written to carry no personal data; other messages may quote some.
    return str(exc) if isinstance(exc, UserError) else f"unexpected {type(exc).__name__}"


@app.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema."""
    settings = _settings()
    _ready_db(settings)
    out.print(f"schema is up to date: {_display_url(settings.db_url)}")


@residents_app.command("import")
def residents_import(
    file: Annotated[Path, typer.Argument(help="Register CSV (DESIGN.md).")],
) -> None:
    """Load or refresh the register (upsert by resident_code; all rows or none)."""
    from kofu.db import unit_of_work
    from kofu.secret import load_secret_key
    from tasks.audit import CodeTally, fingerprint, record_import, record_import_refused
    from tasks.register import read_register, upsert_residents

    settings = _settings()
    file_print = fingerprint(file)  # which file, exactly, for the audit trail
    tally = CodeTally()
    try:
        key = load_secret_key(settings)
        # The file and its header are checked here; the rows are parsed as they stream into
        # the one write transaction below, so a bad row anywhere rolls the whole import back.
        rows = read_register(file, key)
        _ready_db(settings)
        with unit_of_work(settings.db_url, write=True) as session:
            result = upsert_residents(session, tally.count(rows))
            record_import(
                session,
                actor=ACTOR,
                os_user=OS_USER,
                file=file,
                file_print=file_print,
                inserted=result.inserted,
                updated=result.updated,
                codes=tally.listed,
            )
            session.commit()
    except Exception as exc:
        # The import's transaction is rolled back by now; the refusal gets one of its own.
        error = _error_text(exc)
        _audit_refusal(
            settings,
            lambda s: record_import_refused(
                s, actor=ACTOR, os_user=OS_USER, file=file, file_print=file_print, error=error
            ),
        )
        raise
    out.print(f"register: {result.inserted} added, {result.updated} updated")


@app.command()
def nightly(
    inbox: Annotated[Path | None, typer.Option(help="Delivery folder.")] = None,
    batch_id: Annotated[str | None, typer.Option(help="Batch id (default: folder name).")] = None,
) -> None:
    """Run the nightly flow once, now."""
    settings = _settings()
    if inbox is not None and not (inbox / "applications.jsonl").is_file():
        fail(f"no applications.jsonl in {inbox}: is this a delivery folder?")
    from kofu.secret import load_secret_key

    load_secret_key(settings)  # fail before starting a run, not inside it
    _check_run_settings(settings)
    from flows.nightly import nightly as nightly_flow

    named = batch_id or (inbox.name if inbox else None)
    summary = _run_recorded(
        settings,
        "nightly-run",
        named,
        lambda: nightly_flow(inbox=str(inbox) if inbox else None, batch_id=batch_id),
    )
    _print_summary(summary)


def _run_recorded(
    settings: Settings, action: str, batch_id: str | None, run: Callable[[], dict]
) -> dict:
    """A run started by hand: the trail says who started it and how it ended (counts only;
    each application's own row says what happened to it)."""
    from tasks.audit import record_run

    try:
        summary = run()
    except Exception as exc:
        error = _error_text(exc)
        _audit_refusal(
            settings,
            lambda s: record_run(
                s, action, actor=ACTOR, os_user=OS_USER, batch_id=batch_id, error=error
            ),
        )
        raise
    _audit(
        settings,
        lambda s: record_run(
            s, action, actor=ACTOR, os_user=OS_USER, batch_id=batch_id, summary=summary
        ),
    )
    return summary


def _check_run_settings(settings: Settings) -> None:
    """What a run would otherwise find wrong only once started: fail with one line now."""
    from flows.lease import check_free
    from kofu.runners import runner_choice
    from tasks.scoring import ScoringRules

    runner_choice()  # KOFU_TASK_RUNNER and KOFU_WORKERS
    print_password(settings)  # the print batches' encryption
    ScoringRules.from_settings(settings.municipality.matching)
    _ready_db(settings)
    check_free(settings.db_url)  # another run is writing: say so before starting a flow


@app.command()
def rerun(batch_id: Annotated[str, typer.Option(help="The batch to rerun.")]) -> None:
    """Rerun the failed items of a batch."""
    from kofu.db import unit_of_work
    from models import Batch

    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        if session.get(Batch, batch_id) is None:
            fail(f"no batch {batch_id!r}: see `kofu status` for the batches")
    _check_run_settings(settings)
    from flows.rerun import rerun_failed

    _print_summary(
        _run_recorded(settings, "rerun", batch_id, lambda: rerun_failed(batch_id=batch_id))
    )


@app.command()
def status(
    batch_id: Annotated[str | None, typer.Option(help="One batch only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Counts per state."""
    # Counts only, nothing about a resident or an application: not an audited read.
    from kofu.db import unit_of_work
    from tasks.reports import batch_summary

    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        summary = batch_summary(session, batch_id)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _print_summary(summary)


@app.command()
def export(
    batch_id: Annotated[str, typer.Option(help="The batch to export.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON (the only format for now).")] = True,
) -> None:
    """Per-application outcomes of a batch, as JSON."""
    from kofu.db import unit_of_work
    from models import Batch
    from tasks.audit import record_export
    from tasks.reports import export_outcomes

    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        if session.get(Batch, batch_id) is None:
            fail(f"no batch {batch_id!r}: see `kofu status`")
        outcomes = export_outcomes(session, batch_id)
    text = json.dumps(outcomes, ensure_ascii=False, indent=2) + "\n"
    # The outcomes name the resident each application was matched to: a read of their records.
    _audit(
        settings,
        lambda s: record_export(
            s,
            actor=ACTOR,
            os_user=OS_USER,
            batch_id=batch_id,
            outcomes=outcomes,
            output_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        ),
    )
    sys.stdout.write(text)


@queue_app.command("list")
def queue_list(
    kind: Annotated[str | None, typer.Option(help="failure or review.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Open items of the failure and review queues."""
    from dataclasses import asdict

    from kofu.db import unit_of_work
    from tasks.audit import record_queue_list
    from tasks.queues import list_queue

    if kind not in (None, "failure", "review"):
        fail("--kind must be failure or review")
    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        entries = list_queue(session, kind)
    # Review items show which applications wait for a person and (in JSON) the candidate
    # residents with how each field compared: a read of those residents' records.
    if any(e.kind == "review" for e in entries):
        _audit(
            settings,
            lambda s: record_queue_list(
                s,
                actor=ACTOR,
                os_user=OS_USER,
                kind=kind,
                output="json" if as_json else "table",
                entries=entries,
            ),
        )
    if as_json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return
    table = Table(
        "kind", "application", "batch", "stage", "codes", "status", "attempts", "next attempt"
    )
    for e in entries:
        table.add_row(
            e.kind,
            e.application_id or ("(batch)" if e.kind == "failure" else "-"),
            e.batch_id,
            e.stage,
            ", ".join(e.codes),
            e.status,
            str(e.attempts or ""),
            _next_attempt(e),
        )
    out.print(table if entries else "queues are empty")


def _next_attempt(entry) -> str:  # type: ignore[no-untyped-def]
    """When the nightly run takes a failure item again, in Japan time."""
    if entry.kind != "failure":
        return ""
    if entry.status == "dead":
        return "waits for a person (kofu rerun)"
    if entry.status == "retrying":
        return "now (a run is on it)"
    if entry.next_attempt_at is None:
        return "next run"
    from tasks.audit import local_time

    return f"after {local_time(datetime.fromisoformat(entry.next_attempt_at)):%Y-%m-%d %H:%M}"


@review_app.command("resolve")
def review_resolve(
    application_id: Annotated[str, typer.Argument(help="The application to decide.")],
    resident: Annotated[str | None, typer.Option(help="Resident code it belongs to.")] = None,
    reject: Annotated[
        str | None, typer.Option(help="Reason code: no match, or why the photo is refused.")
    ] = None,
    accept: Annotated[
        bool, typer.Option("--accept", help="A photo review: the photo is fine.")
    ] = False,
) -> None:
    """Record a person's decision on an application in needs_review."""
    from kofu.db import unit_of_work
    from tasks.audit import record_review_refused
    from tasks.review import ReviewRefused, decision_kind, resolve_review

    if sum((resident is not None, reject is not None, accept)) != 1:
        fail("give exactly one of --resident RESIDENT_CODE, --accept or --reject REASON")
    settings = _settings()
    _ready_db(settings)
    try:
        # The decision and its audit event commit together, or neither does.
        with unit_of_work(settings.db_url, write=True) as session:
            state = resolve_review(
                session,
                application_id,
                resident_code=resident,
                reject_reason=reject,
                accept=accept,
                actor=ACTOR,
                os_user=OS_USER,
                now=datetime.now(UTC),
            )
            session.commit()
    except ReviewRefused as refused:
        # Nothing changed. The attempt is still recorded (an access to the application,
        # or a decision someone tried to take), as a refusal, never as a decision.
        batch, known_id, why = refused.batch_id, refused.application_id, refused.code
        _audit_refusal(
            settings,
            lambda s: record_review_refused(
                s,
                actor=ACTOR,
                os_user=OS_USER,
                batch_id=batch,
                application_id=known_id,
                resident_code=resident,
                decision=decision_kind(resident, reject, accept),
                refused=why,
            ),
        )
        raise
    out.print(f"{application_id}: {state}")


@audit_app.command("list")
def audit_list(
    since: Annotated[
        str | None, typer.Option(help="From this day on (YYYY-MM-DD, Japan time).")
    ] = None,
    resident: Annotated[
        str | None, typer.Option(help="Only events that name this resident code.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The audit trail, oldest first. Reading it is not itself recorded."""
    from kofu.db import unit_of_work
    from tasks.audit import event_as_dict, list_events

    since_day = None
    if since is not None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
                raise ValueError
            since_day = date.fromisoformat(since)
        except ValueError:
            fail("--since takes a day as YYYY-MM-DD")
    if resident is not None and not re.fullmatch(r"\d{11}", resident):
        fail("--resident takes the 11-digit resident code")
    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        events = [
            event_as_dict(e) for e in list_events(session, since=since_day, resident_code=resident)
        ]
    if as_json:
        print(json.dumps(events, ensure_ascii=False, indent=2))
        return
    from rich.markup import escape

    table = Table()
    table.add_column("at (JST)", no_wrap=True)
    table.add_column("actor")
    table.add_column("action", no_wrap=True)
    table.add_column("record", overflow="fold")
    table.add_column("detail", ratio=1, overflow="fold")
    for e in events:
        record = [
            f"{label} {e[key]}"
            for label, key in (
                ("batch", "batch_id"),
                ("application", "application_id"),
                ("resident", "resident_code"),
            )
            if e[key]
        ]
        table.add_row(
            e["at"][:19].replace("T", " "),
            escape(e["actor"]),
            e["action"],
            escape("\n".join(record) or "-"),
            escape(_detail_line(e["detail"])),
        )
    out.print(table if events else "no audit events")


def _detail_line(detail: dict) -> str:
    """An event's detail on one line: long lists as a count (``--json`` has them all)."""
    parts = []
    for key, value in (detail or {}).items():
        if value is None:
            continue
        if key == "sha256":
            value = value[:8]
        elif isinstance(value, list):
            value = ",".join(map(str, value)) if len(value) <= 3 else f"{len(value)} listed"
        elif isinstance(value, dict):
            value = ",".join(f"{k}:{v}" for k, v in value.items() if v)
        parts.append(f"{key}={value}")
    return " ".join(parts)


@app.command()
def demo(
    residents: Annotated[int, typer.Option(help="Residents in the synthetic register.")] = 3000,
    applications: Annotated[int, typer.Option(help="Applications in the delivery.")] = 300,
) -> None:
    """Synthetic register + delivery, then a nightly run."""
    from kofu.demo import run_demo

    run_demo(_settings, residents=residents, applications=applications, console=out)


def _print_summary(summary: dict) -> None:
    from kofu.console import summary_table

    out.print(summary_table(summary))


def _display_url(url: str) -> str:
    # Never print a password that may sit in a PostgreSQL URL.
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> int:
    set_private_umask()  # before anything is written: see kofu/private.py
    try:
        app()  # exits by itself (SystemExit) on success and on usage errors
    except UserError as exc:
        return _error_line(str(exc), 2)
    except KeyboardInterrupt:
        return _error_line("interrupted", 130)
    except Exception as exc:
        if os.environ.get("KOFU_DEBUG"):
            raise
        # Exception text may quote personal data; the type and a hint are enough here.
        return _error_line(f"unexpected {type(exc).__name__}; run again with KOFU_DEBUG=1", 1)
    return 0


def _error_line(message: str, code: int) -> int:
    err.print(f"kofu: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
