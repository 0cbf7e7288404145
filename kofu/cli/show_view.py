"""``kofu show`` on a terminal: one application on one screen, in sections, each line
broken only between words so ids and numbers stay whole at 80 columns."""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

from kofu.cli.common import jst, out, say


def _path(label: str, path: str | None) -> None:
    """A path on one line of its own, never broken: it can be copied whole."""
    out.print(f"  {label}: {path or '-'}", markup=False, highlight=False, soft_wrap=True)


def _indented(text: str) -> None:
    from rich.padding import Padding
    from rich.text import Text

    out.print(Padding(Text(text), (0, 0, 0, 2)), highlight=False)


_FIELDS = ("family", "given", "family_reading", "given_reading", "birth_date", "street")


def _name(person: dict) -> str:
    return (
        f"{person['family_name']} {person['given_name']}"
        f" ({person['family_name_kana']} {person['given_name_kana']})"
    )


def _heading(text: str) -> None:
    out.print(f"\n[bold]{escape(text)}[/]", highlight=False)


def print_view(view: dict) -> None:
    say(f"application {view['application_id']}  batch {view['batch_id']}  line {view['line_no']}")
    say(f"state: {view['state']}")
    say(f"reasons: {', '.join(view['reasons']) or '-'}")
    say(f"submitted: {jst(view['submitted_at'])} ({view['channel'] or '-'})")
    a = view["applicant"]
    _heading("as typed")
    if a["family_name"] is not None:
        say(f"  {_name(a)}  born {a['birth_date']}  sex {a['sex']}")
        say(f"  〒{a['postal_code']} {a['address']}")
        say(f"  individual number: {'given' if a['gave_individual_number'] else 'none usable'}")
    else:
        say("  (an invalid line keeps only its id and reasons)")
    if view["resident"]:
        r = view["resident"]
        _heading(f"resident {r['resident_code']} ({r['status']})")
        say(f"  {_name(r)}  born {r['birth_date']}")
        say(f"  〒{r['postal_code']} {r['address']}")
        method = view["match"]["method"]
        if method:
            score = view["match"]["score"]
            say(f"  matched by {method}" + (f", score {score:.1f}" if score is not None else ""))
    for review in view["reviews"]:
        _print_review(review)
    if view["photo_measures"]:
        _heading("photo measures")
        _indented("  ".join(f"{k}={v}" for k, v in view["photo_measures"].items()))
    for failure in view["failures"]:
        _heading(f"failure queue: {failure['stage']} / {failure['error_code']}")
        next_at = (
            f", next attempt {jst(failure['next_attempt_at'])}"
            if failure["next_attempt_at"]
            else ""
        )
        say(f"  {failure['status']}, {failure['attempts']} attempt(s){next_at}")
        if failure["evidence"]:
            _indented("  ".join(f"{k}={v}" for k, v in failure["evidence"].items()))
    _print_files(view["files"])
    _print_lifecycle(view["lifecycle"])
    _heading("audit trail")
    for event in view["audit"] or []:
        detail = " ".join(f"{k}={v}" for k, v in (event["detail"] or {}).items() if v is not None)
        _indented(f"{jst(event['at'])}  {event['actor']}  {event['action']}  {detail}".rstrip())
    if not view["audit"]:
        say("  (none)")


