"""The ``kofu`` command. Every command exits non-zero with one line on bad input."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from kofu.base.errors import UserError
from kofu.base.paths import check_batch_id, check_text_path
from kofu.base.private import set_private_umask
from kofu.base.settings import Settings
from kofu.cli import lifecycle as cli_lifecycle
from kofu.cli import staff as cli_staff
from kofu.cli import stats as cli_stats
from kofu.cli.common import (
    ACTOR,
    OS_USER,
    audit,
    audit_refusal,
    display_url,
    error_line,
    error_text,
    fail,
    known_batch,
    load_settings,
    out,
    ready_db,
    say,
)
from kofu.cli.runs import check_key_matches, check_run_settings, run_recorded, stopped

try:  # typer 0.2x carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer.exceptions import Abort
except ImportError:  # pragma: no cover - an older typer on the real click
    from click.exceptions import Abort, ClickException, NoArgsIsHelpError

app = typer.Typer(
    help="kofu (交付): nightly My Number Card issuance: intake, photos, matching, notices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
residents_app = typer.Typer(help="The resident register.", no_args_is_help=True)
app.add_typer(residents_app, name="residents")
app.add_typer(cli_staff.queue_app, name="queue")
app.add_typer(cli_staff.review_app, name="review")
app.add_typer(cli_staff.audit_app, name="audit")
app.command("show")(cli_staff.show)
# After the notice (kofu/cli/lifecycle.py).
app.command("mail")(cli_lifecycle.mail)
app.add_typer(cli_lifecycle.returns_app, name="returns")
app.command("pickup")(cli_lifecycle.pickup)
app.command("hold")(cli_lifecycle.hold)
app.command("lifecycle")(cli_lifecycle.lifecycle)
app.add_typer(cli_lifecycle.destruction_app, name="destruction")
app.command("stats")(cli_stats.stats)


@app.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema."""
    settings = load_settings()
    ready_db(settings)
    out.print(f"schema is up to date: {display_url(settings.db_url)}")


@residents_app.command("import")
def residents_import(
    file: Annotated[Path, typer.Argument(help="Register CSV (columns: docs/formats.md).")],
) -> None:
    """Load or refresh the register (upsert by resident_code; all rows or none)."""
    from kofu.base.secret import load_secret_key
    from kofu.models.db import unit_of_work
    from kofu.models.key_check import check_key
    from kofu.tasks.audit.core import fingerprint
    from kofu.tasks.audit.records import record_import_refused
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import import_register

    settings = load_settings()
    file_print = fingerprint(file)  # which file, exactly, for the audit trail
    try:
        key = load_secret_key(settings)
        # The file and its header are checked here; the rows are parsed as they stream into
        # the one write transaction below, so a bad row anywhere rolls the whole import back.
        rows = read_register(file, key)
        ready_db(settings)
        check_key(settings.db_url, key)
        with unit_of_work(settings.db_url, write=True) as session:
            result = import_register(
                session, rows, actor=ACTOR, os_user=OS_USER, file=file, file_print=file_print
            )
            session.commit()
    except Exception as exc:
        # The import's transaction is rolled back by now; the refusal gets one of its own.
        error = error_text(exc)
        audit_refusal(
            settings,
            lambda s: record_import_refused(
                s, actor=ACTOR, os_user=OS_USER, file=file, file_print=file_print, error=error
            ),
        )
        raise
    out.print(f"register: {result.inserted} added, {result.updated} updated")


@app.command()
def nightly(
    inbox: Annotated[
        Path | None,
        typer.Option(help="One delivery folder, ready or not (default: every ready one)."),
    ] = None,
    batch_id: Annotated[
        str | None, typer.Option(help="Batch id of --inbox (default: the folder's name).")
    ] = None,
) -> None:
    """Run the nightly flow once, now: every delivery folder under the inbox not yet taken
    in whose READY file is there, oldest first, each as its own batch; or --inbox DIR."""
    settings = load_settings()
    if inbox is None and batch_id is not None:
        fail(
            "--batch-id names the batch of --inbox DIR; without --inbox each delivery"
            " folder's name is its batch id"
        )
    if inbox is not None and not (inbox / "applications.jsonl").is_file():
        fail(f"no applications.jsonl in {inbox}: is this a delivery folder?")
    if inbox is not None:
        check_text_path(inbox, "the delivery folder")
        named_by = "--batch-id" if batch_id else "--inbox's folder name"
        check_batch_id(batch_id or inbox.resolve().name, named_by)
    check_key_matches(settings)  # fail before starting a run, not inside it
    check_run_settings(settings)
    from kofu.flows.nightly import nightly as nightly_flow

    named = batch_id or (inbox.name if inbox else None)
    summary = run_recorded(
        settings,
        "nightly-run",
        named,
        lambda: nightly_flow(inbox=str(inbox) if inbox else None, batch_id=batch_id),
    )
    _print_night(settings, summary)


