"""A real Prefect server (`prefect server start`) and real process workers for the tests that
need the server the UI runs on in production: tests/e2e/test_deployment_rerun.py and
tests/e2e/test_browser.py.

Why not the session's embedded server (conftest)? That one is Prefect's ephemeral mode: a
uvicorn subprocess started lazily by this process's client, without the UI and with only some
of the server's services, owned and stopped by Prefect's client machinery and conftest's
session hook. A separate worker process could reach it, but the test would then depend on
whether and when this process happened to start it and on Prefect internals
(SubprocessASGIServer._instances). `prefect server start` is the server the UI runs on in
production; with its own PREFECT_HOME it shares no SQLite file with the embedded server, and
the test owns its whole lifetime: every process started here runs in a process group of its
own and is killed, with whatever it started, when the server is stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

# The checkout these tests belong to: the worker's flow runs must use this code.
REPO_ROOT = Path(__file__).resolve().parents[1]
POOL = "kofu-process"
SERVER_START_TIMEOUT = 90  # s: as long as conftest gives Prefect's embedded server
RUN_TIMEOUT = 180  # s: from the worker's start to the flow run's final state
PREFECT = [sys.executable, "-m", "prefect"]  # the `prefect` CLI of this environment


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen) -> None:
    """End a process started in a session of its own, and everything it started."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Whatever of its group outlived it (a flow run whose worker was stopped).
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class PrefectServer:
    """`prefect server start` in a process group of its own, with its own PREFECT_HOME."""

    home: Path
    log: Path
    process: subprocess.Popen | None = None
    api_url: str = ""
    started: list[subprocess.Popen] = field(default_factory=list)
    # Settings of the server process only (not of the CLI, worker and client processes).
    server_env: dict[str, str] = field(default_factory=dict)

    @property
    def ui_url(self) -> str:
        """The UI's root (the API is served under /api of the same port)."""
        return self.api_url.removesuffix("/api")

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a Prefect CLI process talking to this server: nothing of the
        test session's own Prefect or kofu settings leaks in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KOFU_"))}
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
        )
        if self.api_url:
            env["PREFECT_API_URL"] = self.api_url
        env.update(extra)
        return env

    def spawn(self) -> None:
        port = free_port()
        # `--port` alone is not enough for the UI: the API address the UI's pages call comes
        # from the server's settings (PREFECT_UI_API_URL, else PREFECT_API_URL, else
        # PREFECT_SERVER_API_HOST/PORT), and without these the pages would call port 4200.
        env = self.env(
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(port),
            **self.server_env,
        )
        env.pop("PREFECT_API_URL", None)  # a port an earlier attempt could not bind
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(self.process)
        self.api_url = f"http://127.0.0.1:{port}/api"

    def wait_ready(self) -> str:
        """Wait for the API to answer; start again on another port if this one was taken
        between choosing it and binding it."""
        for _attempt in range(3):
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    break  # it exited: most likely the port was taken meanwhile
                try:
                    if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                        return self.api_url
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                pytest.fail(f"the Prefect server did not start:\n{self.log.read_text()[-4000:]}")
            self.spawn()
        pytest.fail(f"the Prefect server kept exiting:\n{self.log.read_text()[-4000:]}")

    def cli(self, *args: str, **extra: str) -> str:
        """Run a Prefect CLI command against this server from the checkout, as the vendor would."""
        done = subprocess.run(
            [*PREFECT, "--no-prompt", *args],
            cwd=REPO_ROOT,
            env=self.env(**extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    @contextmanager
    def client(self) -> Iterator:
        """This test process's Prefect client, pointed at this server for the block only (the
        rest of the session keeps its embedded server)."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings(updates={PREFECT_API_URL: self.api_url}),
            get_client(sync_client=True) as client,
        ):
            yield client

    def stop(self) -> None:
        """Stop every process started for this server (workers first, the server last)."""
        for process in reversed(self.started):
            stop_process(process)


@contextmanager
def prefect_server_process(folder: Path, **server_env: str) -> Iterator[PrefectServer]:
    """A Prefect server spawned (not yet waited for: call `wait_ready`) with its PREFECT_HOME
    and log in ``folder``, and ``server_env`` in its environment; it and everything started
    through it are stopped on exit."""
    server = PrefectServer(home=folder / "home", log=folder / "server.log", server_env=server_env)
    server.home.mkdir()
    server.spawn()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class WorkerRun:
    state: str
    output: str


def run_through_worker(
    server: PrefectServer,
    flow_run_id,
    env: dict[str, str],
    cwd: Path,
    log: Path,
    pool: str = POOL,
) -> WorkerRun:
    """Start `prefect worker start --run-once` on the pool and wait for the flow run to end.
    The worker runs in a process group of its own and is always gone when this returns."""
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", pool, "--run-once", "--name", log.stem],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server.started.append(worker)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        state = None
        with server.client() as client:
            while time.monotonic() < deadline:
                state = client.read_flow_run(flow_run_id).state
                if state is not None and state.is_final():
                    break
                if worker.poll() is not None:
                    # The worker is gone: give the run's last state a moment to land.
                    time.sleep(1)
                    state = client.read_flow_run(flow_run_id).state
                    break
                time.sleep(0.5)
        with suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=30)  # --run-once: it exits once its run is over
        return WorkerRun(state=state.name if state else "no state", output=log.read_text())
    finally:
        stop_process(worker)
