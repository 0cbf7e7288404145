"""Process set-up done once before Prefect is imported: where Prefect keeps its records,
and a log filter that masks anything shaped like an individual number."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kofu.base.mynumber import mask_individual_numbers
from kofu.base.settings import Settings


def install_log_mask() -> None:
    """Mask 12-digit runs in every log record, whichever logger or handler it goes to."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "kofu_mask", False):
        return

    def masking_factory(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        masked = mask_individual_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    masking_factory.kofu_mask = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)


# Prefect settings for a machine that holds residents' data, has no internet, and records
# thousands of task runs a night. Set before Prefect is imported: by prepare_prefect for the
# CLI's embedded server, and by scripts/serve (`python -m kofu.flows.runtime`) for `make serve`'s
# server and worker. A value already in the environment wins. Names: prefect 3.9,
# prefect/settings/models/server/{root,ui,services}.py.
PREFECT_SETTINGS: dict[str, str] = {
    # Prevents the server's telemetry service from sending anonymous usage data to Prefect
    # (at start and daily) from a machine that holds residents' data; offline it would
    # only fail.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Prevents the client side (CLI, worker, flow runs) from sending analytics events.
    "DO_NOT_TRACK": "1",
    # Prevents upgrade prompts and marketing banners in the UI: staff cannot act on them,
    # and there is no internet to upgrade from.
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    # Prevents the server from falling behind a big night: by default the task-run recorder
    # writes each task-run event in a transaction of its own (batch size 1), and 100,000
    # applications make ~1,600 chunk task runs of ~3 state events each, all queued behind
    # SQLite's one writer while the UI shows stale states.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    # The same for the events table (default 20 an insert): every state change is an event.
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "200",
    # Prevents `kofu nightly` from giving up on a busy shared machine: the embedded server
    # gets 20 s to start by default.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def prepare_prefect(settings: Settings) -> None:
    """Keep Prefect's records beside kofu's data unless the operator pointed them elsewhere,
    and apply PREFECT_SETTINGS where the environment does not say otherwise."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    for name, value in PREFECT_SETTINGS.items():
        os.environ.setdefault(name, value)
    served = served_api_url(settings)
    if served and "PREFECT_API_URL" not in os.environ:
        # `make serve` is running: report to its server, so runs started from the CLI show
        # in its UI (and no second, embedded server writes to the same Prefect database).
        os.environ["PREFECT_API_URL"] = served
    install_log_mask()


def served_api_url(settings: Settings) -> str | None:
    """The API of the server `make serve` started for this data directory, if it answers."""
    import urllib.request

    env_file = settings.data_dir / "run" / "prefect.env"
    try:
        lines = env_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    url = next((ln.partition("=")[2] for ln in lines if ln.startswith("PREFECT_API_URL=")), "")
    if not url.startswith("http://127.0.0.1:"):
        return None
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310 - loopback
            return url if answer.status == 200 else None
    except OSError:
        return None  # a stale file: the server is gone


def shell_exports() -> str:
    """PREFECT_SETTINGS as `export NAME=VALUE` lines, each kept when already set."""
    return "".join(
        f'export {name}="${{{name}:-{value}}}"\n' for name, value in PREFECT_SETTINGS.items()
    )


def _die_with_parent() -> None:
    """In the embedded server's process, before it runs uvicorn: SIGTERM it when kofu dies,
    however kofu dies (SIGKILL included). Linux only (prctl PR_SET_PDEATHSIG); elsewhere
    kofu's own exit still stops it."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


@contextmanager
def embedded_server() -> Iterator[str | None]:
    """The Prefect server a `kofu nightly` or `kofu rerun` runs against when no
    PREFECT_API_URL is given: Prefect's own ephemeral server, but started in a session of its
    own, so a SIGTERM or Ctrl-C sent to kofu's process group reaches kofu (which stops at a
    chunk boundary and marks its flow run Cancelled through this server) and not the server
    first; and bound to kofu's life (``_die_with_parent``), so it never outlives kofu, even
    a SIGKILLed one. Stopped when the block ends. Yields its API URL, or None when a server
    was given (nothing is started)."""
    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    import subprocess
    import sys

    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    class _OwnSessionServer(SubprocessASGIServer):
        # The command of prefect 3.x SubprocessASGIServer._run_uvicorn_command, in a session
        # of its own and bound to kofu's life.
        def _run_uvicorn_command(self) -> subprocess.Popen:
            command = [sys.executable, "-m", "uvicorn", "--app-dir"]
            command += [str(prefect.__module_path__.parent), "--factory"]
            command += ["prefect.server.api.server:create_app", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
            env = {
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            }
            # Its own output goes to a log beside Prefect's records, not to kofu's stderr:
            # a server stopped while it flushes events logs a traceback there, and kofu's
            # output is its one line.
            log = Path(os.environ.get("PREFECT_HOME") or ".") / "embedded-server.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                return subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                    command,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )

    server = _OwnSessionServer()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url  # the run's spawned processes too
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _flush_run_logs()
        server.stop()


def _flush_run_logs() -> None:
    """Send the run's queued log lines while the server still listens."""
    try:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
    except Exception:  # noqa: BLE001, S110 - logs are best effort at the end of a run
        pass


if __name__ == "__main__":
    # scripts/serve: eval "$(python -m kofu.flows.runtime)"
    print(shell_exports(), end="")
