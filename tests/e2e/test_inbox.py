"""The scheduled run with no parameters: the inbox, not today's folder. Real Prefect runs.

Night A finds two deliveries ready (a missed night), one still being written (no READY),
a transfer tool's hidden folder and a ready folder without its applications.jsonl. Night B
finds nothing new: it completes, says so, and retries the failure night A left. Night C
finds the folder that was being written, now finished and READY, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from uuid import UUID

from sqlalchemy import select

from kofu.models import Batch, FailureStatus
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY
from tests.e2e.test_failure_queue import an_hour_passes, items, state
from tests.e2e.test_queues_flow import person
from tests.helpers import aid, application_for, import_register, portrait_jpeg, write_delivery


def _state_of(flow_run_id: UUID):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def test_the_inbox_is_taken_in_oldest_first_ready_folders_only_and_an_empty_night_completes(
    kofu_env, tmp_path
):
    from prefect.client.orchestration import get_client

    from kofu.flows.nightly import nightly

    settings = kofu_env
    rows = [
        person(f"2100000000{i}", None, family, given, kana, f"見本市南町{i}丁目1番1号")
        for i, (family, given, kana) in enumerate(
            [("山田", "花子", ("ヤマダ", "ハナコ")), ("川口", "直子", ("カワグチ", "ナオコ")),
             ("森", "幸子", ("モリ", "サチコ"))],
            start=1,
        )
    ]  # fmt: skip
    import_register(settings.db_url, rows, tmp_path / "register.csv", TEST_KEY.encode())
    inbox = settings.inbox_dir
    # The night of the 24th was missed: its delivery arrived after the 25th's (READY times).
    late = write_delivery(inbox / "2026-11-24", [application_for(aid(4001), rows[0])], {})
    (late / "READY").touch()
    on_time = write_delivery(
        inbox / "2026-11-25",
        [application_for(aid(4002), rows[1])],
        {"photos/20261125000000000004002.jpg": portrait_jpeg(2)},
    )
    (on_time / "READY").touch()
    os.utime(on_time / "READY", (late.stat().st_mtime - 60,) * 2)
    # Still being copied: half a line, photos to come, no READY.
    copying = inbox / "2026-11-26"
    copying.mkdir()
    (copying / "applications.jsonl").write_text('{"application_id": "40', encoding="utf-8")
    (inbox / ".partial-2026-11-27").mkdir()  # a transfer tool's working folder
    (inbox / "2026-11-23").mkdir()  # READY, but the delivering side forgot the file
    (inbox / "2026-11-23" / "READY").touch()

    night_a = nightly(return_state=True)
    a = night_a.result()
    assert [b["batch_id"] for b in a["batches"]] == ["2026-11-25", "2026-11-24"]
    with unit_of_work(settings.db_url) as session:
        assert sorted(session.scalars(select(Batch.id))) == ["2026-11-24", "2026-11-25"]
    assert {r["folder"]: r["outcome"] for r in a["deliveries"]} == {
        "2026-11-23": "not taken in: no-applications-jsonl",
        "2026-11-24": "taken in tonight",
        "2026-11-25": "taken in tonight",
        "2026-11-26": "waiting: no READY file yet",
    }
    assert state(settings, aid(4002)) == "notice_generated"
    assert state(settings, aid(4001)) == "received"  # its photo is missing: failure queue
    # Work left behind shows in the runs list: a completed run, named apart from a clean one.
    assert night_a.is_completed() and night_a.name == "Completed with failures"
    assert "1 failure-queue item(s) open" in night_a.message
    assert "1 delivery folder(s) could not be taken in" in night_a.message
    flow_run_id = night_a.state_details.flow_run_id
    assert _state_of(flow_run_id).name == "Completed with failures"
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    keys = {x.key for x in artifacts}
    assert {"nightly-deliveries", "nightly-warnings", "nightly-summary"} <= keys
    summary = next(x for x in artifacts if x.key == "nightly-summary")
    table = summary.data if isinstance(summary.data, list) else json.loads(summary.data)
    assert {r["batch"] for r in table} == {"2026-11-24", "2026-11-25"}  # both nights' rows

    # Night B: nothing new is ready. The missing photo has arrived and its retry is due.
    (inbox / "2026-11-23").rename(tmp_path / "2026-11-23")  # taken away to be redelivered
    (late / "photos").mkdir()
    (late / "photos" / "20261125000000000004001.jpg").write_bytes(portrait_jpeg(1))
    an_hour_passes(settings)
    night_b = nightly(return_state=True)
    b = night_b.result()
    assert night_b.is_completed() and night_b.name == "Completed"
    assert b["batches"] == [] and b["batch_id"] is None
    assert b["retried"]["2026-11-24"]["failures"]["resolved"] == 1
    assert state(settings, aid(4001)) == "notice_generated"
    assert items(settings)[aid(4001)].status == FailureStatus.RESOLVED

    # Night C: the copy finished, READY written last; through the real CLI, which names
    # where the notices and print files went.
    write_delivery(
        copying,
        [application_for(aid(4003), rows[2])],
        {"photos/20261125000000000004003.jpg": portrait_jpeg(3)},
    )
    (copying / "READY").touch()
    env = {**os.environ, "PREFECT_API_URL": str(get_client(sync_client=True).api_url)}
    night_c = subprocess.run(
        [sys.executable, "-m", "kofu.cli", "nightly"],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert night_c.returncode == 0, night_c.stderr
    assert state(settings, aid(4003)) == "notice_generated"
    assert f"notices:     {settings.notices_dir / '2026-11-26'}/  (1 new)" in night_c.stdout
    assert "print files: " + str(settings.print_dir / "2026-11-26" / "print-batch-001.pdf") in (
        night_c.stdout
    )
