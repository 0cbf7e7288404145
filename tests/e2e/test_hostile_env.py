"""What an outsider breaks around the data: batch ids that are paths, output folders that
lead out of the data directory, a changed secret key, a settings file that is a folder, a
data directory that cannot be written, two runs started at the same moment.

Each goes through the real `kofu` CLI in its own process (or, for what a Prefect UI "Custom
run" can set, the real flow), and must end with one line naming the cause, no traceback,
nothing written outside the data directory, and nothing half done: the run then completes
once the cause is gone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import FONT_CACHE, TEST_KEY
from tests.e2e.test_queues_flow import person
from tests.helpers import aid, application_for, db_env, portrait_jpeg, write_delivery

OTHER_KEY = "another-secret-key-0123456789abcdef"
ROWS = [
    person("10000000041", None, "山田", "花子", ("ヤマダ", "ハナコ"), "見本市中央1-1-1"),
    person("10000000042", None, "川口", "直子", ("カワグチ", "ナオコ"), "見本市中央2-2-2"),
]


def kofu(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The CLI with the data directory ``root/var`` (its own database on PostgreSQL)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOFU_")}
    base.update(
        KOFU_DATA_DIR=str(root / "var"), KOFU_SECRET_KEY=TEST_KEY, KOFU_TASK_RUNNER="threads"
    )
    base.update(db_env(root / "var"))
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "kofu.cli", *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kofu: error:"), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def files_under(root: Path, leaving_out: Path | None = None) -> set[Path]:
    return {
        p
        for p in root.rglob("*")
        if leaving_out is None or not (p == leaving_out or leaving_out in p.parents)
    }


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A data directory with fonts and the register imported, and one delivery of two."""
    var = tmp_path / "var"
    (var / "fonts").mkdir(parents=True)
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():
        (var / "fonts" / cached.name).symlink_to(cached)
    from kofu.tasks.demo.register import write_register_csv

    register = tmp_path / "register.csv"
    write_register_csv(ROWS, register)
    ok(kofu(tmp_path, "residents", "import", str(register)))
    lines = [application_for(aid(5001), ROWS[0]), application_for(aid(5002), ROWS[1])]
    photos = {f"photos/{aid(n)}.jpg": portrait_jpeg(n % 5) for n in (5001, 5002)}
    write_delivery(tmp_path / "2026-11-26", lines, photos)
    return tmp_path


def notices(root: Path) -> int:
    from kofu.models import Notice
    from kofu.models.db import unit_of_work
    from tests.helpers import db_url_for

    with unit_of_work(db_url_for(root / "var")) as session:
        return session.scalar(select(func.count()).select_from(Notice))


# --- batch ids are names; every write stays inside the data directory ------------------


@pytest.mark.parametrize(
    "batch_id",
    ["../../escaped", "/tmp/kofu-escaped-abs", "a/b", "..", ".hidden", "x" * 65, "夜間 1", "a\\b"],
)
def test_a_batch_id_that_is_no_name_is_refused_before_anything_is_written(world, batch_id):
    before = files_under(world.parent)
    result = kofu(world, "nightly", "--inbox", str(world / "2026-11-26"), "--batch-id", batch_id)
    one_line(result, "batch id", "(--batch-id)")
    assert files_under(world.parent) - before == set()  # no folder, no notice, no lock file
    assert not Path("/tmp/kofu-escaped-abs").exists()
    rerun = kofu(world, "rerun", "--batch-id", batch_id)
    one_line(rerun, "batch id")


