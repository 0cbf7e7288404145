"""Render the destruction checklist (個人番号カード廃棄予定一覧（台帳照合用）) as an A4 PDF.

Staff print it, check each physical card against the ledger, tick two boxes per card (台帳照合:
the card and the ledger agree; 廃棄確認: the card was destroyed), sign, and then confirm the
list in kofu. So every page says which list it belongs to and where it falls (page X / Y,
the table's header again), every card has a number to tick against, and the signatures come
after the last card, with the count. Landscape: the nine columns do not fit a portrait page.

Plain functions: a tasks/destruction/core.py Checklist in, PDF bytes out. The pages are laid
out first (row heights, then pages), so the page count is known before anything is drawn.
A cell's text shrinks to fit its column, then wraps; it never runs over the column's edge.
The application id is printed in groups of five (never a 12-digit run), and any 12-digit run
in the data refuses the whole list.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from kofu.base.atomic import write_bytes_atomic
from kofu.tasks.destruction.core import REASON_JA, Checklist, ChecklistRow
from kofu.tasks.letters.pdf import TWELVE_DIGITS, group_application_id
from kofu.tasks.notices.page import jp_date, wrap

TITLE = "個人番号カード廃棄予定一覧（台帳照合用）"
NONE_TEXT = "該当なし"

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)  # 297 × 210 mm
# As on the notice (tasks/notices/page.py): every mark at least 10 mm inside every edge.
LEFT = 15 * mm
RIGHT = PAGE_WIDTH - 15 * mm
TOP = 12 * mm
BOTTOM = PAGE_HEIGHT - 12 * mm
WIDTH = RIGHT - LEFT

TITLE_SIZE = 14
META_SIZE = 9
HEADER_SIZE = 8
LEADING = 1.45  # the page's own lines, as on the notice
CELL_LEADING = 1.2  # lines inside a table cell: a row is one card, kept compact
PAD = 1.2 * mm  # between a cell's text and its rules
HEADER_ROW_HEIGHT = 7 * mm
MIN_ROW_HEIGHT = 8 * mm  # room for a tick box and a pen
TICK_SIZE = 4.5 * mm
RULE = 0.5  # pt
SHRINK_STEP = 0.5  # pt
SIGN_LINE_HEIGHT = 9 * mm
# The table starts under the title and the list's line, at the same height on every page.
TABLE_TOP = TOP + TITLE_SIZE * LEADING + META_SIZE * LEADING + 3 * mm
FOOTER_NOTE = (
    "各行の「台帳照合」は台帳と現物のカードの一致を、「廃棄確認」はカードの廃棄を確かめて"
    "チェックしてください。すべて済んだら署名し、kofu destruction confirm {list_id} を実行して"
    "ください。"
)
FOOTER_SIZE = 8
TOTAL_SIZE = 10.5
SIGN_FIELDS = ("照合者（署名）", "確認者（署名）", "日付　　　　年　　月　　日")


@dataclass(frozen=True)
class Column:
    label: str
    width: float  # points
    size: float  # the text's size in pt, before shrinking
    min_size: float  # it shrinks no further, and wraps instead


# 氏名 sits between the notice number and the application id: text extraction and search
# tools drop the space between cells, and the two side by side would read as one run of 13
# digits ("…-00000250" and "20261-…"), which the individual-number checks flag.
FIXED_LEFT = (
    Column("No.", 11 * mm, 8, 6),
    Column("通知番号", 28 * mm, 8, 6),
)
FIXED_RIGHT = (
    Column("申請ID", 44 * mm, 8, 6),
    Column("生年月日", 25 * mm, 8, 6),
    Column("理由", 38 * mm, 8, 7),
    Column("廃棄予定日", 25 * mm, 8, 6),
    Column("台帳照合", 15 * mm, 0, 0),
    Column("廃棄確認", 15 * mm, 0, 0),
)
# 氏名 takes the width the others leave.
NAME_COLUMN = Column("氏名", WIDTH - sum(c.width for c in FIXED_LEFT + FIXED_RIGHT), 9, 7)
KANA_SIZE, KANA_MIN_SIZE = 7, 6
COLUMNS = (*FIXED_LEFT, NAME_COLUMN, *FIXED_RIGHT)
TICKS = (len(COLUMNS) - 2, len(COLUMNS) - 1)


def column_left(index: int) -> float:
    """The left rule of column ``index`` of COLUMNS, in points from the page's left edge."""
    return LEFT + sum(c.width for c in COLUMNS[:index])


@dataclass(frozen=True)
class Lines:
    """A cell's text as drawn: its lines at one size."""

    lines: tuple[str, ...]
    size: float

    @property
    def height(self) -> float:
        return len(self.lines) * self.size * CELL_LEADING


@dataclass(frozen=True)
class RowLayout:
    cells: tuple[tuple[Lines, ...], ...]  # per column, blocks stacked top to bottom
    height: float


