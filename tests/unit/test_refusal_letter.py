import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from kofu.tasks.letters.pdf import (
    TITLE,
    RefusalContent,
    RefusalReason,
    group_application_id,
    render_refusal_letter,
    write_refusal_letter,
)
from tests.helpers import A4_MM, compact_text, fonts_not_embedded, page_sizes_mm

APPLICATION_ID = "12345678901234567890123"
HEAD_CUT_OFF = RefusalReason("head-cut-off", "頭の上まで写るように、少し離れて撮影してください")
BACKGROUND = RefusalReason(
    "background-not-plain", "背景に家具や模様が写っています。無地の壁の前で撮影してください"
)
BLUR = RefusalReason("out-of-focus", "ピントが合っていません。手ぶれのないように撮影してください")


def make_content(**overrides) -> RefusalContent:
    fields = dict(
        municipality="見本市",
        issuer_title="見本市長",
        letter_number="R2026-00000123",
        issued_on=date(2026, 11, 27),
        application_id=APPLICATION_ID,
        submitted_on=date(2026, 11, 25),
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        postal_code="100-0001",
        address="見本市中央一丁目2番3号 見本ハイツ101号室",
        reasons=(HEAD_CUT_OFF, BACKGROUND, BLUR),
        contact_name="見本市役所 市民課 マイナンバーカード交付窓口",
        contact_phone="0120-000-000",
        contact_hours="平日 8:30〜17:15",
    )
    fields.update(overrides)
    return RefusalContent(**fields)


def test_page_is_one_a4_portrait(font_name: str):
    assert page_sizes_mm(render_refusal_letter(make_content(), font_name)) == [A4_MM]


def test_text_round_trips(font_name: str):
    text = compact_text(render_refusal_letter(make_content(), font_name))
    for expected in (
        TITLE,
        "再申請のお願い",
        "見本太郎様",
        "ミホンタロウ",
        "〒100-0001",
        "見本市中央一丁目2番3号見本ハイツ101号室",
        "R2026-00000123",
        "2026年11月27日",
        "2026年11月25日",
        "見本市長",
        "12345-67890-12345-67890-123",
        "見本市役所市民課マイナンバーカード交付窓口",
        "0120-000-000",
        "8:30〜17:15",
        "JPEG",
        "20KB〜7MB",
        "480〜6000ピクセル",
        "スマートフォン",
        "証明写真機",
        "郵送",
    ):
        assert re.sub(r"\s+", "", expected) in text, expected
    for reason in (HEAD_CUT_OFF, BACKGROUND, BLUR):
        assert reason.message_ja in text
        assert reason.code in text


def test_reasons_are_numbered_in_order(font_name: str):
    text = compact_text(render_refusal_letter(make_content(), font_name))
    positions = [text.index(f"{n}.{r.message_ja}") for n, r in enumerate(make_content().reasons, 1)]
    assert positions == sorted(positions)


@pytest.mark.parametrize("reasons", [(HEAD_CUT_OFF,), (HEAD_CUT_OFF, BACKGROUND, BLUR)])
def test_one_and_three_reasons_fit_one_page(font_name: str, reasons):
    pdf = render_refusal_letter(make_content(reasons=reasons), font_name)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = compact_text(pdf)
    for reason in reasons:
        assert reason.message_ja in text and reason.code in text


def test_too_many_reasons_are_refused_not_printed_off_the_page(font_name: str):
    with pytest.raises(ValueError, match="one page"):
        render_refusal_letter(make_content(reasons=(BACKGROUND,) * 12), font_name)


def test_no_reason_is_refused(font_name: str):
    with pytest.raises(ValueError, match="no reason"):
        render_refusal_letter(make_content(reasons=()), font_name)


def test_fonts_are_embedded(font_name: str):
    assert fonts_not_embedded(render_refusal_letter(make_content(), font_name)) == []


def test_never_shows_a_twelve_digit_number(font_name: str):
    text = compact_text(render_refusal_letter(make_content(), font_name))
    assert APPLICATION_ID not in text
    assert not re.search(r"\d{12}", text)


def test_a_twelve_digit_run_in_the_data_is_refused(font_name: str):
    # Whatever the source, e.g. a number typed into the address, it must not reach the page.
    with pytest.raises(ValueError, match="12-digit"):
        render_refusal_letter(make_content(address="見本市中央 123456789012"), font_name)


def test_application_id_is_grouped_in_fives():
    assert group_application_id(APPLICATION_ID) == "12345-67890-12345-67890-123"
    with pytest.raises(ValueError):
        group_application_id("12345 67890")


def test_metadata_has_no_personal_data(font_name: str):
    meta = PdfReader(io.BytesIO(render_refusal_letter(make_content(), font_name))).metadata
    assert meta.title == "再申請のお願い R2026-00000123"
    assert "太郎" not in str(dict(meta))
    assert "12345" not in str(dict(meta))


def test_address_too_long_for_window_is_refused(font_name: str):
    with pytest.raises(ValueError, match="R2026-00000123.*window"):
        render_refusal_letter(make_content(address="見本市中央一丁目" * 30), font_name)


def test_rendering_is_deterministic(font_name: str):
    content = make_content()
    assert render_refusal_letter(content, font_name) == render_refusal_letter(content, font_name)


def test_write_refusal_letter_replaces_atomically(tmp_path: Path, font_name: str):
    path = tmp_path / "R2026-00000123.pdf"
    path.write_bytes(b"old")
    write_refusal_letter(replace(make_content(), letter_number="R2026-00000124"), font_name, path)
    assert path.read_bytes().startswith(b"%PDF")
    assert "R2026-00000124" in compact_text(path.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
