"""What staff see in the Prefect UI: the artifacts of real nightly runs and a rerun, read back
through Prefect's client by their flow run's id (the session's Prefect records are shared by
every test), and the names of the runs and task runs.

Night 1 and night 2 each take in a delivery of their own. Between them, night 1's review item
is made two days old, as if the nights were two days apart."""

from __future__ import annotations

import io
import json
import random
import re
import time
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from kofu.models import ReviewItem
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY
from tests.e2e.test_queues_flow import person
from tests.helpers import (
    application_for,
    import_register,
    portrait_jpeg,
    valid_number,
    write_delivery,
)

NIGHT_1, NIGHT_2 = "2026-11-25", "2026-11-26"
KEYS = {
    "nightly-summary",
    "refusal-reasons",
    "review-queue",
    "failure-queue",
    "counter-load",
    "print-batches",
    "nightly-progress",
}
PEOPLE = [
    ("山田", "花子", ("ヤマダ", "ハナコ")),
    ("川口", "直子", ("カワグチ", "ナオコ")),
    ("森", "幸子", ("モリ", "サチコ")),
    ("林", "健一", ("ハヤシ", "ケンイチ")),
    ("佐々木", "美咲", ("ササキ", "ミサキ")),
    ("高橋", "翔太", ("タカハシ", "ショウタ")),
    ("中村", "陽菜", ("ナカムラ", "ヒナ")),
    ("小林", "大輔", ("コバヤシ", "ダイスケ")),
    ("加藤", "結衣", ("カトウ", "ユイ")),
    ("吉田", "蓮", ("ヨシダ", "レン")),
    ("山口", "葵", ("ヤマグチ", "アオイ")),
    ("松本", "悠真", ("マツモト", "ユウマ")),
    ("井上", "さくら", ("イノウエ", "サクラ")),
    ("木村", "拓海", ("キムラ", "タクミ")),
]


def app_id(n: int) -> str:
    """A J-LIS-like 23-digit id: long enough to be searched for in what Prefect recorded."""
    return f"2026112599{n:013d}"


def png_bytes() -> bytes:
    """A PNG named .jpg, heavy enough (noise) that its size is not a reason too."""
    noise = random.Random(1).randbytes(600 * 800)
    buf = io.BytesIO()
    Image.frombytes("L", (600, 800), noise).save(buf, "PNG")
    return buf.getvalue()


