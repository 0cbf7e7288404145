"""Notice stage: one pickup notice (交付通知書) per matched application, then the print batch.

Each application gets at most one notice, ever: the notice table has a unique key on the
application, the transition matched -> notice_generated is guarded, and the PDF path is
derived from the notice number, so a rerun rewrites the same file instead of adding one.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from prefect import task
from sqlalchemy import func, select

from kofu.db import unit_of_work
from kofu.fonts import register_notice_font
from kofu.settings import Municipality, Settings
from models import (
    Application,
    ApplicationState,
    Notice,
    PrintBatch,
    RefusalLetter,
    Resident,
    Stage,
    check_transition,
)
from tasks.chunks import CHUNK_TASK_OPTIONS, Chunk, chunk_applications, with_db_retry
from tasks.notice_pdf import CounterInfo, NoticeContent, write_notice_pdf
from tasks.print_batch import PrintItem, merge_print_batch
from tasks.queues import record_failure, resolve_failures

S = ApplicationState


def notice_number(application_pk: int, issued_on: date) -> str:
    # Derived from the application's key: the same application always gets the same number.
    return f"{issued_on.year}-{application_pk:08d}"


def notice_content(
    municipality: Municipality, number: str, resident: Resident, issued_on: date
) -> NoticeContent:
    """The notice goes to the register's current name and address: after a move inside the
    municipality the register is right and the application is out of date."""
    counter = municipality.counters[0]
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
    )


def generate_notice_chunk(
    settings: Settings, chunk: Chunk, issued_on: date, now: datetime
) -> Counter[str]:
    """matched -> notice_generated, writing one PDF per application."""
    font = register_notice_font(settings.data_dir / "fonts")
    out_dir = settings.notices_dir / chunk.batch_id
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[int, str, Path, str, date] | tuple[int, BaseException]] = []
    with unit_of_work(settings.db_url) as session:
        for app in chunk_applications(session, chunk, S.MATCHED):
            try:
                resident = session.get_one(Resident, app.resident_id)
                number = notice_number(app.id, issued_on)
                content = notice_content(settings.municipality, number, resident, issued_on)
                path = out_dir / f"{number}.pdf"
                write_notice_pdf(content, font, path)
                written.append(
                    (app.id, number, path, resident.postal_code, content.pickup_deadline)
                )
            except Exception as exc:
                written.append((app.id, exc))
    return with_db_retry(lambda: _record_notices(settings.db_url, chunk, written, now))


def _record_notices(db_url: str, chunk: Chunk, written: list, now: datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    with unit_of_work(db_url, write=True) as session:
        for entry in written:
            app = session.get_one(Application, entry[0])
            if app.state != S.MATCHED:
                continue
            if isinstance(entry[1], BaseException):
                record_failure(session, chunk.batch_id, app.id, Stage.NOTICES, entry[1], now)
                counts["failed"] += 1
                continue
            _, number, path, postal_code, deadline = entry
            check_transition(app.state, S.NOTICE_GENERATED)
            session.add(
                Notice(
                    application_pk=app.id,
                    notice_number=number,
                    pdf_path=str(path),
                    postal_code=postal_code,
                    pickup_deadline=deadline,
                )
            )
            app.state = S.NOTICE_GENERATED
            resolve_failures(session, app.id, Stage.NOTICES)
            counts[S.NOTICE_GENERATED.value] += 1
        session.commit()
    return counts


def assemble_print_batch(settings: Settings, batch_id: str) -> PrintBatch | None:
    """Merge the batch's notices and refusal letters not yet printed into one PDF sorted by
    postal code (the bulk-mail discount needs the sort)."""
    with unit_of_work(settings.db_url) as session:
        in_batch = select(Application.id).where(Application.batch_id == batch_id)
        notices = list(
            session.scalars(
                select(Notice).where(
                    Notice.application_pk.in_(in_batch), Notice.print_batch_id.is_(None)
                )
            )
        )
        letters = list(
            session.scalars(
                select(RefusalLetter).where(
                    RefusalLetter.application_pk.in_(in_batch),
                    RefusalLetter.print_batch_id.is_(None),
                )
            )
        )
        done = session.scalar(
            select(func.count()).select_from(PrintBatch).where(PrintBatch.batch_id == batch_id)
        )
    if not notices and not letters:
        return None
    out_dir = settings.print_dir / batch_id
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Numbered after the batches already recorded, so a crash before the record below
    # leads the rerun to rewrite the same file rather than add one.
    stem = f"print-batch-{(done or 0) + 1:03d}"
    items = [PrintItem(n.notice_number, n.postal_code, Path(n.pdf_path)) for n in notices]
    items += [PrintItem(r.letter_number, r.postal_code, Path(r.pdf_path)) for r in letters]
    result = merge_print_batch(items, out_dir / f"{stem}.pdf", out_dir / f"{stem}.csv")

    def record() -> PrintBatch:
        with unit_of_work(settings.db_url, write=True) as session:
            batch = PrintBatch(
                batch_id=batch_id,
                pdf_path=str(result.pdf_path),
                manifest_path=str(result.manifest_path),
                page_count=result.page_count,
            )
            session.add(batch)
            session.flush()
            for notice in notices:
                session.get_one(Notice, notice.id).print_batch_id = batch.id
            for letter in letters:
                session.get_one(RefusalLetter, letter.id).print_batch_id = batch.id
            session.commit()
            return batch

    return with_db_retry(record)


@task(name="notices", task_run_name="{chunk.batch_id} notices {chunk.label}", **CHUNK_TASK_OPTIONS)
def generate_notices_task(settings: Settings, chunk: Chunk, issued_on: date, now: datetime) -> dict:
    return dict(generate_notice_chunk(settings, chunk, issued_on, now))


@task(name="print-batch", task_run_name="{batch_id} print batch", **CHUNK_TASK_OPTIONS)
def print_batch_task(settings: Settings, batch_id: str) -> dict:
    batch = assemble_print_batch(settings, batch_id)
    if batch is None:
        return {"pages": 0, "pdf": None}
    return {"pages": batch.page_count, "pdf": batch.pdf_path}
