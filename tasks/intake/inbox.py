"""The inbox: which delivery folders the nightly run takes in, and in what order.

DESIGN.md: the nightly run takes in every delivery folder under the inbox that it has not
taken in yet, oldest first, each as its own batch named after the folder. A folder is ready
once the delivering side has written an empty ``READY`` file into it, last: until then it is
still being written (a copy in progress, a late upload) and waits, so a half-written
``applications.jsonl`` or a photo still on its way is never read. A missed night is caught
up the next night, and a night with no delivery is not an error.

"Oldest first" is by the time the ``READY`` file was written (the delivery's arrival), then
by name: a late folder for an earlier night that arrives after a later one is taken in
after it, as it arrived. Hidden folders (a name starting with ".") are a transfer tool's
working space and are never deliveries.

Values only: which batches were taken in already, and from where, is read by
tasks/intake/records.py taken_in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kofu.base.errors import UserError
from kofu.base.paths import BATCH_ID_MAX, batch_id_problem
from kofu.tasks.intake.core import DELIVERY_FILE

READY = "READY"


@dataclass(frozen=True)
class Delivery:
    folder: Path
    # ready: taken in tonight; waiting: no READY yet; taken-in: an earlier night's;
    # refused: ready but cannot be taken in (``code`` says why; tried again next night).
    status: str
    code: str | None = None
    ready_at: float | None = None  # the READY file's modification time (seconds)

    @property
    def batch_id(self) -> str:
        return self.folder.name

    def row(self) -> dict:
        """For the run's ``nightly-deliveries`` artifact: the folder's name and what became
        of it (names chosen by the delivering side, never personal data)."""
        outcome = {
            "ready": "taken in tonight",
            "waiting": "waiting: no READY file yet",
            "taken-in": "taken in before",
            "refused": f"not taken in: {self.code}",
        }[self.status]
        return {"folder": self.folder.name, "outcome": outcome}


def scan_inbox(inbox: Path, known: dict[str, str]) -> list[Delivery]:
    """Every folder in the inbox and what to do with it: the ready ones oldest first, then
    the others by name. A missing inbox holds nothing."""
    try:
        folders = [p for p in inbox.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:  # not a night without delivery: the inbox cannot be looked into
        raise UserError(f"cannot read the inbox {inbox} ({type(exc).__name__})") from None
    found = [_delivery(folder, known.get(folder.name)) for folder in folders]
    deliveries = [d for d in found if d is not None]
    ready = sorted(
        (d for d in deliveries if d.status == "ready"),
        key=lambda d: (d.ready_at or 0.0, d.folder.name),
    )
    others = sorted((d for d in deliveries if d.status != "ready"), key=lambda d: d.folder.name)
    return ready + others


def _delivery(folder: Path, earlier: str | None) -> Delivery | None:
    """What to do with one folder; ``earlier`` is the folder a batch of its name was taken
    in from. None when it is no delivery (a symlink loop)."""
    marker = folder / READY
    try:
        here = str(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop: no delivery
        return None
    if earlier is not None and earlier == here:
        return Delivery(folder, "taken-in")
    if not marker.is_file():
        return Delivery(folder, "waiting")
    if earlier is not None:
        # The name is the batch id, and another folder was taken in under it.
        return Delivery(folder, "refused", "batch-id-already-taken-in")
    if batch_id_problem(folder.name):
        # The folder's name becomes the batch id, and so folder names under the data
        # directory: a name that cannot be one waits for a person to rename the folder.
        code = "folder-name-too-long" if len(folder.name) > BATCH_ID_MAX else "bad-folder-name"
        return Delivery(folder, "refused", code)
    if not (folder / DELIVERY_FILE).is_file():
        return Delivery(folder, "refused", "no-applications-jsonl")
    try:
        ready_at = marker.stat().st_mtime
    except OSError:  # gone since it was seen: looked at again next night
        return Delivery(folder, "waiting")
    return Delivery(folder, "ready", ready_at=ready_at)