def run_nights(kofu_env, tmp_path) -> dict:
    """Night 1, night 2 and the rerun of night 1; each run's flow run id and summary."""
    from kofu.flows.nightly import nightly
    from kofu.flows.rerun import rerun_failed

    settings = kofu_env
    rng = random.Random(5)
    rows = [
        # Residents 1 and 7 have no individual number: a slip in the birth date sends their
        # applications to review instead of matching them by number.
        person(
            f"3000000{i:04d}",
            None if i in (1, 7) else valid_number(rng),
            family,
            given,
            kana,
            f"見本市中央{i}丁目2番3号",
        )
        for i, (family, given, kana) in enumerate(PEOPLE)
    ]
    import_register(settings.db_url, rows, tmp_path / "register.csv", TEST_KEY.encode())
    good = portrait_jpeg(1)

    # Night 1: 2 notices, 2 invalid, 1 refused photo, 1 review, 1 missing photo (failure
    # queue), 1 unreadable line.
    lines_1 = [
        application_for(app_id(1), rows[0]),
        application_for(app_id(2), rows[2]),
        application_for(app_id(3), rows[3], postal_code="99-0011"),
        application_for(app_id(4), rows[4], birth_date="1975-13-01"),
        application_for(app_id(5), rows[5]),
        application_for(app_id(6), rows[1], birth_date="1975-06-02"),
        application_for(app_id(7), rows[6]),
        b'{"application_id": "2026112599',
    ]
    photos_1 = {f"photos/{app_id(n)}.jpg": good for n in (1, 2, 3, 4, 6)}
    photos_1[f"photos/{app_id(5)}.jpg"] = png_bytes()
    folder_1 = write_delivery(tmp_path / NIGHT_1, lines_1, photos_1)  # app 7: no photo
    first = nightly(inbox=str(folder_1), return_state=True)

    # Two days pass for night 1's review item.
    with unit_of_work(settings.db_url, write=True) as session:
        for item in session.scalars(select(ReviewItem)):
            item.created_at -= timedelta(days=2)
        session.commit()

    # Night 2: 3 notices, 3 refused photos (2 not JPEG, 1 empty), 1 invalid, 1 review.
    lines_2 = [
        application_for(app_id(11), rows[8]),
        application_for(app_id(12), rows[9]),
        application_for(app_id(13), rows[10]),
        application_for(app_id(14), rows[11]),
        application_for(app_id(15), rows[12]),
        application_for(app_id(16), rows[13]),
        application_for(app_id(17), rows[0], postal_code="9990011"),
        application_for(app_id(18), rows[7], birth_date="1975-06-02"),
    ]
    photos_2 = {f"photos/{app_id(n)}.jpg": good for n in (11, 12, 13, 17, 18)}
    photos_2 |= {
        f"photos/{app_id(14)}.jpg": png_bytes(),
        f"photos/{app_id(15)}.jpg": png_bytes(),
        f"photos/{app_id(16)}.jpg": b"",
    }
    folder_2 = write_delivery(tmp_path / NIGHT_2, lines_2, photos_2)
    second = nightly(inbox=str(folder_2), return_state=True)

    # A person puts night 1's missing photo in place and reruns that batch.
    (folder_1 / "photos" / f"{app_id(7)}.jpg").write_bytes(portrait_jpeg(2))
    rerun = rerun_failed(NIGHT_1, return_state=True)
    for state in (first, second, rerun):
        assert state.is_completed(), state
    return {
        "settings": settings,
        "rows": rows,
        "runs": [s.state_details.flow_run_id for s in (first, second, rerun)],
        "summaries": [s.result() for s in (first, second, rerun)],
    }


