"""The audit trail: every CLI action that reads or changes a resident's record, or decides a
review, leaves an event (who, what, when, which record by resident code), and no event holds
an individual number or a name. The real `kofu` CLI in subprocesses, on a real SQLite file
(or the test's own PostgreSQL database under `make test-postgres`)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kofu.tasks.demo.register import RegisterRow, write_register_csv
from tests.conftest import FONT_CACHE, TEST_KEY
from tests.e2e.test_cli import assert_one_line_error
from tests.helpers import (
    aid,
    application_for,
    database_bytes,
    db_env,
    db_url_for,
    portrait_jpeg,
    valid_number,
    write_delivery,
)

BATCH = "2026-11-26"


def kofu(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kofu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def ok(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = kofu(env, *args)
    assert result.returncode == 0, result.stderr
    return result


def environment(tmp_path: Path, actor: str | None = "clerk-1") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOFU_")}
    env.update(
        KOFU_DATA_DIR=str(tmp_path / "var"),
        KOFU_SECRET_KEY=TEST_KEY,
        KOFU_PRINT_PASSWORD="audit-test-print-password",
        **db_env(tmp_path / "var"),
        # A Prefect home of its own: the CLI's nightly starts its own Prefect server.
        PREFECT_HOME=str(tmp_path / "prefect"),
    )
    if actor:
        env["KOFU_ACTOR"] = actor
    return env


def query(tmp_path: Path, sql: str) -> list[dict]:
    """Rows of the test's database as stored, read with plain SQL (no kofu code)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url_for(tmp_path / "var"))
    try:
        with engine.connect() as db:
            return [dict(r) for r in db.execute(text(sql)).mappings()]
    finally:
        engine.dispose()


def events(tmp_path: Path, action: str | None = None) -> list[dict]:
    found = []
    for r in query(tmp_path, "SELECT * FROM audit_trail ORDER BY id"):
        # SQLite hands back the stored text; PostgreSQL a datetime and parsed JSON.
        at = r["at"] if isinstance(r["at"], str) else r["at"].isoformat()
        detail = json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"]
        found.append({**r, "at": at, "detail": detail})
    return [e for e in found if action is None or e["action"] == action]


def resident(code: str, number: str | None, given: str, kana: str, address: str) -> RegisterRow:
    return RegisterRow(
        resident_code=code,
        individual_number=number,
        family_name="山田",
        given_name=given,
        family_name_kana="ヤマダ",
        given_name_kana=kana,
        birth_date=date(1975, 6, 1),
        sex="2",
        postal_code="999-0011",
        address=address,
        status="resident",
        status_date=None,
    )


def register_rows(rng: random.Random) -> list[RegisterRow]:
    return [
        resident("10000000001", valid_number(rng), "花子", "ハナコ", "見本市中央1丁目2番3号"),
        resident("10000000002", valid_number(rng), "直子", "ナオコ", "見本市中央4丁目5番6号"),
        resident("10000000003", valid_number(rng), "幸子", "サチコ", "見本市北町1丁目1番1号"),
        resident("10000000004", valid_number(rng), "智子", "トモコ", "見本市南町2丁目3番4号"),
    ]


def assert_no_number_and_no_name(tmp_path: Path, numbers: list[str], names: list[str]) -> None:
    """No individual number anywhere in the database (its files on SQLite, a data dump on
    PostgreSQL; the trail included); no name and no 12-digit run in the trail."""
    stored = database_bytes(tmp_path / "var")
    for number in numbers:
        assert number.encode() not in stored, number
    trail = events(tmp_path)
    assert trail
    for event in trail:
        text = json.dumps(
            {**event, "detail": {k: v for k, v in event["detail"].items() if k != "sha256"}},
            ensure_ascii=False,
        )
        assert not re.search(r"(?<!\d)\d{12}(?!\d)", text), text
        for name in names:
            assert name not in text, (name, text)


