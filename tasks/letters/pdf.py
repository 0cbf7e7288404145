"""Render the photo refusal letter (再申請のお願い) as a one-page A4 PDF.

It goes into the print batch beside the pickup notices, so it reuses the notice's page
geometry, window-envelope address block, fonts and drawing helpers. Plain functions: content
in, PDF bytes out. It carries the J-LIS application id, never the individual number.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from kofu.base.atomic import write_bytes_atomic
from kofu.base.settings import EnvelopeWindow
from kofu.tasks.notices.address_block import (
    DEFAULT_WINDOW,
    Addressee,
    draw_address_block,
    title_top,
)
from kofu.tasks.notices.page import (
    CONTENT_LEFT,
    CONTENT_RIGHT,
    CONTENT_WIDTH,
    HEADER_TOP,
    LEADING,
    MARGIN_BOTTOM,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SMALL_SIZE,
    _draw_table,
    _Writer,
    jp_date,
)
from kofu.tasks.notices.pdf import SECTION_GAP, TITLE_SIZE

TITLE = "個人番号カード申請写真の再提出のお願い"
SUBTITLE = "再申請のお願い"

# Larger than the notice's 9 pt: the page is less dense and must be easy to act on.
BODY_SIZE = 10
SUBTITLE_SIZE = 11
REASON_SIZE = 10.5
CODE_SIZE = 7.5
CODE_GRAY = 0.35  # the code is for staff; the Japanese message is what the resident reads
CODE_COLUMN = 44 * mm  # right-hand column for the latin reason code, beside its message
LIST_INDENT = 7 * mm
BOX_PAD = 3 * mm
# Photo-frame sketch in the how-to box, drawn at 60% of the 35 × 45 mm print size.
SKETCH_WIDTH = 21 * mm
SKETCH_HEIGHT = 27 * mm
SKETCH_COLUMN = 30 * mm  # wide enough for the caption under the sketch
ID_GROUP = 5  # digits per group: a 5-digit group can never read as a 12-digit number
TWELVE_DIGITS = re.compile(r"\d{12}")

OPENING = (
    "{submitted}に申請された個人番号カード（マイナンバーカード）の交付申請は、"
    "申請書の顔写真が次の理由により基準を満たさないため、受け付けることができませんでした。"
    "お手数をおかけしますが、写真を撮り直して、あらためて申請（再申請）してください。"
)
PHOTO_RULES = (
    "最近6か月以内に撮影したもの",
    "正面を向き、帽子をかぶらず、背景に物が写っていないもの（正面・無帽・無背景）",
    "縦45mm×横35mmの証明写真に相当する縦長の構図",
    "頭の上から胸まで写るもの（自撮りで近づきすぎると、頭の上やあごが切れます）",
    "明るく均一な背景（無地の壁など。家具や模様、影が写らないように）",
    "顔にピントを合わせ、手ぶれのないもの。眼鏡の反射や前髪で目が隠れないように",
    "写真データ：JPEG形式、ファイルサイズ20KB〜7MB、縦横とも480〜6000ピクセル",
)
REAPPLY_METHODS = (
    ("スマートフォン", "撮り直した写真で、申請用WEBサイトから申請してください。"),
    ("パソコン", "撮り直した写真のデータを、申請用WEBサイトにアップロードして申請してください。"),
    ("証明写真機", "申請に対応した証明写真機で、撮影とあわせて申請できます。"),
    (
        "郵送",
        "新しい写真を交付申請書に貼って郵送してください（申請書は下記の窓口へ）。",
    ),
)
ID_NOTE = "再申請やお問い合わせの際は、次の申請書IDをお伝えください。"
ID_DIGITS_NOTE = "入力の際はハイフン（-）を除いた{n}桁の数字です。"


@dataclass(frozen=True)
class RefusalReason:
    code: str  # kebab-case, e.g. "head-cut-off"
    message_ja: str  # what to fix, e.g. "頭の上まで写るように、少し離れて撮影してください"


@dataclass(frozen=True)
class RefusalContent:
    municipality: str
    issuer_title: str
    letter_number: str  # e.g. "R2026-00000123"
    issued_on: date
    application_id: str  # J-LIS application id (23 digits); never the individual number
    submitted_on: date
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    postal_code: str  # "NNN-NNNN"
    address: str
    reasons: tuple[RefusalReason, ...]
    contact_name: str
    contact_phone: str
    contact_hours: str


def group_application_id(application_id: str) -> str:
    # Hyphens, not spaces: text extraction and search tools drop spaces, and the 23 digits
    # would then read as one run that the individual-number leak checks flag.
    if not application_id.isascii() or not application_id.isdigit():
        raise ValueError("application id must be digits only")
    groups = [application_id[i : i + ID_GROUP] for i in range(0, len(application_id), ID_GROUP)]
    return "-".join(groups)


class _RecordingWriter(_Writer):
    """The notice's writer, keeping every string drawn so the page can be checked."""

    def __init__(self, pdf: canvas.Canvas, font_name: str):
        super().__init__(pdf, font_name)
        self.drawn: list[str] = []

    def text(self, x: float, top: float, s: str, *size: float) -> None:
        self.drawn.append(s)
        super().text(x, top, s, *size)

    def text_right(self, right: float, top: float, s: str, *size: float) -> None:
        self.drawn.append(s)
        super().text_right(right, top, s, *size)


