import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from kofu.base.fonts import _cached_stamp, _source_stamp, notice_font_path, register_notice_font
from kofu.tasks.notices.pdf import (
    TITLE,
    CounterInfo,
    NoticeContent,
    age_on,
    render_notice,
    write_notice_pdf,
)
from tests.helpers import A4_MM, compact_text, fonts_not_embedded, page_sizes_mm


def make_content(**overrides) -> NoticeContent:
    fields = dict(
        municipality="見本市",
        issuer_title="見本市長",
        notice_number="2026-00000123",
        issued_on=date(2026, 11, 26),
        pickup_deadline=date(2027, 2, 24),
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        postal_code="100-0001",
        address="見本市中央一丁目2番3号 見本ハイツ101号室",
        counter=CounterInfo(
            name="見本市役所 市民課 マイナンバーカード交付窓口",
            address="〒100-0001 見本市中央1丁目1番1号 本庁舎1階",
            phone="0120-000-000",
            hours="平日 8:30〜17:15",
        ),
        birth_date=date(1980, 5, 1),
    )
    fields.update(overrides)
    return NoticeContent(**fields)


def test_font_cache_is_reused(font_cache: Path, font_name: str):
    path = notice_font_path(font_cache)
    assert path == font_cache / "NotoSansJP-Regular.ttf"
    mtime = path.stat().st_mtime_ns
    assert notice_font_path(font_cache).stat().st_mtime_ns == mtime
    assert register_notice_font(font_cache) == font_name


def test_font_cache_is_stamped_with_its_source(font_cache: Path, font_name: str, tmp_path: Path):
    import pylopdf_fonts_jp

    assert _cached_stamp(font_cache / "NotoSansJP-Regular.ttf") == _source_stamp(
        Path(pylopdf_fonts_jp.sans_path())
    )
    # A truncated or foreign file has no stamp, so notice_font_path converts again.
    (tmp_path / "NotoSansJP-Regular.ttf").write_bytes(b"not a font")
    assert _cached_stamp(tmp_path / "NotoSansJP-Regular.ttf") is None
    assert _cached_stamp(tmp_path / "missing.ttf") is None


def test_page_is_one_a4_portrait(font_name: str):
    assert page_sizes_mm(render_notice(make_content(), font_name)) == [A4_MM]


def test_text_round_trips(font_name: str):
    text = compact_text(render_notice(make_content(), font_name))
    for expected in (
        TITLE,
        "見本太郎様",
        "ミホンタロウ",
        "〒100-0001",
        "見本市中央一丁目2番3号見本ハイツ101号室",
        "2027年2月24日",
        "2026-00000123",
        "見本市役所市民課マイナンバーカード交付窓口",
        "0120-000-000",
        "8:30〜17:15",
        "見本市長",
        "回答書",
        "委任状",
        "法定代理人",
        "運転免許証",
        "健康保険の資格確認書",
        "通知カード",
        "住民基本台帳カード",
    ):
        assert re.sub(r"\s+", "", expected) in text, expected


def test_variant_kanji_and_astral_name_round_trip(font_name: str):
    content = make_content(family_name="髙𠮷", given_name="﨑子")
    assert "髙𠮷﨑子様" in compact_text(render_notice(content, font_name))


def test_metadata_has_no_personal_data(font_name: str):
    meta = PdfReader(io.BytesIO(render_notice(make_content(), font_name))).metadata
    assert meta.title == "交付通知書 2026-00000123"
    assert "太郎" not in str(dict(meta))


def test_fonts_are_embedded(font_name: str):
    assert fonts_not_embedded(render_notice(make_content(), font_name)) == []


def test_never_shows_a_twelve_digit_number(font_name: str):
    text = compact_text(render_notice(make_content(), font_name))
    assert not re.search(r"\d{12}", text)


def test_under_15_wording_is_emphasised(font_name: str):
    adult = compact_text(render_notice(make_content(), font_name))
    child = compact_text(render_notice(make_content(birth_date=date(2015, 5, 1)), font_name))
    assert "法定代理人" in adult and "法定代理人" in child
    assert "15歳未満です" in child
    assert "15歳未満です" not in adult


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2011, 11, 26), date(2026, 11, 26), 15),
        (date(2011, 11, 27), date(2026, 11, 26), 14),
        (date(2012, 2, 29), date(2027, 2, 28), 14),
        (date(2012, 2, 29), date(2027, 3, 1), 15),
    ],
)
def test_age_on(birth: date, on: date, age: int):
    assert age_on(birth, on) == age


def test_address_too_long_for_window_is_refused(font_name: str):
    with pytest.raises(ValueError, match="window"):
        render_notice(make_content(address="見本市中央一丁目" * 30), font_name)


def test_rendering_is_deterministic(font_name: str):
    content = make_content()
    assert render_notice(content, font_name) == render_notice(content, font_name)


def test_write_notice_pdf_replaces_atomically(tmp_path: Path, font_name: str):
    path = tmp_path / "2026-00000123.pdf"
    path.write_bytes(b"old")
    content = replace(make_content(), notice_number="2026-00000124")
    write_notice_pdf(content, font_name, path)
    assert path.read_bytes().startswith(b"%PDF")
    assert "2026-00000124" in compact_text(path.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