def _print_review(review: dict) -> None:
    opened = jst(review["opened_at"])
    status = review["status"] if review["status"] == "open" else f"{review['resolution']}"
    _heading(
        f"review ({review['stage']}, {status}, opened {opened}): {', '.join(review['reasons'])}"
    )
    evidence = review["evidence"]
    if "other_applications" in evidence:
        mine = evidence["application"]
        say(f"  resident {evidence['resident_code']} applied more than once:")
        say(f"    this one    {mine['application_id']}  submitted {jst(mine['submitted_at'])}")
        for other in evidence["other_applications"]:
            notice = f", notice {other['notice_number']}" if other["notice_number"] else ""
            say(
                f"    the other   {other['application_id']}  submitted"
                f" {jst(other['submitted_at'])}  batch {other['batch_id']}, {other['state']}{notice}"
            )
    candidates = evidence.get("candidates") or []
    if candidates:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="candidates", title_justify="left")
        table.add_column("resident", no_wrap=True)
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("who (register)", overflow="fold", ratio=2)
        table.add_column("fields that agree / differ", overflow="fold", ratio=2)
        for c in candidates:
            who = c.get("register")
            person = (
                f"{_name(who)} born {who['birth_date']}, {who['address']} ({who['status']})"
                if who
                else "-"
            )
            fields = c.get("fields", {})
            agree = [f for f in _FIELDS if fields.get(f) in ("exact", "variant")]
            differ = [
                f"{f} {fields[f]}" for f in fields if fields.get(f) in ("similar", "different")
            ]
            table.add_row(
                c["resident_code"],
                f"{c['score']:.1f}",
                escape(person),
                escape(f"agree: {', '.join(agree) or '-'}; differ: {', '.join(differ) or '-'}"),
            )
        out.print(table)
    if "measures" in evidence:
        _indented("  ".join(f"{k}={v}" for k, v in evidence["measures"].items()))


def _print_files(files: dict) -> None:
    _heading("files")
    say(f"  photo: {files['photo'] or '-'}")
    notice = files["notice"]
    if notice:
        void = " (VOID: never printed or handed over)" if notice["void"] else ""
        say(f"  notice {notice['notice_number']}{void}: {notice['pdf']}")
        say(
            f"    pickup deadline {notice['pickup_deadline']}; print file: {notice['print_file'] or 'not printed yet'}"
        )
    letter = files["letter"]
    if letter:
        say(f"  refusal letter {letter['letter_number']}: {letter['pdf']}")
        say(f"    print file: {letter['print_file'] or 'not printed yet'}")
    reminder = files["reminder"]
    if reminder:
        say(
            f"  reminder {reminder['letter_number']} (deadline {reminder['deadline']}): {reminder['pdf']}"
        )
        say(f"    print file: {reminder['print_file'] or 'not printed yet'}")
    window = files["visit_window"]
    if window:
        say(
            f"  visit window: {window['counter']}, {window['date']} {window['from']}-{window['to']}"
        )


LIFECYCLE_WORDS = (
    ("mailed_on", "mailed"),
    ("deadline", "pickup deadline"),
    ("returned_on", "returned"),
    ("reminded_on", "reminded"),
    ("reminder_deadline", "due for destruction after"),
    ("picked_up_on", "handed over"),
    ("destruction_due_on", "due for destruction"),
    ("destroyed_on", "destroyed"),
)


def _print_lifecycle(lifecycle: dict) -> None:
    """The card after its notice: what happened when, and every notice it had."""
    if len(lifecycle) == 1 and len(lifecycle["notices"]) <= 1:
        return  # no card yet, one notice (shown under files)
    _heading("after the notice")
    for key, words in LIFECYCLE_WORDS:
        if lifecycle.get(key):
            extra = ""
            if key == "returned_on" and lifecycle.get("return_reason"):
                extra = f" ({lifecycle['return_reason']})"
            if key == "destruction_due_on" and lifecycle.get("destruction_reason"):
                extra = f" ({lifecycle['destruction_reason']})"
            say(f"  {words}: {lifecycle[key]}{extra}")
    hold = lifecycle.get("hold")
    if hold:
        until = f" until {hold['until']}" if hold["until"] else ""
        say(f"  on hold ({hold['kind']}) since {hold['since']}{until}: {hold['reason'] or '-'}")
    if len(lifecycle["notices"]) > 1:
        for n in lifecycle["notices"]:
            void = f" (void: {n['void']})" if n["void"] else " (current)"
            say(f"  notice {n['notice_number']} of {n['issued_on'] or '-'}{void}")
