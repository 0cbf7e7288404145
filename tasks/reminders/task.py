"""The reminders stage's Prefect task: one chunk of applications (kofu.tasks.reminders.records)."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from kofu.base.settings import Settings
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS, run_logger
from kofu.tasks.reminders.records import write_reminders_chunk


@task(
    name="reminders",
    task_run_name="{chunk.batch_id} reminders {chunk.label}",
    **CHUNK_TASK_OPTIONS,
)
def write_reminders_task(settings: Settings, chunk: Chunk, now: datetime) -> dict:
    return dict(write_reminders_chunk(settings, chunk, now, log=run_logger()))
