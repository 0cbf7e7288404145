"""The commands after the notice (docs/daily-work.md, "After the notice"): the mailing, returned
mail, the handover at the counter, holds, the night's sweep and the destruction list.

A notice is named by the number printed on it (its QR code holds the same), never by the
resident. Every date is a Japan calendar day, ``YYYY-MM-DD``, today by default; none may be
in the future. Each refusal is one line and changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.cli.common import (
    ACTOR,
    OS_USER,
    fail,
    known_batch,
    load_settings,
    out,
    ready_db,
    say,
)

returns_app = typer.Typer(help="Returned notices (返戻).", no_args_is_help=True)
destruction_app = typer.Typer(
    help="Cards due for destruction (廃棄): the list, and its confirmation.", no_args_is_help=True
)

MAX_RETURNS_FILE = 64 * 1024 * 1024


def today() -> date:
    return datetime.now(UTC).astimezone(JST).date()


def day_option(value: str | None, name: str = "--on") -> date:
    """A day given as YYYY-MM-DD (today when not given), never in the future."""
    if value is None:
        return today()
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{name} must be a date (YYYY-MM-DD), not {value[:20]!r}")
    if day > today():
        fail(f"{name} {day.isoformat()} is in the future")
    return day


def _notice_numbers(values: list[str]) -> list[str]:
    from kofu.tasks.returns.core import check_notice_number

    numbers = [check_notice_number(v) for v in values]
    if len(set(numbers)) != len(numbers):
        fail("a notice number is given twice")
    return numbers


def mail(
    batch_id: Annotated[str, typer.Option(help="The batch whose print files went out.")],
    on: Annotated[str | None, typer.Option(help="The day they went (default: today).")] = None,
) -> None:
    """Record that the batch's printed notices were handed to the post office: the pickup
    deadline (交付期限) runs from that day."""
    from kofu.base.paths import check_batch_id
    from kofu.models.db import unit_of_work
    from kofu.tasks.mailing.records import mail_batch

    check_batch_id(batch_id)
    day = day_option(on)
    settings = load_settings()
    ready_db(settings)
    known_batch(settings, batch_id)
    pickup_days = settings.municipality.notice.pickup_days
    with unit_of_work(settings.db_url, write=True) as session:
        done = mail_batch(session, batch_id, day, pickup_days, actor=ACTOR)
        session.commit()
    say(
        f"batch {batch_id}: {done.mailed} notice(s) recorded as mailed on {day.isoformat()}"
        f" (deadline {pickup_days} days on), {done.already} recorded before"
    )
    if done.not_printed:
        say(f"{done.not_printed} notice(s) are in no print file yet: not mailed")


@returns_app.command("record")
def returns_record(
    notice_numbers: Annotated[list[str], typer.Argument(help="Numbers of the returned notices.")],
    reason: Annotated[str, typer.Option(help="unknown-address, not-collected or moved.")],
    on: Annotated[str | None, typer.Option(help="The day they came back (default: today).")] = None,
) -> None:
    """Record returned envelopes by their notice numbers (or the QR code's)."""
    from kofu.tasks.returns.core import check_return

    day = day_option(on)
    rows = [check_return(n, reason, day, today()) for n in _notice_numbers(notice_numbers)]
    _record_returns(rows)


@returns_app.command("import")
def returns_import(
    file: Annotated[Path, typer.Argument(help="CSV: notice_number,reason,returned_on.")],
) -> None:
    """Record a scanner's CSV of returned envelopes (one bad line imports nothing)."""
    from kofu.base.paths import check_text_path
    from kofu.tasks.returns.core import parse_returns

    check_text_path(file, "the returns file")
    try:
        if not file.is_file():
            fail(f"no returns file at {file}")
        if file.stat().st_size > MAX_RETURNS_FILE:
            fail(f"the returns file is over {MAX_RETURNS_FILE // 1024 // 1024} MiB")
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read the returns file {file}: {exc.strerror or type(exc).__name__}")
    _record_returns(parse_returns(data, today()))


def _record_returns(rows: list) -> None:  # type: ignore[type-arg]
    from kofu.models.db import unit_of_work
    from kofu.tasks.returns.records import record_returns

    settings = load_settings()
    ready_db(settings)
    with unit_of_work(settings.db_url, write=True) as session:
        done = record_returns(session, rows, actor=ACTOR, os_user=OS_USER)
        session.commit()
    recorded = sum(r.outcome == "recorded" for r in done)
    already = sum(r.outcome == "already" for r in done)
    say(f"returns: {recorded} recorded, {already} recorded before")
    refused = [r for r in done if r.outcome == "refused"]
    for r in refused:
        say(f"  {r.notice_number}: not recorded: {r.why}")
    if recorded:
        say("tonight's run decides each: a new notice after a move, else a reminder")
    if refused:
        raise typer.Exit(1)


def pickup(
    notice_number: Annotated[str, typer.Argument(help="The number on the notice presented.")],
    on: Annotated[
        str | None, typer.Option(help="The day of the handover (default: today).")
    ] = None,
) -> None:
    """Record the card's handover (交付); refused, with one line, when it must not be."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.handover.records import pickup as hand_over
    from kofu.tasks.returns.core import check_notice_number

    number = check_notice_number(notice_number)
    day = day_option(on)
    settings = load_settings()
    ready_db(settings)
    # The handover and its audit event commit together; a refusal is recorded as well.
    with unit_of_work(settings.db_url, write=True) as session:
        done = hand_over(session, number, day, actor=ACTOR, os_user=OS_USER)
        session.commit()
    if done.refused is not None:
        fail(f"do not hand the card over: {done.refused.message} ({done.refused.code})", 1)
    say(
        f"notice {number}: card handed over on {day.isoformat()} (application {done.application_id})"
    )


def hold(
    notice_number: Annotated[str, typer.Argument(help="The number on the card's notice.")],
    until: Annotated[str, typer.Option(help="Held until this day (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option(help="Why, such as a long hospital stay.")],
) -> None:
    """Hold a card until a day: its clock stops (no reminder, no destruction) meanwhile."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.holds.core import check_hold
    from kofu.tasks.holds.records import hold_card
    from kofu.tasks.returns.core import check_notice_number

    number = check_notice_number(notice_number)
    try:
        until_day = date.fromisoformat(until.strip())
    except ValueError:
        fail(f"--until must be a date (YYYY-MM-DD), not {until[:20]!r}")
    settings = load_settings()
    request = check_hold(until_day, reason, today(), settings.municipality.lifecycle.max_hold_days)
    ready_db(settings)
    with unit_of_work(settings.db_url, write=True) as session:
        hold_card(session, number, request, today(), actor=ACTOR, os_user=OS_USER)
        session.commit()
    say(f"notice {number}: card held until {request.until.isoformat()}; its clock is stopped")


def lifecycle(
    as_of: Annotated[
        str | None, typer.Option(help="The day to sweep as (YYYY-MM-DD; default: today).")
    ] = None,
) -> None:
    """Reminders, reissues, holds and the destruction list now (the nightly run does it too)."""
    from kofu.cli.runs import check_key_matches, check_run_settings, run_recorded
    from kofu.flows.lifecycle import as_of_date

    day = as_of_date(as_of)
    settings = load_settings()
    check_key_matches(settings)
    check_run_settings(settings)
    from kofu.flows.lifecycle import lifecycle as lifecycle_flow

    summary = run_recorded(
        settings, "lifecycle", None, lambda: lifecycle_flow(as_of=day.isoformat())
    )
    from kofu.cli.console import lifecycle_lines

    for line in lifecycle_lines(summary):
        say(line)


@destruction_app.command("list")
def destruction_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The cards due for destruction, with the reason and date of each: a PDF checklist for
    the ledger check (台帳照合) and a CSV, drawn again when the cards due changed."""
    from kofu.base.fonts import register_notice_font
    from kofu.models.db import unit_of_work
    from kofu.tasks.destruction.records import draw_list, list_rows

    settings = load_settings()
    ready_db(settings)
    font = register_notice_font(settings.data_dir / "fonts")
    with unit_of_work(settings.db_url, write=True) as session:
        drawn = draw_list(session, settings, today(), font, actor=ACTOR)
        session.commit()
        rows = list_rows(session, drawn.list_id) if drawn else []
    if as_json:
        body = {
            "list_id": drawn.list_id if drawn else None,
            "pdf": str(drawn.pdf_path) if drawn else None,
            "csv": str(drawn.csv_path) if drawn else None,
            "cards": rows,
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return
    if drawn is None:
        say("no card is due for destruction")
        return
    from rich.table import Table

    table = Table(title=f"destruction list {drawn.list_id}", title_justify="left", box=None)
    for column in ("no.", "notice", "application", "reason", "due on"):
        table.add_column(column, no_wrap=column in ("notice", "application"))
    for r in rows:
        table.add_row(
            str(r["position"]), r["notice_number"], r["application_id"], r["reason"], r["due_on"]
        )
    out.print(table)
    say(f"checklist: {drawn.pdf_path}")
    say(f"csv: {drawn.csv_path}")
    say(f"after the ledger check: kofu destruction confirm {drawn.list_id}")


@destruction_app.command("confirm")
def destruction_confirm(
    list_id: Annotated[str, typer.Argument(help="The list checked and destroyed.")],
    on: Annotated[str | None, typer.Option(help="The day of destruction (default: today).")] = None,
) -> None:
    """Record the cards of a checked list destroyed (refused when the list is out of date)."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.destruction.records import confirm_list

    if not list_id.isdigit() or len(list_id) > 9:
        fail(f"a list id is a number, as `kofu destruction list` shows it: not {list_id[:20]!r}")
    day = day_option(on)
    settings = load_settings()
    ready_db(settings)
    with unit_of_work(settings.db_url, write=True) as session:
        try:
            count = confirm_list(session, int(list_id), day, actor=ACTOR, os_user=OS_USER)
        except UserError:
            session.rollback()
            raise
        session.commit()
    say(f"destruction list {list_id}: {count} card(s) recorded destroyed on {day.isoformat()}")
