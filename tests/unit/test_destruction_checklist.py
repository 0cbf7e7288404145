"""The destruction checklist (廃棄予定一覧): its CSV, and its pages read back with pypdf and
rasterised with pypdfium2, as staff print and tick them."""

import csv
import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from kofu.base.spreadsheet import spreadsheet_safe
from kofu.tasks.destruction.core import (
    CSV_COLUMNS,
    REASON_JA,
    Checklist,
    ChecklistRow,
    checklist_csv,
)
from kofu.tasks.destruction.pdf import (
    COLUMNS,
    HEADER_ROW_HEIGHT,
    NONE_TEXT,
    PAD,
    RIGHT,
    TABLE_TOP,
    TICK_SIZE,
    TITLE,
    column_left,
    render_checklist,
    write_checklist,
)
from tests.helpers import (
    INK_LEVEL,
    PT_PER_MM,
    aid,
    compact_text,
    fonts_not_embedded,
    ink_in_margin,
    page_sizes_mm,
    render_gray,
    with_mark,
)

A4_LANDSCAPE_MM = (297.0, 210.0)
PRINTER_MARGIN_MM = 10.0  # the most any printer leaves blank ([notice] printer_margin_mm)
DPI = 200
MARGIN_DPI = 100  # 0.25 mm a pixel: enough for a 10 mm margin, and fast over 15 pages
REASONS = tuple(REASON_JA)
HEADER = "No.通知番号氏名申請ID生年月日理由廃棄予定日台帳照合廃棄確認"
LONG_NAMES = dict(
    family_name="ウィリアムズ・アレクサンダー・クリストファー・ジョナサン・ベネディクト",
    given_name="エリザベス・マーガレット・キャサリン・ヴィクトリア",
    family_name_kana="ウィリアムズアレクサンダークリストファージョナサンベネディクト",
    given_name_kana="エリザベスマーガレットキャサリンヴィクトリアアレクサンドラ",
)


def make_row(n: int, **overrides) -> ChecklistRow:
    fields = dict(
        position=n,
        notice_number=f"2026-{n:08d}",
        application_id=aid(n),
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        birth_date=date(1980, 4, 1),
        reason=REASONS[n % len(REASONS)],
        due_on=date(2027, 6, 30),
    )
    fields.update(overrides)
    return ChecklistRow(**fields)


def make_checklist(rows=(), **overrides) -> Checklist:
    fields = dict(
        list_id=7,
        as_of=date(2027, 7, 1),
        municipality="見本市",
        drawn_by="見本 一郎",
        rows=tuple(rows),
    )
    fields.update(overrides)
    return Checklist(**fields)