def test_imports_record_the_file_and_codes_and_a_refused_import_is_recorded_too(tmp_path):
    rows = register_rows(random.Random(1))
    register = tmp_path / "register.csv"
    write_register_csv(rows, register)
    env = environment(tmp_path)

    ok(env, "residents", "import", str(register))
    ok(env, "residents", "import", str(register))
    first, second = events(tmp_path, "residents-import")
    digest = hashlib.sha256(register.read_bytes()).hexdigest()
    codes = [r.resident_code for r in rows]
    assert (first["actor"], first["resident_code"]) == ("clerk-1", None)
    assert first["detail"] == {
        "file": "register.csv",
        "sha256": digest,
        "bytes": register.stat().st_size,
        "inserted": 4,
        "updated": 0,
        "resident_codes": codes,
        "os_user": first["detail"]["os_user"],  # the login, as KOFU_ACTOR names someone else
    }
    assert first["detail"]["os_user"] != "clerk-1"
    assert (second["detail"]["inserted"], second["detail"]["updated"]) == (0, 4)
    assert datetime.fromisoformat(first["at"]) <= datetime.fromisoformat(second["at"])

    # A bad last row: the import's transaction is rolled back, the refusal is still recorded.
    bad = tmp_path / "bad.csv"
    write_register_csv([replace(r, given_name="次郎") for r in rows], bad)
    with bad.open("a", encoding="utf-8") as fh:
        fh.write("1,,山田,一郎,ヤマダ,イチロウ,1975-06-01,1,999-0011,見本市中央1-1-1,resident,\n")
    result = kofu(env, "residents", "import", str(bad))
    assert_one_line_error(result, "register line 6: resident_code must be 11 digits")
    (refused,) = events(tmp_path, "residents-import-refused")
    assert refused["actor"] == "clerk-1"
    assert refused["detail"]["file"] == "bad.csv"
    assert refused["detail"]["sha256"] == hashlib.sha256(bad.read_bytes()).hexdigest()
    assert refused["detail"]["error"] == result.stderr.strip().removeprefix("kofu: error: ")
    assert len(events(tmp_path, "residents-import")) == 2  # no import event for it
    assert {r["given_name"] for r in query(tmp_path, "SELECT given_name FROM residents")} == {
        "花子",
        "直子",
        "幸子",
        "智子",
    }

    # A file that is not there is refused and recorded as well.
    assert_one_line_error(kofu(env, "residents", "import", str(tmp_path / "x.csv")), "not found")
    missing = events(tmp_path, "residents-import-refused")[-1]
    assert missing["detail"]["sha256"] is None and missing["detail"]["file"] == "x.csv"

    # Without KOFU_ACTOR the login is the actor, and is not repeated.
    ok(environment(tmp_path, actor=None), "residents", "import", str(register))
    last = events(tmp_path, "residents-import")[-1]
    assert last["actor"] == first["detail"]["os_user"] and "os_user" not in last["detail"]

    assert_no_number_and_no_name(
        tmp_path, [r.individual_number for r in rows], ["山田", "花子", "次郎", "ヤマダ"]
    )


def test_a_large_import_is_identified_by_its_digest_not_by_a_list_of_codes(tmp_path):
    from kofu.tasks.audit.core import LISTED_CODES_MAX

    base = register_rows(random.Random(2))[0]
    rows = [
        replace(base, resident_code=f"2{i:010d}", individual_number=None)
        for i in range(LISTED_CODES_MAX + 1)
    ]
    register = tmp_path / "full.csv"
    write_register_csv(rows, register)
    env = environment(tmp_path)
    ok(env, "residents", "import", str(register))
    (event,) = events(tmp_path, "residents-import")
    assert event["detail"]["inserted"] == LISTED_CODES_MAX + 1
    assert event["detail"]["sha256"] == hashlib.sha256(register.read_bytes()).hexdigest()
    assert "resident_codes" not in event["detail"]


def photo(seed: int) -> bytes:
    return portrait_jpeg(seed)


def line(app_id: str, row: RegisterRow, **over) -> dict:
    return application_for(app_id, row, **{"individual_number": None, **over})


def seed_photo_review(db_url: str, application_id: str) -> None:
    """An application waiting on a borderline photo, as the photo stage leaves one (a
    borderline photo is hard to draw on purpose): real rows in the real file."""
    from kofu.models import Application, ApplicationState, ReviewItem, Stage
    from kofu.models.db import unit_of_work

    with unit_of_work(db_url, write=True) as session:
        app = Application(
            application_id=application_id,
            batch_id=BATCH,
            line_no=99,
            state=ApplicationState.NEEDS_REVIEW,
            reasons=["face-small"],
            birth_date=date(1990, 1, 1),
        )
        session.add(app)
        session.flush()
        session.add(
            ReviewItem(
                application_pk=app.id,
                stage=Stage.PHOTOS,
                reasons=["face-small"],
                evidence={"measures": {"face_size": 0.12}},
            )
        )
        session.commit()


