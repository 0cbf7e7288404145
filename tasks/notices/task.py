"""Notice stage: one pickup notice (交付通知書) per matched application, then the print batch.

Each application gets at most one notice, ever: the notice table has a unique key on the
application, the transition matched -> notice_generated is guarded, and the PDF path is
derived from the notice number, so a rerun rewrites the same file instead of adding one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.errors import disk_full, is_disk_full
from kofu.base.fonts import register_notice_font
from kofu.base.paths import check_batch_id, inside
from kofu.base.settings import Municipality, Settings, print_password
from kofu.models import (
    Application,
    ApplicationState,
    Notice,
    PrintBatch,
    RefusalLetter,
    Resident,
    Stage,
    VisitWindow,
    check_transition,
)
from kofu.models.db import removed_unless_recorded, unit_of_work
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import claim_chunk
from kofu.tasks.chunks.retry import with_db_retry
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.duplicates.records import hold_as_duplicate, others_in_progress
from kofu.tasks.notices.pdf import CounterInfo, NoticeContent, write_notice_pdf
from kofu.tasks.notices.pdf import VisitWindow as VisitLine
from kofu.tasks.printing.batch import (
    PrintBatchResult,
    PrintItem,
    cover_for,
    notice_fingerprint,
    plan_print_batches,
    write_print_batch,
)
from kofu.tasks.queues.records import record_failure, resolve_failures
from kofu.tasks.visits.task import serving_counters, visit_windows_for

S = ApplicationState


def notice_number(application_pk: int, issued_on: date) -> str:
    # Derived from the application's key: the same application always gets the same number.
    return f"{issued_on.year}-{application_pk:08d}"


def notice_content(
    municipality: Municipality,
    number: str,
    resident: Resident,
    issued_on: date,
    booked: VisitWindow | None = None,
) -> NoticeContent:
    """The notice goes to the register's current name and address: after a move inside the
    municipality the register is right and the application is out of date.

    The pickup place is the counter of the booked visit window (tasks/visits/task.py);
    without one, the first counter serving the resident's postal code."""
    by_name = {c.name: c for c in municipality.counters}
    if booked is not None and booked.counter in by_name:
        counter = by_name[booked.counter]
        visit = VisitLine(booked.counter, booked.visit_date, booked.band_start, booked.band_end)
    else:
        counter = municipality.counters[serving_counters(municipality, resident.postal_code)[0]]
        visit = None
    return NoticeContent(
        municipality=municipality.name,
        issuer_title=municipality.notice.issuer_title,
        notice_number=number,
        issued_on=issued_on,
        pickup_deadline=issued_on + timedelta(days=municipality.notice.pickup_days),
        family_name=resident.family_name,
        given_name=resident.given_name,
        family_name_kana=resident.family_name_kana,
        given_name_kana=resident.given_name_kana,
        postal_code=resident.postal_code,
        address=resident.address,
        birth_date=resident.birth_date,
        counter=CounterInfo(
            name=counter.name,
            address=counter.address,
            phone=counter.phone,
            hours=f"平日 {counter.opens:%-H:%M}〜{counter.closes:%-H:%M}",
        ),
        visit=visit,
    )


def generate_notice_chunk(
    settings: Settings, chunk: Chunk, issued_on: date, now: datetime
) -> Counter[str]:
    """matched -> notice_generated, writing one PDF per application."""
    font = register_notice_font(settings.data_dir / "fonts")
    out_dir = inside(settings.data_dir, settings.notices_dir / check_batch_id(chunk.batch_id))
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[int, str, Path, str, date, date, str] | tuple[int, BaseException | None]]
    written = []
    with claim_chunk(settings.db_url, chunk, S.MATCHED) as claim:
        session, apps = claim.session, claim.applications
        windows = visit_windows_for(session, [app.id for app in apps])
        for app in apps:
            if others_in_progress(session, app.resident_id, app.id):
                written.append((app.id, None))  # a second card in progress: no notice
                continue
            try:
                resident = session.get_one(Resident, app.resident_id)
                number = notice_number(app.id, issued_on)
                content = notice_content(
                    settings.municipality, number, resident, issued_on, windows.get(app.id)
                )
                path = out_dir / f"{number}.pdf"
                write_notice_pdf(content, font, path, settings.municipality.notice.window)
                written.append(
                    (
                        app.id,
                        number,
                        path,
                        resident.postal_code,
                        content.pickup_deadline,
                        # What the print batch needs to draw this notice again, the same.
                        issued_on,
                        notice_fingerprint(content, settings.municipality.notice.window),
                    )
                )
            except Exception as exc:
                if is_disk_full(exc):  # the next ones would fail the same: stop the run
                    _remove(written)
                    raise disk_full("notices", out_dir, chunk.batch_id) from None
                written.append((app.id, exc))
        files = [Path(entry[2]) for entry in written if len(entry) > 2]
        with removed_unless_recorded(files, "notices", out_dir, chunk.batch_id, settings.db_url):
            return claim.record(lambda session: _record_notices(session, chunk, written, now))


