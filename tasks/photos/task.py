"""The photo stage's Prefect task: one chunk of applications (kofu.tasks.photos.records)."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from kofu.base.photo_rules import PhotoRules
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS, run_logger
from kofu.tasks.photos.records import check_photo_chunk


@task(
    name="photos",
    task_run_name="{chunk.batch_id} photos {chunk.label}",
    **CHUNK_TASK_OPTIONS,
)
def check_photos_task(db_url: str, rules: PhotoRules, chunk: Chunk, now: datetime) -> dict:
    return dict(check_photo_chunk(db_url, rules, chunk, now, log=run_logger()))
