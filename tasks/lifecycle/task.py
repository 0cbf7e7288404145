"""The sweep's Prefect task: one chunk of cards (kofu.tasks.lifecycle.records)."""

from __future__ import annotations

from datetime import date

from prefect import task

from kofu.base.settings import LifecycleSettings
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.lifecycle.records import sweep_chunk


@task(
    name="lifecycle",
    task_run_name="lifecycle {label}",
    **CHUNK_TASK_OPTIONS,
)
def sweep_task(
    db_url: str, pks: tuple[int, ...], label: str, as_of: date, rules: LifecycleSettings
) -> dict:
    return dict(sweep_chunk(db_url, pks, as_of, rules))