def _artifacts(flow_run_id: UUID) -> dict:
    """The run's artifacts by key: a table as its rows, progress as its percent."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    out: dict = {}
    for artifact in found:
        assert artifact.key not in out, f"two {artifact.key} artifacts in one run"
        data = artifact.data
        if artifact.type == "table" and isinstance(data, str):
            data = json.loads(data)
        out[artifact.key] = {"data": data, "description": artifact.description or ""}
    return out


def test_two_nights_and_a_rerun_as_staff_see_them(kofu_env, tmp_path):
    """One set of runs (about 15 s), checked three ways."""
    nights = run_nights(kofu_env, tmp_path)
    check_artifacts(nights)
    check_no_personal_data(nights)
    check_run_names(nights)


def check_artifacts(nights: dict) -> None:
    run_1, run_2, rerun = nights["runs"]
    night_1, night_2 = _artifacts(run_1), _artifacts(run_2)
    # Night 1 left a failure behind, so it warns too; night 2 is clean. Each night ends
    # with the sweep after the notice, and its artifact.
    assert set(night_1) == KEYS | {"nightly-warnings", "lifecycle"}
    assert set(night_2) == KEYS | {"lifecycle"}
    assert "### Waiting for a person" in night_2["lifecycle"]["data"]

    # The summary: counts per state, beside night 1's, and the difference.
    rows = {r["state"]: r for r in night_2["nightly-summary"]["data"]}
    expected = {
        # state: (night 2, night 1 as it stands now, difference)
        "notice_generated": (3, 2, "+1"),
        "photo_rejected": (3, 1, "+2"),
        "invalid": (1, 2, "-1"),
        "needs_review": (1, 1, "0"),
        "received": (0, 1, "-1"),
        "rejected lines": (0, 1, "-1"),
        "failure queue (open)": (0, 1, "-1"),
        "review queue (open)": (1, 1, "0"),
    }
    for state, (count, before, difference) in expected.items():
        assert (rows[state]["count"], rows[state]["previous batch"], rows[state]["difference"]) == (
            count,
            before,
            difference,
        ), state
    assert NIGHT_1 in night_2["nightly-summary"]["description"]
    # The first night has nothing to compare with.
    assert {r["difference"] for r in night_1["nightly-summary"]["data"]} == {"-"}

    # Refusal reasons, most frequent first.
    reasons = [(r["outcome"], r["reason"], r["count"]) for r in night_2["refusal-reasons"]["data"]]
    assert reasons == [
        ("photo_rejected", "photo-not-jpeg", 2),
        ("invalid", "bad-postal-code", 1),
        ("photo_rejected", "photo-empty", 1),
    ]
    reasons_1 = {
        (r["outcome"], r["reason"]): r["count"] for r in night_1["refusal-reasons"]["data"]
    }
    assert reasons_1 == {
        ("invalid", "bad-postal-code"): 1,
        ("invalid", "bad-birth-date"): 1,
        ("photo_rejected", "photo-not-jpeg"): 1,
        ("rejected line", "malformed-json"): 1,
    }

    # The review queue: night 1's item has waited two days, night 2's is new.
    review = {r["stage"]: r for r in night_2["review-queue"]["data"]}
    everything = review["all stages"]
    assert everything["open"] == 2
    assert (everything["under 1 day"], everything["1-3 days"], everything["over 3 days"]) == (
        1,
        1,
        0,
    )
    assert 2.0 <= everything["oldest (days)"] < 2.1
    assert review["matching"]["open"] == 2

    # The failure queue: night 1's missing photo waits for its next attempt (it is not due
    # yet on night 2); the rerun resolves it, and its table says the queue is empty.
    queue = [
        (r["batch"], r["stage"], r["error code"], r["status"], r["items"])
        for r in night_2["failure-queue"]["data"]
    ]
    assert queue == [(NIGHT_1, "photos", "photo-file-unreadable", "pending", 1)]
    assert "| photos | photo-file-unreadable | pending | 1 |" in night_1["nightly-warnings"]["data"]

    # The print batch: the cover, 3 notices and 3 refusal letters, and the file says so.
    settings = nights["settings"]
    printed = night_2["print-batches"]["data"]
    assert printed == [
        {
            "file": "print-batch-001.pdf",
            "pages": 7,
            "sheets": 7,
            "notices": 3,
            "letters": 3,
            "made": "this run",
        }
    ]
    pdf = settings.print_dir / NIGHT_2 / "print-batch-001.pdf"
    assert len(PdfReader(pdf).pages) == 7

    # The counter load counts night 1's and night 2's visit windows.
    booked = sum(r["booked"] for r in night_2["counter-load"]["data"])
    assert booked == 5

    # Progress reached the end on both nights.
    assert night_1["nightly-progress"]["data"] == night_2["nightly-progress"]["data"] == 100

    # The rerun publishes the same set: its failure is resolved, night 1's print batch gains
    # a second file for the late notice, and night 1's counts now show it.
    again = _artifacts(rerun)
    assert set(again) == KEYS
    assert [r["error code"] for r in again["failure-queue"]["data"]] == [
        "(none: the failure queue is empty)"
    ]
    assert [(r["file"], r["made"]) for r in again["print-batches"]["data"]] == [
        ("print-batch-001.pdf", "earlier"),
        ("print-batch-002.pdf", "this run"),
    ]
    rerun_rows = {r["state"]: r for r in again["nightly-summary"]["data"]}
    assert rerun_rows["notice_generated"]["count"] == 3
    assert rerun_rows["received"]["count"] == 0
    assert rerun_rows["notice_generated"]["previous batch"] == "-"  # night 1 is the first
    assert again["nightly-progress"]["data"] == 100


def check_no_personal_data(nights: dict) -> None:
    everything = ""
    for run in nights["runs"]:
        for artifact in _artifacts(run).values():
            everything += json.dumps(artifact, ensure_ascii=False)
    assert everything
    personal = [app_id(n) for n in range(1, 19)]
    for row in nights["rows"]:
        personal += [row.family_name, row.given_name, row.family_name_kana, row.address]
        personal += [row.individual_number] if row.individual_number else []
        personal += [row.resident_code, row.postal_code]
    leaked = [p for p in personal if p in everything]
    assert leaked == []


TASK_NAME = re.compile(
    r"(?P<batch>\d{4}-\d{2}-\d{2}) "
    r"(intake|visit windows|(photos|letters|matching|notices|print batch) \d+/\d+)"
)


def _task_run_names(flow_run_id: UUID, expected: int) -> list[str]:
    """The run's task-run names. The server records task runs from events, a moment after
    the run: wait for them (at most a minute) before comparing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            if len(runs) >= expected or time.monotonic() > deadline:
                return sorted(r.name for r in runs)
            time.sleep(0.5)


