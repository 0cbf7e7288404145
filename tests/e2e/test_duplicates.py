"""One resident, one notice: two real nights taken in from the inbox, then the decisions a
person takes through the real CLI, then reruns. Real Prefect runs on the test's database.

Night 1 brings a resident who applied twice the same evening, the 「山田'; DROP TABLE
residents;--」 application that agrees with the real 吉田 on everything but the kanji family
name (and even gives 吉田's number), a check-digit typo, and an ordinary application. Night 2
brings a second application of that ordinary applicant, whose notice is already printed."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import select

from kofu.models import Application, AuditEvent, Notice, PrintBatch
from kofu.models.db import unit_of_work
from kofu.tasks.queues.records import list_queue
from tests.conftest import TEST_KEY
from tests.e2e.test_queues_flow import person
from tests.helpers import (
    aid,
    application_for,
    import_register,
    portrait_jpeg,
    valid_number,
    write_delivery,
)

SQL_FAMILY = "山田'; DROP TABLE residents;--"
NIGHT_1, NIGHT_2 = "2026-11-25", "2026-11-26"
EVENING = "2026-11-24T{}:00+09:00"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kofu.cli", *args],
        env={**os.environ, "KOFU_ACTOR": "clerk-3", "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def decide(application_id: str, **decision):  # type: ignore[no-untyped-def]
    """A person's decision as `kofu review resolve` takes it, in this process."""
    from datetime import UTC, datetime

    from kofu.base.settings import get_settings
    from kofu.tasks.review.records import resolve_review

    with unit_of_work(get_settings().db_url, write=True) as session:
        made = resolve_review(
            session, application_id, actor="clerk-3", now=datetime.now(UTC), **decision
        )
        session.commit()
        return made


def exported(settings, batch_id: str) -> dict[str, dict]:
    """What `kofu export --batch-id BATCH --json` prints, by application id."""
    from kofu.tasks.reports.records import export_outcomes

    with unit_of_work(settings.db_url) as session:
        return {o["application_id"]: o for o in export_outcomes(session, batch_id)}


def states(settings) -> dict[str, str]:
    with unit_of_work(settings.db_url) as session:
        rows = session.execute(select(Application.application_id, Application.state))
        return {app_id: state.value for app_id, state in rows}


