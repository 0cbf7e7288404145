import io
import re
from datetime import date, time
from pathlib import Path

import pytest
from pypdf import PdfReader

from kofu.base.settings import SAMPLE_CONFIG, PickupCounter, load_municipality
from kofu.tasks.notices.page import LayoutError
from kofu.tasks.reminders.core import reminder_content
from kofu.tasks.reminders.pdf import (
    OPENINGS,
    TITLE,
    ReminderContent,
    render_reminder_letter,
    write_reminder_letter,
)
from tests.helpers import A4_MM, compact_text, fonts_not_embedded, page_sizes_mm

COUNTER = "見本市役所 市民課 マイナンバーカード交付窓口"


def make_content(**overrides) -> ReminderContent:
    fields = dict(
        municipality="見本市",
        issuer_title="見本市長",
        letter_number="RM2027-00000123",
        issued_on=date(2027, 3, 1),
        notice_number="2026-00000123",
        notice_issued_on=date(2026, 11, 26),
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        postal_code="100-0001",
        address="見本市中央一丁目2番3号 見本ハイツ101号室",
        deadline=date(2027, 3, 31),
        reason="not-collected",
        pickup_place=f"{COUNTER}\n〒100-0001 見本市中央1丁目1番1号 本庁舎1階",
        contact_name=COUNTER,
        contact_phone="0120-000-000",
        contact_hours="平日 8:30〜17:15",
    )
    fields.update(overrides)
    return ReminderContent(**fields)


def squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_page_is_one_a4_portrait_with_fonts_embedded(font_name: str):
    pdf = render_reminder_letter(make_content(), font_name)
    assert page_sizes_mm(pdf) == [A4_MM]
    assert fonts_not_embedded(pdf) == []


def test_text_round_trips(font_name: str):
    text = compact_text(render_reminder_letter(make_content(), font_name))
    for expected in (
        TITLE,
        "個人番号カード交付通知書の再通知",
        "RM2027-00000123",
        "2027年3月1日",  # issued
        "見本市長",
        "〒100-0001",
        "見本市中央一丁目2番3号見本ハイツ101号室",
        "見本太郎様",
        "ミホンタロウ",
        "通知番号2026-00000123",
        "2026年11月26日付",  # the notice's date
        "新しい受取期限2027年3月31日（水）まで",
        "受取場所見本市役所市民課マイナンバーカード交付窓口",
        "見本市中央1丁目1番1号本庁舎1階",
        "お持ちいただくもの",
        "本人確認書類",
        "0120-000-000",
        "8:30〜17:15",
    ):
        assert squeeze(expected) in text, expected


@pytest.mark.parametrize("number", ["2026-00000123", "2026-00000123-2"])
def test_the_notice_to_bring_is_named_by_its_number(font_name: str, number: str):
    text = compact_text(render_reminder_letter(make_content(notice_number=number), font_name))
    # In the opening, the table and the bring list.
    assert text.count(f"通知番号{number}") == 3


def test_each_reason_opens_with_its_own_paragraph(font_name: str):
    texts = {
        reason: compact_text(render_reminder_letter(make_content(reason=reason), font_name))
        for reason in ("not-collected", "returned-same-address")
    }
    assert "まだ受け取られていません" in texts["not-collected"]
    assert "返送されました" not in texts["not-collected"]
    assert "返送されました" in texts["returned-same-address"]
    assert "まだ受け取られていません" not in texts["returned-same-address"]
    for reason, text in texts.items():
        opening = OPENINGS[reason].format(number="2026-00000123", issued="2026年11月26日")
        assert squeeze(opening) in text
        assert "カードは廃棄されることがあります" in text


def test_an_unknown_reason_is_refused(font_name: str):
    with pytest.raises(ValueError, match="RM2027-00000123.*reason"):
        render_reminder_letter(make_content(reason="moved-within-city"), font_name)


def test_visit_row_only_when_given(font_name: str):
    without = compact_text(render_reminder_letter(make_content(), font_name))
    assert "来庁日時" not in without
    visit = "2027年3月10日（水）10:00〜11:00"
    text = compact_text(render_reminder_letter(make_content(visit_text=visit), font_name))
    assert f"来庁日時{squeeze(visit)}" in text


def test_rendering_is_deterministic(font_name: str):
    content = make_content()
    assert render_reminder_letter(content, font_name) == render_reminder_letter(content, font_name)


def test_never_shows_a_twelve_digit_number(font_name: str):
    for reason in OPENINGS:
        text = compact_text(render_reminder_letter(make_content(reason=reason), font_name))
        assert not re.search(r"\d{12}", text)


