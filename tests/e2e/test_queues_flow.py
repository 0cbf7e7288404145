"""Failures are queued and rerun; uncertain matches wait for a person, whose decision the
next run carries through to a notice. Real Prefect runs on a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

from sqlalchemy import select

from kofu.models import Application, AuditEvent, FailureItem, FailureStatus, Notice
from kofu.models.db import unit_of_work
from kofu.tasks.demo.register import RegisterRow
from tests.conftest import TEST_KEY
from tests.helpers import (
    aid,
    application_for,
    import_register,
    portrait_jpeg,
    valid_number,
    write_delivery,
)


def person(
    code: str, number: str | None, family: str, given: str, kana: tuple[str, str], address: str
) -> RegisterRow:
    return RegisterRow(
        resident_code=code,
        individual_number=number,
        family_name=family,
        given_name=given,
        family_name_kana=kana[0],
        given_name_kana=kana[1],
        birth_date=date(1975, 6, 1),
        sex="2",
        postal_code="999-0011",
        address=address,
        status="resident",
        status_date=None,
    )


def state_of(settings, application_id: str):
    with unit_of_work(settings.db_url) as session:
        return session.scalar(
            select(Application.state).where(Application.application_id == application_id)
        ).value


def test_failure_rerun_and_review_decision_reach_a_notice(kofu_env, tmp_path):
    import random

    from kofu.flows.nightly import nightly
    from kofu.flows.rerun import rerun_failed

    settings = kofu_env
    rng = random.Random(3)
    number_a = valid_number(rng)
    rows = [
        person(
            "10000000001", number_a, "山田", "花子", ("ヤマダ", "ハナコ"), "見本市中央1丁目2番3号"
        ),
        person(
            "10000000002", None, "川口", "直子", ("カワグチ", "ナオコ"), "見本市中央4丁目5番6号"
        ),
        person(
            "10000000003",
            valid_number(rng),
            "森",
            "幸子",
            ("モリ", "サチコ"),
            "見本市北町1丁目1番1号",
        ),
    ]
    import_register(settings.db_url, rows, tmp_path / "register.csv", TEST_KEY.encode())

    lines = [
        application_for(aid(2001), rows[0]),  # its photo is missing at first: a technical failure
        application_for(
            aid(2002), rows[1], birth_date="1975-06-02"
        ),  # a slip in the birth date: review
        application_for(aid(2003), rows[2]),
    ]
    folder = write_delivery(
        tmp_path / "2026-11-26",
        lines,
        {
            "photos/20261125000000000002002.jpg": portrait_jpeg(1),
            "photos/20261125000000000002003.jpg": portrait_jpeg(2),
        },
    )

    first = nightly(inbox=str(folder))
    assert first["failure_queue"] == 1 and first["review_queue"] == 1
    assert state_of(settings, aid(2001)) == "received"  # keeps its last good state
    assert state_of(settings, aid(2002)) == "needs_review"
    assert state_of(settings, aid(2003)) == "notice_generated"
    with unit_of_work(settings.db_url) as session:
        item = session.scalars(select(FailureItem)).one()
    assert (item.stage, item.error_code, item.status) == (
        "photos",
        "photo-file-unreadable",
        "pending",
    )
    # The run ended Completed, with a warning artifact saying what failed and what to do.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        warnings = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["nightly-warnings"])),
            sort=ArtifactSort.CREATED_DESC,
        )
    text = warnings[0].data
    assert "| photos | photo-file-unreadable | pending | 1 |" in text
    assert f"kofu rerun --batch-id {folder.name}" in text

    env = {**os.environ}
    listed = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "queue", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    queue = {e["kind"]: e for e in json.loads(listed.stdout)}
    assert queue["failure"]["application_id"] == aid(2001)
    review = queue["review"]
    assert review["application_id"] == aid(2002) and review["codes"] == ["partial-match"]
    fields = review["evidence"]["candidates"][0]["fields"]
    assert review["evidence"]["candidates"][0]["resident_code"] == "10000000002"
    assert fields["street"] == fields["family"] == fields["given"] == "exact"
    assert fields["birth_date"] == "similar"
    assert number_a not in listed.stdout

    # A person fixes the cause (the photo arrives) and decides the review.
    (folder / "photos" / "20261125000000000002001.jpg").write_bytes(portrait_jpeg(9))
    decided = subprocess.run(
        [
            sys.executable,
            "-m",
            "kofu.cli",
            "review",
            "resolve",
            aid(2002),
            "--resident",
            "10000000002",
        ],
        env={**env, "KOFU_ACTOR": "clerk-7"},
        capture_output=True,
        text=True,
    )
    assert decided.returncode == 0, decided.stderr
    assert state_of(settings, aid(2002)) == "matched"

    for _ in range(2):  # rerunning twice is harmless
        after = rerun_failed(batch_id="2026-11-26")
    assert after["failure_queue"] == 0 and after["review_queue"] == 0
    assert after["states"]["notice_generated"] == 3
    with unit_of_work(settings.db_url) as session:
        assert session.scalars(select(FailureItem.status)).one() == FailureStatus.RESOLVED
        assert len(session.scalars(select(Notice)).all()) == 3
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "review-resolve")
        ).one()
    assert (audit.actor, audit.application_id, audit.resident_code) == (
        "clerk-7",
        aid(2002),
        "10000000002",
    )
