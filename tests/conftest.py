"""Shared fixtures. Prefect's records go to a temporary PREFECT_HOME for the whole session,
set here before anything imports Prefect, so the leak test can search them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

PREFECT_HOME = Path(tempfile.mkdtemp(prefix="kofu-test-prefect-"))
os.environ["PREFECT_HOME"] = str(PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
# The embedded server gets 20 s to start by default; shared CI machines can be slower.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.pop("PREFECT_API_URL", None)
# Chunk tasks on threads: a process pool costs seconds to start for every flow run, and the
# suite runs hundreds. tests/e2e/test_scale_out.py runs the default (processes) and Dask.
os.environ["KOFU_TASK_RUNNER"] = "threads"
for name in ("KOFU_DATABASE_URL", "KOFU_SECRET_KEY_FILE", "KOFU_CONFIG"):
    os.environ.pop(name, None)

# One font cache for the session: converting the font takes ~10 s.
FONT_CACHE = Path(tempfile.gettempdir()) / "kofu-test-font-cache"

TEST_KEY = "test-secret-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _own_databases():
    """On PostgreSQL (KOFU_TEST_DATABASE_URL), drop the databases a test made once it is
    done; a module fixture's outlive its first test and go at the end of the session."""
    from tests.helpers import ON_POSTGRES, databases_made, drop_databases

    made = databases_made() if ON_POSTGRES else 0
    yield
    if ON_POSTGRES:
        drop_databases(since=made)


@pytest.fixture
def kofu_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh data directory and database, configured through the environment: a SQLite
    file in the data directory, or with KOFU_TEST_DATABASE_URL a PostgreSQL database of its
    own (tests/helpers.py db_url_for)."""
    from kofu.base.settings import get_settings
    from kofu.models.db import upgrade_schema
    from tests.helpers import db_env

    data = tmp_path / "var"
    monkeypatch.setenv("KOFU_DATA_DIR", str(data))
    monkeypatch.setenv("KOFU_SECRET_KEY", TEST_KEY)
    for name, value in db_env(data).items():
        monkeypatch.setenv(name, value)
    (data / "fonts").mkdir(parents=True)
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():
        (data / "fonts" / cached.name).symlink_to(cached)
    settings = get_settings()
    upgrade_schema(settings.db_url)
    yield settings
    # Keep converted fonts for the next test.
    for made in (data / "fonts").iterdir():
        if not made.is_symlink() and made.suffix == ".ttf":
            target = FONT_CACHE / made.name
            if not target.exists():
                os.replace(made, target)


@pytest.fixture(scope="session")
def font_cache() -> Path:
    FONT_CACHE.mkdir(exist_ok=True)
    return FONT_CACHE


@pytest.fixture(scope="session")
def font_name(font_cache: Path) -> str:
    from kofu.base.fonts import register_notice_font

    return register_notice_font(font_cache)


def pytest_sessionfinish(session, exitstatus):
    """Stop Prefect's temporary server while pytest's output streams are still open
    (its own exit hook would log to a closed stream)."""
    import sys

    if "prefect.server.api.server" in sys.modules:
        import logging

        from prefect.logging.handlers import APILogWorker
        from prefect.server.api.server import SubprocessASGIServer, subprocess_server_logger

        APILogWorker.drain_all(timeout=5)  # send queued run logs while the server listens
        # Its "stopping" line would be sent to the very server being stopped.
        subprocess_server_logger.setLevel(logging.WARNING)
        for server in list(SubprocessASGIServer._instances.values()):
            server.stop()
    import shutil

    shutil.rmtree(PREFECT_HOME, ignore_errors=True)
    if "tests.helpers" in sys.modules:
        from tests.helpers import ON_POSTGRES, drop_databases

        if ON_POSTGRES:
            drop_databases()
