"""A moment keeps its instant whatever offset it is given in (models/types.py), on SQLite as
on PostgreSQL: an application's submitted_at with +00:00 near midnight in Japan is read back
as the same instant, on the Japan day it fell on, and a query bound in another zone than the
column's finds the rows it should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from kofu.base.clock import JST
from kofu.models import Application, ApplicationState, AuditEvent, Batch
from kofu.models.db import unit_of_work

# 2026-01-31 15:30 UTC is 2026-02-01 00:30 in Japan: the offset decides the month.
JUST_AFTER_MIDNIGHT = datetime(2026, 1, 31, 15, 30, tzinfo=UTC)
OFFSETS = [UTC, timezone(timedelta(hours=-5)), JST, timezone(timedelta(hours=5, minutes=30))]


def test_submitted_at_keeps_its_instant_in_any_offset(kofu_env):
    db_url = kofu_env.db_url
    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id="b", inbox="inbox/b", delivery_sha256="0" * 64))
        session.flush()
        for n, zone in enumerate(OFFSETS):
            session.add(
                Application(
                    application_id=f"{n:023d}",
                    batch_id="b",
                    line_no=n + 1,
                    state=ApplicationState.RECEIVED,
                    reasons=[],
                    submitted_at=JUST_AFTER_MIDNIGHT.astimezone(zone),
                )
            )
        session.commit()
    with unit_of_work(db_url) as session:
        stamps = session.scalars(select(Application.submitted_at)).all()
        assert stamps == [JUST_AFTER_MIDNIGHT] * len(OFFSETS)
        assert {s.astimezone(JST).date().isoformat() for s in stamps} == {"2026-02-01"}
        february = datetime(2026, 2, 1, tzinfo=JST)
        for bound in (february, february.astimezone(UTC)):
            found = session.scalars(
                select(Application.id).where(Application.submitted_at >= bound)
            ).all()
            assert len(found) == len(OFFSETS), bound
            assert not session.scalars(
                select(Application.id).where(Application.submitted_at < bound)
            ).all()


def test_a_utc_stamp_is_found_by_a_bound_given_in_japan_time(kofu_env):
    db_url = kofu_env.db_url
    at = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)  # 00:30 in Japan on 1 April
    with unit_of_work(db_url, write=True) as session:
        session.add(AuditEvent(action="test", actor="t", at=at, detail={}))
        session.commit()
    april = datetime(2026, 4, 1, tzinfo=JST)
    with unit_of_work(db_url) as session:
        assert session.scalar(select(AuditEvent.at).where(AuditEvent.at >= april)) == at
        assert session.scalar(select(AuditEvent.at).where(AuditEvent.at < april)) is None
