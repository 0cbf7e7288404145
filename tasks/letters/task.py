"""The letter stage's Prefect task: one chunk of applications (kofu.tasks.letters.records)."""

from __future__ import annotations

from datetime import date, datetime

from prefect import task

from kofu.base.settings import Settings
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS, run_logger
from kofu.tasks.letters.records import write_letters_chunk


@task(name="letters", task_run_name="{chunk.batch_id} letters {chunk.label}", **CHUNK_TASK_OPTIONS)
def write_letters_task(settings: Settings, chunk: Chunk, issued_on: date, now: datetime) -> dict:
    return dict(write_letters_chunk(settings, chunk, issued_on, now, log=run_logger()))
