"""The print step's Prefect task: one planned print file (kofu.tasks.printing.records)."""

from __future__ import annotations

from datetime import date

from prefect import task

from kofu.base.settings import Settings
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.printing.records import PrintFilePlan, print_file


@task(
    name="print-file",
    task_run_name="{plan.batch_id} print batch {plan.part}/{plan.parts}",
    **CHUNK_TASK_OPTIONS,
)
def print_file_task(settings: Settings, plan: PrintFilePlan, printed_on: date) -> dict:
    result = print_file(settings, plan, printed_on)
    return {
        "file": str(result.pdf_path),
        "pages": result.page_count,
        # Notices drawn on the shared canvas, and items merged from their own (larger) PDF.
        "redrawn": result.drawn,
        "merged": result.merged,
    }
