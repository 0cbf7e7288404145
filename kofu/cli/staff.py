"""The commands counter staff use every day: the queues, review decisions, one application
on one screen, and the audit trail. Each fits an 80-column terminal: ids are never cut or
wrapped, other columns give way first."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand

from kofu.base.text import RESIDENT_CODE
from kofu.cli.common import (
    ACTOR,
    OS_USER,
    audit,
    audit_refusal,
    fail,
    jst,
    load_settings,
    out,
    ready_db,
    say,
)

queue_app = typer.Typer(help="The failure and review queues.", no_args_is_help=True)
review_app = typer.Typer(help="Decisions on applications that need a person.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit trail: who read or changed which record, and when.", no_args_is_help=True
)


def _id_column(table: Table, header: str = "application") -> None:
    # 23-digit J-LIS ids: never wrapped or cut, so they can be copied whole.
    table.add_column(header, no_wrap=True, overflow="ignore", min_width=23)


@queue_app.command("list")
def queue_list(
    kind: Annotated[str | None, typer.Option(help="failure or review.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Open items of the failure and review queues (a resident's duplicates side by side)."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.audit.records import record_queue_list
    from kofu.tasks.queues.records import list_queue

    if kind not in (None, "failure", "review"):
        fail("--kind must be failure or review")
    settings = load_settings()
    ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        entries = list_queue(session, kind)
    # Review items show which applications wait for a person and (in JSON) the candidate
    # residents with how each field compared: a read of those residents' records.
    if any(e.kind == "review" for e in entries):
        audit(
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
    if not entries:
        say("queues are empty")
        return
    reviews = [e for e in entries if e.kind == "review"]
    failures = [e for e in entries if e.kind == "failure"]
    if reviews:
        out.print(_review_table(reviews))
    if failures:
        out.print(_failure_table(failures))
        for line in _what_failed(failures):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if reviews:
        say("kofu show APPLICATION_ID shows one application's evidence and files.")


def _table(title: str) -> Table:
    # No rules between columns and one space after each: an 80-column terminal keeps the
    # 23-digit ids whole and the other columns wrap between words.
    return Table(title=title, title_justify="left", box=None, padding=(0, 1, 0, 0))


def _review_table(entries: list) -> Table:  # type: ignore[type-arg]
    table = _table("review queue")
    _id_column(table)
    table.add_column("batch", overflow="fold")
    table.add_column("stage: reasons", overflow="fold")
    table.add_column("waiting since", overflow="fold")
    pairs: dict[str, int] = {}
    for e in entries:
        reasons = f"{e.stage}: {', '.join(e.codes)}"
        if e.pair:
            ids = [e.application_id, *e.pair]
            number = next((pairs[i] for i in ids if i in pairs), len(set(pairs.values())) + 1)
            pairs.update(dict.fromkeys(ids, number))
            reasons += f" (pair {number})"
        table.add_row(e.application_id, e.batch_id, reasons, jst(e.created_at))
    return table


def _failure_table(entries: list) -> Table:  # type: ignore[type-arg]
    table = _table("failure queue")
    _id_column(table)
    table.add_column("batch", overflow="fold")
    table.add_column("stage: error", overflow="fold", min_width=21)  # photo-file-unreadable
    table.add_column("status", overflow="fold")
    table.add_column("next try", overflow="fold")
    for e in entries:
        table.add_row(
            e.application_id or "(the batch)",
            e.batch_id,
            f"{e.stage}: {', '.join(e.codes)}",
            f"{e.status} ({e.attempts})",
            _next_attempt(e),
        )
    return table


def _what_failed(entries: list) -> list[str]:  # type: ignore[type-arg]
    """What each failure's evidence names (a photo's path inside the delivery, a file, an
    errno): the item, then the path on a line of its own, so it can be copied whole."""
    lines = []
    for e in entries:
        ev = e.evidence
        if ev.get("photo"):
            found = "cannot be read" if ev.get("photo_found") else "is missing from the delivery"
            lines += [f"  {e.application_id}: its photo {found}:", f"    {ev['photo']}"]
        elif ev.get("file"):
            errno = f" ({ev['errno']})" if ev.get("errno") else ""
            lines += [f"  {e.application_id or e.batch_id}: a file{errno}:", f"    {ev['file']}"]
    return lines


def _next_attempt(entry: Any) -> str:
    """When the nightly run takes a failure item again, in Japan time."""
    if entry.status == "dead":
        return "waits for a person (kofu rerun)"
    if entry.status == "retrying":
        return "now (a run is on it)"
    if entry.next_attempt_at is None:
        return "next run"
    return f"after {jst(entry.next_attempt_at)}"


class _ResolveCommand(TyperCommand):
    """``review resolve --help`` lists every reason ``--reject`` takes. The photo codes come
    from the photo stage itself, read only when the help is asked for."""

    def format_help(self, ctx, formatter):  # type: ignore[no-untyped-def]
        from kofu.tasks.photos.problems import PROBLEMS
        from kofu.tasks.review.records import MATCH_REJECTIONS

        matching = "; ".join(f"{r} ({s.value})" for r, s in MATCH_REJECTIONS.items())
        self.epilog = (
            f"--reject, a matching review: {matching}.\n\n"
            f"--reject, a photo review (photo_rejected): {', '.join(sorted(PROBLEMS))}."
        )
        return super().format_help(ctx, formatter)


@review_app.command("resolve", cls=_ResolveCommand)
def review_resolve(
    application_id: Annotated[str, typer.Argument(help="The application to decide.")],
    resident: Annotated[
        str | None,
        typer.Option(help="Resident code it belongs to; on a duplicate, this one stands."),
    ] = None,
    reject: Annotated[
        str | None,
        typer.Option(
            help="A known reason code (listed below): no match, withdrawn, or why the photo is refused."
        ),
    ] = None,
    accept: Annotated[
        bool, typer.Option("--accept", help="A photo review: the photo is fine.")
    ] = False,
) -> None:
    """Record a person's decision on an application in needs_review."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.audit.records import record_review_refused
    from kofu.tasks.review.core import ReviewRefused, decision_kind
    from kofu.tasks.review.records import resolve_review

    if sum((resident is not None, reject is not None, accept)) != 1:
        fail("give exactly one of --resident RESIDENT_CODE, --accept or --reject REASON")
    settings = load_settings()
    ready_db(settings)
    try:
        # The decision and its audit event commit together, or neither does.
        with unit_of_work(settings.db_url, write=True) as session:
            decision = resolve_review(
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
        audit_refusal(
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
    _tell_decision(application_id, decision)


def _tell_decision(application_id: str, decision: Any) -> None:
    """What the decision did, and what happens next, in plain lines."""
    state, batch = decision.state.value, decision.batch_id
    later = f"the next nightly run, or now `kofu rerun --batch-id {batch}`"
    if decision.duplicate_of:
        others = ", ".join(decision.duplicate_of)
        say(
            f"{application_id}: still needs_review: resident {decision.resident_code} already"
            f" has application {others} in progress. Decide which stands: `kofu review resolve"
            f" {application_id} --resident {decision.resident_code}` lets this one stand and"
            f" withdraws the other; `--reject duplicate-application` withdraws this one."
        )
        return
    next_step = {
        "matched": f"Its notice is written by {later}.",
        "photo_ok": f"Matching is done by {later}.",
        "photo_rejected": f"Its refusal letter is written by {later}.",
        "withdrawn": "It gets no notice and never prints.",
        # A card held for a name change in the register (after its notice).
        "destruction_due": "Its card goes on the next destruction list (`kofu destruction list`).",
        "mailed": "Its card waits for the resident again; change the name on it at the handover.",
        "reminded": "Its card waits for the resident again; change the name on it at the handover.",
        "notice_generated": "Its card waits for the resident; change the name on it at the handover.",
    }.get(state, "")
    say(f"{application_id}: {state}. {next_step}".strip())
    for gone in decision.withdrawn:
        if gone.notice_number is None:
            say(f"{gone.application_id} (batch {gone.batch_id}): withdrawn; it had no notice.")
        elif gone.printed:
            say(
                f"{gone.application_id} (batch {gone.batch_id}): withdrawn; notice"
                f" {gone.notice_number} is void. It is already in a print file: take it out of"
                " the mail if it has not gone yet."
            )
        else:
            say(
                f"{gone.application_id} (batch {gone.batch_id}): withdrawn; notice"
                f" {gone.notice_number} is void and will not print."
            )
    for stands in decision.released:
        say(f"{stands}: stands now (matched). Its notice is written by {later}.")


def show(
    application_id: Annotated[str, typer.Argument(help="The application to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """One application: state, reasons, evidence, files and audit trail."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.audit.core import resident_codes
    from kofu.tasks.audit.records import record
    from kofu.tasks.reports.application_view import application_view

    settings = load_settings()
    ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        view = application_view(session, application_id)
    if view is None:
        # Not echoed: a mistyped id could be anything, an individual number included.
        fail("no application with that id: see `kofu queue list` or `kofu export`")
    shown = [view["resident"]["resident_code"]] if view["resident"] else []
    for review in view["reviews"]:
        shown += [c.get("resident_code") for c in review["evidence"].get("candidates", [])]
    codes = resident_codes(shown)
    # Names, addresses and register rows on screen: a read of those records, recorded first.
    audit(
        settings,
        lambda s: record(
            s,
            "show",
            actor=ACTOR,
            os_user=OS_USER,
            batch_id=view["batch_id"],
            application_id=application_id,
            resident_code=codes[0] if len(codes) == 1 else None,
            detail={"resident_codes": codes, "format": "json" if as_json else "table"},
        ),
    )
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
        return
    from kofu.cli.show_view import print_view

    print_view(view)


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
    from kofu.models.db import unit_of_work
    from kofu.tasks.audit.core import event_as_dict
    from kofu.tasks.audit.records import list_events

    since_day = None
    if since is not None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
                raise ValueError
            since_day = date.fromisoformat(since)
        except ValueError:
            fail("--since takes a day as YYYY-MM-DD")
    if resident is not None and not RESIDENT_CODE.fullmatch(resident):
        fail("--resident takes the 11-digit resident code")
    settings = load_settings()
    ready_db(settings)
    with unit_of_work(settings.db_url) as session:
        events = [
            event_as_dict(e) for e in list_events(session, since=since_day, resident_code=resident)
        ]
    if as_json:
        print(json.dumps(events, ensure_ascii=False, indent=2))
        return
    if not events:
        say("no audit events")
        return
    # One event a block: its first line says when, who and what; the lines below, indented,
    # which records and the detail, broken only between words, so no number is split.
    for e in events:
        out.print(
            f"[bold]{jst(e['at'], seconds=True)}[/]  {escape(e['actor'])}  {e['action']}",
            highlight=False,
        )
        records = [
            f"{label} {e[key]}"
            for label, key in (
                ("batch", "batch_id"),
                ("application", "application_id"),
                ("resident", "resident_code"),
            )
            if e[key]
        ]
        for line in ("  ".join(records), _detail_line(e["detail"])):
            if line:
                _indented(line)


def _indented(line: str) -> None:
    from rich.padding import Padding
    from rich.text import Text

    out.print(Padding(Text(line, overflow="fold"), (0, 0, 0, 4)), highlight=False)


def _detail_line(detail: dict) -> str:
    """An event's detail on one line: long lists as a count (``--json`` has them all)."""
    parts = []
    for key, value in (detail or {}).items():
        if value is None:
            continue
        if key == "sha256":
            value = value[:8]
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) if len(value) <= 3 else f"{len(value)} listed"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}:{v}" for k, v in value.items() if v)
        parts.append(f"{key}={value}")
    return " ".join(parts)
