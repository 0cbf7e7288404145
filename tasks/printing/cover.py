"""The cover sheet (表紙) on top of each print batch: which file it is and what it holds.

Counts and postal-code range only: the cover is handled by the print shop and the mail
room, so it names no resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from kofu.tasks.notices.page import jp_date, wrap

TITLE = "印刷バッチ 表紙"
SUBTITLE = "個人番号カード交付通知書・再申請のお願い"
HANDLING = (
    "用紙は郵便番号の順に並んでいます。この順のまま三つ折りにして長3窓空き封筒に封入し、"
    "区分郵便物として差し出してください（郵便番号順の区分が料金割引の条件です）。"
    "この表紙は封入しないでください。"
)

# --- Geometry (from the top-left corner, like the notice) ---
PAGE_WIDTH, PAGE_HEIGHT = A4
# The notice's own margins: office printers do not ink the outer ~5 mm.
LEFT = 15 * mm
RIGHT = PAGE_WIDTH - 15 * mm
TOP = 20 * mm
TITLE_SIZE = 24  # read from across the print room, on top of a stack of sheets
SUBTITLE_SIZE = 12
ROW_SIZE = 14
ROW_HEIGHT = 11 * mm  # one fact per row, ruled, easy to tick off by hand
LABEL_WIDTH = 55 * mm
NOTE_SIZE = 11
LEADING = 1.5


@dataclass(frozen=True)
class Cover:
    municipality: str
    batch_id: str  # the night's batch, e.g. "2026-11-26"
    file_name: str  # e.g. "print-batch-002.pdf"
    part: int  # this file's number among the night's files
    parts: int  # how many files the night's output has so far
    printed_on: date
    notices: int
    letters: int
    first_postal_code: str
    last_postal_code: str
    reminders: int = 0  # 再通知 (after the notice: tasks/reminders)

    @property
    def sheets(self) -> int:
        # The cover, then one sheet per item.
        return 1 + self.notices + self.letters + self.reminders


def cover_rows(c: Cover) -> list[tuple[str, str]]:
    return [
        ("自治体", c.municipality),
        ("処理バッチ", c.batch_id),
        ("ファイル", c.file_name),
        ("分冊", f"{c.part} / {c.parts}"),
        ("作成日", jp_date(c.printed_on)),
        ("交付通知書", f"{c.notices:,} 通"),
        ("再申請のお願い", f"{c.letters:,} 通"),
        # Only on a file that has reminders: the nights before issue 19 print as they did.
        *([("再通知", f"{c.reminders:,} 通")] if c.reminders else []),
        ("用紙", f"{c.sheets:,} 枚（この表紙を含む）"),
        ("郵便番号", f"{c.first_postal_code} 〜 {c.last_postal_code}"),
    ]


def draw_cover(pdf: canvas.Canvas, cover: Cover, font_name: str) -> None:
    """Draw the cover as the canvas's next page (ends with ``showPage``)."""

    def text(x: float, top: float, s: str, size: float) -> None:
        # `top` is the top of the line box; the baseline sits ~0.88 em below (Noto ascent).
        pdf.setFont(font_name, size)
        pdf.drawString(x, PAGE_HEIGHT - top - 0.88 * size, s)

    top = TOP
    text(LEFT, top, TITLE, TITLE_SIZE)
    top += TITLE_SIZE * LEADING
    text(LEFT, top, SUBTITLE, SUBTITLE_SIZE)
    top += SUBTITLE_SIZE * LEADING + 6 * mm
    pdf.setLineWidth(0.6)
    for label, value in cover_rows(cover):
        pdf.line(LEFT, PAGE_HEIGHT - top, RIGHT, PAGE_HEIGHT - top)
        baseline_top = top + (ROW_HEIGHT - ROW_SIZE) / 2
        text(LEFT + 2 * mm, baseline_top, label, ROW_SIZE)
        text(LEFT + LABEL_WIDTH, baseline_top, value, ROW_SIZE)
        top += ROW_HEIGHT
    pdf.line(LEFT, PAGE_HEIGHT - top, RIGHT, PAGE_HEIGHT - top)
    top += 8 * mm
    for line in wrap(HANDLING, font_name, NOTE_SIZE, RIGHT - LEFT):
        text(LEFT, top, line, NOTE_SIZE)
        top += NOTE_SIZE * LEADING
    pdf.showPage()