@app.command()
def rerun(batch_id: Annotated[str, typer.Option(help="The batch to rerun.")]) -> None:
    """Rerun the failed items of a batch, and carry on what a person decided."""
    settings = load_settings()
    check_batch_id(batch_id)
    ready_db(settings)
    known_batch(settings, batch_id)
    check_key_matches(settings)
    check_run_settings(settings)
    from kofu.flows.rerun import rerun_failed

    summary = run_recorded(settings, "rerun", batch_id, lambda: rerun_failed(batch_id=batch_id))
    _print_night(settings, summary)


@app.command()
def status(
    batch_id: Annotated[str | None, typer.Option(help="One batch only.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Counts per state."""
    # Counts only, nothing about a resident or an application: not an audited read.
    from kofu.models.db import unit_of_work
    from kofu.tasks.reports.records import batch_summary

    settings = load_settings()
    ready_db(settings)
    if batch_id is not None:
        known_batch(settings, batch_id)
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
    from kofu.models.db import unit_of_work
    from kofu.tasks.audit.records import record_export
    from kofu.tasks.reports.records import export_outcomes

    settings = load_settings()
    ready_db(settings)
    known_batch(settings, batch_id)
    with unit_of_work(settings.db_url) as session:
        outcomes = export_outcomes(session, batch_id)
    text = json.dumps(outcomes, ensure_ascii=False, indent=2) + "\n"
    # The outcomes name the resident each application was matched to: a read of their records.
    audit(
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


@app.command()
def demo(
    residents: Annotated[int, typer.Option(help="Residents in the synthetic register.")] = 3000,
    applications: Annotated[int, typer.Option(help="Applications in the delivery.")] = 300,
) -> None:
    """Synthetic register + delivery, then a nightly run."""
    from kofu.base import stops
    from kofu.cli.demo import ensure_demo_key, run_demo
    from kofu.flows.runtime import embedded_server

    ensure_demo_key()  # before the settings are read: they name the key file
    # Before Prefect is imported: it may point Prefect at the server `make serve` started.
    settings = load_settings()
    from kofu.models.run_lock import reserved

    # As for `kofu nightly`: one run at a time, and SIGTERM or Ctrl-C stops at a chunk
    # boundary with one line, the embedded server in a session of its own.
    try:
        with reserved(settings.db_url), stops.catching(), embedded_server():
            run_demo(lambda: settings, residents=residents, applications=applications, console=out)
    except Exception:
        if stops.requested() is None:
            raise
    signum = stops.requested()
    if signum is not None:
        stopped(settings, signum, "nightly", None)


def _print_summary(summary: dict) -> None:
    from kofu.cli.console import summary_table

    out.print(summary_table(summary))


def _print_night(settings: Settings, summary: dict) -> None:
    """Each batch's counts and where its notices, letters and print files went; then what
    the inbox held and what is left for a person."""
    from kofu.cli.console import night_lines

    batches = summary.get("batches", [summary] if summary.get("batch_id") else [])
    for one in batches:
        _print_summary(one)
    for line in night_lines(settings, summary, batches):
        say(line)


def _usage_error(exc: ClickException) -> int:
    """A usage mistake (`kofu stauts`, a missing --batch-id) as the same one line as every
    other mistake, naming the command's help."""
    message = exc.format_message().rstrip(".")
    message = message[:1].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return error_line(f"{message}{where}", exc.exit_code)


def main() -> int:
    set_private_umask()  # before anything is written: see kofu/base/private.py
    try:
        # Not standalone: click hands usage mistakes back here instead of drawing a box.
        code = app(prog_name="kofu", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        out.print(exc.ctx.get_help(), markup=False, highlight=False)
        return 2
    except ClickException as exc:
        return _usage_error(exc)
    except Abort:
        return error_line("aborted", 1)
    except UserError as exc:
        return error_line(str(exc), 2)
    except KeyboardInterrupt:
        return error_line("interrupted", 130)
    except Exception as exc:
        if os.environ.get("KOFU_DEBUG"):
            raise
        # Exception text may quote personal data; the type and a hint are enough here.
        return error_line(f"unexpected {type(exc).__name__}; run again with KOFU_DEBUG=1", 1)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
