"""The commands staff use every day, as a terminal of 80 columns shows them: full ids that can
be copied, numbers never split, times with their zone. A real database (SQLite, or
PostgreSQL under make test-postgres) filled through the models, the CLI as a subprocess."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from kofu.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Batch,
    FailureItem,
    FailureStatus,
    ReviewItem,
    Stage,
)
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY
from tests.e2e.test_cli import kofu
from tests.e2e.test_queues_flow import person
from tests.helpers import db_url_for, import_register

IDS = [f"2026112600000000000{n:04d}" for n in range(1, 5)]  # 23 digits, as J-LIS ids are
# As intake stores it: J-LIS stamps carry the Japan offset.
SUBMITTED = datetime(2026, 11, 26, 6, 4, 11, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A duplicate pair and a partial match waiting for a person, a missing photo in the
    failure queue, and a register import of 3,000 rows in the audit trail."""
    from kofu.models.db import upgrade_schema

    root = tmp_path_factory.mktemp("desk")
    (root / "var").mkdir(mode=0o700)
    url = db_url_for(root / "var")
    upgrade_schema(url)
    resident = person("10000000021", None, "山田", "花子", ("ヤマダ", "ハナコ"), "見本市中央1-2-3")
    import_register(url, [resident], root / "register.csv", TEST_KEY.encode())
    with unit_of_work(url, write=True) as session:
        session.add(Batch(id="2026-11-26", inbox=str(root / "inbox"), delivery_sha256="0" * 64))
        session.flush()
        apps = []
        for n, app_id in enumerate(IDS, start=1):
            state = ApplicationState.RECEIVED if n == 4 else ApplicationState.NEEDS_REVIEW
            app = Application(
                application_id=app_id,
                batch_id="2026-11-26",
                line_no=n,
                state=state,
                reasons=["duplicate-application"] if n in (1, 3) else [],
                submitted_at=SUBMITTED,
                family_name="山田",
                given_name="花子",
                family_name_kana="ヤマダ",
                given_name_kana="ハナコ",
                birth_date=date(1975, 6, 1),
                sex="2",
                postal_code="999-0011",
                address="見本市中央1-2-3",
                photo=f"photos/{app_id}.jpg",
            )
            session.add(app)
            apps.append(app)
        session.flush()

        def pair(me: str, other: str) -> dict:
            return {
                "method": "duplicate",
                "resident_code": "10000000021",
                "application": {"application_id": me, "submitted_at": "2026-11-26T06:04:11+09:00"},
                "other_applications": [
                    {
                        "application_id": other,
                        "batch_id": "2026-11-26",
                        "state": "needs_review",
                        "submitted_at": "2026-11-26T06:04:11+09:00",
                        "notice_number": None,
                    }
                ],
            }

        candidate = {"resident_code": "10000000021", "status": "resident", "score": 27.0}
        candidate["fields"] = {"family": "exact", "given": "exact", "birth_date": "similar"}
        # Opened in this order: the pair's second item comes after the partial match.
        session.add(
            ReviewItem(
                application_pk=apps[0].id,
                stage=Stage.MATCHING,
                reasons=["duplicate-application"],
                evidence=pair(IDS[0], IDS[2]),
            )
        )
        session.add(
            ReviewItem(
                application_pk=apps[1].id,
                stage=Stage.MATCHING,
                reasons=["partial-match"],
                evidence={"candidates": [candidate]},
            )
        )
        session.add(
            ReviewItem(
                application_pk=apps[2].id,
                stage=Stage.MATCHING,
                reasons=["duplicate-application"],
                evidence=pair(IDS[2], IDS[0]),
            )
        )
        session.add(
            FailureItem(
                batch_id="2026-11-26",
                application_pk=apps[3].id,
                stage=Stage.PHOTOS,
                error_code="photo-file-unreadable",
                last_error="kofu.tasks.photos.task.PhotoUnreadable",
                attempts=1,
                status=FailureStatus.PENDING,
                evidence={
                    "exception": "PhotoUnreadable",
                    "photo": f"photos/{IDS[3]}.jpg",
                    "photo_found": False,
                },
            )
        )
        session.add(
            AuditEvent(
                actor="clerk-7",
                action="residents-import",
                detail={
                    "file": "register-2026-11.csv",
                    "sha256": "ab" * 32,
                    "bytes": 412345,
                    "inserted": 3000,
                    "updated": 0,
                },
            )
        )
        session.add(
            AuditEvent(
                actor="clerk-7",
                action="review-resolve",
                batch_id="2026-11-26",
                application_id=IDS[1],
                resident_code="10000000021",
                detail={"decision": "resident", "state": "matched"},
            )
        )
        session.commit()  # fmt: skip
    return root


def _lines(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_queue_list_at_80_columns_shows_every_id_whole_and_the_pair_together(desk):
    lines = _lines(kofu("queue", "list", env={"COLUMNS": "80"}, tmp_path=desk))
    assert max(len(line) for line in lines) <= 80
    rows = {app_id: n for n, line in enumerate(lines) for app_id in IDS if app_id in line}
    assert set(rows) == set(IDS), "\n".join(lines)
    # The duplicates one after the other, though the partial match was opened between them.
    assert sorted(rows, key=rows.get) == [IDS[0], IDS[2], IDS[1], IDS[3]]
    text = "\n".join(lines)
    # What failed, by its path inside the delivery, on a line of its own.
    assert f"    photos/{IDS[3]}.jpg" in lines and "is missing from the delivery" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d JST", text)
    listed = json.loads(kofu("queue", "list", "--json", tmp_path=desk).stdout)
    assert all(e["created_at"].endswith("+09:00") for e in listed)  # ISO 8601 with offset


def test_audit_list_at_80_columns_never_splits_a_number(desk):
    lines = _lines(kofu("audit", "list", env={"COLUMNS": "80"}, tmp_path=desk))
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "inserted=3000" in text and IDS[1] in text and "10000000021" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST", text)
    events = json.loads(kofu("audit", "list", "--json", tmp_path=desk).stdout)
    assert all(e["at"].endswith("+09:00") for e in events)


def test_show_puts_a_review_on_one_screen(desk):
    shown = kofu("show", IDS[1], env={"COLUMNS": "80"}, tmp_path=desk)
    text = "\n".join(_lines(shown))
    assert f"application {IDS[1]}" in text and "state: needs_review" in text
    assert "partial-match" in text and "10000000021" in text and "27.0" in text
    assert "birth_date similar" in text  # the fields that differ
    assert "submitted: 2026-11-26 06:04 JST" in text
    assert "review-resolve" in text  # its audit trail
    view = json.loads(kofu("show", IDS[1], "--json", tmp_path=desk).stdout)
    assert view["submitted_at"] == "2026-11-26T06:04:11+09:00"
    assert view["reviews"][0]["evidence"]["candidates"][0]["register"]["family_name"] == "山田"


def test_review_resolve_help_lists_every_reason_reject_takes(desk):
    from kofu.tasks.photos.problems import PROBLEMS
    from kofu.tasks.review.records import MATCH_REJECTIONS

    text = " ".join(
        _lines(kofu("review", "resolve", "--help", env={"COLUMNS": "200"}, tmp_path=desk))
    )
    for reason in [*MATCH_REJECTIONS, *PROBLEMS]:
        assert reason in text, reason