def _draw_address(w: _Writer, c: RefusalContent, window: EnvelopeWindow) -> None:
    # The notice's block: the same envelope window, customer barcode and refusal to print
    # outside the window, since the letters go out in the same print batches.
    name = f"{c.family_name}　{c.given_name}"
    addressee = Addressee(f"refusal letter {c.letter_number}", c.postal_code, c.address, name)
    draw_address_block(w, addressee, window)


def draw_letter_header(w: _Writer, letter_number: str, issued_on: date, issuer_title: str) -> None:
    """A letter's header, top right: its number, its date, the issuer (the refusal letter's
    and the reminder's)."""
    top = HEADER_TOP
    for line in (f"文書番号　{letter_number}", f"発行日　{jp_date(issued_on)}"):
        w.text_right(CONTENT_RIGHT, top, line, 9)
        top += 9 * LEADING
    top += 3 * mm
    w.text_right(CONTENT_RIGHT, top, issuer_title, 12)
    w.text_right(CONTENT_RIGHT, top + 12 * LEADING, "（公印省略）", SMALL_SIZE)


def _centred(w: _Writer, top: float, s: str, size: float) -> float:
    width = pdfmetrics.stringWidth(s, w.font, size)
    w.text((PAGE_WIDTH - width) / 2, top, s, size)
    return top + size * LEADING


def _draw_reasons(w: _Writer, top: float, reasons: tuple[RefusalReason, ...]) -> float:
    top = w.heading(top, "受け付けられなかった理由")
    message_width = CONTENT_WIDTH - LIST_INDENT - CODE_COLUMN
    code_left = CONTENT_RIGHT - CODE_COLUMN + 3 * mm
    for n, reason in enumerate(reasons, start=1):
        top += 1 * mm
        w.text(CONTENT_LEFT + 1.5 * mm, top, f"{n}.", REASON_SIZE)
        bottom = w.para(
            CONTENT_LEFT + LIST_INDENT, top, message_width, reason.message_ja, REASON_SIZE
        )
        # The code sits level with the message's first line, in small grey latin text.
        w.pdf.setFillGray(CODE_GRAY)
        code_top = top + (REASON_SIZE - CODE_SIZE) * 0.9
        code_bottom = w.para(code_left, code_top, CODE_COLUMN - 3 * mm, reason.code, CODE_SIZE)
        w.pdf.setFillGray(0)
        top = max(bottom, code_bottom)
        w.hline(CONTENT_LEFT + LIST_INDENT, CONTENT_RIGHT, top + 0.5 * mm, lw=0.3, dash=(1, 1.5))
    return top + 1 * mm


def _draw_photo_sketch(w: _Writer, left: float, top: float) -> None:
    # A head-and-shoulders outline in a 35:45 frame: crown near the top, chest at the bottom.
    pdf, x, y = w.pdf, left, PAGE_HEIGHT - top - SKETCH_HEIGHT
    pdf.setLineWidth(0.6)
    pdf.rect(x, y, SKETCH_WIDTH, SKETCH_HEIGHT, stroke=1, fill=0)
    cx = x + SKETCH_WIDTH / 2
    head_w, head_h = 10 * mm, 13 * mm
    head_bottom = y + SKETCH_HEIGHT - 2.5 * mm - head_h
    pdf.ellipse(cx - head_w / 2, head_bottom, cx + head_w / 2, head_bottom + head_h)
    path = pdf.beginPath()
    path.moveTo(x + 1 * mm, y)
    path.curveTo(
        x + 2 * mm, y + 7 * mm, cx - 7 * mm, y + 8 * mm, cx - 2.5 * mm, head_bottom + 0.3 * mm
    )
    path.moveTo(x + SKETCH_WIDTH - 1 * mm, y)
    path.curveTo(
        x + SKETCH_WIDTH - 2 * mm,
        y + 7 * mm,
        cx + 7 * mm,
        y + 8 * mm,
        cx + 2.5 * mm,
        head_bottom + 0.3 * mm,
    )
    pdf.drawPath(path, stroke=1, fill=0)
    caption_top = top + SKETCH_HEIGHT + 1 * mm
    for caption in ("縦45mm×横35mm", "頭の上から胸まで"):
        width = pdfmetrics.stringWidth(caption, w.font, SMALL_SIZE)
        w.text(cx - width / 2, caption_top, caption, SMALL_SIZE)
        caption_top += SMALL_SIZE * LEADING