class _Sheet:
    """A top-down cursor over the landscape canvas (y from the top edge), keeping every
    string drawn so the document can be checked before it is handed out."""

    def __init__(self, pdf: canvas.Canvas, font_name: str):
        self.pdf = pdf
        self.font = font_name
        self.drawn: list[str] = []

    def width(self, s: str, size: float) -> float:
        return pdfmetrics.stringWidth(s, self.font, size)

    def text(self, x: float, top: float, s: str, size: float) -> None:
        # `top` is the top of the line box; the baseline sits ~0.88 em below (Noto ascent).
        self.drawn.append(s)
        self.pdf.setFont(self.font, size)
        self.pdf.drawString(x, PAGE_HEIGHT - top - 0.88 * size, s)

    def text_right(self, right: float, top: float, s: str, size: float) -> None:
        self.text(right - self.width(s, size), top, s, size)

    def text_centred(self, centre: float, top: float, s: str, size: float) -> None:
        self.text(centre - self.width(s, size) / 2, top, s, size)

    def rect(self, x: float, top: float, w: float, h: float, fill_gray: float | None = None):
        self.pdf.setLineWidth(RULE)
        if fill_gray is not None:
            self.pdf.setFillGray(fill_gray)
        self.pdf.rect(x, PAGE_HEIGHT - top - h, w, h, stroke=1, fill=fill_gray is not None)
        self.pdf.setFillGray(0)

    def hline(self, x1: float, x2: float, top: float) -> None:
        self.pdf.setLineWidth(RULE)
        self.pdf.line(x1, PAGE_HEIGHT - top, x2, PAGE_HEIGHT - top)


def fit(text: str, font_name: str, width: float, size: float, min_size: float) -> Lines:
    """``text`` on one line, shrunk in 0.5 pt steps down to ``min_size``; wrapped at
    ``min_size`` when it still does not fit. Every line is at most ``width`` wide, or a
    ValueError (a Latin run of 20 characters wider than the column: the column is too narrow)."""
    while size > min_size and pdfmetrics.stringWidth(text, font_name, size) > width:
        size = max(min_size, size - SHRINK_STEP)
    lines = wrap(text, font_name, size, width)
    if any(pdfmetrics.stringWidth(line, font_name, size) > width for line in lines):
        raise ValueError("a checklist cell's text is wider than its column")
    return Lines(lines, size)


def _cells(row: ChecklistRow) -> list[list[tuple[str, float, float]]]:
    """Each column's text blocks, stacked: (text, size, min size). The tick columns have none."""
    number, notice, name, application, born, reason, due, _, _ = COLUMNS

    def one(column: Column, text: str) -> list[tuple[str, float, float]]:
        return [(text, column.size, column.min_size)]

    return [
        one(number, str(row.position)),
        one(notice, row.notice_number),
        [
            (f"{row.family_name}　{row.given_name}", name.size, name.min_size),
            (f"{row.family_name_kana}　{row.given_name_kana}", KANA_SIZE, KANA_MIN_SIZE),
        ],
        one(application, group_application_id(row.application_id)),
        one(born, jp_date(row.birth_date)),
        one(reason, REASON_JA[row.reason]),
        one(due, jp_date(row.due_on)),
        [],
        [],
    ]


def layout_row(row: ChecklistRow, font_name: str) -> RowLayout:
    cells = []
    for column, blocks in zip(COLUMNS, _cells(row), strict=True):
        inner = column.width - 2 * PAD
        try:
            cells.append(tuple(fit(text, font_name, inner, s, low) for text, s, low in blocks))
        except ValueError as exc:
            raise ValueError(f"checklist row {row.position}: {exc}") from None
    content = max(sum(block.height for block in cell) for cell in cells)
    return RowLayout(tuple(cells), max(MIN_ROW_HEIGHT, content + 2 * PAD))


def _meta_line(c: Checklist) -> str:
    return (
        f"一覧番号　{c.list_id}　　基準日　{jp_date(c.as_of)}　　{c.municipality}"
        f"　　作成者　{c.drawn_by}"
    )


def _footer_height(sheet: _Sheet, c: Checklist) -> float:
    note = wrap(FOOTER_NOTE.format(list_id=c.list_id), sheet.font, FOOTER_SIZE, WIDTH)
    return (
        4 * mm
        + TOTAL_SIZE * LEADING
        + 1 * mm
        + len(note) * FOOTER_SIZE * LEADING
        + 2 * mm
        + SIGN_LINE_HEIGHT
    )


def _draw_footer(sheet: _Sheet, top: float, c: Checklist) -> float:
    top += 4 * mm
    sheet.text(LEFT, top, f"合計　{len(c.rows)} 件", TOTAL_SIZE)
    top += TOTAL_SIZE * LEADING + 1 * mm
    for line in wrap(FOOTER_NOTE.format(list_id=c.list_id), sheet.font, FOOTER_SIZE, WIDTH):
        sheet.text(LEFT, top, line, FOOTER_SIZE)
        top += FOOTER_SIZE * LEADING
    top += 2 * mm
    field = WIDTH / len(SIGN_FIELDS)
    for i, label in enumerate(SIGN_FIELDS):
        x = LEFT + i * field
        # A form line: the label at the left, room to sign after it, ruled along the field.
        sheet.text(x, top + SIGN_LINE_HEIGHT - META_SIZE * 1.25, label, META_SIZE)
        sheet.hline(x, x + field - 6 * mm, top + SIGN_LINE_HEIGHT)
    return top + SIGN_LINE_HEIGHT