def test_a_twelve_digit_run_in_the_data_is_refused(font_name: str):
    with pytest.raises(ValueError, match="RM2027-00000123.*12-digit"):
        render_reminder_letter(make_content(address="見本市中央 123456789012"), font_name)
    with pytest.raises(ValueError, match="12-digit"):
        render_reminder_letter(make_content(notice_number="2026-123456789012"), font_name)


def test_too_long_content_is_refused_not_printed_off_the_page(font_name: str):
    with pytest.raises(ValueError, match="RM2027-00000123.*one page"):
        render_reminder_letter(make_content(pickup_place="見本市役所 本庁舎1階 " * 80), font_name)


def test_address_too_long_for_the_window_is_a_layout_error(font_name: str):
    with pytest.raises(LayoutError) as caught:
        render_reminder_letter(make_content(address="見本市中央一丁目" * 30), font_name)
    assert caught.value.code == "address-too-long-for-window"
    assert "reminder letter RM2027-00000123" in str(caught.value)


def test_metadata_has_no_personal_data(font_name: str):
    meta = PdfReader(io.BytesIO(render_reminder_letter(make_content(), font_name))).metadata
    assert meta.title == "再通知 RM2027-00000123"
    assert meta.author == "見本市"
    for personal in ("見本　太郎", "太郎", "タロウ", "見本ハイツ", "100-0001", "2026-00000123"):
        assert personal not in str(dict(meta)), personal


def test_write_reminder_letter_replaces_atomically(tmp_path: Path, font_name: str):
    path = tmp_path / "RM2027-00000123.pdf"
    path.write_bytes(b"old")
    write_reminder_letter(make_content(letter_number="RM2027-00000124"), font_name, path)
    assert path.read_bytes().startswith(b"%PDF")
    assert "RM2027-00000124" in compact_text(path.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind


# --- The content from the settings ---

MUNICIPALITY = load_municipality(SAMPLE_CONFIG)


def content_from_settings(municipality=MUNICIPALITY, **overrides) -> ReminderContent:
    fields = dict(
        letter_number="RM2027-00000123",
        issued_on=date(2027, 3, 1),
        notice_number="2026-00000123",
        notice_issued_on=date(2026, 11, 26),
        deadline=date(2027, 3, 31),
        reason="returned-same-address",
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        postal_code="100-0001",
        address="見本市中央一丁目2番3号",
    )
    fields.update(overrides)
    return reminder_content(municipality, **fields)


def test_content_takes_the_counter_from_the_settings():
    c = content_from_settings()
    counter = MUNICIPALITY.counters[0]
    assert (c.municipality, c.issuer_title) == (MUNICIPALITY.name, MUNICIPALITY.notice.issuer_title)
    assert c.pickup_place == f"{counter.name}\n{counter.address}"
    assert (c.contact_name, c.contact_phone) == (counter.name, counter.phone)
    assert c.contact_hours == f"平日 {counter.opens:%-H:%M}〜{counter.closes:%-H:%M}"
    assert (c.reason, c.deadline, c.notice_number) == (
        "returned-same-address",
        date(2027, 3, 31),
        "2026-00000123",
    )
    assert c.visit_text is None


def test_content_sends_the_resident_to_the_counter_holding_the_card():
    branch = PickupCounter(
        name="見本市 北支所",
        address="〒100-0200 見本市北町2番1号",
        phone="0120-000-222",
        opens=time(9, 0),
        closes=time(17, 0),
        postal_prefixes=["100-02"],
    )
    municipality = MUNICIPALITY.model_copy(update={"counters": [*MUNICIPALITY.counters, branch]})
    # The notice's counter, when the card's visit window named one.
    named = content_from_settings(municipality, pickup_counter="見本市 北支所")
    assert named.contact_name == "見本市 北支所" and named.contact_phone == "0120-000-222"
    assert named.contact_hours == "平日 9:00〜17:00"
    # Else the one serving the postal code, as the notice chose it.
    by_code = content_from_settings(municipality, postal_code="100-0201")
    assert by_code.contact_name == "見本市 北支所"
    main = content_from_settings(municipality, pickup_counter="閉鎖した窓口")
    assert main.contact_name == MUNICIPALITY.counters[0].name


def test_content_with_an_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="RM2027-00000123.*reason"):
        content_from_settings(reason="moved-within-city")


def test_content_from_the_settings_renders(font_name: str):
    content = content_from_settings()
    text = compact_text(render_reminder_letter(content, font_name))
    assert "返送されました" in text
    assert "見本市役所市民課マイナンバーカード交付窓口" in text
