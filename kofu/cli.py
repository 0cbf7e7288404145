"""The ``kofu`` command. Every command exits non-zero with one line on bad input."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from kofu.errors import UserError
from kofu.settings import Settings, get_settings, print_password

app = typer.Typer(
    help="kofu (交付): nightly My Number Card issuance: intake, photos, matching, notices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
residents_app = typer.Typer(help="The resident register.", no_args_is_help=True)
queue_app = typer.Typer(help="The failure and review queues.", no_args_is_help=True)
review_app = typer.Typer(help="Decisions on applications that need a person.", no_args_is_help=True)
app.add_typer(residents_app, name="residents")
app.add_typer(queue_app, name="queue")
app.add_typer(review_app, name="review")

out = Console()
err = Console(stderr=True)
ACTOR = os.environ.get("KOFU_ACTOR") or os.environ.get("USER") or "cli"


def fail(message: str, code: int = 2) -> NoReturn:
    _error_line(message, code)
    raise typer.Exit(code)


def _settings() -> Settings:
    settings = get_settings()
    settings.municipality  # noqa: B018 - read the settings file now, so a bad one fails first
    from kofu.runtime import prepare_prefect

    prepare_prefect(settings)
    return settings


def _ready_db(settings: Settings) -> None:
    from kofu.db import upgrade_schema

    upgrade_schema(settings.db_url)


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
    from models import AuditEvent
    from tasks.register import read_register, upsert_residents

    settings = _settings()
    key = load_secret_key(settings)
    # The file and its header are checked here; the rows are parsed as they stream into
    # the one write transaction below, so a bad row anywhere rolls the whole import back.
    rows = read_register(file, key)
    _ready_db(settings)
    with unit_of_work(settings.db_url, write=True) as session:
        result = upsert_residents(session, rows)
        session.add(
            AuditEvent(
                actor=ACTOR,
                action="residents-import",
                detail={"file": file.name, "inserted": result.inserted, "updated": result.updated},
            )
        )
        session.commit()
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

    summary = nightly_flow(inbox=str(inbox) if inbox else None, batch_id=batch_id)
    _print_summary(summary)


def _check_run_settings(settings: Settings) -> None:
    """What a run would otherwise find wrong only once started: fail with one line now."""
    from flows.lease import check_free
    from tasks.scoring import ScoringRules

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

    _print_summary(rerun_failed(batch_id=batch_id))


@app.command()
def status(
    batch_id: Annotated[str | None, typer.Option(help="One batch only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Counts per state."""
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
    from tasks.reports import export_outcomes

    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        if session.get(Batch, batch_id) is None:
            fail(f"no batch {batch_id!r}: see `kofu status`")
        print(json.dumps(export_outcomes(session, batch_id), ensure_ascii=False, indent=2))


@queue_app.command("list")
def queue_list(
    kind: Annotated[str | None, typer.Option(help="failure or review.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Open items of the failure and review queues."""
    from dataclasses import asdict

    from kofu.db import unit_of_work
    from tasks.queues import list_queue

    if kind not in (None, "failure", "review"):
        fail("--kind must be failure or review")
    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        entries = list_queue(session, kind)
    if as_json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return
    table = Table("kind", "application", "batch", "stage", "codes", "status", "attempts")
    for e in entries:
        table.add_row(
            e.kind,
            e.application_id or "-",
            e.batch_id,
            e.stage,
            ", ".join(e.codes),
            e.status,
            str(e.attempts or ""),
        )
    out.print(table if entries else "queues are empty")


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
    from tasks.review import resolve_review

    if sum((resident is not None, reject is not None, accept)) != 1:
        fail("give exactly one of --resident RESIDENT_CODE, --accept or --reject REASON")
    settings = _settings()
    _ready_db(settings)
    with unit_of_work(settings.db_url, write=True) as session:
        state = resolve_review(
            session,
            application_id,
            resident_code=resident,
            reject_reason=reject,
            accept=accept,
            actor=ACTOR,
            now=datetime.now(UTC),
        )
        session.commit()
    out.print(f"{application_id}: {state}")


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