def paginate(rows: list[RowLayout], footer_height: float) -> list[list[int]]:
    """Row indexes per page. The last row goes with the footer (count and signatures), so no
    page holds signatures alone; a page holds at least one row. No row: one empty page."""
    pages: list[list[int]] = [[]]
    first = TABLE_TOP + HEADER_ROW_HEIGHT
    top = first
    for i, row in enumerate(rows):
        need = row.height + (footer_height if i == len(rows) - 1 else 0)
        if pages[-1] and top + need > BOTTOM:
            pages.append([])
            top = first
        if top + need > BOTTOM:
            raise ValueError(f"checklist row {i + 1} does not fit on a page")
        pages[-1].append(i)
        top += row.height
    return pages


def _draw_page_header(sheet: _Sheet, c: Checklist, page: int, pages: int) -> None:
    sheet.text_centred(PAGE_WIDTH / 2, TOP, TITLE, TITLE_SIZE)
    top = TOP + TITLE_SIZE * LEADING
    page_text = f"{page} / {pages} ページ"
    room = WIDTH - sheet.width(page_text, META_SIZE) - 10 * mm
    meta = fit(_meta_line(c), sheet.font, room, META_SIZE, 6)
    if len(meta.lines) > 1:
        raise ValueError(f"checklist {c.list_id}: municipality or drawer's name too long")
    sheet.text(LEFT, top, meta.lines[0], meta.size)
    sheet.text_right(RIGHT, top, page_text, META_SIZE)


def _draw_table_header(sheet: _Sheet) -> float:
    top = TABLE_TOP
    for i, column in enumerate(COLUMNS):
        x = column_left(i)
        sheet.rect(x, top, column.width, HEADER_ROW_HEIGHT, fill_gray=0.88)
        label_top = top + (HEADER_ROW_HEIGHT - HEADER_SIZE) / 2
        sheet.text_centred(x + column.width / 2, label_top, column.label, HEADER_SIZE)
    return top + HEADER_ROW_HEIGHT


def _draw_row(sheet: _Sheet, top: float, row: RowLayout) -> float:
    for i, (column, cell) in enumerate(zip(COLUMNS, row.cells, strict=True)):
        x = column_left(i)
        sheet.rect(x, top, column.width, row.height)
        if i in TICKS:
            box_x = x + (column.width - TICK_SIZE) / 2
            sheet.rect(box_x, top + (row.height - TICK_SIZE) / 2, TICK_SIZE, TICK_SIZE)
            continue
        # The blocks sit together in the middle of the cell, from its left padding.
        y = top + (row.height - sum(block.height for block in cell)) / 2
        for block in cell:
            for line in block.lines:
                sheet.text(x + PAD, y, line, block.size)
                y += block.size * CELL_LEADING
    return top + row.height


def _draw_none_row(sheet: _Sheet, top: float) -> float:
    sheet.rect(LEFT, top, WIDTH, MIN_ROW_HEIGHT)
    sheet.text_centred(PAGE_WIDTH / 2, top + (MIN_ROW_HEIGHT - 10) / 2, NONE_TEXT, 10)
    return top + MIN_ROW_HEIGHT


def render_checklist(checklist: Checklist, font_name: str) -> bytes:
    c = checklist
    buf = io.BytesIO()
    # invariant=1: no creation timestamp or random ID, so re-rendering gives identical bytes.
    pdf = canvas.Canvas(
        buf,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        pageCompression=1,
        invariant=1,
        initialFontName=font_name,
    )
    pdf.setTitle(f"廃棄予定一覧 {c.list_id}")  # no personal data in the metadata
    pdf.setAuthor(c.municipality)
    pdf.setCreator("kofu")
    sheet = _Sheet(pdf, font_name)

    rows = [layout_row(row, font_name) for row in c.rows]
    footer = _footer_height(sheet, c)
    # No card: one page that says so, with the count and signatures all the same.
    pages = paginate(rows, footer)
    for number, indexes in enumerate(pages, start=1):
        _draw_page_header(sheet, c, number, len(pages))
        top = _draw_table_header(sheet)
        if not rows:
            top = _draw_none_row(sheet, top)
        for i in indexes:
            top = _draw_row(sheet, top, rows[i])
        if number == len(pages):
            top = _draw_footer(sheet, top, c)
        if top > BOTTOM:  # paginate() leaves room; a bug there must not print off the page
            raise ValueError(f"checklist {c.list_id}: page {number} runs off the page")
        pdf.showPage()
    # Text extraction joins the strings, so check them as one whitespace-free string.
    if TWELVE_DIGITS.search(re.sub(r"\s+", "", "".join(sheet.drawn))):
        raise ValueError(f"checklist {c.list_id}: a 12-digit number would be printed")
    pdf.save()
    return buf.getvalue()


def write_checklist(checklist: Checklist, font_name: str, path: Path) -> None:
    # Atomic: a crash never leaves a truncated list for staff to print.
    write_bytes_atomic(path, render_checklist(checklist, font_name))
