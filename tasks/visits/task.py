"""The visit-window pass's Prefect task: one per batch, before the notice chunks
(kofu.tasks.visits.records)."""

from __future__ import annotations

from datetime import date

from prefect import task

from kofu.base.settings import Settings
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.visits.records import assign_batch_windows


@task(name="visit-windows", task_run_name="{batch_id} visit windows", **CHUNK_TASK_OPTIONS)
def assign_visit_windows_task(settings: Settings, batch_id: str, issued_on: date) -> dict:
    return assign_batch_windows(settings, batch_id, issued_on)
