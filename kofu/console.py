"""How counts are shown on a terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.table import Table


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


MATCH_KINDS = {
    "individual-number": "matched by individual number and birth date",
    "exact": "matched by exact name, birth date and address",
    "scored": "matched by score (a clear winner)",
    "review": "sent to a person (needs_review)",
    "no-match": "not in the register (no_match)",
    "ineligible": "found, but moved out, deceased or removed",
}


def match_kind_counts(decisions: Iterable[dict]) -> Counter[str]:
    """Applications per MATCH_KINDS key, from tasks.reports.match_methods' values."""
    counts: Counter[str] = Counter()
    for d in decisions:
        if d["state"] == "ineligible":
            counts["ineligible"] += 1
        elif d["method"]:
            counts[d["method"]] += 1
        elif d["state"] == "no_match":
            counts["no-match"] += 1
        elif d["state"] == "needs_review" and d["review_stage"] == "matching":
            counts["review"] += 1
    return counts


def matching_table(decisions: Iterable[dict]) -> Table:
    """How the matching stage decided: each tier's matches, reviews, no-matches, ineligible."""
    counts = match_kind_counts(decisions)
    table = Table(title="matching")
    table.add_column("decision")
    table.add_column("applications", justify="right")
    for kind, label in MATCH_KINDS.items():
        table.add_row(label, str(counts[kind]))
    return table
