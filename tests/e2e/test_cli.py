"""The CLI answers bad input with one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_KEY
from tests.helpers import db_env, db_url_for


def kofu(*args: str, env: dict | None = None, tmp_path=None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOFU_")}
    base["KOFU_DATA_DIR"] = str(tmp_path / "var")
    base.update(db_env(tmp_path / "var"))  # the test's own database on PostgreSQL
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "kofu.cli", *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kofu: error:") and needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["residents", "import", "nope.csv"], {"KOFU_SECRET_KEY": TEST_KEY}, "not found"),
        (["residents", "import", "nope.csv"], {}, "no secret key"),
        (
            ["nightly", "--inbox", "/nonexistent"],
            {"KOFU_SECRET_KEY": TEST_KEY},
            "no applications.jsonl",
        ),
        (["queue", "list", "--kind", "bogus"], {}, "--kind"),
        (["export", "--batch-id", "nope", "--json"], {}, "no batch"),
        (["rerun", "--batch-id", "nope"], {}, "no batch"),
        (["status"], {"KOFU_CONFIG": "/nonexistent.toml"}, "settings file not found"),
        (["review", "resolve", "123"], {}, "exactly one of"),
        (["review", "resolve", "123", "--reject", "x"], {}, "no application"),
        (["audit", "list", "--since", "26/11/2026"], {}, "--since takes a day as YYYY-MM-DD"),
        (["audit", "list", "--since", "2026-02-30"], {}, "--since takes a day as YYYY-MM-DD"),
        (["audit", "list", "--resident", "983205673214"], {}, "11-digit resident code"),
        # Usage mistakes: the same one line, not a boxed block.
        (["stauts"], {}, "no such command 'stauts'"),
        (["rerun"], {}, "missing option '--batch-id' (see `kofu rerun --help`)"),
        (["status", "--batch-id", "nope"], {}, "no batch 'nope'"),
        (["show", "983205673214"], {}, "no application with that id"),
        (
            ["nightly", "--batch-id", "x"],
            {"KOFU_SECRET_KEY": TEST_KEY},
            "--batch-id names the batch of --inbox",
        ),
    ],
)
def test_bad_input_gets_one_line(tmp_path, args, env, needle):
    assert_one_line_error(kofu(*args, env=env, tmp_path=tmp_path), needle)


def test_key_file_must_be_owner_only(tmp_path):
    key = tmp_path / "secret.key"
    key.write_text("x" * 40)
    key.chmod(0o644)
    result = kofu(
        "residents", "import", "x.csv", env={"KOFU_SECRET_KEY_FILE": str(key)}, tmp_path=tmp_path
    )
    assert_one_line_error(result, "chmod 600")


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"KOFU_TASK_RUNNER": "gpu"},
            "KOFU_TASK_RUNNER='gpu': use one of processes, threads, dask",
        ),
        ({"KOFU_WORKERS": "0"}, "KOFU_WORKERS='0': give a number of workers from 1 to 256"),
        ({"KOFU_WORKERS": "two"}, "KOFU_WORKERS='two'"),
    ],
)
def test_a_wrong_task_runner_stops_the_run_before_it_starts(tmp_path, env, needle):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "applications.jsonl").write_text("")
    result = kofu(
        "nightly",
        "--inbox",
        str(inbox),
        env={"KOFU_SECRET_KEY": TEST_KEY, **env},
        tmp_path=tmp_path,
    )
    assert_one_line_error(result, needle)
    assert "Starting temporary server" not in result.stdout + result.stderr  # no flow started


def test_a_wrong_task_runner_stops_the_demo_before_it_writes_anything(tmp_path):
    result = kofu("demo", env={"KOFU_TASK_RUNNER": "spark"}, tmp_path=tmp_path)
    assert_one_line_error(result, "KOFU_TASK_RUNNER='spark'")
    assert not (tmp_path / "var" / "demo").exists()


def test_unknown_option_is_a_usage_error_without_traceback(tmp_path):
    result = kofu("status", "--bogus", tmp_path=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_status_on_an_empty_database(tmp_path):
    result = kofu("status", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout)["applications"] == 0


def test_a_bad_register_row_imports_nothing_and_gets_one_line(tmp_path):
    from sqlalchemy import create_engine, text

    from tests.integration.test_register import register_rows, write_csv

    env = {"KOFU_SECRET_KEY": TEST_KEY}
    rows = register_rows(3)
    good = kofu(
        "residents", "import", str(write_csv(tmp_path / "1.csv", rows)), env=env, tmp_path=tmp_path
    )
    assert good.returncode == 0, good.stderr
    assert "3 added, 0 updated" in good.stdout
    # The rows stream into the open transaction; the bad last one must roll it all back.
    changed = [{**row, "given_name": "次郎"} for row in rows]
    bad = write_csv(tmp_path / "2.csv", [*changed, {**rows[0], "resident_code": "1"}])
    result = kofu("residents", "import", str(bad), env=env, tmp_path=tmp_path)
    assert_one_line_error(result, "register line 5: resident_code must be 11 digits")
    engine = create_engine(db_url_for(tmp_path / "var"))
    with engine.connect() as db:
        names = [tuple(r) for r in db.execute(text("SELECT given_name FROM residents"))]
        actions = [a for (a,) in db.execute(text("SELECT action FROM audit_trail ORDER BY id"))]
    engine.dispose()
    assert names == [("太郎",)] * 3
    assert actions == ["residents-import", "residents-import-refused"]


def test_matching_thresholds_the_wrong_way_round_stop_the_run_before_it_starts(tmp_path):
    from kofu.base.settings import SAMPLE_CONFIG

    config = tmp_path / "municipality.toml"
    text = SAMPLE_CONFIG.read_text(encoding="utf-8") + "\nreview_threshold = 40.0\n"
    config.write_text(text, encoding="utf-8")
    inbox = tmp_path / "2026-11-26"
    inbox.mkdir()
    (inbox / "applications.jsonl").write_text("", encoding="utf-8")
    env = {"KOFU_SECRET_KEY": TEST_KEY, "KOFU_CONFIG": str(config)}
    result = kofu("nightly", "--inbox", str(inbox), env=env, tmp_path=tmp_path)
    assert_one_line_error(result, "review_threshold is above match_threshold")
    assert not (tmp_path / "var" / "prefect").exists()  # no run was started
