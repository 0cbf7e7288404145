"""Print files: the night's notices, refusal letters and reminders as PDF files for the print shop.

- Sorted by postal code across the whole night's output: Japan Post discounts bulk mail
  that arrives sorted that way.
- Split into files of at most ``max_sheets`` sheets, each opening with a cover sheet.
- One bookmark per notice or letter, and a manifest CSV per file (number, file, page,
  postal code) so staff can find a sheet in the printed stack. No other personal data.
- Optionally encrypted with AES-256.

This module plans the files (the order, the split, the cover's counts, the fingerprint that
tells a notice can be drawn again the same); tasks/printing/pdf.py writes one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from kofu.base.settings import EnvelopeWindow
from kofu.tasks.notices.pdf import NoticeContent
from kofu.tasks.printing.cover import Cover

COVER_SHEETS = 1


@dataclass(frozen=True)
class PrintItem:
    """One mail piece: a notice, a refusal letter or a reminder, one A4 sheet."""

    number: str  # notice or letter number: the bookmark and the manifest's key
    postal_code: str
    pdf_path: Path  # the item's own PDF
    kind: Literal["notice", "letter", "reminder"] = "notice"
    # Set: drawn on the file's canvas (shared font subset). None: merged from pdf_path.
    content: NoticeContent | None = None


def notice_fingerprint(content: NoticeContent, window: EnvelopeWindow) -> str:
    """SHA-256 of everything a notice shows, and of where its address goes (the envelope
    window). Stored with the notice when its PDF is written, so the print file can tell
    that the notice it draws again is the same one."""
    shown = {"content": dataclasses.asdict(content), "window": window.model_dump()}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


def postal_digits(postal_code: str) -> str:
    # Digits only, so "100-0001", "1000001" and "〒100-0001" sort together.
    return re.sub(r"\D", "", postal_code)


def postal_sort_key(item: PrintItem) -> tuple[str, str]:
    return postal_digits(item.postal_code), item.number


def split_into_files(items: Sequence[PrintItem], max_sheets: int) -> list[list[PrintItem]]:
    """The night's items in postal-code order, cut into files of at most ``max_sheets``
    sheets (the cover sheet included). The same items always give the same files."""
    if max_sheets <= COVER_SHEETS:
        raise ValueError(f"max_sheets must leave room for the cover: {max_sheets}")
    numbers = [item.number for item in items]
    if len(set(numbers)) != len(numbers):
        # Two rows for one notice would print and mail it twice.
        raise ValueError("duplicate notice numbers in print batch")
    ordered = sorted(items, key=postal_sort_key)
    per_file = max_sheets - COVER_SHEETS
    return [ordered[i : i + per_file] for i in range(0, len(ordered), per_file)]


def cover_for(
    items: Sequence[PrintItem],
    *,
    municipality: str,
    batch_id: str,
    file_name: str,
    part: int,
    parts: int,
    printed_on: date,
) -> Cover:
    """The cover's counts for one file of ``items`` (already in postal-code order)."""
    letters = sum(item.kind == "letter" for item in items)
    reminders = sum(item.kind == "reminder" for item in items)
    return Cover(
        municipality=municipality,
        batch_id=batch_id,
        file_name=file_name,
        part=part,
        parts=parts,
        printed_on=printed_on,
        notices=len(items) - letters - reminders,
        letters=letters,
        reminders=reminders,
        first_postal_code=items[0].postal_code,
        last_postal_code=items[-1].postal_code,
    )
