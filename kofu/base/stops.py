"""Stopping a run on SIGTERM or Ctrl-C (SIGINT) at the next chunk boundary.

While ``catching()`` is active, SIGTERM and SIGINT only set a flag; nothing is cut at a
random line. The flows look at it between chunks (flows/stages.py): no new chunk is
submitted, the chunks already running finish and are recorded as usual (each records in
one guarded transaction, so a chunk is either recorded whole or not at all), and then
``RunStopped`` unwinds the flow: the run lock is released, the flow run is marked Cancelled,
and the CLI prints one line and exits 143 (SIGTERM) or 130 (SIGINT). A second signal while
stopping does not wait for the running chunks: it raises KeyboardInterrupt (the
transactions roll back; the lock dies with the process at worst).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested: list[int] = []  # the signal numbers received, first first
_lock = threading.Lock()

# The exit code for each stop: 128 + the signal's number, as a shell reports it.
EXIT_CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}


class RunStopped(Exception):  # noqa: N818 - not an error: a request, obeyed
    """Raised at a chunk boundary once a stop was asked for."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name} at a chunk boundary")


def _handler(signum: int, _frame: FrameType | None) -> None:
    with _lock:
        again = bool(_requested)
        _requested.append(signum)
    if again:
        raise KeyboardInterrupt  # a second signal: stop now, without waiting for chunks


def requested() -> int | None:
    """The signal that asked for the stop, or None."""
    return _requested[0] if _requested else None


def check() -> None:
    """At a chunk boundary: raise RunStopped if a stop was asked for."""
    signum = requested()
    if signum is not None:
        raise RunStopped(signum)


@contextmanager
def catching() -> Iterator[None]:
    """SIGTERM and SIGINT set the stop flag while the block runs (main thread only; a no-op
    elsewhere). The previous handlers come back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def reset() -> None:
    """Forget a stop (tests that run flows in-process, one after the other)."""
    with _lock:
        _requested.clear()
