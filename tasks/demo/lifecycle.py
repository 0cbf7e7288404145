"""The demo's two months after the notice on the database (tasks/demo/lives.py says which
card lives which life): each day's events recorded through the same functions the
commands use (`kofu mail`, `kofu returns`, `kofu pickup`, `kofu hold`, `kofu destruction
confirm`, a register import), and the outcome checked against what each life meant.
The sweeps between are the real lifecycle flow (flows/demo.py)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.secret import load_secret_key
from kofu.base.settings import Settings
from kofu.models import Notice
from kofu.models.db import unit_of_work
from kofu.tasks.audit.core import fingerprint
from kofu.tasks.demo.lives import (
    DESTROYED,
    HOLD,
    HOLD_UNTIL,
    MAILED,
    REGISTER_CHANGES,
    REISSUE_MAILED,
    RETURNS,
    Life,
    on,
    plan_lives,
)
from kofu.tasks.destruction.records import confirm_list, open_list
from kofu.tasks.handover.records import pickup
from kofu.tasks.holds.core import HoldRequest
from kofu.tasks.holds.records import hold_card
from kofu.tasks.mailing.records import mail_batch
from kofu.tasks.register.core import read_register
from kofu.tasks.register.records import import_register
from kofu.tasks.reports.records import export_outcomes
from kofu.tasks.returns.core import ReturnRow
from kofu.tasks.returns.records import record_returns

ACTOR = "demo"
T = TypeVar("T")
RETURN_REASONS = {
    "moved-within-city": "moved",
    "returned-same-address": "not-collected",
    "returned-unknown-address": "unknown-address",
}
# Tries at the counter that must be refused, the day after the first sweep: the notice a
# reissue replaced, and the card of a resident who moved out.
REFUSED_TRIES = {"moved-within-city": "notice-reissued", "moved-out": "resident-not-eligible"}


@dataclass
class TwoMonths:
    lives: list[Life]
    refusals: dict[str, str] = field(default_factory=dict)  # notice number -> refusal code
    events: Counter[str] = field(default_factory=Counter)


def plan(settings: Settings, batch_id: str) -> TwoMonths:
    with unit_of_work(settings.db_url) as session:
        outcomes = export_outcomes(session, batch_id)
    cards = [
        (o["application_id"], o["notice_number"], o["resident_code"])
        for o in outcomes
        if o["state"] == "notice_generated" and o.get("notice_number")
    ]
    return TwoMonths(plan_lives(cards))


def day_events(settings: Settings, months: TwoMonths, batch_id: str, day0: date, day: int) -> None:
    """Everything that happens at the counter and in the post on ``day``, before that
    night's sweep."""
    when = on(day0, day)
    if day in (MAILED, REISSUE_MAILED):
        _write(settings, mail_batch, batch_id, when, _pickup_days(settings), actor=ACTOR)
        months.events["mailings"] += 1
    if day == REGISTER_CHANGES:
        _change_register(settings, months.lives, when)
    if day == RETURNS:
        _returns(settings, months, when)
    if day == REISSUE_MAILED:
        _refused_tries(settings, months, when)
    if day == HOLD:
        for life in months.lives:
            if life.kind == "held":
                request = HoldRequest(on(day0, HOLD_UNTIL), "長期入院（デモ）")
                _write(settings, hold_card, life.notice_number, request, when, actor=ACTOR)
                months.events["holds"] += 1
    if day == DESTROYED:
        _write(settings, _confirm, when, months)
    for life in months.lives:
        if life.pickup_day == day:
            number = _current_notice(settings, life.application_id)
            done = _write(settings, pickup, number, when, actor=ACTOR)
            months.events["handovers" if done.refused is None else "refused"] += 1


def _returns(settings: Settings, months: TwoMonths, when: date) -> None:
    rows = [
        ReturnRow(life.notice_number, RETURN_REASONS[life.kind], when)
        for life in months.lives
        if life.kind in RETURN_REASONS
    ]
    _write(settings, record_returns, rows, actor=ACTOR)
    months.events["returns"] += len(rows)


def _refused_tries(settings: Settings, months: TwoMonths, when: date) -> None:
    for life in months.lives:
        if life.kind in REFUSED_TRIES and life.notice_number not in months.refusals:
            done = _write(settings, pickup, life.notice_number, when, actor=ACTOR)
            if done.refused is not None:
                months.refusals[life.notice_number] = done.refused.code


def _confirm(session: Session, when: date, months: TwoMonths) -> None:
    drawn = open_list(session)
    if drawn is not None:
        months.events["destroyed"] += confirm_list(session, drawn.id, when, actor=ACTOR)


def _pickup_days(settings: Settings) -> int:
    return settings.municipality.notice.pickup_days


def _write(settings: Settings, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(session, *args, **kwargs)`` in a write transaction of its own, committed."""
    with unit_of_work(settings.db_url, write=True) as session:
        done = work(session, *args, **kwargs)
        session.commit()
    return done


def _current_notice(settings: Settings, application_id: str) -> str:
    from kofu.models import Application

    with unit_of_work(settings.db_url) as session:
        return session.scalar(
            select(Notice.notice_number)
            .join(Application, Application.id == Notice.application_pk)
            .where(Application.application_id == application_id, Notice.voided_at.is_(None))
        )


def _change_register(settings: Settings, lives: list[Life], when: date) -> None:
    """The register as the month's changes leave it, written over the demo's register file
    (the one file of the demo that holds individual numbers, like the delivery) and
    imported whole, as a city's monthly register export is: moves within the city (to
    another resident's address), a move out, a death, a name."""
    register_csv = settings.data_dir / "demo" / "register.csv"
    with register_csv.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        rows = {row["resident_code"]: row for row in reader}
    kinds = {life.resident_code: life.kind for life in lives}
    others = [r for code, r in rows.items() if code not in kinds]
    for n, (code, kind) in enumerate(kinds.items()):
        row = rows[code]
        if kind == "moved-within-city":
            new_home = others[(n * 37) % len(others)]
            row["postal_code"], row["address"] = new_home["postal_code"], new_home["address"]
        elif kind == "moved-out":
            row["status"], row["status_date"] = "moved_out", when.isoformat()
        elif kind == "deceased":
            row["status"], row["status_date"] = "deceased", when.isoformat()
        elif kind == "name-changed":
            row["family_name"], row["family_name_kana"] = "改姓", "カイセイ"
    with register_csv.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows.values())
    _import(settings, register_csv)


def _import(settings: Settings, path: Path) -> None:
    rows = read_register(path, load_secret_key(settings))
    _write(
        settings,
        import_register,
        rows,
        actor=ACTOR,
        os_user=None,
        file=path,
        file_print=fingerprint(path),
    )


def check_two_months(settings: Settings, months: TwoMonths, batch_id: str) -> Counter[str]:
    """Each card's state against what its life meant, and each refused try at the counter
    against the refusal it had to get: "as expected" / "differs"."""
    with unit_of_work(settings.db_url) as session:
        states = {o["application_id"]: o for o in export_outcomes(session, batch_id)}
    agree: Counter[str] = Counter()
    for life in months.lives:
        got = states.get(life.application_id, {})
        same = got.get("state") == life.expected_state
        if life.kind == "moved-within-city":
            same = same and got.get("notice_number", "").endswith("-2")
        if life.kind.startswith("returned-"):
            same = same and "reminded_on" in got
        agree["as expected" if same else "differs"] += 1
    for life in months.lives:
        if life.kind in REFUSED_TRIES:
            code = months.refusals.get(life.notice_number)
            agree["as expected" if code == REFUSED_TRIES[life.kind] else "differs"] += 1
    return agree
