"""The monthly figures (tasks/stats/records.py and core.py) on a real database built by the
migrations, SQLite or PostgreSQL (KOFU_TEST_DATABASE_URL): a seeded random register,
applications submitted over fifteen months in several time zones near midnight in Japan,
notices (some reissued, some withdrawn) and cards with every kind of date. Each figure of
each month is checked against a count made here, in plain Python over the generated records
as they were written, not by the code under test. Then `kofu stats` itself, on a throwaway
typer app (kofu/cli/app.py registers it)."""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
import time as clock
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest
import typer
from sqlalchemy import insert
from typer.testing import CliRunner

from kofu.base.clock import JST
from kofu.models import Application, ApplicationState, Batch, Card, Notice, Resident
from kofu.models.db import unit_of_work
from kofu.tasks.stats.core import COLUMNS, Month, figures_for, twelve_months
from kofu.tasks.stats.records import stats_input

SEED = 20261203
FIRST_DAY, LAST_DAY = date(2025, 9, 1), date(2026, 11, 30)  # the applications' span
ZONES = [JST, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
REPORTED = Month(2026, 11)
CARD_DATES = (
    "mailed_on",
    "picked_up_on",
    "returned_on",
    "reminded_on",
    "destruction_due_on",
    "destroyed_on",
)


@dataclass
class World:
    """What was written, as written: the truth the figures are checked against."""

    residents: list[tuple[str, date | None]] = field(default_factory=list)  # status, date
    submitted: dict[int, datetime | None] = field(default_factory=dict)  # application -> at
    notices: dict[int, list[tuple[datetime, datetime | None, str | None]]] = field(
        default_factory=dict
    )  # application -> (created_at, voided_at, void_reason), oldest first
    cards: dict[int, dict[str, date | None]] = field(default_factory=dict)


def _moment(rng: random.Random, day: date) -> datetime:
    """A moment on ``day`` in Japan, often within the hour either side of midnight, given in
    one of several zones."""
    roll = rng.random()
    if roll < 0.2:
        at = datetime.combine(day, time(23, 0), JST) + timedelta(seconds=rng.randrange(3600))
    elif roll < 0.4:
        at = datetime.combine(day, time(0, 0), JST) + timedelta(seconds=rng.randrange(3600))
    else:
        at = datetime.combine(day, time(), JST) + timedelta(seconds=rng.randrange(86400))
    return at.astimezone(rng.choice(ZONES))


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def build_world(db_url: str) -> World:
    rng = random.Random(SEED)
    world = World()
    residents = []
    for n in range(1, 801):
        roll = rng.random()
        if roll < 0.8:
            status, on = "resident", None
        else:
            status = rng.choice(["moved_out", "deceased", "removed"])
            # Mostly within the months reported, some before, some after, a few undated.
            on = None if roll > 0.98 else _day_between(rng, date(2025, 1, 1), date(2026, 12, 31))
        world.residents.append((status, on))
        residents.append(
            {
                "id": n,
                "resident_code": f"{n:011d}",
                "family_name": "佐藤",
                "given_name": f"花子{n}",
                "family_name_kana": "サトウ",
                "given_name_kana": "ハナコ",
                "birth_date": date(1980, 1, 1) + timedelta(days=n),
                "sex": "2",
                "postal_code": "100-0001",
                "address": "見本市中央1丁目1番1号",
                "status": status,
                "status_date": on,
                "name_key": f"佐藤花子{n}",
                "kana_key": "サトウハナコ",
                "address_key": "中央1-1-1",
            }
        )
    # The month boundaries themselves, in other zones: the last second of January and the
    # first of February in Japan.
    edges = [
        datetime(2026, 1, 31, 23, 59, 59, tzinfo=JST).astimezone(UTC),
        datetime(2026, 2, 1, 0, 0, 0, tzinfo=JST).astimezone(timezone(timedelta(hours=-5))),
        datetime(2026, 6, 30, 23, 59, 59, tzinfo=JST).astimezone(UTC),
        datetime(2026, 11, 1, 0, 0, 0, tzinfo=JST),
    ]
    applications, notices, cards = [], [], []
    for pk in range(1, 1601):
        if pk <= len(edges):
            submitted = edges[pk - 1]
        elif rng.random() < 0.04:
            submitted = None  # an invalid line keeps no submitted_at
        else:
            submitted = _moment(rng, _day_between(rng, FIRST_DAY, LAST_DAY))
        world.submitted[pk] = submitted
        applications.append(
            {
                "id": pk,
                "application_id": f"{pk:023d}",
                "batch_id": "b",
                "line_no": pk,
                "state": ApplicationState.RECEIVED,  # the figures never read the state
                "reasons": [],
                "submitted_at": submitted,
            }
        )
        if submitted is None or rng.random() < 0.2:
            continue  # no notice (yet)
        made = submitted.astimezone(JST).date() + timedelta(days=rng.randrange(2, 40))
        created = _moment(rng, made).astimezone(UTC)
        versions: list[tuple[datetime, datetime | None, str | None]] = []
        roll = rng.random()
        if roll < 0.05:
            # Withdrawn: its notice voided, the card never collected.
            voided = created + timedelta(days=rng.randrange(1, 60), hours=rng.randrange(24))
            versions.append((created, voided, "withdrawn"))
        elif roll < 0.12:
            # Returned from a moved address: the first notice reissued.
            voided = created + timedelta(days=rng.randrange(5, 30))
            versions += [(created, voided, "reissued"), (voided + timedelta(hours=3), None, None)]
        else:
            versions.append((created, None, None))
        world.notices[pk] = versions
        for k, (at, voided_at, reason) in enumerate(versions, start=1):
            notices.append(
                {
                    "application_pk": pk,
                    "notice_number": f"{made.year}-{pk:08d}" + (f"-{k}" if k > 1 else ""),
                    "pdf_path": f"{pk}-{k}.pdf",
                    "postal_code": "100-0001",
                    "pickup_deadline": made + timedelta(days=90),
                    "created_at": at,
                    "voided_at": voided_at,
                    "void_reason": reason,
                }
            )
        if roll < 0.05 or rng.random() < 0.08:
            continue  # withdrawn, or not mailed yet: no card row
        mailed = made + timedelta(days=rng.randrange(0, 6))
        dates: dict[str, date | None] = {"mailed_on": mailed}
        fate = rng.random()
        if fate < 0.55:
            dates["picked_up_on"] = mailed + timedelta(days=rng.randrange(1, 90))
        elif fate < 0.65:
            dates["returned_on"] = mailed + timedelta(days=rng.randrange(3, 20))
        elif fate < 0.8:
            reminded = mailed + timedelta(days=rng.randrange(85, 95))
            dates["reminded_on"] = reminded
            if rng.random() < 0.5:
                dates["picked_up_on"] = reminded + timedelta(days=rng.randrange(1, 30))
        elif fate < 0.92:
            reminded = mailed + timedelta(days=rng.randrange(85, 95))
            due = reminded + timedelta(days=91)
            dates.update(reminded_on=reminded, destruction_due_on=due)
            later = rng.random()
            if later < 0.5:
                dates["destroyed_on"] = due + timedelta(days=rng.randrange(1, 20))
            elif later < 0.6:
                dates["picked_up_on"] = due + timedelta(days=rng.randrange(1, 10))
        # else: still waiting at the counter
        world.cards[pk] = dates
        cards.append({"application_pk": pk, **dict.fromkeys(CARD_DATES), **dates})

    with unit_of_work(db_url, write=True) as session:
        session.add(Batch(id="b", inbox="inbox/b", delivery_sha256="0" * 64))
        session.flush()
        session.execute(insert(Resident.__table__), residents)
        session.execute(insert(Application.__table__), applications)
        session.execute(insert(Notice.__table__), notices)
        session.execute(insert(Card.__table__), cards)
        session.commit()
    return world


def _in(day: date | None, month: Month) -> bool:
    return day is not None and month.first <= day <= month.last


def _tenths(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def expected(world: World, month: Month) -> dict:
    """The month's figures, counted from the generated records."""
    end = month.last

    def jday(at: datetime) -> date:
        return at.astimezone(JST).date()

    population = sum(
        1 for status, on in world.residents if status == "resident" or (on is not None and on > end)
    )
    applications = sum(1 for at in world.submitted.values() if at and _in(jday(at), month))
    handed = [pk for pk, c in world.cards.items() if _in(c.get("picked_up_on"), month)]
    total = sum(
        1 for c in world.cards.values() if c.get("picked_up_on") and c["picked_up_on"] <= end
    )

    def in_storage(pk: int) -> bool:
        versions = world.notices[pk]
        if jday(min(at for at, _, _ in versions)) > end:
            return False
        withdrawn = [v for _, v, reason in versions if reason == "withdrawn"]
        if withdrawn and jday(min(withdrawn)) <= end:
            return False
        card = world.cards.get(pk, {})
        return not any(
            card.get(name) is not None and card[name] <= end
            for name in ("picked_up_on", "destroyed_on")
        )

    waits = [
        (world.cards[pk]["picked_up_on"] - jday(world.submitted[pk])).days  # type: ignore[operator,arg-type]
        for pk in handed
        if world.submitted[pk] is not None
    ]

    def counted(name: str) -> int:
        return sum(1 for c in world.cards.values() if _in(c.get(name), month))

    return {
        "month": month.label,
        "population": population,
        "applications": applications,
        "handed_over": len(handed),
        "handed_over_total": total,
        "handover_rate_percent": (
            _tenths(Decimal(total) * 100 / Decimal(population)) if population else None
        ),
        "pending_in_storage": sum(1 for pk in world.notices if in_storage(pk)),
        "returned": counted("returned_on"),
        "reminded": counted("reminded_on"),
        "destruction_due": counted("destruction_due_on"),
        "destroyed": counted("destroyed_on"),
        "days_to_handover_median": float(statistics.median(waits)) if waits else None,
        "days_to_handover_mean": (
            _tenths(Decimal(sum(waits)) / Decimal(len(waits))) if waits else None
        ),
    }


@pytest.fixture
def world(kofu_env) -> World:
    return build_world(kofu_env.db_url)


def test_every_figure_of_twelve_months_matches_a_count_of_the_records(kofu_env, world):
    months = twelve_months(REPORTED)
    started = clock.perf_counter()
    with unit_of_work(kofu_env.db_url) as session:
        data = stats_input(session, months)
    rows = figures_for(months, data)
    took = clock.perf_counter() - started
    assert [r.month for r in rows] == [m.label for m in months]
    for month, row in zip(months, rows, strict=True):
        assert asdict(row) == expected(world, month), month
    # A realistic mix: every kind of figure is there in some month.
    for name in COLUMNS:
        if name != "month":
            assert any(getattr(r, name) for r in rows), f"{name} is never counted"
    assert any(r.days_to_handover_median != r.days_to_handover_mean for r in rows)
    assert took < 2, f"{took:.2f} s for twelve months of {len(world.cards)} cards"


@pytest.mark.parametrize("month", [Month(2025, 9), Month(2026, 1), Month(2026, 2), REPORTED])
def test_one_month_alone_gives_the_same_figures(kofu_env, world, month):
    """`kofu stats` reads one month: its window of rows differs from the twelve months'."""
    with unit_of_work(kofu_env.db_url) as session:
        [row] = figures_for([month], stats_input(session, [month]))
    assert asdict(row) == expected(world, month)


def test_a_submission_counts_in_its_month_in_japan_whatever_its_offset(kofu_env):
    given = [
        "2026-01-31T23:59:59+09:00",
        "2026-01-31T14:59:59+00:00",  # 23:59:59 in Japan: January
        "2026-01-31T15:00:00+00:00",  # midnight in Japan: February
        "2026-01-31T10:00:00-05:00",  # midnight in Japan: February
        "2026-02-28T20:29:59+05:30",  # 23:59:59 in Japan: February
        "2026-02-28T15:00:00Z",  # 1 March in Japan
    ]
    with unit_of_work(kofu_env.db_url, write=True) as session:
        session.add(Batch(id="b", inbox="inbox/b", delivery_sha256="0" * 64))
        session.flush()
        for n, text in enumerate(given, start=1):
            session.add(
                Application(
                    application_id=f"{n:023d}",
                    batch_id="b",
                    line_no=n,
                    state=ApplicationState.RECEIVED,
                    reasons=[],
                    submitted_at=datetime.fromisoformat(text),
                )
            )
        session.commit()
    months = [Month(2026, 1), Month(2026, 2), Month(2026, 3)]
    with unit_of_work(kofu_env.db_url) as session:
        rows = figures_for(months, stats_input(session, months))
    assert [r.applications for r in rows] == [2, 3, 1]


def _cli() -> typer.Typer:
    from kofu.cli.stats import stats

    app = typer.Typer(add_completion=False)

    @app.callback()
    def kofu() -> None:
        """A stand-in for kofu's app."""

    app.command("stats")(stats)
    return app


def test_kofu_stats_prints_the_month_as_a_table_json_or_csv(kofu_env, world):
    runner = CliRunner()
    want = expected(world, REPORTED)
    shown = runner.invoke(_cli(), ["stats", "--month", "2026-11", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == want

    shown = runner.invoke(_cli(), ["stats", "--month", "2026-11", "--csv"])
    assert shown.exit_code == 0, shown.output
    lines = list(csv.reader(io.StringIO(shown.stdout)))
    assert lines[0] == list(COLUMNS.values())
    assert lines[1] == ["" if v is None else str(v) for v in want.values()]

    shown = runner.invoke(_cli(), ["stats", "--month", "2026-11"])
    assert shown.exit_code == 0, shown.output
    assert "2026-11" in shown.stdout and "人口 population" in shown.stdout
    assert f"{want['handed_over_total']}" in shown.stdout
    assert f"{want['handover_rate_percent']:.1f}" in shown.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--month", "2026-11", "--json", "--csv"], "--json and --csv: choose one"),
        (["--month", "2026-13"], "the month must be YYYY-MM"),
        (["--month", "26-01"], "the month must be YYYY-MM"),
        (["--month", "2999-01"], "no figures for 2999-01"),
    ],
)
def test_kofu_stats_refuses_with_one_line(kofu_env, args, words):
    shown = CliRunner().invoke(_cli(), ["stats", *args])
    assert shown.exit_code == 2
    assert shown.stdout == ""
    assert shown.stderr.startswith("kofu: error: ") and words in shown.stderr
    assert shown.stderr.count("\n") == 1
