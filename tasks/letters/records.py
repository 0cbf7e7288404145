"""The letter stage over a chunk of applications (tasks/chunks/loop.py): one refusal letter
for each refused photo (photo_rejected) that has none yet. The state does not change: the
letter is recorded beside the application, which stays photo_rejected. A letter that cannot
be written goes to the failure queue; a full disk stops the run."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.fonts import register_notice_font
from kofu.base.paths import check_batch_id, inside
from kofu.base.settings import Settings
from kofu.models import Application, RefusalLetter, Stage
from kofu.tasks.chunks.core import Chunk, Outcome
from kofu.tasks.chunks.loop import StageWork, run_chunk
from kofu.tasks.chunks.records import Claim, without_row
from kofu.tasks.letters.core import letter_number, refusal_content
from kofu.tasks.letters.pdf import write_refusal_letter


@dataclass(frozen=True)
class WrittenLetter:
    number: str
    pdf_path: str
    postal_code: str


class LetterWork(StageWork[WrittenLetter]):
    stage = Stage.LETTERS
    what = "refusal letters"

    def __init__(self, settings: Settings, chunk: Chunk, issued_on: date) -> None:
        self.settings = settings
        self.chunk = chunk
        self.issued_on = issued_on
        self.font = register_notice_font(settings.data_dir / "fonts")
        self.out_dir = inside(
            settings.data_dir, settings.letters_dir / check_batch_id(chunk.batch_id)
        )
        self.out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def begin(self, claim: Claim) -> list[Application]:
        return without_row(claim, RefusalLetter, self.chunk)

    def compute(self, claim: Claim, app: Application) -> Outcome[WrittenLetter]:
        municipality = self.settings.municipality
        number = letter_number(app.id, self.issued_on)
        path = self.out_dir / f"{number}.pdf"
        content = refusal_content(
            municipality,
            number,
            self.issued_on,
            application_id=app.application_id,
            submitted_at=app.submitted_at,
            reasons=app.reasons,
            family_name=app.family_name,
            given_name=app.given_name,
            family_name_kana=app.family_name_kana,
            given_name_kana=app.given_name_kana,
            postal_code=app.postal_code,
            address=app.address,
        )
        write_refusal_letter(content, self.font, path, municipality.notice.window)
        letter = WrittenLetter(number, str(path), content.postal_code)
        return Outcome(app.id, letter, files=(path,))

    def record(self, session: Session, app: Application, letter: WrittenLetter | None) -> list[str]:
        assert letter is not None
        exists = select(RefusalLetter.id).where(RefusalLetter.application_pk == app.id)
        if session.scalar(exists) is not None:
            return []  # another worker recorded it: nothing to count, nothing left to retry
        session.add(
            RefusalLetter(
                application_pk=app.id,
                letter_number=letter.number,
                pdf_path=letter.pdf_path,
                postal_code=letter.postal_code,
            )
        )
        return ["letters"]


def write_letters_chunk(
    settings: Settings,
    chunk: Chunk,
    issued_on: date,
    now: datetime,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Counter[str]:
    work = LetterWork(settings, chunk, issued_on)
    return run_chunk(settings.db_url, chunk, work, now, log=log)
