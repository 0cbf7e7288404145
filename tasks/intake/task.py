"""Intake's Prefect task: take in one delivery folder (kofu.tasks.intake.records)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

from prefect import task

from kofu.base.settings import Settings
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.intake.records import take_in


@task(name="intake", task_run_name="{batch_id} intake", **CHUNK_TASK_OPTIONS)
def intake_task(settings: Settings, folder: Path, batch_id: str, today: date) -> dict:
    return asdict(take_in(settings, folder, batch_id, today))
