"""`make serve` for real: scripts/serve brings up a Prefect server, the pool, the deployments
(the nightly with its schedule) and a worker; runs started from the kofu CLI meanwhile report
to that server, artifacts and all, so staff see them in its UI; scripts/stop ends it all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import FONT_CACHE, TEST_KEY
from tests.helpers import db_env
from tests.prefect_server import REPO_ROOT, free_port


def run(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


def kofu(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = run([sys.executable, "-m", "kofu.cli", *args], env)
    assert result.returncode == 0, result.stderr[-3000:]
    # It reported to the served server: no embedded server of its own writing to the same
    # Prefect database behind the UI's back.
    assert "Starting temporary server" not in result.stderr
    return result


@pytest.fixture
def served(tmp_path: Path):
    data = tmp_path / "var"
    (data / "fonts").mkdir(parents=True)
    FONT_CACHE.mkdir(exist_ok=True)
    for cached in FONT_CACHE.iterdir():
        (data / "fonts" / cached.name).symlink_to(cached)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KOFU_", "PREFECT_API_URL", "PREFECT_HOME"))
    }
    env.update(
        KOFU_DATA_DIR=str(data),
        KOFU_SECRET_KEY=TEST_KEY,
        KOFU_PREFECT_PORT=str(free_port()),
        KOFU_BIN=str(Path(sys.executable).parent),
        **db_env(data),
    )
    pids: dict[str, int] = {}
    try:
        started = run(["scripts/serve"], env)
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        for name in ("server", "worker"):
            pids[name] = int((data / "run" / f"prefect-{name}.pid").read_text().split()[0])
            assert alive(pids[name]), f"the {name} named in its pid file is not running"
        yield env, data
    finally:
        stopped = run(["scripts/stop"], env)
        assert stopped.returncode == 0, stopped.stderr[-2000:]
    left = [name for name, pid in pids.items() if alive(pid)]
    assert not left, f"make stop left the {' and the '.join(left)} running"
    with pytest.raises(httpx.TransportError):  # nothing answers on the port any more
        httpx.get(f"http://127.0.0.1:{env['KOFU_PREFECT_PORT']}/api/health", timeout=5)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_shows_the_deployments_and_the_cli_runs_with_their_artifacts(served):
    env, data = served
    api = (data / "run" / "prefect.env").read_text().strip().partition("=")[2]
    assert api == f"http://127.0.0.1:{env['KOFU_PREFECT_PORT']}/api"
    with httpx.Client(base_url=api, timeout=30) as http:
        deployments = {d["name"]: d for d in http.post("/deployments/filter", json={}).json()}
        assert {"nightly", "rerun-failed", "demo"} <= set(deployments)
        [schedule] = deployments["nightly"]["schedules"]
        assert schedule["schedule"]["cron"] == "0 2 * * *"
        assert schedule["schedule"]["timezone"] == "Asia/Tokyo"
        assert schedule["active"]
        workers = http.post("/work_pools/kofu-process/workers/filter", json={}).json()
        assert [w["status"] for w in workers] == ["ONLINE"]

        # A manual run and a rerun from the CLI, with no PREFECT_API_URL of their own.
        kofu(env, "demo", "--residents", "600", "--applications", "40")
        runs = http.post("/flow_runs/filter", json={}).json()
        [batch_id] = {r["parameters"].get("inbox", "").rsplit("/", 1)[-1] for r in runs} - {""}
        kofu(env, "rerun", "--batch-id", batch_id)

        runs = {r["name"]: r for r in http.post("/flow_runs/filter", json={}).json()}
        assert f"nightly {batch_id}" in runs and f"rerun {batch_id}" in runs, sorted(runs)
        for name in (f"nightly {batch_id}", f"rerun {batch_id}"):
            assert runs[name]["state_type"] == "COMPLETED"
            artifacts = http.post(
                "/artifacts/filter",
                json={"artifacts": {"flow_run_id": {"any_": [runs[name]["id"]]}}},
            ).json()
            assert {"nightly-summary", "failure-queue", "print-batches"} <= {
                a["key"] for a in artifacts
            }, name
