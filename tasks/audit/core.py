"""The audit trail's pure part: what an event may hold, and how an event reads back.

Free text that reaches an event (a file name, an error line, the actor) goes through the
individual-number mask first; resident codes are kept only when well formed. Writing and
reading the events is tasks/audit/records.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from kofu.base.clock import local_time
from kofu.base.mynumber import mask_individual_numbers
from kofu.base.text import RESIDENT_CODE

# An import lists the resident codes of its rows up to this many: a daily change file names
# each resident it touched. A full refresh (hundreds of thousands of rows, about 14 bytes a
# code in JSON) is identified by its file's SHA-256 instead: the file names every row, and
# residents.updated_at says when each row last changed.
LISTED_CODES_MAX = 1000
ACTOR_MAX = 64  # audit_trail.actor is VARCHAR(64)


def actor_text(text: str) -> str:
    """An actor (or login account) as the trail keeps it: masked, and cut to the column."""
    return mask_individual_numbers(text)[:ACTOR_MAX]


# Values kofu made itself, left alone: a SHA-256 (12 decimal digits in a row are common in
# one), and the number of a notice kofu printed (YYYY-NNNNNNNN has the individual number's
# 4-4-4 shape). The caller puts a notice number here only once it has found the notice: a
# number typed by a person and not found is masked like any other text.
OWN_VALUES = frozenset({"sha256", "notice_number", "notice_numbers"})


def masked(value: Any) -> Any:
    """Mask anything shaped like an individual number in free text (OWN_VALUES aside)."""
    if isinstance(value, str):
        return mask_individual_numbers(value)
    if isinstance(value, dict):
        return {k: v if k in OWN_VALUES else masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def resident_codes(codes: Iterable[str | None]) -> list[str]:
    """Distinct well-formed resident codes, sorted."""
    return sorted({c for c in codes if c and RESIDENT_CODE.fullmatch(c)})


def single(codes: list[str]) -> str | None:
    """The code when there is exactly one (the event's own resident_code), else None."""
    return codes[0] if len(codes) == 1 else None


def fingerprint(path: Path) -> dict:
    """The file's SHA-256 and size; None for both when it cannot be read (the import says
    why). Taken before the import reads the file."""
    try:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
            return {"sha256": digest.hexdigest(), "bytes": fh.tell()}
    except OSError:
        return {"sha256": None, "bytes": None}


class CodeTally:
    """Passes register rows through, noting their resident codes up to LISTED_CODES_MAX."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.rows = 0

    def count(self, rows: Iterable[dict]) -> Iterator[dict]:
        for row in rows:
            self.rows += 1
            if self.rows <= LISTED_CODES_MAX:
                self.codes.append(row["resident_code"])
            yield row

    @property
    def listed(self) -> list[str] | None:
        return self.codes if self.rows <= LISTED_CODES_MAX else None


class _Event(Protocol):
    """An audit event as read (kofu.models.AuditEvent)."""

    id: int
    at: datetime
    actor: str
    action: str
    batch_id: str | None
    application_id: str | None
    resident_code: str | None
    detail: dict


def event_as_dict(event: _Event) -> dict:
    return {
        "id": event.id,
        "at": local_time(event.at).isoformat(),
        "actor": event.actor,
        "action": event.action,
        "batch_id": event.batch_id,
        "application_id": event.application_id,
        "resident_code": event.resident_code,
        "detail": event.detail,
    }
