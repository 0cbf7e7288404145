"""At rest, owner-only: the data directory is 0700 and nothing kofu writes under it (the
database, notices, letters, print batches and manifests, Prefect's records) has group or
other permissions, even when kofu is started under a permissive umask (0o022). The real
`kofu` CLI in subprocesses."""

from __future__ import annotations

import io
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

from kofu.tasks.demo.register import write_register_csv
from tests.conftest import FONT_CACHE, TEST_KEY
from tests.e2e.test_audit import line, photo, register_rows
from tests.helpers import ON_POSTGRES, aid, db_env, write_delivery


def kofu(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kofu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: os.umask(0o022),  # what a login shell usually has
    )


def environment(data: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOFU_", "PREFECT_HOME"))}
    # No PREFECT_HOME: kofu keeps Prefect's records in <data>/prefect, which is checked too.
    env.update(
        KOFU_DATA_DIR=str(data),
        KOFU_SECRET_KEY=TEST_KEY,
        KOFU_PRINT_PASSWORD="at-rest-test-print-password",
        **db_env(data),
    )
    return env


def loose(data: Path, placed: set[Path]) -> list[str]:
    """Every file and directory under ``data`` with a group or other permission bit, except
    the symbolic links the test placed (a link's own mode is always 0777 on Linux)."""
    found = []
    for root, dirs, files in os.walk(data):
        for name in dirs + files:
            path = Path(root) / name
            if path in placed:
                continue
            mode = path.lstat().st_mode
            if stat.S_IMODE(mode) & 0o077:
                found.append(f"{path.relative_to(data)} {stat.S_IMODE(mode):04o}")
    return found


def png(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(photo(seed))).save(buf, "PNG")
    return buf.getvalue()


def test_everything_kofu_writes_is_owner_only_under_a_permissive_umask(tmp_path):
    rows = register_rows(random.Random(5))
    register = tmp_path / "in" / "register.csv"
    write_register_csv(rows, register)
    lines = [
        line(aid(4001), rows[0], individual_number=rows[0].individual_number),
        line(aid(4002), rows[2], individual_number=rows[2].individual_number),
        line(aid(4003), rows[3], individual_number=rows[3].individual_number),  # a PNG: refused
    ]
    photos = {
        "photos/20261125000000000004001.jpg": photo(1),
        "photos/20261125000000000004002.jpg": photo(2),
        "photos/20261125000000000004003.jpg": png(9),
    }
    folder = write_delivery(tmp_path / "in" / "2026-11-26", lines, photos)
    data = tmp_path / "var"
    env = environment(data)

    imported = kofu(env, "residents", "import", str(register))
    assert imported.returncode == 0, imported.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    if not ON_POSTGRES:  # on PostgreSQL the server's files are its own, not under <data>
        assert stat.S_IMODE((data / "kofu.sqlite3").stat().st_mode) == 0o600

    # The converted notice font, linked in from the tests' cache as the kofu_env fixture does
    # (converting it takes ~12 s). The directory is made here, owner-only like kofu's own.
    fonts = data / "fonts"
    fonts.mkdir(mode=0o700)
    FONT_CACHE.mkdir(exist_ok=True)
    placed = set()
    for cached in FONT_CACHE.iterdir():
        (fonts / cached.name).symlink_to(cached)
        placed.add(fonts / cached.name)

    run = kofu(env, "nightly", "--inbox", str(folder))
    assert run.returncode == 0, run.stderr

    # The run wrote what it should, so the check below has something to check.
    assert len(list((data / "notices").rglob("*.pdf"))) == 2
    assert len(list((data / "letters").rglob("*.pdf"))) == 1
    assert list((data / "print").rglob("*.pdf")) and list((data / "print").rglob("*.csv"))
    assert list((data / "prefect").rglob("*.db"))  # Prefect's own database
    assert loose(data, placed) == []
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_an_existing_data_directory_open_to_others_is_made_owner_only(tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    data.chmod(0o755)
    env = environment(data)

    first = kofu(env, "status")
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    notice = [ln for ln in first.stderr.splitlines() if ln.strip()]
    assert len(notice) == 1 and "was open to group or others (mode 0755)" in notice[0], notice
    assert "owner-only (0700)" in notice[0]
    assert loose(data, set()) == []

    again = kofu(env, "status")
    assert again.returncode == 0 and again.stderr == ""  # nothing to tighten, nothing said


def test_a_new_data_directory_and_its_missing_parents_are_owner_only(tmp_path):
    data = tmp_path / "srv" / "kofu" / "var"
    result = kofu(environment(data), "init-db")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for made in (data, data.parent, data.parent.parent):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    assert loose(data, set()) == []


def test_a_data_directory_that_is_a_file_gets_one_line(tmp_path):
    from tests.e2e.test_cli import assert_one_line_error

    data = tmp_path / "var"
    data.write_text("not a directory")
    assert_one_line_error(kofu(environment(data), "status"), "is not a directory")


def test_a_flow_loaded_as_a_prefect_worker_loads_it_gets_the_owner_only_umask():
    """A worker's flow run imports the flow from prefect.yaml's entrypoint, not through the
    CLI: loading it must set the umask as well."""
    from kofu.base.settings import REPO_ROOT

    code = (
        "import os\n"
        "from prefect.flows import load_flow_from_entrypoint\n"
        "load_flow_from_entrypoint('flows/nightly.py:nightly')\n"
        "print(oct(os.umask(0)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0o77"
