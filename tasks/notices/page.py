"""The A4 page the notice and the refusal letter share: its geometry, Japanese line
breaking, dates, and a top-down writer over a reportlab canvas.

Plain functions. The font is registered once per process by
kofu.base.fonts.register_notice_font; its name is passed in.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

# --- Page geometry (reportlab origin is bottom-left; constants below are from the top) ---
PAGE_WIDTH, PAGE_HEIGHT = A4  # 210 × 297 mm: one A4 portrait page per notice
# Printers do not ink the outer 4-5 mm (printer_margin_mm in the settings, at most 10 mm):
# every mark stays at least 10 mm inside every edge, with room for a sheet fed askew.
CONTENT_LEFT = 15 * mm  # body text and tables start here
CONTENT_RIGHT = PAGE_WIDTH - 15 * mm  # same margin on the right: the page looks centred
MARGIN_TOP = 12 * mm  # nothing above this line
MARGIN_BOTTOM = 10 * mm  # nothing below 287 mm; a longer page is refused, not cut off
CONTENT_WIDTH = CONTENT_RIGHT - CONTENT_LEFT

# Issuer block and counter QR code, top right: right of this line, so clear of the window
# (the default window and its shift end at 115 mm; the header's text starts near 138 mm).
HEADER_LEFT = 130 * mm
HEADER_TOP = MARGIN_TOP + 4 * mm

BODY_SIZE = 9
SMALL_SIZE = 8
LEADING = 1.45  # line height as a multiple of the font size
TABLE_LABEL_WIDTH = 26 * mm
TABLE_PAD = 1.6 * mm

WEEKDAYS = "月火水木金土日"
# 禁則: characters that may not start or end a line.
NO_LINE_START = set("、。，．）」』】〕・ー々ゃゅょっぁぃぅぇぉャュョッァィゥェォ：；？！,.)")
NO_LINE_END = set("（「『【〔(")
# Latin/digit runs stay whole, up to 20 characters so that no token is wider than a line.
_TOKEN = re.compile(r"[A-Za-z0-9\-:.,/@〜~]{1,20}|.", re.S)


def jp_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


@lru_cache(maxsize=4096)
def wrap(text: str, font_name: str, size: float, width: float) -> tuple[str, ...]:
    # Japanese breaks between any two characters; Latin/digit runs (numbers, phone,
    # times) stay whole. Cached: the fixed wording is the same on every notice.
    font = pdfmetrics.getFont(font_name)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            if not line or font.stringWidth(line + token, size) <= width:
                line += token
                continue
            carry = ""
            if token in NO_LINE_START and len(line) > 1:
                carry, line = line[-1], line[:-1]  # push the last character down with it
            while len(line) > 1 and line[-1] in NO_LINE_END:
                carry, line = line[-1] + carry, line[:-1]
            lines.append(line)
            line = carry + token
        lines.append(line)
    return tuple(lines)


class LayoutError(ValueError):
    """A page that cannot be printed as laid out. ``code`` is the reason code the failure
    queue shows; the message names the document, never the resident."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class _Writer:
    """A top-down cursor over the canvas: y is measured from the top edge."""

    def __init__(self, pdf: canvas.Canvas, font_name: str):
        self.pdf = pdf
        self.font = font_name

    def text(self, x: float, top: float, s: str, size: float = BODY_SIZE) -> None:
        # `top` is the top of the line box; the baseline sits ~0.88 em below (Noto ascent).
        self.pdf.setFont(self.font, size)
        self.pdf.drawString(x, PAGE_HEIGHT - top - 0.88 * size, s)

    def text_right(self, right: float, top: float, s: str, size: float = BODY_SIZE) -> None:
        self.pdf.setFont(self.font, size)
        self.pdf.drawRightString(right, PAGE_HEIGHT - top - 0.88 * size, s)

    def para(self, x: float, top: float, width: float, s: str, size: float = BODY_SIZE) -> float:
        for line in wrap(s, self.font, size, width):
            self.text(x, top, line, size)
            top += size * LEADING
        return top

    def body(self, top: float, s: str, size: float = BODY_SIZE) -> float:
        return self.para(CONTENT_LEFT, top, CONTENT_WIDTH, s, size)

    def height_of(self, width: float, s: str, size: float = BODY_SIZE) -> float:
        return len(wrap(s, self.font, size, width)) * size * LEADING

    def rect(self, x: float, top: float, w: float, h: float, *, fill_gray=None, lw=0.6) -> None:
        self.pdf.setLineWidth(lw)
        if fill_gray is not None:
            self.pdf.setFillGray(fill_gray)
        self.pdf.rect(x, PAGE_HEIGHT - top - h, w, h, stroke=1, fill=fill_gray is not None)
        self.pdf.setFillGray(0)

    def hline(self, x1: float, x2: float, top: float, lw: float = 0.5, dash=None) -> None:
        self.pdf.setLineWidth(lw)
        self.pdf.setDash(*(dash or ()))
        self.pdf.line(x1, PAGE_HEIGHT - top, x2, PAGE_HEIGHT - top)
        self.pdf.setDash()

    def heading(self, top: float, s: str, size: float = 10.5) -> float:
        # A solid bar marks the start of each section.
        self.pdf.rect(CONTENT_LEFT, PAGE_HEIGHT - top - size, 1.2 * mm, size, stroke=0, fill=1)
        self.text(CONTENT_LEFT + 2.5 * mm, top, s, size)
        return top + size * LEADING


Cell = tuple[str, str, float]  # label, value, value font size


def _draw_table(w: _Writer, top: float, rows: list[list[Cell]]) -> float:
    # Each row is split evenly between its cells; a cell is a grey label box and a value box.
    for row in rows:
        cell_w = CONTENT_WIDTH / len(row)
        value_w = cell_w - TABLE_LABEL_WIDTH - 2 * TABLE_PAD
        h = max(
            w.height_of(value_w, value, size) + 2 * TABLE_PAD - (LEADING - 1) * size
            for _, value, size in row
        )
        for i, (label, value, size) in enumerate(row):
            x = CONTENT_LEFT + i * cell_w
            w.rect(x, top, TABLE_LABEL_WIDTH, h, fill_gray=0.88)
            w.rect(x + TABLE_LABEL_WIDTH, top, cell_w - TABLE_LABEL_WIDTH, h)
            w.text(x + TABLE_PAD, top + (h - BODY_SIZE) / 2, label, BODY_SIZE)
            w.para(x + TABLE_LABEL_WIDTH + TABLE_PAD, top + TABLE_PAD, value_w, value, size)
        top += h
    return top
