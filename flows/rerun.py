"""Rerun a batch's failed items: take them back through the stages they stopped in.

Failed applications keep their last good state, so running the stages again picks them up,
and so does every application a person decided since (a matched one gets its notice). A
person asked for it, so every open item of the batch is taken, dead ones too; the ones that
get through are marked resolved, the others wait for their next attempt. A rerun that leaves
work behind ends "Completed with failures"."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow
from prefect.states import State

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.base.paths import check_batch_id
from kofu.base.secret import load_secret_key
from kofu.base.settings import get_settings
from kofu.flows.artifacts import Progress, final_state, left_behind, publish_summary
from kofu.flows.failures import take_failure_items
from kofu.flows.lease import begin_run, run_lock
from kofu.flows.runners import KofuTaskRunner
from kofu.flows.stages import STAGE_STEPS, run_batch, stoppable
from kofu.models import Batch
from kofu.models.db import upgrade_schema
from kofu.models.key_check import check_key
from kofu.tasks.chunks.retry import read_with_retry


@flow(
    name="rerun-failed",
    flow_run_name="rerun {batch_id}",
    persist_result=False,
    task_runner=KofuTaskRunner(),
)
def rerun_failed(batch_id: str) -> dict | State:
    # SIGTERM or Ctrl-C stops the rerun at the next chunk boundary (kofu/base/stops.py).
    return stoppable(lambda: _rerun(batch_id))


def _rerun(batch_id: str) -> dict | State:
    settings = get_settings()
    check_batch_id(batch_id, "batch_id")  # it may come from a Prefect UI "Custom run"
    upgrade_schema(settings.db_url)
    if settings.secret_key or settings.secret_key_file:
        # A rerun hashes no number, so a worker without the key may run it; with a key, it
        # must be the database's (kofu/base/secret.py).
        check_key(settings.db_url, load_secret_key(settings))
    known = read_with_retry(settings.db_url, lambda s: s.get(Batch, batch_id) is not None)
    if not known:
        raise UserError(f"no batch {batch_id!r}: see `kofu status` for the batches")
    now = datetime.now(UTC)
    today = now.astimezone(JST).date()
    with run_lock(settings.db_url, f"rerun {batch_id}") as lock:
        begin_run(lock, settings)
        progress = Progress(f"rerun {batch_id}", STAGE_STEPS)
        take_failure_items(settings, now, batch_id)
        counts = run_batch(settings, batch_id, today, now, progress)
        summary = publish_summary(settings, batch_id, counts, today, progress=progress)
        return final_state({**summary, "batches": [summary]}, left_behind(settings), 0)
