"""How counts are shown on a terminal."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from kofu.tasks.lifecycle.core import STEP_WORDS
from kofu.tasks.reports.core import MATCH_KINDS, match_kind_counts


def summary_table(summary: dict) -> Table:
    table = Table(title=f"batch {summary.get('batch_id') or '(all)'}")
    table.add_column("state")
    table.add_column("applications", justify="right")
    for state, n in summary["states"].items():
        table.add_row(state, str(n))
    table.add_row("rejected lines", str(summary["rejected_lines"]))
    table.add_row("review queue (open)", str(summary["review_queue"]))
    table.add_row("failure queue (open)", str(summary["failure_queue"]))
    if summary.get("failure_dead"):
        table.add_row("failure queue (dead: needs a person)", str(summary["failure_dead"]))
    if "notices_without_window" in summary:
        table.add_row("notices without a visit window", str(summary["notices_without_window"]))
    return table


def matching_table(decisions: Iterable[dict]) -> Table:
    """How the matching stage decided: each tier's matches, reviews, no-matches, ineligible."""
    counts = match_kind_counts(decisions)
    table = Table(title="matching")
    table.add_column("decision")
    table.add_column("applications", justify="right")
    for kind, label in MATCH_KINDS.items():
        table.add_row(label, str(counts[kind]))
    return table


LIFE_WORDS = {
    "moved-within-city": "returned, moved within the city: new notice, handed over",
    "returned-same-address": "returned, same address: reminded, handed over",
    "returned-unknown-address": "returned, unknown address: reminded, waiting",
    "moved-out": "moved out: destruction list, destroyed",
    "deceased": "died: destruction list, destroyed",
    "name-changed": "name changed in the register: held for review",
    "held": "held by staff (hospital), then back to the clock",
    "picked-up": "handed over at the counter",
    "waiting": "waiting in storage for the resident",
}


def lives_table(months) -> Table:  # type: ignore[no-untyped-def]
    """The demo's cards after the notice: each life, how many, and the state each ended in."""
    from collections import Counter

    kinds = Counter(life.kind for life in months.lives)
    table = Table(title="two months after the notice")
    table.add_column("life")
    table.add_column("cards", justify="right")
    table.add_column("ends in")
    for life in dict.fromkeys(life.kind for life in months.lives):
        example = next(x for x in months.lives if x.kind == life)
        table.add_row(LIFE_WORDS.get(life, life), str(kinds[life]), example.expected_state)
    for number, code in months.refusals.items():
        table.add_row(f"refused at the counter: notice {number}", "1", code)
    return table


def night_lines(settings, summary: dict, batches: list[dict]) -> list[str]:  # type: ignore[no-untyped-def]
    """After `kofu nightly` or `kofu rerun`: where each batch's notices, letters and print
    files went, what the inbox held, and what is left for a person."""
    lines: list[str] = []
    touched = [(b["batch_id"], b.get("this_run") or {}) for b in batches]
    touched += list((summary.get("retried") or {}).items())
    for batch_id, run in touched:
        notices = (run.get("notices") or {}).get("notice_generated", 0)
        letters = (run.get("letters") or {}).get("letters", 0)
        files = (run.get("print") or {}).get("files") or []
        if not (notices or letters or files) and batch_id not in {b["batch_id"] for b in batches}:
            continue  # an earlier batch retried without anything new to mail
        lines += [
            f"batch {batch_id}:",
            f"  notices:     {settings.notices_dir / batch_id}/  ({notices} new)",
            f"  letters:     {settings.letters_dir / batch_id}/  ({letters} new, refused photos)",
            "  print files: " + (", ".join(files) if files else "(nothing new to print)"),
        ]
    rows = summary.get("deliveries") or []
    if "deliveries" in summary and not batches and not summary.get("batch_id"):
        lines.append(f"no delivery to take in under {settings.inbox_dir}: nothing taken in")
    waiting = [r["folder"] for r in rows if r["outcome"].startswith("waiting")]
    if waiting:
        lines.append("waiting for their READY file: " + ", ".join(waiting))
    lines += [f"{r['folder']}: {r['outcome']}" for r in rows if r["outcome"].startswith("not ")]
    if summary.get("open_failures"):
        lines.append(
            f"left behind: {summary['open_failures']} failure-queue item(s) open:"
            " `kofu queue list --kind failure`, then `kofu rerun --batch-id BATCH`"
        )
    reviews = (
        sum(b.get("review_queue", 0) for b in batches)
        if batches
        else summary.get("review_queue", 0)
    )
    if reviews:
        lines.append(f"{reviews} application(s) wait for a person: `kofu queue list --kind review`")
    after = summary.get("lifecycle")
    if after and (after["steps"] or after.get("destruction_list")):
        lines += lifecycle_lines(after)
    return lines


def lifecycle_lines(summary: dict) -> list[str]:
    lines = [f"after the notice, as of {summary['as_of']}: {summary['cards']} card(s) looked at"]
    lines += [f"  {n} {STEP_WORDS.get(step, step)}" for step, n in summary["steps"].items()]
    printed = sum(len((b.get("print") or {}).get("files", [])) for b in summary["batches"].values())
    if printed:
        lines.append(f"  {printed} print file(s) written (reissued notices, reminders)")
    drawn = summary.get("destruction_list")
    if drawn:
        lines.append(
            f"destruction list {drawn['list_id']}: {drawn['cards']} card(s) to check, then"
            f" `kofu destruction confirm {drawn['list_id']}`: {drawn['pdf']}"
        )
    return lines
