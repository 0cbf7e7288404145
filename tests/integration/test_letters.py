"""The letter stage on a real database (the letter's own rendering: tests/unit/test_refusal_letter.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.helpers import compact_text
from tests.unit.test_refusal_letter import APPLICATION_ID


def test_the_letter_gives_the_day_the_application_was_sent_in_japan(kofu_env):
    """Sent at 07:30 in Japan on the 26th, when it was still the 25th in UTC: the letter says
    the 26th. SQLite keeps the wall-clock time the stamp came with; PostgreSQL keeps the
    instant and gives it back in UTC. The real letter stage, on the test's database."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from kofu.models import Application, ApplicationState, Batch, RefusalLetter
    from kofu.models.db import unit_of_work
    from kofu.tasks.chunks.records import plan_chunks
    from kofu.tasks.letters.records import write_letters_chunk

    sent = datetime(2026, 11, 26, 7, 30, tzinfo=ZoneInfo("Asia/Tokyo"))  # as intake stores it
    with unit_of_work(kofu_env.db_url, write=True) as session:
        session.add(Batch(id="b1", inbox="/inbox", delivery_sha256="0" * 64))
        session.flush()
        session.add(
            Application(
                application_id=APPLICATION_ID,
                batch_id="b1",
                line_no=1,
                state=ApplicationState.PHOTO_REJECTED,
                reasons=["head-cut-off"],
                submitted_at=sent,
                family_name="見本",
                given_name="太郎",
                family_name_kana="ミホン",
                given_name_kana="タロウ",
                postal_code="100-0001",
                address="見本市中央1丁目2番3号",
            )
        )
        session.commit()
    with unit_of_work(kofu_env.db_url) as session:
        (chunk,) = plan_chunks(session, "b1", ApplicationState.PHOTO_REJECTED, 250)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert write_letters_chunk(kofu_env, chunk, date(2026, 11, 28), now) == {"letters": 1}
    with unit_of_work(kofu_env.db_url) as session:
        (letter,) = session.scalars(select(RefusalLetter)).all()
    text = compact_text(Path(letter.pdf_path).read_bytes())
    assert "2026年11月26日" in text and "2026年11月25日" not in text, text
