"""The matching stage's Prefect task: one chunk of applications (kofu.tasks.matching.records)."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS, run_logger
from kofu.tasks.matching.records import match_chunk
from kofu.tasks.matching.scoring import ScoringRules


@task(
    name="matching",
    task_run_name="{chunk.batch_id} matching {chunk.label}",
    **CHUNK_TASK_OPTIONS,
)
def match_task(db_url: str, rules: ScoringRules, chunk: Chunk, now: datetime) -> dict:
    return dict(match_chunk(db_url, chunk, now, rules, log=run_logger()))
