"""tests/unit: pure functions only. Each test here runs with no database, no Prefect and no
subprocess, and that is checked rather than trusted: Python's audit hooks refuse a subprocess,
a SQLite file or a network connection (PostgreSQL, a Prefect server) while a unit test runs,
and a unit test that imports Prefect fails. Such a test belongs in tests/integration or
tests/e2e."""

from __future__ import annotations

import sys

import pytest

_REFUSED = {
    "subprocess.Popen": "started a subprocess",
    "os.system": "started a shell",
    "sqlite3.connect": "opened a SQLite database",
    "socket.connect": "opened a network connection",
}
_running = False


def _refuse(event: str, args: tuple) -> None:
    if _running and event in _REFUSED:
        raise RuntimeError(
            f"a unit test {_REFUSED[event]}: it belongs in tests/integration or tests/e2e"
        )


sys.addaudithook(_refuse)


@pytest.fixture(autouse=True)
def _pure_only():
    global _running
    had_prefect = "prefect" in sys.modules
    _running = True
    try:
        yield
    finally:
        _running = False
    if not had_prefect and "prefect" in sys.modules:
        pytest.fail("a unit test imported Prefect: it belongs in tests/integration or tests/e2e")


def pytest_collection_finish(session: pytest.Session) -> None:
    """`make test-unit` (only tests/unit collected): collecting them must not have imported
    Prefect either, so the pure modules they test are seen to be pure."""
    only_unit = session.items and all("tests/unit/" in i.nodeid for i in session.items)
    if only_unit and "prefect" in sys.modules:
        raise pytest.UsageError(
            "tests/unit imported Prefect while collecting: a unit test module imports a"
            " task or flow module; test the stage's core instead"
        )