def test_reads_decisions_and_runs_are_recorded_with_codes_only(tmp_path):
    rng = random.Random(3)
    rows = register_rows(rng)
    numbers = [r.individual_number for r in rows]
    register = tmp_path / "register.csv"
    write_register_csv(rows, register)
    env = environment(tmp_path)
    clerk = {**env, "KOFU_ACTOR": "clerk-7"}
    data = tmp_path / "var"
    ok(env, "residents", "import", str(register))
    (data / "fonts").mkdir()  # the converted notice font, as the kofu_env fixture does
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():
        (data / "fonts" / cached.name).symlink_to(cached)

    # 2002 and 2004 carry a slip in the birth date and no number: each needs a person.
    # 2003 matches by its number and gets a notice.
    slip = "1975-06-02"
    lines = [
        line(aid(2002), rows[1], birth_date=slip),
        line(aid(2003), rows[2], individual_number=rows[2].individual_number),
        line(aid(2004), rows[3], birth_date=slip),
    ]
    folder = write_delivery(
        tmp_path / BATCH,
        lines,
        {
            f"photos/{n}.jpg": photo(seed)
            for n, seed in ((aid(2002), 1), (aid(2003), 2), (aid(2004), 9))
        },
    )
    ok(clerk, "nightly", "--inbox", str(folder))
    (run,) = events(tmp_path, "nightly-run")
    assert (run["actor"], run["batch_id"]) == ("clerk-7", BATCH)
    assert run["detail"]["outcome"] == "completed"
    assert run["detail"]["states"]["needs_review"] == 2
    assert run["detail"]["states"]["notice_generated"] == 1
    seed_photo_review(db_url_for(data), aid(3001))

    # The queues as JSON: the review evidence shows the candidates' resident codes.
    listed = ok(clerk, "queue", "list", "--json")
    shown = sorted(
        {
            c["resident_code"]
            for entry in json.loads(listed.stdout)
            for c in entry["evidence"].get("candidates", [])
        }
    )
    assert {"10000000002", "10000000004"} <= set(shown)
    (read,) = events(tmp_path, "queue-list")
    assert read["actor"] == "clerk-7"
    assert read["detail"]["format"] == "json"
    assert read["detail"]["resident_codes"] == shown
    assert read["detail"]["application_ids"] == [aid(2002), aid(2004), aid(3001)]
    assert (read["detail"]["review_items"], read["detail"]["failure_items"]) == (3, 0)
    # The table shows the applications waiting, not the candidates: no codes are recorded.
    ok(clerk, "queue", "list")
    table_read = events(tmp_path, "queue-list")[-1]
    assert table_read["detail"]["format"] == "table"
    assert table_read["detail"]["resident_codes"] == []
    assert table_read["detail"]["application_ids"] == [aid(2002), aid(2004), aid(3001)]
    # Nothing about a resident shown, nothing recorded: an empty failure queue, the counts.
    ok(clerk, "queue", "list", "--kind", "failure")
    ok(clerk, "status", "--json")
    assert len(events(tmp_path)) == 5  # 1 import, 1 intake, 1 run, 2 queue reads

    # Refused decisions change nothing and are recorded as refusals, never as decisions.
    refusals = [
        ([aid(2004), "--resident", numbers[3]], "11-digit resident code", "bad-resident-code"),
        ([aid(2004), "--resident", "19999999999"], "no resident with code", "unknown-resident"),
        ([aid(2003), "--reject", "not-in-register"], "not needs_review", "not-in-review"),
        ([aid(9999), "--accept"], "no application", "no-application"),
        ([aid(3001), "--resident", "10000000001"], "about the photo", "wrong-decision"),
        ([aid(2004), "--reject", "x-" + numbers[0]], "takes one of: not-in-register", "bad-reason"),
    ]
    for args, needle, _ in refusals:
        assert_one_line_error(kofu(clerk, "review", "resolve", *args), needle)
    refused = events(tmp_path, "review-resolve-refused")
    assert [e["detail"]["refused"] for e in refused] == [code for *_, code in refusals]
    assert [e["application_id"] for e in refused] == [
        aid(2004),
        aid(2004),
        aid(2003),
        None,
        aid(3001),
        aid(2004),
    ]
    assert [e["resident_code"] for e in refused] == [
        None,
        "19999999999",
        None,
        None,
        "10000000001",
        None,
    ]
    assert [e["detail"]["decision"] for e in refused] == [
        "resident",
        "resident",
        "reject",
        "accept",
        "resident",
        "reject",
    ]
    assert all(e["actor"] == "clerk-7" and e["batch_id"] in (BATCH, None) for e in refused)
    assert events(tmp_path, "review-resolve") == []

    # The three forms of a decision.
    ok(clerk, "review", "resolve", aid(2002), "--resident", "10000000002")
    ok(clerk, "review", "resolve", aid(2004), "--reject", "not-in-register")
    ok(clerk, "review", "resolve", aid(3001), "--accept")
    decided = {e["application_id"]: e for e in events(tmp_path, "review-resolve")}
    assert {a: (e["actor"], e["batch_id"], e["resident_code"]) for a, e in decided.items()} == {
        aid(2002): ("clerk-7", BATCH, "10000000002"),
        aid(2004): ("clerk-7", BATCH, None),
        aid(3001): ("clerk-7", BATCH, None),
    }
    assert {a: e["detail"]["decision"] for a, e in decided.items()} == {
        aid(2002): "resident",
        aid(2004): "reject",
        aid(3001): "accept",
    }
    assert decided[aid(2002)]["detail"]["stage"] == "matching"
    assert decided[aid(2002)]["detail"]["state"] == "matched"
    assert decided[aid(2004)]["detail"]["reason"] == "not-in-register"
    assert decided[aid(2004)]["detail"]["state"] == "no_match"
    assert (decided[aid(3001)]["detail"]["stage"], decided[aid(3001)]["detail"]["state"]) == (
        "photos",
        "photo_ok",
    )

    # The export names the resident each application was matched to.
    exported = ok(clerk, "export", "--batch-id", BATCH, "--json")
    outcomes = json.loads(exported.stdout)
    (export,) = events(tmp_path, "export")
    assert (export["actor"], export["batch_id"]) == ("clerk-7", BATCH)
    assert export["detail"]["resident_codes"] == ["10000000002", "10000000003"]
    assert sorted(o["resident_code"] for o in outcomes if "resident_code" in o) == [
        "10000000002",
        "10000000003",
    ]
    assert export["detail"]["applications"] == len(outcomes) == 4
    assert export["detail"]["sha256"] == hashlib.sha256(exported.stdout.encode()).hexdigest()

    # Staff read the trail: everything that named resident 10000000002, in order.
    trail = json.loads(ok(clerk, "audit", "list", "--json", "--resident", "10000000002").stdout)
    assert [e["action"] for e in trail] == [
        "residents-import",
        "queue-list",
        "review-resolve",
        "export",
    ]
    assert trail[2]["application_id"] == aid(2002) and trail[2]["actor"] == "clerk-7"
    assert datetime.fromisoformat(trail[0]["at"]).utcoffset() == timedelta(hours=9)
    everything = json.loads(ok(clerk, "audit", "list", "--json").stdout)
    assert len(everything) == len(events(tmp_path))  # reading the trail is not recorded
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
    since_today = ok(clerk, "audit", "list", "--json", "--since", today.isoformat())
    assert len(json.loads(since_today.stdout)) == len(everything)
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert json.loads(ok(clerk, "audit", "list", "--json", "--since", tomorrow).stdout) == []
    table = ok({**clerk, "COLUMNS": "250"}, "audit", "list", "--resident", "10000000002").stdout
    assert "review-resolve" in table and "10000000002" in table and "clerk-7" in table

    assert_no_number_and_no_name(
        tmp_path, numbers, ["山田", "花子", "直子", "幸子", "智子", "ヤマダ", "見本市"]
    )


def test_a_batch_id_too_long_for_the_trail_is_recorded_cut_to_fit(kofu_env):
    """A run refused for its over-long batch id is still recorded: PostgreSQL refuses a value
    longer than the column, where SQLite would keep it whole."""
    from sqlalchemy import select

    from kofu.models import AuditEvent
    from kofu.models.db import unit_of_work
    from kofu.tasks.audit.records import record_run

    with unit_of_work(kofu_env.db_url, write=True) as session:
        record_run(
            session, "nightly-run", actor="clerk-1", os_user=None, batch_id="b" * 70, error="x"
        )
        session.commit()
    with unit_of_work(kofu_env.db_url) as session:
        (event,) = session.scalars(select(AuditEvent)).all()
    assert event.batch_id == "b" * 64
