"""The print step in the database: which of a batch's notices, refusal letters and reminders are not
printed yet, planned into print files (``plan_print_files``), and one planned file written
and recorded with its pieces (``print_file``). The drawing is tasks/printing/core.py and
tasks/printing/pdf.py; a print file's row is kofu.models.PrintBatch (table print_batches).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.fonts import register_notice_font
from kofu.base.paths import check_batch_id, inside
from kofu.base.settings import Municipality, Settings, print_password
from kofu.models import (
    Application,
    Notice,
    PrintBatch,
    RefusalLetter,
    Reminder,
    Resident,
    VisitWindow,
)
from kofu.models.db import removed_unless_recorded, unit_of_work
from kofu.tasks.notices.core import notice_content
from kofu.tasks.notices.pdf import NoticeContent
from kofu.tasks.printing.core import PrintItem, cover_for, notice_fingerprint, split_into_files
from kofu.tasks.printing.pdf import PrintFileResult, write_print_file
from kofu.tasks.visits.records import visit_windows_for


@dataclass(frozen=True)
class PrintFilePlan:
    """One print file to write: its number and, in print order, the keys of its mail pieces
    (ids only: a plan crosses to the task runner's processes)."""

    batch_id: str
    part: int
    parts: int
    pieces: tuple[tuple[str, int], ...]  # ("notice" | "letter" | "reminder", primary key)

    @property
    def label(self) -> str:
        return f"{self.part}/{self.parts}"


def plan_print_files(settings: Settings, batch_id: str) -> list[PrintFilePlan]:
    """The batch's notices and refusal letters not yet printed, in postal-code order (the
    bulk-mail discount needs the sort), cut into files of at most [print] max_sheets sheets.

    Files are numbered after the highest number already recorded for the batch, so a rerun
    after a crash (or after one file of several failed) never rewrites a recorded file."""
    with unit_of_work(settings.db_url) as session:
        items, rows = _unprinted_items(session, batch_id)
        last = _last_part(session, batch_id)
    if not items:
        return []
    files = split_into_files(items, settings.municipality.print.max_sheets)
    kinds = {Notice: "notice", **{table: kind for kind, table in MERGED.items()}}
    return [
        PrintFilePlan(
            batch_id,
            part,
            last + len(files),
            tuple((kinds[rows[i.number][0]], rows[i.number][1]) for i in planned),
        )
        for part, planned in enumerate(files, start=last + 1)
    ]


def print_file(settings: Settings, plan: PrintFilePlan, printed_on: date) -> PrintFileResult:
    """Write one planned print file and its manifest, and record it with its pieces in one
    transaction as soon as it is written. Files of a batch are independent: the task runner
    writes them side by side."""
    password = print_password(settings)  # a missing password stops us before any write
    municipality = settings.municipality
    font = register_notice_font(settings.data_dir / "fonts")
    out_dir = inside(settings.data_dir, settings.print_dir / check_batch_id(plan.batch_id))
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = f"print-batch-{plan.part:03d}"
    # One file's pieces at a time: a night of 100,000 never sits in memory at once.
    with unit_of_work(settings.db_url) as session:
        items, rows = _planned_items(session, plan)
        group = _with_content(session, municipality, items, rows)
    cover = cover_for(
        group,
        municipality=municipality.name,
        batch_id=plan.batch_id,
        file_name=f"{stem}.pdf",
        part=plan.part,
        parts=plan.parts,
        printed_on=printed_on,
    )
    files = [out_dir / f"{stem}.pdf", out_dir / f"{stem}.csv"]
    # A file written but not recorded is removed: the rerun writes it again.
    with removed_unless_recorded(files, "print files", out_dir, plan.batch_id, settings.db_url):
        result = write_print_file(
            group, cover, files[0], files[1], font, password, municipality.notice.window
        )
        # Not retried here: the print task's retry is the one layer (tasks/chunks/retry.py).
        _record_print_file(settings.db_url, plan.batch_id, result, [rows[i.number] for i in group])
    return result


def _last_part(session: Session, batch_id: str) -> int:
    """The highest file number recorded for the batch (print-batch-NNN.pdf), 0 for none."""
    paths = session.scalars(select(PrintBatch.pdf_path).where(PrintBatch.batch_id == batch_id))
    numbers = [Path(p).stem.rsplit("-", 1)[-1] for p in paths]
    return max((int(n) for n in numbers if n.isdigit()), default=0)


# The mail pieces merged from their own PDF, by kind: the letters and the reminders.
MERGED: dict[str, type[RefusalLetter] | type[Reminder]] = {
    "letter": RefusalLetter,
    "reminder": Reminder,
}
Row = tuple[type[Notice] | type[RefusalLetter] | type[Reminder], int]  # a piece's table, key


def _unprinted_items(session: Session, batch_id: str) -> tuple[list[PrintItem], dict[str, Row]]:
    """The batch's notices and letters not in a print file yet, and each one's table row."""
    items: list[PrintItem] = []
    rows: dict[str, Row] = {}
    notices = session.execute(
        select(Notice.id, Notice.notice_number, Notice.postal_code, Notice.pdf_path)
        .join(Application, Application.id == Notice.application_pk)
        .where(
            Application.batch_id == batch_id,
            Notice.print_batch_id.is_(None),
            Notice.voided_at.is_(None),  # a withdrawn application's notice never prints
        )
    )
    for pk, number, postal_code, pdf_path in notices:
        items.append(PrintItem(number, postal_code, Path(pdf_path), "notice"))
        rows[number] = (Notice, pk)
    for kind, table in MERGED.items():
        pieces = session.execute(
            select(table.id, table.letter_number, table.postal_code, table.pdf_path)
            .join(Application, Application.id == table.application_pk)
            .where(Application.batch_id == batch_id, table.print_batch_id.is_(None))
        )
        for pk, number, postal_code, pdf_path in pieces:
            items.append(PrintItem(number, postal_code, Path(pdf_path), kind))  # type: ignore[arg-type]
            rows[number] = (table, pk)
    return items, rows


def _planned_items(session: Session, plan: PrintFilePlan) -> tuple[list[PrintItem], dict[str, Row]]:
    """The plan's pieces as print items, in the plan's order, and each one's table row."""
    wanted = {kind: [pk for k, pk in plan.pieces if k == kind] for kind in ("notice", *MERGED)}
    found: dict[tuple[str, int], tuple[PrintItem, Row]] = {}
    for pk, number, postal_code, pdf_path, voided_at in session.execute(
        select(
            Notice.id, Notice.notice_number, Notice.postal_code, Notice.pdf_path, Notice.voided_at
        ).where(Notice.id.in_(wanted["notice"]))
    ):
        if voided_at is not None:  # withdrawn since the plan was made: left out
            plan = replace(plan, pieces=tuple(p for p in plan.pieces if p != ("notice", pk)))
            continue
        found["notice", pk] = (PrintItem(number, postal_code, Path(pdf_path)), (Notice, pk))
    for kind, table in MERGED.items():
        for pk, number, postal_code, pdf_path in session.execute(
            select(table.id, table.letter_number, table.postal_code, table.pdf_path).where(
                table.id.in_(wanted[kind])
            )
        ):
            item = PrintItem(number, postal_code, Path(pdf_path), kind)  # type: ignore[arg-type]
            found[kind, pk] = (item, (table, pk))
    missing = [piece for piece in plan.pieces if piece not in found]
    if missing:
        raise ValueError(f"print file {plan.label}: {len(missing)} planned piece(s) are gone")
    ordered = [found[piece] for piece in plan.pieces]
    return [item for item, _ in ordered], {item.number: row for item, row in ordered}


def _with_content(
    session: Session, municipality: Municipality, items: list[PrintItem], rows: dict[str, Row]
) -> list[PrintItem]:
    """The notices among ``items`` with their content rebuilt, so the print file draws them on
    its own canvas; the rest unchanged (merged from their own PDF)."""
    pks = [rows[item.number][1] for item in items if item.kind == "notice"]
    notices = session.execute(
        select(Notice, Resident)
        .join(Application, Application.id == Notice.application_pk)
        .outerjoin(Resident, Resident.id == Application.resident_id)
        .where(Notice.id.in_(pks))
    ).all()
    windows = visit_windows_for(session, [notice.application_pk for notice, _ in notices])
    contents = {
        notice.notice_number: _same_content(
            municipality, notice, resident, windows.get(notice.application_pk)
        )
        for notice, resident in notices
    }
    return [replace(item, content=contents.get(item.number)) for item in items]


def _same_content(
    municipality: Municipality,
    notice: Notice,
    resident: Resident | None,
    booked: VisitWindow | None,
) -> NoticeContent | None:
    """The notice's content rebuilt as the notice stage built it, or None when it would not
    be what the notice's PDF shows: the register or the settings changed since, or the
    notice predates migration 0006. The print file then merges the notice's own PDF."""
    if resident is None or notice.issued_on is None or notice.content_digest is None:
        return None
    try:
        content = notice_content(
            municipality, notice.notice_number, resident, notice.issued_on, booked
        )
    except Exception:
        # Whatever stops the rebuild (a counter removed from the settings, say), the
        # notice's own PDF is still right to print.
        return None
    same = notice_fingerprint(content, municipality.notice.window) == notice.content_digest
    return content if same else None


def _record_print_file(
    db_url: str, batch_id: str, result: PrintFileResult, rows: list[Row]
) -> None:
    """The print file's row (table print_batches) and its pieces pointing at it, committed."""
    with unit_of_work(db_url, write=True) as session:
        printed = PrintBatch(
            batch_id=batch_id,
            pdf_path=str(result.pdf_path),
            manifest_path=str(result.manifest_path),
            page_count=result.page_count,
        )
        session.add(printed)
        session.flush()
        for table, pk in rows:
            session.get_one(table, pk).print_batch_id = printed.id
        session.commit()
