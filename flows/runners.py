"""Where a run's chunk tasks execute: threads, processes on this machine, or a Dask cluster.

The chunk tasks (photos, letters, matching, notices, print files) are submitted to the
flow's task runner. Which runner is an operations choice, not the municipality's, so it is
read from the environment when the flow run starts (``KOFU_TASK_RUNNER``):

- ``processes`` (the default): Prefect's ProcessPoolTaskRunner, one process per core
  (``KOFU_WORKERS`` to change). PDF drawing (reportlab) and the Python parts of the photo
  checks hold the GIL, so threads fight over one core; processes use them all.
- ``threads``: Prefect's ThreadPoolTaskRunner (``KOFU_WORKERS``, default 4). No process
  start-up (a few seconds), so the tests and small nights use it.
- ``dask``: prefect-dask's DaskTaskRunner. With ``KOFU_DASK_ADDRESS`` (``tcp://host:8786``)
  the chunks go to that cluster's workers on other machines; without it, a local cluster of
  ``KOFU_WORKERS`` processes (one per core by default) is started for the run.

Only ids and settings cross to the runner: each chunk task reads its applications from the
database by id bounds (tasks/chunks/records.py), so a remote worker needs the database URL and the
key (its own ``KOFU_*`` environment) and never receives personal data from the flow.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from kofu.base.errors import UserError
from kofu.base.private import set_private_umask

RUNNERS = ("processes", "threads", "dask")


def runner_choice() -> tuple[str, int | None, str | None]:
    """(kind, workers, dask address) from the environment; one line when it is wrong."""
    kind = os.environ.get("KOFU_TASK_RUNNER", "processes").strip().lower() or "processes"
    if kind not in RUNNERS:
        raise UserError(f"KOFU_TASK_RUNNER={kind!r}: use one of {', '.join(RUNNERS)}")
    raw = os.environ.get("KOFU_WORKERS", "").strip()
    workers = None
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 256:
            raise UserError(f"KOFU_WORKERS={raw!r}: give a number of workers from 1 to 256")
        workers = int(raw)
    address = os.environ.get("KOFU_DASK_ADDRESS", "").strip() or None
    return kind, workers, address


def in_flight() -> int:
    """How many chunks a stage submits ahead of the one it waits for: two per worker, so
    no worker idles, and a stop (kofu/base/stops.py) leaves the rest unstarted."""
    kind, workers, _ = runner_choice()
    return 2 * (workers or (4 if kind == "threads" else os.cpu_count() or 1))


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)  # kofu is gone (even by SIGKILL): no chunk of ours may run on unattended


def init_worker() -> None:
    """Each process-pool worker: the owner-only umask, deaf to the SIGTERM and Ctrl-C
    sent to kofu's process group (kofu stops at a chunk boundary and lets the running chunks
    finish: kofu/base/stops.py), and gone within a second when kofu's process is."""
    set_private_umask()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    threading.Thread(
        target=_watch_parent, args=(os.getppid(),), name="kofu-parent-watch", daemon=True
    ).start()


def build_runner() -> TaskRunner:
    kind, workers, address = runner_choice()
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers or 4)
    if kind == "processes":
        # Spawned processes: the owner-only umask again, so what they write is private too;
        # and they stop with kofu, never before it, never after it (init_worker).
        return ProcessPoolTaskRunner(
            max_workers=workers or os.cpu_count() or 1, initializer=init_worker
        )
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers or os.cpu_count() or 1,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,  # no web port opened for a local run
        }
    )


def _share_api_url() -> bool:
    """Point the processes the runner starts at this run's Prefect server. On the embedded
    server (no PREFECT_API_URL: `kofu nightly`, `make demo`) each spawned process would
    otherwise start an embedded server of its own, costing seconds and memory, and record
    its task runs through it. True when the variable was set here (and is to be removed)."""
    if os.environ.get("PREFECT_API_URL"):
        return False
    from prefect.client.orchestration import get_client

    os.environ["PREFECT_API_URL"] = str(get_client(sync_client=True).api_url)
    return True


class KofuTaskRunner(TaskRunner):
    """The runner ``runner_choice()`` names, chosen when the flow run starts, so the same
    deployment runs on threads in a test, processes on one server and Dask on a cluster."""

    def __init__(self) -> None:
        self._inner: TaskRunner | None = None
        super().__init__()

    @property
    def name(self) -> str:
        return f"kofu-{self._inner.name}" if self._inner is not None else "kofu"

    def duplicate(self) -> KofuTaskRunner:
        return type(self)()

    def __enter__(self) -> KofuTaskRunner:
        kind = runner_choice()[0]
        self._shared_url = _share_api_url() if kind != "threads" else False
        try:
            self._inner = build_runner()
            self._inner.__enter__()
        except BaseException:
            self._unshare()
            raise
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self._inner is not None:
                self._inner.__exit__(*exc)
        finally:
            self._inner = None
            self._unshare()
            super().__exit__(*exc)

    def _unshare(self) -> None:
        if getattr(self, "_shared_url", False):
            os.environ.pop("PREFECT_API_URL", None)
            self._shared_url = False

    def submit(self, task, parameters, wait_for=None, dependencies=None):  # type: ignore[no-untyped-def, override]
        if self._inner is None:
            raise RuntimeError("The task runner must be started before submitting work.")
        return self._inner.submit(task, parameters, wait_for, dependencies)
