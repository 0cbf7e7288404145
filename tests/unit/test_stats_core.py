"""The month's figures (tasks/stats/core.py) from plain dates, the month argument, the CSV
and JSON shapes, and the chart (tasks/stats/chart.py) as a real PNG."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from PIL import Image

from kofu.base.errors import UserError
from kofu.tasks.stats.chart import MARGINS, SIZE, nice_step, stats_chart
from kofu.tasks.stats.core import (
    COLUMNS,
    CardDates,
    Month,
    MonthFigures,
    StatsInput,
    figures_csv,
    figures_dict,
    figures_for,
    figures_json,
    half_up_tenths,
    parse_month,
    previous_month,
    rate_percent,
    shown,
    twelve_months,
)

TODAY = date(2026, 12, 3)
NOV, DEC = Month(2026, 11), Month(2026, 12)
OCT = Month(2026, 10)


# --- The month ---


def test_months_shift_across_years_and_know_their_last_day():
    assert Month(2026, 1).shifted(-1) == Month(2025, 12)
    assert Month(2025, 12).shifted(1) == Month(2026, 1)
    assert Month(2024, 2).last == date(2024, 2, 29) and Month(2026, 2).last == date(2026, 2, 28)
    assert Month(2026, 12).last == date(2026, 12, 31)
    assert str(Month(2026, 3)) == "2026-03"


def test_twelve_months_end_with_the_month_oldest_first():
    months = twelve_months(Month(2026, 3))
    assert [m.label for m in months] == [
        "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09",
        "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03",
    ]  # fmt: skip


def test_the_previous_month_is_the_last_whole_one():
    assert previous_month(date(2026, 1, 1)) == Month(2025, 12)
    assert previous_month(date(2026, 11, 30)) == Month(2026, 10)


@pytest.mark.parametrize(
    ("text", "month"),
    [("2026-11", NOV), (" 2026-12 ", DEC), ("2015-10", Month(2015, 10))],
)
def test_a_good_month_is_read(text, month):
    assert parse_month(text, TODAY) == month


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-13", "must be YYYY-MM"),
        ("2026-00", "must be YYYY-MM"),
        ("26-01", "must be YYYY-MM"),
        ("2026-1", "must be YYYY-MM"),
        ("2026/11", "must be YYYY-MM"),
        ("2026-11-01", "must be YYYY-MM"),
        ("２０２６-１１", "must be YYYY-MM"),  # full-width digits
        ("", "must be YYYY-MM"),
        (None, "must be YYYY-MM"),
        ("x" * 500, "must be YYYY-MM"),
        ("2027-01", "no figures for 2027-01"),  # next month: nothing has happened yet
        ("9999-12", "no figures for 9999-12"),
        ("2015-09", "no figures for 2015-09"),  # before the first online applications
        ("0001-01", "no figures for 0001-01"),
    ],
)
def test_a_bad_month_is_refused_with_one_line(text, words):
    with pytest.raises(UserError) as caught:
        parse_month(text, TODAY)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message and len(message) < 120


# --- Rounding ---


@pytest.mark.parametrize(
    ("part", "whole", "rate"),
    [(1, 3, 33.3), (2, 3, 66.7), (1, 8, 12.5), (1, 400, 0.3), (1, 2000, 0.1), (0, 5, 0.0)],
)
def test_the_rate_is_a_percentage_rounded_half_up_to_one_decimal(part, whole, rate):
    assert rate_percent(part, whole) == rate


def test_the_rate_of_no_population_is_none():
    assert rate_percent(5, 0) is None
    assert rate_percent(0, 0) is None


def test_half_up_where_round_would_round_to_even():
    assert half_up_tenths(1, 4) == 0.3  # round(0.25, 1) is 0.2
    assert half_up_tenths(-1, 4) == -0.2  # half up, not away from zero
    assert half_up_tenths(7, 2) == 3.5


# --- The figures ---


def _input(**given) -> StatsInput:
    return StatsInput(
        **{
            "residents_now": 0,
            "left_on": {},
            "submitted_on": [],
            "cards": [],
            "handed_over_before": 0,
            **given,
        }
    )


def test_each_figure_is_counted_in_its_month():
    cards = [
        # Handed over in November, 20 days after it was submitted.
        CardDates(date(2026, 10, 20), date(2026, 10, 15), picked_up_on=date(2026, 11, 4)),
        # Handed over on November's last day, 45 days after.
        CardDates(date(2026, 10, 25), date(2026, 10, 16), picked_up_on=date(2026, 11, 30)),
        # Handed over on 1 December: not November's.
        CardDates(date(2026, 11, 2), date(2026, 10, 30), picked_up_on=date(2026, 12, 1)),
        CardDates(
            date(2026, 9, 1),
            date(2026, 8, 20),
            returned_on=date(2026, 11, 11),
            reminded_on=date(2026, 11, 20),
        ),
        CardDates(
            date(2026, 6, 1),
            date(2026, 5, 20),
            destruction_due_on=date(2026, 10, 31),
            destroyed_on=date(2026, 11, 1),
        ),
    ]
    data = _input(
        residents_now=1000,
        left_on={date(2026, 11, 30): 3, date(2026, 12, 1): 4, date(2026, 12, 2): 1},
        submitted_on=[date(2026, 11, 1), date(2026, 11, 30), date(2026, 10, 31), date(2026, 12, 1)],
        cards=cards,
        handed_over_before=10,
    )
    oct_, nov, dec = figures_for([OCT, NOV, DEC], data)
    assert nov == MonthFigures(
        month="2026-11",
        population=1005,  # resident now, and the 5 who left after 30 November
        applications=2,
        handed_over=2,
        handed_over_total=12,
        handover_rate_percent=1.2,  # 12 / 1005 = 1.194 %
        pending_in_storage=2,  # the one picked up on 1 December, the returned one
        returned=1,
        reminded=1,
        destruction_due=0,
        destroyed=1,
        days_to_handover_median=32.5,  # 20 and 45 days
        days_to_handover_mean=32.5,
    )
    assert (oct_.population, oct_.applications, oct_.handed_over, oct_.handed_over_total) == (
        1008,
        1,
        0,
        10,
    )
    # At October's end: the two handed over in November, the returned one, and the one
    # destroyed on 1 November; not the one whose notice came on 2 November.
    assert oct_.pending_in_storage == 4
    assert oct_.destruction_due == 1 and oct_.destroyed == 0
    assert oct_.days_to_handover_median is None and oct_.days_to_handover_mean is None
    assert (dec.population, dec.handed_over, dec.handed_over_total) == (1000, 1, 13)
    assert dec.pending_in_storage == 1  # the returned, reminded card


def test_a_card_is_in_storage_from_its_notice_until_it_leaves():
    notice = date(2026, 10, 31)
    gone = {
        "picked_up_on": date(2026, 12, 31),
        "destroyed_on": date(2026, 12, 31),
        "withdrawn_on": date(2026, 12, 31),
    }
    months = [Month(2026, 9), OCT, NOV, DEC, Month(2027, 1)]
    for field, day in gone.items():
        rows = figures_for(months, _input(cards=[CardDates(notice, **{field: day})]))
        # In storage at the end of October (its notice day) and November; gone on
        # December's last day, so not at December's end.
        assert [r.pending_in_storage for r in rows] == [0, 1, 1, 0, 0], field
    rows = figures_for(months, _input(cards=[CardDates(notice)]))
    assert [r.pending_in_storage for r in rows] == [0, 1, 1, 1, 1]
    # Picked up the day after its notice: never in storage at a month's end.
    rows = figures_for(months, _input(cards=[CardDates(notice, picked_up_on=date(2026, 11, 1))]))
    assert [r.pending_in_storage for r in rows] == [0, 1, 0, 0, 0]
    rows = figures_for(
        months, _input(cards=[CardDates(date(2026, 11, 5), picked_up_on=date(2026, 11, 20))])
    )
    assert [r.pending_in_storage for r in rows] == [0, 0, 0, 0, 0]
    # A card due for destruction is in storage until it is destroyed.
    rows = figures_for(
        months,
        _input(cards=[CardDates(date(2026, 9, 1), destruction_due_on=date(2026, 10, 2))]),
    )
    assert [r.pending_in_storage for r in rows] == [1, 1, 1, 1, 1]


def test_no_population_gives_no_rate_and_no_handover_gives_no_days():
    [row] = figures_for([NOV], _input())
    assert row.population == 0 and row.handover_rate_percent is None
    assert row.days_to_handover_median is None and row.days_to_handover_mean is None
    assert shown(row.handover_rate_percent) == "-" and shown(row.population) == "0"


def test_a_handover_without_a_submission_time_counts_but_gives_no_days():
    cards = [
        CardDates(date(2026, 10, 1), None, picked_up_on=date(2026, 11, 2)),
        CardDates(date(2026, 10, 1), date(2026, 10, 1), picked_up_on=date(2026, 11, 3)),
    ]
    [row] = figures_for([NOV], _input(cards=cards, residents_now=3))
    assert row.handed_over == 2 and row.handover_rate_percent == 66.7
    assert (row.days_to_handover_median, row.days_to_handover_mean) == (33.0, 33.0)


def test_the_mean_and_median_of_an_odd_count():
    cards = [
        CardDates(date(2026, 11, 1), date(2026, 11, 1), picked_up_on=date(2026, 11, day))
        for day in (11, 2, 5)
    ]
    [row] = figures_for([NOV], _input(cards=cards))
    # 10, 1 and 4 days.
    assert row.days_to_handover_median == 4.0 and row.days_to_handover_mean == 5.0


def test_months_must_be_consecutive():
    with pytest.raises(ValueError):
        figures_for([OCT, DEC], _input())
    with pytest.raises(ValueError):
        figures_for([], _input())


# --- CSV and JSON ---


def _rows() -> list[MonthFigures]:
    data = _input(
        residents_now=4,
        submitted_on=[date(2026, 11, 3)],
        cards=[CardDates(date(2026, 10, 2), date(2026, 10, 1), picked_up_on=date(2026, 11, 2))],
    )
    return figures_for([OCT, NOV], data)


def test_the_csv_has_a_japanese_and_english_header_and_a_line_a_month():
    text = figures_csv(_rows())
    assert not text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == list(COLUMNS.values())
    assert lines[0][:3] == ["month(月)", "population(人口)", "applications(申請件数)"]
    assert all("(" in h and h.split("(")[0] in COLUMNS for h in lines[0])
    assert lines[1] == ["2026-10", "4", "0", "0", "0", "0.0", "1", "0", "0", "0", "0", "", ""]
    assert lines[2] == ["2026-11", "4", "1", "1", "1", "25.0", "0", "0", "0", "0", "0", "32.0", "32.0"]  # fmt: skip
    assert len(lines) == 3


def test_the_json_carries_every_figure_under_its_english_name():
    rows = _rows()
    document = json.loads(json.dumps(figures_json(NOV, rows), ensure_ascii=False))
    assert document["month"] == "2026-11"
    assert document["columns"] == COLUMNS
    assert [m["month"] for m in document["months"]] == ["2026-10", "2026-11"]
    assert document["months"][0]["days_to_handover_median"] is None
    assert document["months"][1] == figures_dict(rows[1])
    assert list(document["months"][1]) == list(COLUMNS)
    assert document["months"][1]["handover_rate_percent"] == 25.0


# --- The chart ---


def test_the_chart_is_a_png_of_the_size_with_lines_in_the_plot_area():
    rows = figures_for(
        twelve_months(NOV),
        _input(
            residents_now=100,
            submitted_on=[date(2026, m, 10) for m in range(1, 12) for _ in range(m)],
            cards=[
                CardDates(date(2026, m, 1), date(2026, m, 1), picked_up_on=date(2026, m, 20))
                for m in range(1, 12)
                for _ in range(12 - m)
            ],
        ),
    )
    png = stats_chart(rows)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.size == SIZE
    left, top, right, bottom = MARGINS
    plot = image.convert("RGB").crop((left + 2, top, SIZE[0] - right, SIZE[1] - bottom - 2))
    colours = plot.getcolors(maxcolors=1_000_000) or []
    inked = sum(n for n, rgb in colours if rgb != (255, 255, 255) and max(rgb) - min(rgb) > 60)
    assert inked > 2000, "no coloured line in the plot area"
    # Each series' colour is there (within the anti-aliasing's reach).
    for target in ((0, 114, 178), (230, 159, 0), (0, 158, 115)):
        assert any(
            sum(abs(a - b) for a, b in zip(rgb, target, strict=True)) < 30 for _, rgb in colours
        ), target
    # Text (the title, ticks, legend) outside the plot area.
    header = image.convert("L").crop((0, 0, SIZE[0], top - 4))
    assert min(header.getdata()) < 100


def test_the_chart_draws_a_month_of_nothing():
    [row] = figures_for([NOV], _input())
    image = Image.open(io.BytesIO(stats_chart([row], size=(400, 300))))
    assert image.size == (400, 300)


@pytest.mark.parametrize(
    ("top", "step"), [(0, 1), (3, 1), (9, 2), (10, 2), (47, 10), (1412, 500), (99_000, 20_000)]
)
def test_tick_steps_are_one_two_or_five_times_a_power_of_ten(top, step):
    assert nice_step(top) == step
