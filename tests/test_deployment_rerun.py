"""A failed batch rerun from the Prefect UI: the `rerun-failed` deployment, registered from the
shipped prefect.yaml, run with a batch id the way the UI's Run button does it, and executed by
a real process worker in a process of its own, on a real Prefect server.

The nightly run happens in-process (as in test_queues_flow.py) and leaves one application in
the failure queue (its photo is missing); the photo is then put in place, as a person would,
and the deployment's run must carry the application to its notice. Running it again changes
nothing."""

from __future__ import annotations

import hashlib
import os
import random
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
from sqlalchemy import select

from kofu.db import unit_of_work
from models import Application, FailureItem, FailureStatus, Notice, PrintBatch
from tests.conftest import TEST_KEY
from tests.helpers import (
    application_for,
    import_register,
    portrait_jpeg,
    valid_number,
    write_delivery,
)
from tests.test_queues_flow import person

# The checkout this test file belongs to: the worker's flow runs must use this code.
REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "rerun-failed/rerun-failed"
POOL = "kofu-process"
BATCH = "2026-11-26"
SERVER_START_TIMEOUT = 90  # s: as long as conftest gives Prefect's embedded server
RUN_TIMEOUT = 180  # s: from the worker's start to the flow run's final state
PREFECT = [sys.executable, "-m", "prefect"]  # the `prefect` CLI of this environment


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
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
        port = _free_port()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env(),
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


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """A Prefect server started for this module, the way the vendor runs one.

    Why not the session's embedded server (conftest)? That one is Prefect's ephemeral mode: a
    uvicorn subprocess started lazily by this process's client, without the UI and with only
    some of the server's services, owned and stopped by Prefect's client machinery and
    conftest's session hook. A separate worker process could reach it, but the test would then
    depend on whether and when this process happened to start it and on Prefect internals
    (SubprocessASGIServer._instances). `prefect server start` is the server the UI runs on in
    production; with its own PREFECT_HOME it shares no SQLite file with the embedded server,
    and this fixture owns its whole lifetime. It starts here and is waited for only once the
    in-process nightly run is done, so the two start-ups overlap."""
    home = tmp_path_factory.mktemp("prefect-server")
    server = PrefectServer(home=home / "home", log=home / "server.log")
    server.home.mkdir()
    server.spawn()
    try:
        yield server
    finally:
        for process in server.started:
            _stop(process)


@dataclass
class WorkerRun:
    state: str
    output: str


def run_through_worker(
    server: PrefectServer, flow_run_id, env: dict[str, str], cwd: Path, log: Path
) -> WorkerRun:
    """Start `prefect worker start --run-once` on the pool and wait for the flow run to end.
    The worker runs in a process group of its own and is always gone when this returns."""
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", POOL, "--run-once", "--name", log.stem],
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
        _stop(worker)


def _business_state(settings) -> dict:
    """Everything a rerun could change: states, notices, queue items, print batches, files."""
    with unit_of_work(settings.db_url) as session:
        apps = sorted(
            (a.application_id, a.state.value) for a in session.scalars(select(Application))
        )
        notices = sorted(
            (n.notice_number, n.application_pk, n.pdf_path, n.content_digest)
            for n in session.scalars(select(Notice))
        )
        failures = sorted(
            (f.id, f.stage.value, f.error_code, f.status.value, f.attempts)
            for f in session.scalars(select(FailureItem))
        )
        batches = sorted((b.pdf_path, b.page_count) for b in session.scalars(select(PrintBatch)))
    files = {
        str(path.relative_to(settings.data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in (settings.notices_dir, settings.letters_dir, settings.print_dir)
        if folder.exists()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    return {
        "applications": apps,
        "notices": notices,
        "failures": failures,
        "print": batches,
        "files": files,
    }


def test_rerun_failed_deployment_run_by_a_worker_completes_the_failed_item(
    kofu_env, tmp_path, prefect_server
):
    from prefect.deployments import run_deployment

    from flows.nightly import nightly

    settings = kofu_env
    server = prefect_server

    # 1. A register, a delivery whose first photo is missing, and the nightly run.
    rng = random.Random(3)
    rows = [
        person(
            "10000000001",
            valid_number(rng),
            "山田",
            "花子",
            ("ヤマダ", "ハナコ"),
            "見本市中央1丁目2番3号",
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
    lines = [application_for(app_id, row) for app_id, row in (("2001", rows[0]), ("2003", rows[1]))]
    folder = write_delivery(tmp_path / BATCH, lines, {"photos/2003.jpg": portrait_jpeg(2)})
    first = nightly(inbox=str(folder))
    assert first["failure_queue"] == 1, first
    with unit_of_work(settings.db_url) as session:
        item = session.scalars(select(FailureItem)).one()
        assert (item.stage.value, item.error_code, item.status) == (
            "photos",
            "photo-file-unreadable",
            FailureStatus.PENDING,
        )
    assert _state_of(settings, "2001") == "received"
    assert _state_of(settings, "2003") == "notice_generated"
    # A person fixes the cause: the photo arrives.
    (folder / "photos" / "2001.jpg").write_bytes(portrait_jpeg(9))

    # 2-3. The server, the work pool, and the deployment registered from prefect.yaml.
    server.wait_ready()
    server.cli("work-pool", "create", POOL, "--type", "process")
    # KOFU_HOME is left unset here on purpose: `{{ $KOFU_HOME }}` in the pull step then stays
    # in the deployment and is filled in by each worker from its own environment.
    server.cli("deploy", "--name", "rerun-failed")
    with server.client() as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    assert deployment.work_pool_name == POOL
    assert deployment.entrypoint == "flows/rerun.py:rerun_failed"
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $KOFU_HOME }}"}}
    ]

    # The worker's environment, as the vendor's service definition would set it. It starts
    # outside the checkout: the pull step has to take the run there.
    worker_env = server.env(
        KOFU_HOME=str(REPO_ROOT),
        KOFU_DATA_DIR=str(settings.data_dir.resolve()),
        KOFU_SECRET_KEY=TEST_KEY,
    )
    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()

    def run_once(n: int):
        # 4. What the UI's Run button does: a flow run of the deployment, with its parameter.
        with server.client():
            flow_run = run_deployment(name=DEPLOYMENT, parameters={"batch_id": BATCH}, timeout=0)
        assert flow_run.state is not None and flow_run.state.is_scheduled()
        # 5. A real process worker picks it up and runs it in a process of its own.
        done = run_through_worker(
            server, flow_run.id, worker_env, elsewhere, tmp_path / f"worker-{n}.log"
        )
        assert done.state == "Completed", (
            f"run {n} of the deployment ended {done.state}; worker output:\n{done.output}"
        )
        with server.client() as client:
            ran = client.read_flow_run(flow_run.id)
        assert ran.parameters == {"batch_id": BATCH}
        assert ran.work_pool_name == POOL and ran.deployment_id == deployment.id
        return done

    # 6. The failed item is resolved and the application has its notice.
    run_once(1)
    with unit_of_work(settings.db_url) as session:
        assert session.scalars(select(FailureItem.status)).one() == FailureStatus.RESOLVED
    assert _state_of(settings, "2001") == "notice_generated"
    after_first = _business_state(settings)
    assert len(after_first["notices"]) == 2

    # A second run of the deployment is harmless: it completes, and nothing changes.
    run_once(2)
    assert _business_state(settings) == after_first


def _state_of(settings, application_id: str) -> str:
    with unit_of_work(settings.db_url) as session:
        return session.scalar(
            select(Application.state).where(Application.application_id == application_id)
        ).value
