"""The nightly run's deliveries: which folders of the inbox it takes in tonight
(tasks/intake/inbox.py), taking one in, and each folder's row for the ``nightly-deliveries``
artifact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger

from kofu.base.settings import Settings
from kofu.tasks.chunks.retry import read_with_retry
from kofu.tasks.intake.inbox import Delivery, scan_inbox
from kofu.tasks.intake.records import taken_in
from kofu.tasks.intake.task import intake_task


def inbox_deliveries(settings: Settings) -> list[Delivery]:
    """Every delivery folder of the inbox and what to do with it, logged."""
    known = read_with_retry(settings.db_url, taken_in)
    deliveries = scan_inbox(settings.inbox_dir, known)
    _log_inbox(settings.inbox_dir, deliveries)
    return deliveries


def run_intake(settings: Settings, folder: Path, batch_id: str, today: date) -> dict:
    """Take in one delivery folder as batch ``batch_id``; its counts."""
    intake = intake_task(settings, folder, batch_id, today)
    logger = get_run_logger()
    logger.info(
        "intake %s: %d received, %d invalid, %d rejected lines, %d already taken in",
        batch_id,
        intake["received"],
        intake["invalid"],
        intake["rejected_lines"],
        intake["already_known"],
    )
    if intake["numbers_scrubbed"] is None:
        logger.warning(
            "intake %s: could not blank the individual numbers in %s (read-only?); delete"
            " the delivery once the run is checked",
            batch_id,
            folder / "applications.jsonl",
        )
    return intake


def delivery_row(delivery: Delivery, not_taken: list[Delivery]) -> dict:
    """The folder's row: as found in the inbox, or not taken in tonight."""
    failed = next((d for d in not_taken if d.folder == delivery.folder), None)
    return (failed or delivery).row()


def _log_inbox(inbox: Path, deliveries: list[Delivery]) -> None:
    logger = get_run_logger()
    if not inbox.is_dir():
        logger.warning("inbox %s does not exist: no delivery to take in", inbox)
        return
    ready = [d.folder.name for d in deliveries if d.status == "ready"]
    waiting = [d.folder.name for d in deliveries if d.status == "waiting"]
    logger.info(
        "inbox %s: %d delivery folder(s) to take in%s",
        inbox,
        len(ready),
        f" ({', '.join(ready)})" if ready else "; a night with no delivery",
    )
    if waiting:
        logger.info("waiting for their READY file: %s", ", ".join(waiting))
    for d in deliveries:
        if d.status == "refused":
            logger.error("delivery %s not taken in: %s", d.folder.name, d.code)
