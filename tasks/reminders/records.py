"""The reminders stage over a chunk of applications (tasks/chunks/loop.py): each card the
sweep reminded (``reminded``, tasks/lifecycle/records.py) gets its one reminder letter
(再通知), drawn to the register's name and address, with the notice's number and the
reminder's own deadline. Like the refusal letters, the stage moves no application; the
letter goes into the batch's next print file.

One reminder per card, ever: the reminders table has a unique key on the application, and
a card reminded before (its reminder came back too) is left out.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.fonts import register_notice_font
from kofu.base.paths import check_batch_id, inside
from kofu.base.settings import Settings
from kofu.models import Application, Card, Reminder, Resident, Stage, VisitWindow
from kofu.models.notices import current_notice
from kofu.tasks.chunks.core import Chunk, Outcome
from kofu.tasks.chunks.loop import StageWork, run_chunk
from kofu.tasks.chunks.records import Claim, without_row
from kofu.tasks.notices.core import reminder_number
from kofu.tasks.reminders.core import reminder_content
from kofu.tasks.reminders.pdf import write_reminder_letter


@dataclass(frozen=True)
class WrittenReminder:
    number: str
    notice_number: str
    pdf_path: str
    postal_code: str
    deadline: date
    issued_on: date


class ReminderWork(StageWork[WrittenReminder]):
    stage = Stage.REMINDERS
    what = "reminder letters"

    def __init__(self, settings: Settings, chunk: Chunk) -> None:
        self.settings = settings
        self.chunk = chunk
        self.font = register_notice_font(settings.data_dir / "fonts")
        self.out_dir = inside(
            settings.data_dir, settings.reminders_dir / check_batch_id(chunk.batch_id)
        )
        self.out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def begin(self, claim: Claim) -> list[Application]:
        return without_row(claim, Reminder, self.chunk)

    def compute(self, claim: Claim, app: Application) -> Outcome[WrittenReminder]:
        session = claim.session
        card = session.scalar(select(Card).where(Card.application_pk == app.id))
        notice = current_notice(session, app.id)
        if card is None or card.reminded_on is None or notice is None or app.resident_id is None:
            raise ValueError("a reminded card without its reminder date or current notice")
        resident = session.get_one(Resident, app.resident_id)
        issued_on = card.reminded_on
        municipality = self.settings.municipality
        deadline = issued_on + timedelta(days=municipality.lifecycle.reminder_pickup_days)
        number = reminder_number(app.id, issued_on)
        # The card waits at the counter the notice named: its booked window's, if any.
        booked = session.scalar(
            select(VisitWindow.counter).where(VisitWindow.application_pk == app.id)
        )
        content = reminder_content(
            municipality,
            letter_number=number,
            issued_on=issued_on,
            notice_number=notice.notice_number,
            notice_issued_on=notice.issued_on or issued_on,
            deadline=deadline,
            reason="returned-same-address" if card.returned_on else "not-collected",
            family_name=resident.family_name,
            given_name=resident.given_name,
            family_name_kana=resident.family_name_kana,
            given_name_kana=resident.given_name_kana,
            postal_code=resident.postal_code,
            address=resident.address,
            pickup_counter=booked,
        )
        path = self.out_dir / f"{number}.pdf"
        write_reminder_letter(content, self.font, path, municipality.notice.window)
        written = WrittenReminder(
            number, notice.notice_number, str(path), resident.postal_code, deadline, issued_on
        )
        return Outcome(app.id, written, files=(path,))

    def record(
        self, session: Session, app: Application, written: WrittenReminder | None
    ) -> list[str]:
        assert written is not None
        exists = select(Reminder.id).where(Reminder.application_pk == app.id)
        if session.scalar(exists) is not None:
            return []  # another worker recorded it
        session.add(
            Reminder(
                application_pk=app.id,
                letter_number=written.number,
                notice_number=written.notice_number,
                pdf_path=written.pdf_path,
                postal_code=written.postal_code,
                deadline=written.deadline,
                issued_on=written.issued_on,
            )
        )
        return ["reminders"]


def write_reminders_chunk(
    settings: Settings,
    chunk: Chunk,
    now: datetime,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Counter[str]:
    return run_chunk(settings.db_url, chunk, ReminderWork(settings, chunk), now, log=log)