def _draw_photo_rules(w: _Writer, top: float) -> float:
    top = w.heading(top, "写真の撮り方")
    text_width = CONTENT_WIDTH - 2 * BOX_PAD - 4 * mm - SKETCH_COLUMN
    inner_top = top + BOX_PAD
    y = inner_top
    for rule in PHOTO_RULES:
        w.text(CONTENT_LEFT + BOX_PAD, y, "・", BODY_SIZE)
        y = w.para(CONTENT_LEFT + BOX_PAD + 4 * mm, y, text_width, rule, BODY_SIZE)
    sketch_left = CONTENT_RIGHT - BOX_PAD - (SKETCH_COLUMN + SKETCH_WIDTH) / 2
    _draw_photo_sketch(w, sketch_left, inner_top)
    sketch_bottom = inner_top + SKETCH_HEIGHT + 1 * mm + 2 * SMALL_SIZE * LEADING
    bottom = max(y - (LEADING - 1) * BODY_SIZE, sketch_bottom) + BOX_PAD
    w.rect(CONTENT_LEFT, top, CONTENT_WIDTH, bottom - top)
    return bottom


def _draw_reapply(w: _Writer, top: float, c: RefusalContent) -> float:
    top = w.heading(top, "再申請の方法（次のいずれかの方法で、あらためて申請してください）")
    rows = [[(label, text, BODY_SIZE)] for label, text in REAPPLY_METHODS]
    top = _draw_table(w, top + 1 * mm, rows)
    top = w.body(top + 2 * mm, ID_NOTE, BODY_SIZE)
    grouped = group_application_id(c.application_id)
    rows = [[("申請書ID", grouped, 13)]]
    top = _draw_table(w, top + 1 * mm, rows)
    return w.body(top + 1 * mm, ID_DIGITS_NOTE.format(n=len(c.application_id)), SMALL_SIZE)


class Contact(Protocol):
    """Who a letter's reader calls (the refusal letter and the reminder have these)."""

    contact_name: str
    contact_phone: str
    contact_hours: str


def draw_contact(w: _Writer, top: float, c: Contact) -> float:
    top = w.heading(top, "お問い合わせ先")
    return _draw_table(
        w,
        top,
        [
            [("窓口", c.contact_name, BODY_SIZE)],
            [("電話番号", c.contact_phone, BODY_SIZE), ("受付時間", c.contact_hours, BODY_SIZE)],
        ],
    )


def render_refusal_letter(
    content: RefusalContent, font_name: str, window: EnvelopeWindow = DEFAULT_WINDOW
) -> bytes:
    c = content
    if not c.reasons:
        raise ValueError(f"refusal letter {c.letter_number}: no reason to print")
    buf = io.BytesIO()
    # invariant=1: no creation timestamp or random ID, so re-rendering gives identical bytes.
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=1, invariant=1, initialFontName=font_name)
    pdf.setTitle(f"再申請のお願い {c.letter_number}")  # no personal data in the metadata
    pdf.setAuthor(c.municipality)
    pdf.setCreator("kofu")
    w = _RecordingWriter(pdf, font_name)

    _draw_address(w, c, window)
    draw_letter_header(w, c.letter_number, c.issued_on, c.issuer_title)
    top = _centred(w, title_top(window), TITLE, TITLE_SIZE)
    top = _centred(w, top + 0.5 * mm, f"（{SUBTITLE}）", SUBTITLE_SIZE)
    top = w.body(top + 2 * mm, OPENING.format(submitted=jp_date(c.submitted_on)), BODY_SIZE)
    name = f"{c.family_name}　{c.given_name}　様（{c.family_name_kana}　{c.given_name_kana}）"
    top = _draw_table(
        w,
        top + 1.5 * mm,
        [[("お名前", name, BODY_SIZE), ("申請日", jp_date(c.submitted_on), BODY_SIZE)]],
    )
    top = _draw_reasons(w, top + SECTION_GAP, c.reasons)
    top = _draw_photo_rules(w, top + SECTION_GAP)
    top = _draw_reapply(w, top + SECTION_GAP, c)
    top = draw_contact(w, top + SECTION_GAP, c)
    # Many or long reasons can push the page this far.
    return finish_one_page(pdf, buf, w, top, f"refusal letter {c.letter_number}")


def finish_one_page(
    pdf: canvas.Canvas, buf: io.BytesIO, w: _RecordingWriter, top: float, what: str
) -> bytes:
    """A one-page letter's end: refused (ValueError) when its content ran off the page or
    a 12-digit number would be printed, else the page closed and the PDF's bytes."""
    if top > PAGE_HEIGHT - MARGIN_BOTTOM:
        raise ValueError(f"{what}: content does not fit on one page")  # never off the page
    # Text extraction joins lines, so check the page as one whitespace-free string.
    if TWELVE_DIGITS.search(re.sub(r"\s+", "", "".join(w.drawn))):
        raise ValueError(f"{what}: a 12-digit number would be printed")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def write_refusal_letter(
    content: RefusalContent, font_name: str, path: Path, window: EnvelopeWindow = DEFAULT_WINDOW
) -> None:
    # Atomic: a crash never leaves a truncated PDF for the print batch to pick up.
    write_bytes_atomic(path, render_refusal_letter(content, font_name, window))
