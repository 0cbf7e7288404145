"""After the notice: the night's sweep over every card from its notice to its handover or
its destruction (`kofu lifecycle [--as-of DATE]`, and the nightly run after its stages).

1. The sweep, in chunks of cards (tasks/lifecycle/task.py): reminders due, staff holds
   ended, register changes held, returns decided (a move within the city reissued, the
   same address reminded), cards due for destruction.
2. The stages again over every batch the sweep left work in (flows/stages.py): the reissued
   notices and the reminders drawn and printed into the batch's next print file.
3. The destruction list drawn again when the cards due changed (tasks/destruction/records.py).

Guarded and idempotent like every stage: each step moves a card's state on, so a rerun with
the same date does nothing new. Its artifact (``lifecycle``) says what the night did and
what waits for a person."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.states import State

from kofu.base.clock import JST
from kofu.base.errors import UserError, is_disk_full
from kofu.base.fonts import register_notice_font
from kofu.base.secret import load_secret_key
from kofu.base.settings import Settings, get_settings
from kofu.flows.lease import begin_run, run_lock
from kofu.flows.runners import KofuTaskRunner
from kofu.flows.stages import run_batch, stoppable
from kofu.models.db import unit_of_work, upgrade_schema
from kofu.models.key_check import check_key
from kofu.tasks.chunks.records import batches_with_work
from kofu.tasks.chunks.retry import read_with_retry, with_db_retry
from kofu.tasks.destruction.records import draw_list
from kofu.tasks.lifecycle.core import STEP_WORDS
from kofu.tasks.lifecycle.records import plan_sweep, waiting
from kofu.tasks.lifecycle.task import sweep_task

ACTOR = "kofu lifecycle"


def as_of_date(as_of: str | None) -> date:
    """The sweep's day: ``as_of`` (YYYY-MM-DD), else today in Japan."""
    if as_of is None:
        return datetime.now(UTC).astimezone(JST).date()
    try:
        return date.fromisoformat(as_of)
    except (TypeError, ValueError):
        raise UserError(f"as_of must be a date (YYYY-MM-DD), not {str(as_of)[:20]!r}") from None


@flow(
    name="lifecycle",
    flow_run_name="lifecycle {as_of}",
    persist_result=False,
    task_runner=KofuTaskRunner(),
)
def lifecycle(as_of: str | None = None) -> dict | State:
    # SIGTERM or Ctrl-C stops the sweep at the next chunk boundary (kofu/base/stops.py).
    return stoppable(lambda: _lifecycle(as_of))


def _lifecycle(as_of: str | None) -> dict:
    settings = get_settings()
    day = as_of_date(as_of)
    upgrade_schema(settings.db_url)
    check_key(settings.db_url, load_secret_key(settings))
    with run_lock(settings.db_url, f"lifecycle {day}") as lock:
        begin_run(lock, settings)
        return after_the_notice(settings, day, datetime.now(UTC))


def after_the_notice(settings: Settings, day: date, now: datetime) -> dict:
    """The sweep, the stages it left work for, the destruction list and the artifact. The
    caller holds the run lock (the nightly run calls this after its own stages)."""
    rules = settings.municipality.lifecycle
    size = settings.municipality.chunk_size
    chunks = read_with_retry(settings.db_url, lambda session: plan_sweep(session, size))
    steps: Counter[str] = Counter()
    futures = [
        sweep_task.submit(settings.db_url, pks, f"{n}/{len(chunks)}", day, rules)
        for n, pks in enumerate(chunks, start=1)
    ]
    for future in futures:
        try:
            steps.update(future.result())
        except Exception as exc:
            if is_disk_full(exc):
                raise
            # Failed even after its retries: its cards stay where they were; the next
            # night's sweep looks at them again.
            get_run_logger().warning("sweep chunk failed (%s): its cards wait", type(exc).__name__)
            steps["failed-chunks"] += 1
    printed = {}
    for batch in sorted(read_with_retry(settings.db_url, batches_with_work)):
        printed[batch] = run_batch(settings, batch, day, now)
    font = register_notice_font(settings.data_dir / "fonts")
    drawn = with_db_retry(lambda: _draw(settings, day, font))
    result = {
        "as_of": day.isoformat(),
        "cards": sum(len(c) for c in chunks),
        "steps": dict(steps),
        "batches": printed,
        "destruction_list": drawn,
        "waiting": read_with_retry(settings.db_url, waiting),
    }
    _publish(result)
    get_run_logger().info(
        "lifecycle %s: %d card(s) looked at, steps %s", day, result["cards"], dict(steps) or "none"
    )
    return result


def _draw(settings: Settings, day: date, font: str) -> dict | None:
    with unit_of_work(settings.db_url, write=True) as session:
        drawn = draw_list(session, settings, day, font, actor=ACTOR)
        session.commit()
    if drawn is None:
        return None
    return {
        "list_id": drawn.list_id,
        "cards": drawn.cards,
        "new": drawn.new,
        "pdf": str(drawn.pdf_path),
        "csv": str(drawn.csv_path),
    }


def _publish(result: dict) -> None:
    lines = [f"## After the notice, as of {result['as_of']}", "", "### Tonight", ""]
    steps = result["steps"]
    if steps:
        lines += [f"- {n} card(s): {STEP_WORDS.get(step, step)}" for step, n in steps.items()]
    else:
        lines.append(f"- {result['cards']} card(s) looked at; none moved")
    lines += ["", "### Waiting for a person", ""]
    w = result["waiting"]
    drawn = result["destruction_list"]
    if drawn:
        lines.append(
            f"- destruction list {drawn['list_id']}: {drawn['cards']} card(s) to check against"
            f" the ledger, then `kofu destruction confirm {drawn['list_id']}`"
        )
    lines += [
        f"- {w['returned']} returned notice(s) waiting for tonight's decision",
        f"- {w['on_hold']} card(s) on hold ({w['held_for_register']} for a register change)",
        f"- {w['mailed'] + w['reminded']} card(s) in storage waiting for their resident"
        f" ({w['reminded']} reminded)",
        f"- {w['not_mailed']} notice(s) printed but not recorded as mailed (`kofu mail`)",
    ]
    create_markdown_artifact(
        key="lifecycle",
        markdown="\n".join(lines),
        description=f"After the notice: what the sweep of {result['as_of']} did and what waits",
    )