def page_texts(pdf: bytes) -> list[str]:
    return ["".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def notice_numbers_in(text: str) -> list[str]:
    # A notice number is never followed by a digit or another "-n" in the extracted text:
    # the name comes next.
    return re.findall(r"2026-\d{8}(?:-\d{1,2})?", text)


@pytest.fixture(scope="module")
def many(font_name: str) -> bytes:
    return render_checklist(make_checklist(make_row(n) for n in range(1, 251)), font_name)


@pytest.fixture(scope="module")
def many_texts(many: bytes) -> list[str]:
    return page_texts(many)  # 15 pages: extracted once for the tests that read them


# --- Pages ---


def test_no_card_is_one_page_saying_so(font_name: str):
    pdf = render_checklist(make_checklist(), font_name)
    assert page_sizes_mm(pdf) == [A4_LANDSCAPE_MM]
    assert fonts_not_embedded(pdf) == []
    (text,) = page_texts(pdf)
    for expected in (TITLE, "一覧番号7", "基準日2027年7月1日", "見本市", "作成者見本一郎"):
        assert expected in text
    assert HEADER in text and NONE_TEXT in text and "合計0件" in text
    assert "1/1ページ" in text
    image = render_gray(pdf, DPI)
    assert ink_in_margin(image, DPI, PRINTER_MARGIN_MM) == 0


def test_one_card(font_name: str):
    row = make_row(1, reason="resident-deceased", birth_date=date(1931, 12, 31))
    pdf = render_checklist(make_checklist([row]), font_name)
    assert page_count(pdf) == 1
    (text,) = page_texts(pdf)
    assert NONE_TEXT not in text
    assert notice_numbers_in(text) == ["2026-00000001"]
    for expected in (
        HEADER,
        "1/1ページ",
        "見本太郎",
        "ミホンタロウ",
        "20261-12500-00000-00000-001",  # the application id, in fives
        "1931年12月31日",
        "死亡",
        "2027年6月30日",
        "合計1件",
        "照合者",
        "確認者",
        "日付",
        "kofudestructionconfirm7",
    ):
        assert expected in text, expected
    assert aid(1) not in text
    assert ink_in_margin(render_gray(pdf, DPI), DPI, PRINTER_MARGIN_MM) == 0


def test_every_reason_prints_in_japanese(font_name: str):
    rows = [make_row(n, reason=reason) for n, reason in enumerate(REASONS, start=1)]
    text = compact_text(render_checklist(make_checklist(rows), font_name))
    for label in REASON_JA.values():
        assert re.sub(r"\s+", "", label) in text


def test_many_cards_page_by_page(many: bytes, many_texts: list[str]):
    texts = many_texts
    # Rows of one card are 9.2 mm: 17 a page below the header, so 250 take 15 pages.
    assert len(texts) == 15
    assert page_sizes_mm(many) == [A4_LANDSCAPE_MM] * 15
    found: list[str] = []
    for number, text in enumerate(texts, start=1):
        # Every page says what it is and where it falls, and repeats the table's header.
        assert TITLE in text and "一覧番号7" in text and HEADER in text
        assert f"{number}/15ページ" in text
        assert ("合計250件" in text) == (number == 15)  # the count and signatures come last
        on_page = notice_numbers_in(text)
        assert on_page, f"page {number} has no card"
        found += on_page
    expected = [f"2026-{n:08d}" for n in range(1, 251)]
    assert found == expected  # each card once, in order, none lost between pages
    assert [len(notice_numbers_in(t)) for t in texts[:-1]] == [17] * 14


def test_many_cards_nothing_in_the_printer_margin(many: bytes):
    for page in range(page_count(many)):
        image = render_gray(many, MARGIN_DPI, page)
        assert ink_in_margin(image, MARGIN_DPI, PRINTER_MARGIN_MM) == 0, f"page {page + 1}"
        assert (image < 128).sum() > 20_000  # the page is not blank


def test_margin_checker_catches_a_dot_in_the_margin(font_name: str):
    pdf = render_checklist(make_checklist([make_row(1)]), font_name)
    marked = with_mark(pdf, A4_LANDSCAPE_MM[0] - PRINTER_MARGIN_MM + 0.1, 100, size_mm=0.5)
    assert ink_in_margin(render_gray(marked, DPI), DPI, PRINTER_MARGIN_MM) > 0


def test_last_card_goes_with_the_signatures(font_name: str):
    # A page never holds the signatures alone: 17 cards fill a page, and the 17th moves on
    # with the count when the signatures would not fit under it.
    pdf = render_checklist(make_checklist(make_row(n) for n in range(1, 18)), font_name)
    texts = page_texts(pdf)
    assert len(texts) == 2
    assert notice_numbers_in(texts[1]) == ["2026-00000017"] and "合計17件" in texts[1]


def test_never_shows_a_twelve_digit_number(many_texts: list[str]):
    text = "".join(many_texts)
    assert not re.search(r"\d{12}", text)
    assert aid(1) not in text


def test_a_twelve_digit_run_is_refused(font_name: str):
    with pytest.raises(ValueError, match="checklist 7: a 12-digit"):
        render_checklist(make_checklist([make_row(1, given_name="123456789012")]), font_name)
    # Split across two cells, it still reads as one run to a text search.
    row = make_row(1, notice_number="2026-00000001", family_name="1234")
    with pytest.raises(ValueError, match="12-digit"):
        render_checklist(make_checklist([row]), font_name)


def test_rendering_is_deterministic(font_name: str):
    checklist = make_checklist(make_row(n) for n in range(1, 4))
    assert render_checklist(checklist, font_name) == render_checklist(checklist, font_name)


def test_metadata_has_no_personal_data(font_name: str):
    pdf = render_checklist(make_checklist([make_row(1)]), font_name)
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta.title == "廃棄予定一覧 7"
    for personal in ("太郎", "タロウ", "2026-00000001", "20261", "一郎"):
        assert personal not in str(dict(meta)), personal


def test_write_checklist_replaces_atomically(tmp_path: Path, font_name: str):
    path = tmp_path / "destruction-7.pdf"
    path.write_bytes(b"old")
    write_checklist(make_checklist([make_row(1)]), font_name, path)
    assert path.read_bytes().startswith(b"%PDF")
    assert "2026-00000001" in compact_text(path.read_bytes())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# --- Long names stay inside their column ---

TOLERANCE_MM = 2 * 25.4 / DPI  # a glyph's anti-aliased edge, and the rule's own width
MM = 1 / PT_PER_MM  # points to mm


def _rule_rows(image) -> np.ndarray:
    """Pixel rows of the table's horizontal rules: inked right across the 台帳照合 column's
    blank space left of its tick box, where nothing else is drawn."""
    i = len(COLUMNS) - 2
    k = DPI / 25.4
    left = column_left(i) * MM + 0.6
    right = (column_left(i) + (COLUMNS[i].width - TICK_SIZE) / 2) * MM - 0.6
    band = image[:, round(left * k) : round(right * k)] < INK_LEVEL
    rows = band.all(axis=1)
    return rows | np.roll(rows, 1) | np.roll(rows, -1)


def _table_bottom_mm(image) -> float:
    """The lowest pixel of the table's right-hand rule, found on the raster."""
    k = DPI / 25.4
    x = round(RIGHT * MM * k)
    column = (image[:, x - 1 : x + 2] < INK_LEVEL).any(axis=1)
    y = round((TABLE_TOP * MM + 1) * k)
    assert column[y], "no table rule where the table starts"
    while column[y + 1]:
        y += 1
    return y / k


def text_past_column_edges(pdf: bytes) -> int:
    """Ink in the padding on either side of every column rule, over the table's rows: text
    that ran over its column's edge would be there. The rules themselves, and the rows' rules
    across, are left out."""
    image = render_gray(pdf, DPI)
    k = DPI / 25.4
    top = round((TABLE_TOP + HEADER_ROW_HEIGHT) * MM * k) + 2
    bottom = round(_table_bottom_mm(image) * k) - 2
    assert bottom - top > 100, "the table has no rows"
    keep = ~_rule_rows(image)[top:bottom]
    pad = PAD * MM
    edges = [column_left(i) * MM for i in range(len(COLUMNS) + 1)]
    ink = 0
    for n, edge in enumerate(edges):
        strips = []
        if n > 0:  # the padding at the right of the column before
            strips.append((edge - pad + TOLERANCE_MM, edge - TOLERANCE_MM))
        if n < len(COLUMNS):  # the padding at the left of the column after
            strips.append((edge + TOLERANCE_MM, edge + pad - TOLERANCE_MM))
        for left, right in strips:
            strip = image[top:bottom, round(left * k) : round(right * k)] < INK_LEVEL
            ink += int(strip[keep].sum())
    return ink


@pytest.fixture(scope="module")
def long_names(font_name: str) -> bytes:
    rows = [
        make_row(1, **LONG_NAMES),
        make_row(2, family_name="WILLIAMSONCHRISTOPHERALEXANDER", given_name="Jonathan"),
        make_row(3, notice_number="2026-00000003-12", reason="not-collected"),
        make_row(9999, position=4, family_name="見本" * 12, given_name="太郎" * 10),
        make_row(5, **{k: v * 2 for k, v in LONG_NAMES.items()}),
    ]
    return render_checklist(make_checklist(rows), font_name)


def test_long_names_stay_inside_their_column(long_names: bytes):
    assert text_past_column_edges(long_names) == 0
    text = compact_text(long_names)
    # Wrapped, not cut: every character is on the page.
    for value in LONG_NAMES.values():
        assert value in text
    assert "WILLIAMSONCHRISTOPHERALEXANDERJonathan" in text


def test_column_edge_checker_catches_text_over_an_edge(long_names: bytes):
    # A dot where a name running into the application id's column would leave ink.
    edge_mm = column_left(3) * MM
    row_top_mm = (TABLE_TOP + HEADER_ROW_HEIGHT) * MM
    for left in (edge_mm - PAD * MM + 0.35, edge_mm + 0.35):
        marked = with_mark(long_names, left, row_top_mm + 3, size_mm=0.5)
        assert text_past_column_edges(marked) > 0, left


def test_long_names_pages_stay_in_the_printable_area(long_names: bytes):
    assert page_count(long_names) == 1
    assert ink_in_margin(render_gray(long_names, DPI), DPI, PRINTER_MARGIN_MM) == 0


# --- The CSV ---


def test_csv_round_trips(font_name: str):
    rows = [make_row(n) for n in range(1, 4)] + [make_row(4, **LONG_NAMES)]
    checklist = make_checklist(rows)
    text = checklist_csv(checklist)
    assert not text.startswith("\ufeff")
    lines = text.split("\r\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2  # \r\n after every record
    assert "\n" not in "".join(lines)
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read[0] == list(CSV_COLUMNS)
    assert read[1:] == [
        [
            "7",
            str(r.position),
            r.notice_number,
            r.application_id,
            r.family_name,
            r.given_name,
            r.family_name_kana,
            r.given_name_kana,
            r.birth_date.isoformat(),
            r.reason,
            REASON_JA[r.reason],
            r.due_on.isoformat(),
        ]
        for r in rows
    ]


def test_csv_of_no_card_is_the_header():
    assert checklist_csv(make_checklist()) == ",".join(CSV_COLUMNS) + "\r\n"


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+81", "-1+1", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_csv_cells_that_start_a_formula_get_an_apostrophe(value: str):
    row = make_row(1, family_name=value, given_name_kana=value)
    (_, read) = list(csv.reader(io.StringIO(checklist_csv(make_checklist([row])), newline="")))
    by_column = dict(zip(CSV_COLUMNS, read, strict=True))
    assert by_column["family_name"] == "'" + value
    assert by_column["given_name_kana"] == "'" + value
    assert by_column["given_name"] == "太郎"  # an ordinary cell is left alone
    assert by_column["notice_number"] == "2026-00000001"


def test_spreadsheet_safe_leaves_ordinary_text_alone():
    for value in ("見本", "2026-00000001", "a=b", "", "'quoted", " =1"):
        assert spreadsheet_safe(value) == value


def test_csv_refuses_a_twelve_digit_run():
    row = make_row(1, family_name="見本123456789012")
    with pytest.raises(ValueError, match="checklist 7 row 1: a 12-digit"):
        checklist_csv(make_checklist([row]))


# --- What a list may hold ---


def test_row_with_an_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="row 1: unknown reason"):
        make_row(1, reason="moved-within-city")


@pytest.mark.parametrize("application_id", ["1234", "2026112500000000000000１", "x" * 23])
def test_row_without_a_23_digit_application_id_is_refused(application_id: str):
    with pytest.raises(ValueError, match="row 1: application id"):
        make_row(1, application_id=application_id)


@pytest.mark.parametrize("positions", [(1, 3), (2,), (1, 1), (0, 1)])
def test_positions_must_run_from_one_without_a_gap(positions):
    rows = [replace(make_row(1), position=p) for p in positions]
    with pytest.raises(ValueError, match="checklist 7: positions"):
        make_checklist(rows)