def test_a_batch_id_from_a_custom_run_is_checked_by_the_flow_itself(kofu_env, tmp_path):
    """A Prefect UI "Custom run" sets the flow's parameters without the CLI: the flow refuses
    a path for a batch id before it takes anything in, and the run fails with that line."""
    from kofu.base.errors import UserError
    from kofu.flows.nightly import nightly
    from kofu.flows.rerun import rerun_failed

    folder = write_delivery(tmp_path / "2026-11-26", [application_for(aid(5003), ROWS[0])], {})
    before = files_under(tmp_path.parent, leaving_out=kofu_env.data_dir)
    for run in (
        lambda: nightly(inbox=str(folder), batch_id="../../escaped"),
        lambda: nightly(inbox=str(folder), batch_id=str(tmp_path / "abs")),
        lambda: rerun_failed(batch_id="../escaped"),
    ):
        with pytest.raises(UserError, match="must be a name, not a path"):
            run()
    assert files_under(tmp_path.parent, leaving_out=kofu_env.data_dir) - before == set()
    assert not (kofu_env.notices_dir).exists() or not any(kofu_env.notices_dir.iterdir())


def test_an_inbox_folder_whose_name_is_no_batch_id_waits_and_the_others_go_on(world):
    """The folder's name becomes the batch id: a name with a space or a leading dot-dot is
    refused for a person to rename, and the ready folders beside it are taken in."""
    inbox = world / "inbox"
    good = shutil.move(str(world / "2026-11-26"), inbox / "2026-11-26")
    (Path(good) / "READY").touch()
    odd = write_delivery(inbox / "2026 11 27", [application_for(aid(5004), ROWS[0])], {})
    (odd / "READY").touch()
    result = ok(kofu(world, "nightly", KOFU_INBOX=str(inbox)))
    assert "2026 11 27" in result.stdout and "bad-folder-name" in result.stdout
    assert notices(world) == 2


def test_an_output_folder_that_leads_out_of_the_data_directory_is_not_written(world):
    """notices/ made a symlink to a folder outside (by mistake, or by someone who may write
    in the data directory): the notice chunk writes nothing there, its applications wait in
    the failure queue as they were, and once the link is gone a rerun gives each its notice."""
    outside = world / "outside"
    outside.mkdir()
    (world / "var" / "notices").symlink_to(outside)
    result = ok(kofu(world, "nightly", "--inbox", str(world / "2026-11-26")))
    assert list(outside.iterdir()) == []
    assert notices(world) == 0
    assert "queued" in result.stdout + result.stderr or "failure" in result.stdout
    (world / "var" / "notices").unlink()
    ok(kofu(world, "rerun", "--batch-id", "2026-11-26"))
    assert notices(world) == 2 and list(outside.iterdir()) == []


# --- the secret key ---------------------------------------------------------------------


def test_a_changed_secret_key_stops_every_run_with_one_line(world):
    """The database keeps a check value of its key (a keyed hash of a fixed text, never the
    key): with another key, nightly, rerun and the register import stop before doing
    anything; with the first key again, the night runs."""
    from kofu.models import KeyCheck
    from kofu.models.key_check import key_check_value
    from tests.helpers import database_bytes, db_url_for

    folder = str(world / "2026-11-26")
    for args in (
        ["nightly", "--inbox", folder],
        ["residents", "import", str(world / "register.csv")],
    ):
        one_line(kofu(world, *args, KOFU_SECRET_KEY=OTHER_KEY), "secret key is not the one")
    ok(kofu(world, "nightly", "--inbox", folder))
    one_line(
        kofu(world, "rerun", "--batch-id", "2026-11-26", KOFU_SECRET_KEY=OTHER_KEY),
        "secret key is not the one",
    )
    assert notices(world) == 2
    from kofu.models.db import unit_of_work

    with unit_of_work(db_url_for(world / "var")) as session:
        (stored,) = session.scalars(select(KeyCheck.check_value)).all()
    assert stored == key_check_value(TEST_KEY.encode())
    assert TEST_KEY.encode() not in database_bytes(world / "var")


# --- messages ---------------------------------------------------------------------------


