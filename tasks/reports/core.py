"""What the reports count, as values: no database, no Prefect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

MATCH_KINDS = {
    "individual-number": "matched by individual number and birth date",
    "exact": "matched by exact name, birth date and address",
    "scored": "matched by score (a clear winner)",
    "review": "sent to a person (needs_review)",
    "no-match": "not in the register (no_match)",
    "ineligible": "found, but moved out, deceased or removed",
}


def match_kind_counts(decisions: Iterable[dict]) -> Counter[str]:
    """Applications per MATCH_KINDS key, from kofu.tasks.reports.records.match_methods' values."""
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