def check_run_names(nights: dict) -> None:
    from prefect.client.orchestration import get_client

    run_1, run_2, rerun = nights["runs"]
    with get_client(sync_client=True) as client:
        names = [client.read_flow_run(r).name for r in (run_1, run_2, rerun)]
    assert names == [f"nightly {NIGHT_1}", f"nightly {NIGHT_2}", f"rerun {NIGHT_1}"]
    # The stages over the batch, then the sweep after the notice over every card (one
    # chunk of them: its task run is named for its chunk, not for a batch).
    assert _task_run_names(run_2, 8) == sorted(
        [
            *(
                f"{NIGHT_2} {name}"
                for name in [
                    "intake",
                    "photos 1/1",
                    "letters 1/1",
                    "matching 1/1",
                    "visit windows",
                    "notices 1/1",
                    "print batch 1/1",  # print file 1 of 1
                ]
            ),
            "lifecycle 1/1",
        ]
    )
    for name in _task_run_names(rerun, 3):
        match = TASK_NAME.fullmatch(name)
        assert match and match["batch"] == NIGHT_1, name


def test_demo_flow_makes_its_key_and_runs_the_night_as_a_subflow(kofu_env, monkeypatch):
    """The demo deployment's flow, with a small register and no key configured: it makes an
    owner-only key file in the data directory, as `kofu demo` does."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    from kofu.flows.demo import demo

    monkeypatch.delenv("KOFU_SECRET_KEY")
    # Restored to unset after the test, whatever the flow sets.
    monkeypatch.setenv("KOFU_SECRET_KEY_FILE", "")
    monkeypatch.delenv("KOFU_SECRET_KEY_FILE")
    state = demo(residents=400, applications=40, return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert result["as_expected"] == result["outcomes"] == 40
    key = Path(kofu_env.data_dir) / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600

    demo_run = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        name = client.read_flow_run(demo_run).name
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[demo_run])
            )
        )
    assert re.fullmatch(r"demo \d{4}-\d{2}-\d{2} \(400 residents, 40 applications\)", name)
    # The night, then the two months after the notice: the sweep as of day 11 and day 60.
    day0 = date.fromisoformat(result["batch_id"])
    assert sorted(c.name for c in children) == sorted(
        [
            f"nightly {result['batch_id']}",
            f"lifecycle {day0 + timedelta(days=11)}",
            f"lifecycle {day0 + timedelta(days=60)}",
        ]
    )
    check = _artifacts(demo_run)["demo-check"]["data"]
    assert check[0] == {"check": "outcomes as the generator meant", "count": 40}
    lived = result["two_months"]
    assert lived["as expected"] > 20 and "differs" not in lived
    night = next(c for c in children if c.name.startswith("nightly"))
    assert set(_artifacts(night.id)) == KEYS | {"lifecycle"} | set(
        ["nightly-warnings"] if result["states"].get("received") else []
    )