def _remove(written: list) -> None:
    """The chunk's notices written so far: none of them is recorded."""
    for entry in written:
        if len(entry) > 2:
            Path(entry[2]).unlink(missing_ok=True)


def _record_notices(session: Session, chunk: Chunk, written: list, now: datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    for entry in written:
        app = session.get_one(Application, entry[0])
        if app.state != S.MATCHED:
            continue
        # The last guard of one resident, one notice: looked up again in the write
        # transaction, so an application matched meanwhile is seen (tasks/duplicates/records.py).
        others = others_in_progress(session, app.resident_id, app.id)
        if others:
            if len(entry) > 2:
                Path(entry[2]).unlink(missing_ok=True)  # drawn before the other turned up
            hold_as_duplicate(session, app, app.resident_id, others)
            counts["duplicate-application"] += 1
            continue
        if entry[1] is None:
            continue  # the other one is gone since: the next run writes this notice
        if isinstance(entry[1], BaseException):
            record_failure(session, chunk.batch_id, app.id, Stage.NOTICES, entry[1], now)
            counts["failed"] += 1
            continue
        _, number, path, postal_code, deadline, issued_on, digest = entry
        check_transition(app.state, S.NOTICE_GENERATED)
        session.add(
            Notice(
                application_pk=app.id,
                notice_number=number,
                pdf_path=str(path),
                postal_code=postal_code,
                pickup_deadline=deadline,
                issued_on=issued_on,
                content_digest=digest,
            )
        )
        app.state = S.NOTICE_GENERATED
        resolve_failures(session, app.id, Stage.NOTICES)
        counts[S.NOTICE_GENERATED.value] += 1
    return counts


@dataclass(frozen=True)
class PrintFilePlan:
    """One print file to write: its number and, in print order, the keys of its mail pieces
    (ids only: a plan crosses to the task runner's processes)."""

    batch_id: str
    part: int
    parts: int
    pieces: tuple[tuple[str, int], ...]  # ("notice" | "letter", primary key)

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
    files = plan_print_batches(items, settings.municipality.print.max_sheets)
    kinds = {Notice: "notice", RefusalLetter: "letter"}
    return [
        PrintFilePlan(
            batch_id,
            part,
            last + len(files),
            tuple((kinds[rows[i.number][0]], rows[i.number][1]) for i in planned),
        )
        for part, planned in enumerate(files, start=last + 1)
    ]


def print_file(settings: Settings, plan: PrintFilePlan, printed_on: date) -> PrintBatchResult:
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
        result = write_print_batch(
            group, cover, files[0], files[1], font, password, municipality.notice.window
        )
        record = partial(
            _record_print_batch,
            settings.db_url,
            plan.batch_id,
            result,
            [rows[i.number] for i in group],
        )
        with_db_retry(record)
    return result


def assemble_print_batch(
    settings: Settings, batch_id: str, printed_on: date
) -> list[PrintBatchResult]:
    """Every print file of the batch, one after the other (plan_print_files, print_file).
    Crash-safe: each file is recorded with its pieces as soon as it is written; a rerun
    after a crash writes the pieces left into newly numbered files, a rerun after success
    finds nothing to print."""
    print_password(settings)  # a missing password stops us before any write
    return [print_file(settings, plan, printed_on) for plan in plan_print_files(settings, batch_id)]


def _last_part(session: Session, batch_id: str) -> int:
    """The highest file number recorded for the batch (print-batch-NNN.pdf), 0 for none."""
    paths = session.scalars(select(PrintBatch.pdf_path).where(PrintBatch.batch_id == batch_id))
    numbers = [Path(p).stem.rsplit("-", 1)[-1] for p in paths]
    return max((int(n) for n in numbers if n.isdigit()), default=0)


Row = tuple[type[Notice] | type[RefusalLetter], int]  # the table and key of a mail piece


def _unprinted_items(session: Session, batch_id: str) -> tuple[list[PrintItem], dict[str, Row]]:
    """The batch's notices and letters not in a print batch yet, and each one's table row."""
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
    letters = session.execute(
        select(
            RefusalLetter.id,
            RefusalLetter.letter_number,
            RefusalLetter.postal_code,
            RefusalLetter.pdf_path,
        )
        .join(Application, Application.id == RefusalLetter.application_pk)
        .where(Application.batch_id == batch_id, RefusalLetter.print_batch_id.is_(None))
    )
    for pk, number, postal_code, pdf_path in letters:
        items.append(PrintItem(number, postal_code, Path(pdf_path), "letter"))
        rows[number] = (RefusalLetter, pk)
    return items, rows


def _planned_items(session: Session, plan: PrintFilePlan) -> tuple[list[PrintItem], dict[str, Row]]:
    """The plan's pieces as print items, in the plan's order, and each one's table row."""
    wanted = {kind: [pk for k, pk in plan.pieces if k == kind] for kind in ("notice", "letter")}
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
    for pk, number, postal_code, pdf_path in session.execute(
        select(
            RefusalLetter.id,
            RefusalLetter.letter_number,
            RefusalLetter.postal_code,
            RefusalLetter.pdf_path,
        ).where(RefusalLetter.id.in_(wanted["letter"]))
    ):
        item = PrintItem(number, postal_code, Path(pdf_path), "letter")
        found["letter", pk] = (item, (RefusalLetter, pk))
    missing = [piece for piece in plan.pieces if piece not in found]
    if missing:
        raise ValueError(f"print file {plan.label}: {len(missing)} planned piece(s) are gone")
    ordered = [found[piece] for piece in plan.pieces]
    return [item for item, _ in ordered], {item.number: row for item, row in ordered}


def _with_content(
    session: Session, municipality: Municipality, items: list[PrintItem], rows: dict[str, Row]
) -> list[PrintItem]:
    """The notices among ``items`` with their content rebuilt, so the batch draws them on its
    own canvas; the rest unchanged (merged from their own PDF)."""
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
    notice predates migration 0006. The print batch then merges the notice's own PDF."""
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


def _record_print_batch(
    db_url: str, batch_id: str, result: PrintBatchResult, rows: list[Row]
) -> None:
    with unit_of_work(db_url, write=True) as session:
        batch = PrintBatch(
            batch_id=batch_id,
            pdf_path=str(result.pdf_path),
            manifest_path=str(result.manifest_path),
            page_count=result.page_count,
        )
        session.add(batch)
        session.flush()
        for table, pk in rows:
            session.get_one(table, pk).print_batch_id = batch.id
        session.commit()


@task(name="notices", task_run_name="{chunk.batch_id} notices {chunk.label}", **CHUNK_TASK_OPTIONS)
def generate_notices_task(settings: Settings, chunk: Chunk, issued_on: date, now: datetime) -> dict:
    return dict(generate_notice_chunk(settings, chunk, issued_on, now))


@task(
    name="print-file",
    task_run_name="{plan.batch_id} print batch {plan.part}/{plan.parts}",
    **CHUNK_TASK_OPTIONS,
)
def print_file_task(settings: Settings, plan: PrintFilePlan, printed_on: date) -> dict:
    result = print_file(settings, plan, printed_on)
    return {
        "file": str(result.pdf_path),
        "pages": result.page_count,
        # Notices drawn on the shared canvas, and items merged from their own (larger) PDF.
        "redrawn": result.drawn,
        "merged": result.merged,
    }
