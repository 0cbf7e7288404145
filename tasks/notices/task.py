"""The notice stage's Prefect task: one chunk of applications (kofu.tasks.notices.records)."""

from __future__ import annotations

from datetime import date, datetime

from prefect import task

from kofu.base.settings import Settings
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS, run_logger
from kofu.tasks.notices.records import generate_notice_chunk


@task(name="notices", task_run_name="{chunk.batch_id} notices {chunk.label}", **CHUNK_TASK_OPTIONS)
def generate_notices_task(settings: Settings, chunk: Chunk, issued_on: date, now: datetime) -> dict:
    return dict(generate_notice_chunk(settings, chunk, issued_on, now, log=run_logger()))