def test_a_settings_file_that_is_a_folder_or_not_toml_is_one_line(world):
    broken = world / "broken.toml"
    broken.write_text("municipality = [unclosed\n", "utf-8")
    cases = {
        str(world): "is a folder, not a file (KOFU_CONFIG)",
        str(world / "missing.toml"): "settings file not found",
        str(broken): "is not valid TOML",
    }
    for config, words in cases.items():
        one_line(kofu(world, "status", KOFU_CONFIG=config), words)
        one_line(
            kofu(world, "nightly", "--inbox", str(world / "2026-11-26"), KOFU_CONFIG=config), words
        )


def test_a_data_directory_that_is_a_file_or_cannot_be_written_is_one_line(world, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    one_line(kofu(world, "status", KOFU_DATA_DIR=str(a_file)), "not a directory")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(read_only)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("a read-only file system needs mount (root): " + mounted.stderr.decode()[:80])
    try:
        for args in (["status"], ["nightly", "--inbox", str(world / "2026-11-26")]):
            one_line(kofu(world, *args, KOFU_DATA_DIR=str(read_only)), "is not writable")
    finally:
        subprocess.run(["umount", str(read_only)], check=True)


def test_two_runs_started_at_once_one_runs_and_the_other_gets_one_line(world):
    folder = str(world / "2026-11-26")
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOFU_")}
    env = {**base, "KOFU_DATA_DIR": str(world / "var"), "KOFU_SECRET_KEY": TEST_KEY,
           "KOFU_TASK_RUNNER": "threads", **db_env(world / "var")}  # fmt: skip
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "kofu.cli", "nightly", "--inbox", folder],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(run.args, run.returncode, out, err))
    done = [r for r in results if r.returncode == 0]
    refused = [r for r in results if r.returncode != 0]
    assert len(done) == 1 and len(refused) == 1, [r.stderr for r in results]
    one_line(refused[0], "another run is writing this database")
    assert notices(world) == 2


def test_a_broken_database_url_or_key_file_is_one_line_without_its_password(world, tmp_path):
    not_sqlite = tmp_path / "not-sqlite"
    not_sqlite.mkdir(mode=0o700)  # owner-only already: no notice line
    (not_sqlite / "kofu.sqlite3").write_bytes(b"this is not a database" * 100)
    open_key = tmp_path / "open.key"
    open_key.write_text(TEST_KEY)
    open_key.chmod(0o644)
    nightly = ["nightly", "--inbox", str(world / "2026-11-26")]
    no_key = {"KOFU_SECRET_KEY": ""}
    cases = [
        (["status"], {"KOFU_DATABASE_URL": "garbage"}, "KOFU_DATABASE_URL is not a database URL"),
        (["status"], {"KOFU_DATABASE_URL": "nosuchdb://x/y"}, "KOFU_DATABASE_URL is not a"),
        (
            ["status"],
            {"KOFU_DATABASE_URL": "postgresql+psycopg://kofu:hunter2@127.0.0.1:1/kofu"},
            "cannot use the database postgresql+psycopg://kofu:***@127.0.0.1:1/kofu",
        ),
        (
            ["status"],
            {"KOFU_DATA_DIR": str(not_sqlite), "KOFU_DATABASE_URL": ""},
            "file is not a database",
        ),
        (nightly, {**no_key, "KOFU_SECRET_KEY_FILE": str(tmp_path)}, "is not a file"),
        (nightly, {**no_key, "KOFU_SECRET_KEY_FILE": str(open_key)}, "chmod 600"),
    ]
    for args, env, words in cases:
        assert "hunter2" not in one_line(kofu(world, *args, **env), words)


def test_a_delivery_under_a_path_that_is_not_utf8_is_one_line_and_nothing_is_taken_in(world):
    """The batch records the folder it came from; a path PostgreSQL cannot hold as text is
    refused with one line, and no Prefect traceback comes before it."""
    odd = Path(os.fsdecode(bytes(world) + b"/\xff\xfe"))
    odd.mkdir()
    folder = shutil.move(str(world / "2026-11-26"), odd / "2026-11-26")
    result = kofu(world, "nightly", "--inbox", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("kofu: error: the delivery folder's path is not UTF-8 text")
    )
    assert notices(world) == 0