def notices(settings) -> dict[str, Notice]:
    with unit_of_work(settings.db_url) as session:
        rows = session.execute(
            select(Application.application_id, Notice).join(
                Notice, Notice.application_pk == Application.id
            )
        )
        return {app_id: notice for app_id, notice in rows}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Register, night 1 and night 2 from the inbox (night 2 beside a folder still being
    written), once for the module."""
    root = tmp_path_factory.mktemp("duplicates")
    data = root / "var"
    with pytest.MonkeyPatch.context() as mp:
        from tests.conftest import FONT_CACHE
        from tests.helpers import db_env

        mp.setenv("KOFU_DATA_DIR", str(data))
        mp.setenv("KOFU_SECRET_KEY", TEST_KEY)
        for name, value in db_env(data).items():
            mp.setenv(name, value)
        (data / "fonts").mkdir(parents=True)
        FONT_CACHE.mkdir(exist_ok=True)
        for cached in FONT_CACHE.iterdir():
            (data / "fonts" / cached.name).symlink_to(cached)
        from kofu.base.settings import get_settings
        from kofu.flows.nightly import nightly
        from kofu.models.db import upgrade_schema

        settings = get_settings()
        upgrade_schema(settings.db_url)
        rng = random.Random(16)
        rows = {
            key: person(code, valid_number(rng), family, given, kana, address)
            for key, code, family, given, kana, address in [
                ("yamada", "10000000011", "山田", "花子", ("ヤマダ", "ハナコ"), "見本市中央1丁目2番3号"),
                ("yoshida", "10000000012", "吉田", "蓮", ("ヨシダ", "レン"), "見本市中央2丁目2番3号"),
                ("mori", "10000000013", "森", "幸子", ("モリ", "サチコ"), "見本市中央3丁目2番3号"),
                ("kawaguchi", "10000000014", "川口", "直子", ("カワグチ", "ナオコ"), "見本市中央4丁目2番3号"),
            ]
        }  # fmt: skip
        import_register(
            settings.db_url, list(rows.values()), root / "register.csv", TEST_KEY.encode()
        )
        typo = rows["mori"].individual_number
        typo = typo[:-1] + str((int(typo[-1]) + 1) % 10)  # a wrong check digit
        night_1 = [
            application_for(aid(2001), rows["yamada"], submitted_at=EVENING.format("20:00")),
            application_for(
                aid(2002),
                rows["yamada"],
                individual_number=None,
                submitted_at=EVENING.format("23:30"),
            ),
            application_for(aid(2003), rows["yoshida"]),
            application_for(aid(2004), rows["yoshida"], family_name=SQL_FAMILY),
            application_for(aid(2005), rows["mori"], individual_number=typo),
            application_for(aid(2006), rows["kawaguchi"]),
        ]
        inbox = settings.inbox_dir
        photo = {f"photos/{aid(n)}.jpg": portrait_jpeg(n % 7) for n in range(2001, 2008)}
        (write_delivery(inbox / NIGHT_1, night_1, photo) / "READY").touch()
        first = nightly()
        night_2 = [application_for(aid(2007), rows["kawaguchi"])]
        (write_delivery(inbox / NIGHT_2, night_2, photo) / "READY").touch()
        # A third delivery still being written: no READY yet, and half a line.
        (inbox / "2026-11-27").mkdir()
        (inbox / "2026-11-27" / "applications.jsonl").write_text('{"application_id": "30', "utf-8")
        second = nightly()
        yield {"settings": settings, "rows": rows, "first": first, "second": second, "typo": typo}


def test_a_pair_of_the_same_night_both_wait_for_a_person_and_neither_gets_a_notice(nights):
    settings = nights["settings"]
    got = states(settings)
    assert got[aid(2001)] == got[aid(2002)] == "needs_review"
    assert not {aid(2001), aid(2002)} & set(notices(settings))
    with unit_of_work(settings.db_url) as session:
        reasons = session.scalars(
            select(Application.reasons).where(Application.application_id == aid(2002))
        ).one()
    assert "duplicate-application" in reasons
    with unit_of_work(settings.db_url) as session:  # what `kofu queue list --json` prints
        listed = [asdict(e) for e in list_queue(session, "review")]
    by_id = {e["application_id"]: e for e in listed}
    evidence = by_id[aid(2002)]["evidence"]
    assert by_id[aid(2002)]["codes"] == ["duplicate-application"]
    assert evidence["resident_code"] == "10000000011"
    assert evidence["application"]["submitted_at"] == "2026-11-24T23:30:00+09:00"
    assert [(o["application_id"], o["submitted_at"]) for o in evidence["other_applications"]] == [
        (aid(2001), "2026-11-24T20:00:00+09:00")
    ]
    # The pair is listed together, whatever else was opened between them.
    ids = [e["application_id"] for e in listed]
    assert abs(ids.index(aid(2001)) - ids.index(aid(2002))) == 1
    numbers = [row.individual_number for row in nights["rows"].values()]
    assert not [n for n in numbers if n in json.dumps(listed)]  # ids and codes only


def test_the_sql_looking_family_name_goes_to_a_person_not_to_a_notice(nights):
    settings = nights["settings"]
    got = states(settings)
    assert got[aid(2004)] == "needs_review" and got[aid(2003)] == "notice_generated"
    assert aid(2004) not in notices(settings)
    shown = cli("show", aid(2004))
    assert shown.returncode == 0, shown.stderr
    assert "family-name-differs-from-register" in shown.stdout
    assert SQL_FAMILY in shown.stdout and "10000000012" in shown.stdout  # as typed; the candidate


def test_a_check_digit_typo_is_kept_as_a_reason_and_matched_without_the_number(nights):
    settings = nights["settings"]
    assert states(settings)[aid(2005)] == "notice_generated"
    mori = exported(settings, NIGHT_1)[aid(2005)]
    assert mori["reasons"] == ["individual-number-check-digit"]
    assert mori["resident_code"] == "10000000013"


def test_the_inbox_took_in_only_the_ready_folder_and_the_second_application_waits(nights):
    settings, second = nights["settings"], nights["second"]
    assert [b["batch_id"] for b in second["batches"]] == [NIGHT_2]
    outcomes = {r["folder"]: r["outcome"] for r in second["deliveries"]}
    assert outcomes == {
        NIGHT_1: "taken in before",
        NIGHT_2: "taken in tonight",
        "2026-11-27": "waiting: no READY file yet",
    }
    # 川口's first application keeps the notice it has; the second waits for a person.
    got = states(settings)
    assert (got[aid(2006)], got[aid(2007)]) == ("notice_generated", "needs_review")
    assert second["left_work"] is False


def test_a_person_decides_which_stands_and_the_other_is_withdrawn_with_its_notice_void(nights):
    from kofu.flows.rerun import rerun_failed

    settings = nights["settings"]
    printed = notices(settings)[aid(2006)]
    assert printed.print_batch_id is not None  # night 1 printed it already

    # The second application stands: the first is withdrawn, its printed notice void.
    decided = cli("review", "resolve", aid(2007), "--resident", "10000000014")
    assert decided.returncode == 0, decided.stderr
    told = " ".join(decided.stdout.split())  # wrapped at 80 columns
    assert (
        "2007: matched. Its notice is written by the next nightly run, or now `kofu rerun" in told
    )
    assert f"notice {printed.notice_number} is void" in told and "already in a print file" in told

    # The SQL-looking one is decided to be 吉田: who already has a card in progress, so the
    # person is shown both first; then lets the first stand.
    again = cli("review", "resolve", aid(2004), "--resident", "10000000012")
    assert again.returncode == 0, again.stderr
    assert "still needs_review" in again.stdout and aid(2003) in again.stdout
    assert "--reject duplicate-application" in again.stdout
    assert states(settings)[aid(2004)] == "needs_review"
    assert decide(aid(2004), reject_reason="duplicate-application").state == "withdrawn"

    # The pair of the same night: the earlier one is the duplicate; the later one stands.
    assert decide(aid(2001), reject_reason="duplicate-application").released == [aid(2002)]

    got = states(settings)
    assert {
        a: got[a] for a in (aid(2001), aid(2002), aid(2003), aid(2004), aid(2006), aid(2007))
    } == {
        aid(2001): "withdrawn",
        aid(2002): "matched",
        aid(2003): "notice_generated",
        aid(2004): "withdrawn",
        aid(2006): "withdrawn",
        aid(2007): "matched",
    }
    for batch in (NIGHT_1, NIGHT_2, NIGHT_1):  # rerunning twice is harmless
        rerun_failed(batch_id=batch)

    made = notices(settings)
    assert made[aid(2006)].voided_at is not None and aid(2001) not in made and aid(2004) not in made
    assert {aid(2002), aid(2007)} <= set(made)
    # One current notice per resident, and a void notice never prints again.
    with unit_of_work(settings.db_url) as session:
        current = (
            session.execute(
                select(Application.resident_id)
                .join(Notice, Notice.application_pk == Application.id)
                .where(Notice.voided_at.is_(None))
            )
            .scalars()
            .all()
        )
        files = session.scalars(select(PrintBatch).order_by(PrintBatch.id)).all()
        withdrawn = session.scalars(
            select(AuditEvent.application_id).where(AuditEvent.action == "application-withdrawn")
        ).all()
        stands = session.scalars(
            select(AuditEvent.application_id).where(AuditEvent.action == "duplicate-stands")
        ).all()
    assert len(current) == len(set(current)) == 4  # 山田, 吉田, 森, 川口: one each
    later = [f for f in files if f.id > printed.print_batch_id]
    manifests = "".join(Path(f.manifest_path).read_text(encoding="utf-8") for f in later)
    assert printed.notice_number not in manifests and made[aid(2007)].notice_number in manifests
    assert sorted(withdrawn) == [aid(2001), aid(2004), aid(2006)] and stands == [aid(2002)]
    withdrawn_one = exported(settings, NIGHT_1)[aid(2006)]
    assert withdrawn_one["state"] == "withdrawn" and withdrawn_one["notice_void"] is True
