"""The destruction checklist (廃棄予定一覧, 台帳照合用): the cards drawn for destruction, as values.

A card that is never collected, or whose resident moved out, died or was removed from the
register, is destroyed (tasks/lifecycle/core.py decides when it is due). Before that a person
checks each physical card against the ledger: kofu draws the list, staff print it
(tasks/destruction/pdf.py), tick every card, sign, and then run
``kofu destruction confirm LIST_ID``. The same list as CSV is for the ledger's own tools.

Values only: no database, no Prefect. The list carries the J-LIS application id, never the
individual number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from kofu.base.spreadsheet import spreadsheet_safe

# tasks/lifecycle/core.py's reason codes for a card due for destruction, in the words the
# checklist prints.
REASON_JA: dict[str, str] = {
    "not-collected": "受取期限経過（再通知後）",
    "resident-moved-out": "転出",
    "resident-deceased": "死亡",
    "resident-removed": "職権消除",
    "returned-unknown-address": "宛所不明で返戻",
}
APPLICATION_ID_DIGITS = 23  # J-LIS's application id (docs/formats.md)
TWELVE_DIGITS = re.compile(r"\d{12}")
CSV_COLUMNS = (
    "list_id",
    "position",
    "notice_number",
    "application_id",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "reason",
    "reason_ja",
    "due_on",
)


@dataclass(frozen=True)
class ChecklistRow:
    position: int  # 1-based: the "No." staff tick against
    notice_number: str  # e.g. "2026-00000123", or a reissue's "2026-00000123-2"
    application_id: str  # 23 digits; printed in groups of five, never as one run
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    reason: str  # a REASON_JA key
    due_on: date  # the day the card is due for destruction

    def __post_init__(self) -> None:
        # Messages name the row, never the data.
        if self.reason not in REASON_JA:
            raise ValueError(f"checklist row {self.position}: unknown reason {self.reason!r}")
        aid = self.application_id
        if not (aid.isascii() and aid.isdigit() and len(aid) == APPLICATION_ID_DIGITS):
            raise ValueError(
                f"checklist row {self.position}: application id is not {APPLICATION_ID_DIGITS}"
                " digits"
            )


@dataclass(frozen=True)
class Checklist:
    list_id: int
    as_of: date
    municipality: str
    drawn_by: str  # the staff member who drew the list (KOFU_ACTOR)
    rows: tuple[ChecklistRow, ...]

    def __post_init__(self) -> None:
        # Staff tick "No. n" on paper and confirm the list by its id: the numbers must run
        # 1, 2, 3 … with no gap, or a skipped card would go unnoticed.
        positions = [row.position for row in self.rows]
        if positions != list(range(1, len(positions) + 1)):
            raise ValueError(f"checklist {self.list_id}: positions must run 1 to {len(positions)}")


def _csv_record(checklist: Checklist, row: ChecklistRow) -> list[str]:
    record = [
        str(checklist.list_id),
        str(row.position),
        row.notice_number,
        row.application_id,
        row.family_name,
        row.given_name,
        row.family_name_kana,
        row.given_name_kana,
        row.birth_date.isoformat(),
        row.reason,
        REASON_JA[row.reason],
        row.due_on.isoformat(),
    ]
    # The application id is 23 digits by construction; anywhere else a 12-digit run could
    # be an individual number that reached the data, and must not leave kofu.
    others = record[:3] + record[4:]
    if any(TWELVE_DIGITS.search(field) for field in others):
        raise ValueError(
            f"checklist {checklist.list_id} row {row.position}: a 12-digit number would be written"
        )
    return [spreadsheet_safe(field) for field in record]


def checklist_csv(checklist: Checklist) -> str:
    """The list as CSV text: a header row, then one row per card in position order; ``\\r\\n``
    line ends (RFC 4180), no BOM. A cell a spreadsheet would run as a formula gets a leading
    apostrophe (kofu.base.spreadsheet)."""
    buf = io.StringIO(newline="")
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(CSV_COLUMNS)
    out.writerows(_csv_record(checklist, row) for row in checklist.rows)
    return buf.getvalue()
