"""How counts are shown on a terminal."""

from __future__ import annotations

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
    return table
