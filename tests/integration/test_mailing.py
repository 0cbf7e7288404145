"""`kofu mail`'s records (tasks/mailing/records.py) on a real database built by the
migrations: printed notices become mailed with their deadline from the mailing, a notice in
no print file is not mailed, and a second run changes nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from kofu.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Batch,
    Card,
    Notice,
    PrintBatch,
)
from kofu.models.db import unit_of_work
from kofu.tasks.mailing.records import mail_batch

BATCH = "2026-12-01"
PRINTED_DEADLINE = date(2027, 3, 1)


def _night(db_url: str, printed: int, unprinted: int) -> None:
    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id=BATCH, inbox="inbox/" + BATCH, delivery_sha256="0" * 64))
        sheet = PrintBatch(
            batch_id=BATCH, pdf_path="print-batch-001.pdf", manifest_path="m.csv", page_count=1
        )
        session.add(sheet)
        session.flush()
        for n in range(printed + unprinted):
            app = Application(
                application_id=f"{n:023d}",
                batch_id=BATCH,
                line_no=n + 1,
                state=ApplicationState.NOTICE_GENERATED,
                reasons=[],
            )
            session.add(app)
            session.flush()
            session.add(
                Notice(
                    application_pk=app.id,
                    notice_number=f"2026-{app.id:08d}",
                    pdf_path=f"{app.id}.pdf",
                    postal_code="100-0001",
                    pickup_deadline=PRINTED_DEADLINE,
                    print_batch_id=sheet.id if n < printed else None,
                )
            )
        session.commit()


def test_printed_notices_are_mailed_once_with_the_deadline_from_the_mailing(kofu_env):
    db_url = kofu_env.db_url
    _night(db_url, printed=3, unprinted=1)
    on = date(2026, 12, 10)
    with unit_of_work(db_url, write=True) as session:
        first = mail_batch(session, BATCH, on, 90, actor="test")
        session.commit()
    assert (first.mailed, first.already, first.not_printed) == (3, 0, 1)
    with unit_of_work(db_url) as session:
        states = dict(
            session.execute(
                select(Application.state, func.count()).group_by(Application.state)
            ).all()
        )
        assert states == {ApplicationState.MAILED: 3, ApplicationState.NOTICE_GENERATED: 1}
        cards = session.scalars(select(Card)).all()
        assert len(cards) == 3
        assert {(c.mailed_on, c.deadline) for c in cards} == {(on, date(2027, 3, 10))}
        assert (
            session.scalar(select(func.count()).where(AuditEvent.action == "notices-mailed")) == 1
        )

    with unit_of_work(db_url, write=True) as session:
        again = mail_batch(session, BATCH, date(2026, 12, 11), 90, actor="test")
        session.commit()
    assert (again.mailed, again.already, again.not_printed) == (0, 3, 1)
    with unit_of_work(db_url) as session:
        assert {c.mailed_on for c in session.scalars(select(Card))} == {on}
        assert (
            session.scalar(select(func.count()).where(AuditEvent.action == "notices-mailed")) == 1
        )
