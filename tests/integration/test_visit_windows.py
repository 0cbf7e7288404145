"""Visit windows (来庁日時): first come first served, never beyond a band's capacity, on open
days inside the pickup period, kept across reruns and nights; the notice shows the window
or asks the resident to phone. Real SQLite files built by the migrations, real PDFs."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from kofu.base.clock import JST
from kofu.base.errors import UserError
from kofu.base.settings import Settings, load_municipality
from kofu.models import Application, ApplicationState, Batch, Resident, ResidentStatus, VisitWindow
from kofu.models.db import unit_of_work
from kofu.tasks.visits.core import is_open
from kofu.tasks.visits.records import assign_visit_windows, counter_load, notices_without_window

MAIN = "見本市役所 市民課"
BRANCH = "見本市 北支所"


def counter_toml(name: str = MAIN, bands: str = "09:00-10:00/1", **extra: str) -> str:
    """A [[counters]] block; bands as "HH:MM-HH:MM/slots" separated by spaces."""
    lines = [
        "[[counters]]",
        f'name = "{name}"',
        'address = "〒100-0001 見本市中央1丁目1番1号"',
        'phone = "0120-000-000"',
        "opens = 08:30:00",
        "closes = 17:15:00",
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    for band in bands.split():
        hours, slots = band.split("/")
        start, end = hours.split("-")
        lines += [
            "[[counters.bands]]",
            f"start = {start}:00",
            f"end = {end}:00",
            f"slots = {slots}",
        ]
    return "\n".join(lines) + "\n"


def write_config(folder: Path, *counters: str, pickup_days: int = 90) -> Path:
    path = folder / "municipality.toml"
    path.write_text(
        'name = "見本市"\n' + "".join(counters) + f"[notice]\npickup_days = {pickup_days}\n",
        encoding="utf-8",
    )
    return path


def add_matched(
    db_url: str, batch_id: str, submitted: list[datetime], postal_code: str = "999-0011"
) -> list[int]:
    """Matched applications, one resident each; returns their keys in the order given."""
    with unit_of_work(db_url, write=True) as session:
        if session.get(Batch, batch_id) is None:
            session.add(Batch(id=batch_id, inbox="/inbox", delivery_sha256="0" * 64))
        start = (session.scalar(select(func.count()).select_from(Resident)) or 0) + 1
        pks = []
        for n, when in enumerate(submitted, start=start):
            resident = Resident(
                resident_code=f"{n:011d}",
                family_name="佐藤",
                given_name=f"太郎{n}",
                family_name_kana="サトウ",
                given_name_kana="タロウ",
                birth_date=date(1980, 4, 1),
                sex="1",
                postal_code=postal_code,
                address="見本市中央1丁目2番3号",
                status=ResidentStatus.RESIDENT,
                name_key="佐藤太郎",
                kana_key="サトウタロウ",
                address_key="中央1-2-3",
            )
            session.add(resident)
            session.flush()
            app = Application(
                application_id=f"{n:023d}",
                batch_id=batch_id,
                line_no=n,
                state=ApplicationState.MATCHED,
                submitted_at=when,
                resident_id=resident.id,
            )
            session.add(app)
            session.flush()
            pks.append(app.id)
        session.commit()
    return pks


def assign(db_url: str, config: Path, batch_id: str, issued_on: date) -> dict[str, int]:
    with unit_of_work(db_url, write=True) as session:
        counts = assign_visit_windows(session, load_municipality(config), batch_id, issued_on)
        session.commit()
    return counts


def windows(db_url: str) -> dict[int, tuple[str, date, time]]:
    with unit_of_work(db_url) as session:
        return {
            w.application_pk: (w.counter, w.visit_date, w.band_start)
            for w in session.scalars(select(VisitWindow))
        }


def submitted(n: int) -> list[datetime]:
    return [datetime(2026, 11, 25, 9, 0, tzinfo=JST) + timedelta(minutes=i) for i in range(n)]


def test_first_come_gets_the_earliest_window(kofu_env, tmp_path):
    config = write_config(tmp_path, counter_toml(bands="09:00-10:00/1 10:00-11:00/1"))
    # Keys in one order, submission times in the reverse: the submission time decides.
    late, middle, early = add_matched(kofu_env.db_url, "b1", list(reversed(submitted(3))))
    # Thursday 26 November + 7 days of lead time: Thursday 3 December is the first day.
    assert assign(kofu_env.db_url, config, "b1", date(2026, 11, 26)) == {
        "assigned": 3,
        "no_window": 0,
    }
    got = windows(kofu_env.db_url)
    assert got[early] == (MAIN, date(2026, 12, 3), time(9))
    assert got[middle] == (MAIN, date(2026, 12, 3), time(10))
    assert got[late] == (MAIN, date(2026, 12, 4), time(9))


def test_no_band_is_filled_beyond_capacity_and_the_rest_get_no_window(kofu_env, tmp_path):
    # 14 days: Thu 3 Dec to Thu 10 Dec is offered, 6 weekdays x 2 bands x 3 slots = 36.
    config = write_config(
        tmp_path, counter_toml(bands="09:00-10:00/3 13:00-14:00/3"), pickup_days=14
    )
    add_matched(kofu_env.db_url, "b1", submitted(40))
    counts = assign(kofu_env.db_url, config, "b1", date(2026, 11, 26))
    assert counts == {"assigned": 36, "no_window": 4}
    with unit_of_work(kofu_env.db_url) as session:
        per_band = session.execute(
            select(VisitWindow.visit_date, VisitWindow.band_start, func.count()).group_by(
                VisitWindow.visit_date, VisitWindow.band_start
            )
        ).all()
        last_day = session.scalar(select(func.max(VisitWindow.visit_date)))
    assert len(per_band) == 12 and all(n == 3 for _, _, n in per_band)
    assert last_day == date(2026, 12, 10)  # the pickup deadline, inclusive


@pytest.mark.parametrize(
    ("issued_on", "expected"),
    [
        # Mon 23 Nov 2026 is 勤労感謝の日; 21-22 Nov a weekend.
        (date(2026, 11, 13), [date(2026, 11, 20), date(2026, 11, 24), date(2026, 11, 25)]),
        # 年末年始: closed 29 Dec to 3 Jan; 4 Jan 2027 is a Monday.
        (date(2026, 12, 21), [date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 5)]),
        # Mon 11 Jan 2027 is 成人の日; 9-10 Jan a weekend.
        (date(2027, 1, 1), [date(2027, 1, 8), date(2027, 1, 12), date(2027, 1, 13)]),
    ],
)
def test_closed_days_get_no_windows(kofu_env, tmp_path, issued_on, expected):
    config = write_config(tmp_path, counter_toml(bands="09:00-10:00/1"))
    pks = add_matched(kofu_env.db_url, "b1", submitted(3))
    assign(kofu_env.db_url, config, "b1", issued_on)
    got = windows(kofu_env.db_url)
    assert [got[pk][1] for pk in pks] == expected


def test_which_days_a_counter_is_open(tmp_path):
    config = write_config(
        tmp_path,
        counter_toml(closed_dates="[2026-12-02]", closed_weekdays='["Sun"]'),
        counter_toml(name=BRANCH, closed_on_public_holidays="false", closed_at_year_end="false"),
    )
    main, branch = load_municipality(config).counters
    assert is_open(main, date(2026, 12, 1))
    assert not is_open(main, date(2026, 12, 2))  # closed_dates
    assert is_open(main, date(2026, 12, 5))  # Saturday: only Sunday is closed here
    assert not is_open(main, date(2026, 12, 6))
    assert not is_open(main, date(2026, 11, 23))  # 勤労感謝の日
    assert not is_open(main, date(2027, 1, 11))  # 成人の日
    assert not is_open(main, date(2026, 12, 29)) and not is_open(main, date(2027, 1, 1))
    assert is_open(branch, date(2026, 11, 23)) and is_open(branch, date(2026, 12, 29))
    assert not is_open(branch, date(2026, 12, 5))  # default closed weekdays: Sat and Sun


def test_a_rerun_never_reassigns_or_double_books(kofu_env, tmp_path):
    config = write_config(tmp_path, counter_toml(bands="09:00-10:00/2"))
    first = add_matched(kofu_env.db_url, "b1", submitted(3))
    assign(kofu_env.db_url, config, "b1", date(2026, 11, 26))
    before = windows(kofu_env.db_url)
    # The rerun comes a day later, when an application resolved by a person joins the batch.
    (latecomer,) = add_matched(kofu_env.db_url, "b1", [datetime(2026, 11, 25, 8, 0, tzinfo=JST)])
    counts = assign(kofu_env.db_url, config, "b1", date(2026, 11, 27))
    after = windows(kofu_env.db_url)
    assert counts == {"assigned": 1, "no_window": 0}
    assert {pk: after[pk] for pk in first} == before
    # The place left in Friday's first band goes to it, although it applied earliest.
    assert after[latecomer] == (MAIN, date(2026, 12, 4), time(9))
    assert assign(kofu_env.db_url, config, "b1", date(2026, 11, 27)) == {
        "assigned": 0,
        "no_window": 0,
    }
    assert windows(kofu_env.db_url) == after


def test_the_second_night_counts_the_first_nights_bookings(kofu_env, tmp_path):
    config = write_config(tmp_path, counter_toml(bands="09:00-10:00/2"), pickup_days=14)
    add_matched(kofu_env.db_url, "night-1", submitted(3))
    assign(kofu_env.db_url, config, "night-1", date(2026, 11, 26))
    add_matched(kofu_env.db_url, "night-2", submitted(12))
    counts = assign(kofu_env.db_url, config, "night-2", date(2026, 11, 27))
    with unit_of_work(kofu_env.db_url) as session:
        per_day = dict(
            session.execute(
                select(VisitWindow.visit_date, func.count()).group_by(VisitWindow.visit_date)
            ).all()
        )
    assert max(per_day.values()) == 2
    # Night 2 offers Fri 4 Dec to Fri 11 Dec: 6 weekdays x 2, less the 1 place night 1 took.
    assert counts == {"assigned": 11, "no_window": 1}
    assert per_day[date(2026, 12, 3)] == 2 and per_day[date(2026, 12, 4)] == 2


def test_residents_go_to_the_counter_serving_their_postal_code(kofu_env, tmp_path):
    config = write_config(
        tmp_path,
        counter_toml(bands="09:00-10:00/1"),
        counter_toml(name=BRANCH, bands="09:00-10:00/1", postal_prefixes='["100-01"]'),
    )
    north = add_matched(kofu_env.db_url, "b1", submitted(2), postal_code="100-0123")
    central = add_matched(kofu_env.db_url, "b1", submitted(2), postal_code="999-0011")
    assign(kofu_env.db_url, config, "b1", date(2026, 11, 26))
    got = windows(kofu_env.db_url)
    assert [got[pk][0] for pk in north] == [BRANCH, BRANCH]
    assert [got[pk][0] for pk in central] == [MAIN, MAIN]
    # Each counter fills its own bands: the second resident of each goes to the next day.
    assert [got[pk][1] for pk in north] == [date(2026, 12, 3), date(2026, 12, 4)]


def test_with_several_general_counters_the_earliest_free_window_wins(kofu_env, tmp_path):
    config = write_config(
        tmp_path,
        counter_toml(bands="13:00-14:00/1"),
        counter_toml(name=BRANCH, bands="09:00-10:00/1"),
    )
    pks = add_matched(kofu_env.db_url, "b1", submitted(3))
    assign(kofu_env.db_url, config, "b1", date(2026, 11, 26))
    got = windows(kofu_env.db_url)
    assert [got[pk] for pk in pks] == [
        (BRANCH, date(2026, 12, 3), time(9)),
        (MAIN, date(2026, 12, 3), time(13)),
        (BRANCH, date(2026, 12, 4), time(9)),
    ]


def test_the_notice_shows_the_window_or_asks_the_resident_to_phone(kofu_env, tmp_path):
    from kofu.tasks.chunks.records import plan_chunks
    from kofu.tasks.notices.records import generate_notice_chunk

    config = write_config(tmp_path, counter_toml(bands="09:00-10:00/1"), pickup_days=8)
    settings = Settings(data_dir=kofu_env.data_dir, config=config)
    # One place on Thu 3 Dec and one on Fri 4 Dec before the deadline; three residents.
    first, second, third = add_matched(kofu_env.db_url, "b1", submitted(3))
    issued_on = date(2026, 11, 26)
    assert assign(kofu_env.db_url, config, "b1", issued_on) == {"assigned": 2, "no_window": 1}
    with unit_of_work(kofu_env.db_url) as session:
        (chunk,) = plan_chunks(session, "b1", ApplicationState.MATCHED, 10)
    now = datetime(2026, 11, 26, 2, 0, tzinfo=JST)
    assert dict(generate_notice_chunk(settings, chunk, issued_on, now)) == {"notice_generated": 3}

    def text(pk: int) -> str:
        (pdf,) = settings.notices_dir.glob(f"b1/*-{pk:08d}.pdf")
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1
        return reader.pages[0].extract_text()

    assert "2026年12月3日（木）" in text(first) and "9:00〜10:00" in text(first)
    assert "2026年12月4日（金）" in text(second)
    assert "お電話で来庁日時をご予約" in text(third)
    assert "お電話で来庁日時をご予約" not in text(first)
    with unit_of_work(kofu_env.db_url) as session:
        assert notices_without_window(session, "b1") == 1


def notice_with_window(long_name: str, visit_counter: str, birth_date: date = date(2015, 6, 1)):
    from kofu.tasks.notices.pdf import CounterInfo, NoticeContent, VisitLine

    return NoticeContent(
        municipality="見本市",
        issuer_title="見本市長",
        notice_number="2026-00000001",
        issued_on=date(2026, 11, 26),
        pickup_deadline=date(2027, 2, 24),
        family_name="佐藤",
        given_name="花子",
        family_name_kana="サトウ",
        given_name_kana="ハナコ",
        postal_code="999-0011",
        address="見本市中央1丁目2番3号",
        counter=CounterInfo(long_name, "〒100-0001 見本市中央1丁目1番1号", "0120-000-000", "平日"),
        # Under 15 by default: the boxed rule for minors takes the most room.
        birth_date=birth_date,
        visit=VisitLine(visit_counter, date(2026, 12, 3), time(9), time(10)),
    )


# As long as a name gets on one line of the pickup-place row (about 47 characters).
LONG_COUNTER = (
    "見本市役所 北部地域出張所 マイナンバーカード交付窓口（見本駅前行政サービスコーナー内）"
)
# Two lines of it.
VERY_LONG_COUNTER = "見本市役所 市民生活部 市民課 " + LONG_COUNTER


@pytest.mark.parametrize(
    ("name", "birth_date"),
    [(LONG_COUNTER, date(2015, 6, 1)), (VERY_LONG_COUNTER, date(1980, 6, 1))],
    ids=["one-line-name-under-15", "two-line-name-adult"],
)
def test_a_long_counter_name_still_fits_one_page(font_name, name, birth_date):
    from kofu.tasks.notices.pdf import render_notice

    pdf = render_notice(notice_with_window(name, name, birth_date), font_name)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    page = "".join(reader.pages[0].extract_text().split())
    assert "2026年12月3日（木）9:00〜10:00" in page and "駅前行政サービスコーナー内" in page


def test_a_window_at_another_counter_than_the_pickup_place_is_refused(font_name):
    from kofu.tasks.notices.pdf import render_notice

    with pytest.raises(ValueError, match="pickup place"):
        render_notice(notice_with_window(MAIN, BRANCH), font_name)


def test_counter_load_counts_bookings_against_capacity(kofu_env, tmp_path):
    config = write_config(tmp_path, counter_toml(bands="09:00-10:00/2 10:00-11:00/2"))
    add_matched(kofu_env.db_url, "b1", submitted(5))
    assign(kofu_env.db_url, config, "b1", date(2026, 11, 26))
    with unit_of_work(kofu_env.db_url) as session:
        rows = counter_load(session, load_municipality(config), date(2026, 11, 30), days=7)
    # Mon 30 Nov to Sun 6 Dec: five weekdays shown, the weekend left out.
    assert [r["date"][:10] for r in rows] == [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
    ]
    booked = {r["date"][:10]: (r["booked"], r["capacity"]) for r in rows}
    assert booked["2026-12-03"] == (4, 4) and booked["2026-12-04"] == (1, 4)
    assert booked["2026-11-30"] == (0, 4)
    assert set(rows[0]) == {"counter", "date", "booked", "capacity", "load"}


@pytest.mark.parametrize(
    ("counter", "where", "says"),
    [
        (counter_toml(bands="08:00-09:00/2"), "counters.0", "within opening hours"),
        (
            counter_toml(bands="09:00-11:00/2 10:00-12:00/2"),
            "counters.0",
            "without overlapping",
        ),
        (counter_toml(bands="10:00-09:00/2"), "counters.0.bands.0", "start before it ends"),
        (counter_toml(bands="09:00-10:00/-1"), "counters.0.bands.0.slots", "greater than"),
        (counter_toml(closed_weekdays='["Saturday"]'), "counters.0.closed_weekdays.0", "'Mon'"),
        (counter_toml(postal_prefixes='["10-0"]'), "counters.0", "postal prefix"),
        (counter_toml() + counter_toml(), "counters", "two counters are named"),
    ],
)
def test_bad_counter_settings_get_a_one_line_message(tmp_path, counter, where, says):
    config = write_config(tmp_path, counter)
    with pytest.raises(UserError) as err:
        load_municipality(config)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"settings file {config}: {where}: ")
    assert says in message


def test_the_sample_settings_offer_windows_on_weekdays():
    from kofu.base.settings import SAMPLE_CONFIG

    (counter,) = load_municipality(SAMPLE_CONFIG).counters
    assert sum(b.slots for b in counter.bands) == 42
    assert counter.lead_days == 7 and counter.closed_on_public_holidays
