"""Refusal letters (再申請のお願い): one letter per application whose photo was refused,
listing every reason in words the resident can act on. They go into the print batch beside
the pickup notices. Like notices, each application gets at most one letter, ever."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

from prefect import task
from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.clock import japan_wall_clock
from kofu.base.errors import disk_full, is_disk_full
from kofu.base.fonts import register_notice_font
from kofu.base.paths import check_batch_id, inside
from kofu.base.settings import Municipality, Settings
from kofu.models import Application, ApplicationState, RefusalLetter, Stage
from kofu.models.db import removed_unless_recorded
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import claim_chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.letters.pdf import RefusalContent, RefusalReason, write_refusal_letter
from kofu.tasks.photos.core import PROBLEMS
from kofu.tasks.queues.records import record_failure, resolve_failures

# The letter is one page; six reasons fit with room to spare (measured on the layout).
MAX_REASONS_ON_LETTER = 6


def letter_number(application_pk: int, issued_on: date) -> str:
    return f"R{issued_on.year}-{application_pk:08d}"


def refusal_content(
    municipality: Municipality, number: str, app: Application, issued_on: date
) -> RefusalContent:
    """The letter goes to the address the applicant typed: matching has not run for a
    refused photo, and the applicant is the one who must act."""
    counter = municipality.counters[0]
    reasons = [
        RefusalReason(code, PROBLEMS[code].message_ja) for code in app.reasons if code in PROBLEMS
    ]
    assert reasons, "a refused photo always carries at least one photo reason"
    if len(reasons) > MAX_REASONS_ON_LETTER:
        more = len(reasons) - (MAX_REASONS_ON_LETTER - 1)
        reasons = reasons[: MAX_REASONS_ON_LETTER - 1] + [
            RefusalReason(
                "more-reasons",
                f"このほか{more}件の理由があります。詳しくは下記の窓口にお問い合わせください",
            )
        ]
    assert app.submitted_at is not None
    return RefusalContent(
        municipality=municipality.name,
        issuer_title=municipality.notice.issuer_title,
        letter_number=number,
        issued_on=issued_on,
        application_id=app.application_id,
        submitted_on=japan_wall_clock(app.submitted_at).date(),  # the day in Japan
        family_name=app.family_name or "",
        given_name=app.given_name or "",
        family_name_kana=app.family_name_kana or "",
        given_name_kana=app.given_name_kana or "",
        postal_code=app.postal_code or "",
        address=app.address or "",
        reasons=tuple(reasons),
        contact_name=counter.name,
        contact_phone=counter.phone,
        contact_hours=f"平日 {counter.opens:%-H:%M}〜{counter.closes:%-H:%M}",
    )


def write_letters_chunk(
    settings: Settings, chunk: Chunk, issued_on: date, now: datetime
) -> Counter[str]:
    font = register_notice_font(settings.data_dir / "fonts")
    out_dir = inside(settings.data_dir, settings.letters_dir / check_batch_id(chunk.batch_id))
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: list[tuple[int, str, str, str] | tuple[int, BaseException]] = []
    with claim_chunk(settings.db_url, chunk, ApplicationState.PHOTO_REJECTED) as claim:
        # Only this chunk's letters: the table grows every night, the chunk does not.
        done = set(
            claim.session.scalars(
                select(RefusalLetter.application_pk).where(
                    RefusalLetter.application_pk.between(chunk.first_pk, chunk.last_pk)
                )
            )
        )
        for app in claim.applications:
            if app.id in done:
                continue
            try:
                number = letter_number(app.id, issued_on)
                path = out_dir / f"{number}.pdf"
                content = refusal_content(settings.municipality, number, app, issued_on)
                write_refusal_letter(content, font, path, settings.municipality.notice.window)
                written.append((app.id, number, str(path), content.postal_code))
            except Exception as exc:
                if is_disk_full(exc):  # the next ones would fail the same: stop the run
                    for entry in written:
                        if len(entry) > 2:
                            Path(str(entry[2])).unlink(missing_ok=True)
                    raise disk_full("refusal letters", out_dir, chunk.batch_id) from None
                written.append((app.id, exc))
        files = [Path(str(entry[2])) for entry in written if len(entry) > 2]
        with removed_unless_recorded(
            files, "refusal letters", out_dir, chunk.batch_id, settings.db_url
        ):
            return claim.record(lambda session: _record_letters(session, chunk, written, now))


def _record_letters(session: Session, chunk: Chunk, written: list, now: datetime) -> Counter[str]:
    counts: Counter[str] = Counter()
    for entry in written:
        pk = entry[0]
        if isinstance(entry[1], BaseException):
            record_failure(session, chunk.batch_id, pk, Stage.LETTERS, entry[1], now)
            counts["failed"] += 1
            continue
        resolve_failures(session, pk, Stage.LETTERS)
        exists = select(RefusalLetter.id).where(RefusalLetter.application_pk == pk)
        if session.scalar(exists) is not None:
            continue
        _, number, path, postal_code = entry
        session.add(
            RefusalLetter(
                application_pk=pk, letter_number=number, pdf_path=path, postal_code=postal_code
            )
        )
        counts["letters"] += 1
    return counts


@task(name="letters", task_run_name="{chunk.batch_id} letters {chunk.label}", **CHUNK_TASK_OPTIONS)
def write_letters_task(settings: Settings, chunk: Chunk, issued_on: date, now: datetime) -> dict:
    return dict(write_letters_chunk(settings, chunk, issued_on, now))
