"""Render one pickup notice (交付通知書 兼 照会書) as a one-page A4 PDF.

Plain functions: content in, PDF bytes out. The font is registered once per process by
kofu.base.fonts.register_notice_font; its name is passed in. The notice never carries the
individual number (個人番号): there is no field for it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from kofu.base.atomic import write_bytes_atomic
from kofu.base.settings import EnvelopeWindow
from kofu.tasks.notices import counter_code
from kofu.tasks.notices.address_block import (
    DEFAULT_WINDOW,
    Addressee,
    draw_address_block,
    title_top,
)
from kofu.tasks.notices.page import (
    BODY_SIZE,
    CONTENT_LEFT,
    CONTENT_RIGHT,
    CONTENT_WIDTH,
    HEADER_LEFT,
    HEADER_TOP,
    LEADING,
    MARGIN_BOTTOM,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    SMALL_SIZE,
    WEEKDAYS,
    LayoutError,
    _draw_table,
    _Writer,
    jp_date,
)

TITLE = "個人番号カード交付・電子証明書発行通知書 兼 照会書"

# The page's geometry and text helpers are in tasks/notices/page.py, the address block in
# tasks/notices/address_block.py: the refusal letter shares both.
TITLE_SIZE = 14
# The counter QR code square, quiet zone included: a notice number is a 21-module code, so
# modules are 0.62 mm, several times what a counter's 2D scanner resolves at arm's length.
QR_SIZE = 18 * mm
SECTION_GAP = 3 * mm  # between sections; the window and the visit row leave little room
SIGN_LINE_HEIGHT = 7.5 * mm  # room to sign by hand
UNDER_15 = 15

BRING_ITEMS = (
    "この通知書（照会書・回答書。委任状は代理人が受け取る場合のみ記入）",
    "通知カード（お持ちの方のみ。お受け取りの際に回収します）",
    "本人確認書類：Aから1点、またはBから2点（いずれも有効期限内の原本）",
    "住民基本台帳カード、以前の個人番号カード（お持ちの方のみ。お受け取りの際に回収します）",
)
ID_LIST_A = (
    "A：運転免許証、旅券（パスポート）、在留カード、特別永住者証明書、身体障害者手帳、"
    "精神障害者保健福祉手帳、療育手帳、運転経歴証明書 など"
)
ID_LIST_B = (
    "B：健康保険の資格確認書、年金手帳、社員証、学生証、介護保険の被保険者証、"
    "医療受給者証、預金通帳 など（氏名と、生年月日または住所が書かれているもの）"
)
MINOR_RULE = (
    "15歳未満の方が受け取る場合は、法定代理人（親権者など）が必ず一緒に来てください。"
    "法定代理人の本人確認書類と、代理権を確認できる書類（戸籍謄本など）もお持ちください。"
)
INTRO = (
    "{municipality}に申請された個人番号カード（マイナンバーカード）ができあがりました。"
    "下記の交付場所で、交付期限までにお受け取りください。お受け取りの際には暗証番号の設定などを"
    "行うため、1人あたり30分ほどかかります。"
)
DEADLINE_NOTE = (
    "交付期限を過ぎても受け取りがない場合は、再度のお知らせの後、カードを廃棄することがあります。"
)
REPLY_TEXT = (
    "{issuer_title}　あて　私は、この照会書のあて名の本人であり、個人番号カードの交付と"
    "電子証明書の発行を申請したことに相違ありません。"
)
PROXY_DECLARATION = (
    "私は、次の理由により来庁が困難なため、下記の者に個人番号カードの受け取りを委任します。"
)
PROXY_REASONS = "理由：　□ 病気　　□ 身体の障害　　□ その他（　　　　　　　　　　　　　　　　）"
DATE_FIELD = "記入日　　　　年　　月　　日"
# 来庁日時: the assigned visit window spreads residents over the pickup period. One line
# each, because the page has no room to spare (an under-15 notice ends ~2 mm above it).
VISIT_CHANGE = "（日時の変更はお電話で承ります）"
# No window was free before the deadline: the resident books by phone instead.
VISIT_BY_PHONE = "お電話で来庁日時をご予約のうえ、お越しください（電話番号は下記）。"
VISIT_SIZE = 11
PROXY_RULE = (
    "代理人による受け取りは、本人が病気、身体の障害その他のやむを得ない理由により"
    "来庁することが困難な場合に限り認められます。その理由を確認できる書類（診断書など）、"
    "代理人の本人確認書類、本人の本人確認書類をお持ちください。"
)


@dataclass(frozen=True)
class CounterInfo:
    name: str
    address: str
    phone: str
    hours: str  # e.g. "平日 8:30〜17:15"


@dataclass(frozen=True)
class VisitLine:
    """The 来庁日時 row of a notice: the booked visit window (kofu.models.VisitWindow) as
    the notice shows it."""

    counter: str  # the counter's name
    day: date
    start: time
    end: time


@dataclass(frozen=True)
class NoticeContent:
    municipality: str  # e.g. "見本市"
    issuer_title: str  # e.g. "見本市長"
    notice_number: str  # e.g. "2026-00000123"
    issued_on: date
    pickup_deadline: date
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    postal_code: str  # "NNN-NNNN"
    address: str
    counter: CounterInfo
    # Only decides the under-15 wording; not printed.
    birth_date: date
    # The assigned 来庁日時; None: no window was free, the resident books by phone.
    visit: VisitLine | None = None


def visit_text(visit: VisitLine | None, pickup_place: str) -> str:
    if visit is None:
        return VISIT_BY_PHONE
    day = f"{jp_date(visit.day)}（{WEEKDAYS[visit.day.weekday()]}）"
    if visit.counter != pickup_place:
        # The row names no counter: the window is at the pickup place (交付場所) below.
        raise ValueError("the visit window is not at the notice's pickup place")
    return f"{day}　{visit.start:%-H:%M}〜{visit.end:%-H:%M}　{VISIT_CHANGE}"


def age_on(birth: date, on: date) -> int:
    # Completed years. A 29 February birthday counts from 1 March in common years, which
    # matches 年齢計算ニ関スル法律 (the age is reached at the end of 28 February).
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_minor_under_15(content: NoticeContent) -> bool:
    return age_on(content.birth_date, content.issued_on) < UNDER_15


def _draw_header(w: _Writer, c: NoticeContent) -> None:
    # The counter code at the top right; its own quiet zone keeps the text clear of it.
    qr_left = CONTENT_RIGHT - QR_SIZE
    counter_code.draw_qr(
        w.pdf, qr_left, PAGE_HEIGHT - HEADER_TOP - QR_SIZE, QR_SIZE, c.notice_number
    )
    right = qr_left
    if right - pdfmetrics.stringWidth(c.issuer_title, w.font, 12) < HEADER_LEFT:
        raise LayoutError("issuer-title-too-long", f"notice {c.notice_number}: issuer title")
    top = HEADER_TOP
    w.text_right(right, top, f"通知番号　{c.notice_number}", BODY_SIZE)
    top += BODY_SIZE * LEADING
    w.text_right(right, top, f"発行日　{jp_date(c.issued_on)}", BODY_SIZE)
    top += BODY_SIZE * LEADING + 3 * mm
    w.text_right(right, top, c.issuer_title, 12)
    top += 12 * LEADING
    w.text_right(right, top, "（公印省略）", SMALL_SIZE)


def _draw_bring_list(w: _Writer, top: float, items: tuple[str, ...] = BRING_ITEMS) -> float:
    # ``items``: the reminder letter (tasks/reminders/pdf.py) puts its own first item before
    # the notice's others; the A and B lists of identity documents always follow the third.
    top = w.heading(top, "お持ちいただくもの")
    indent = CONTENT_LEFT + 6 * mm
    width = CONTENT_RIGHT - indent
    for n, item in enumerate(items, start=1):
        w.text(CONTENT_LEFT + 1.5 * mm, top, f"{n}.", BODY_SIZE)
        top = w.para(indent, top, width, item)
        if n == 3:
            for id_list in (ID_LIST_A, ID_LIST_B):
                top = w.para(indent + 4 * mm, top, width - 4 * mm, id_list, SMALL_SIZE)
    return top


def _draw_minor_rule(w: _Writer, top: float, minor: bool) -> float:
    pad = 2 * mm
    inner = CONTENT_WIDTH - 2 * pad
    if minor:
        # The resident is under 15 on the issue date: the rule is the first thing they must see.
        head = "【重要】このお知らせのあて名の方は15歳未満です"
        h = 10.5 * LEADING + w.height_of(inner, MINOR_RULE, 10) + 2 * pad
        w.rect(CONTENT_LEFT, top, CONTENT_WIDTH, h, lw=2)
        w.text(CONTENT_LEFT + pad, top + pad, head, 10.5)
        w.para(CONTENT_LEFT + pad, top + pad + 10.5 * LEADING, inner, MINOR_RULE, 10)
    else:
        h = w.height_of(inner, MINOR_RULE) + 2 * pad - (LEADING - 1) * BODY_SIZE
        w.rect(CONTENT_LEFT, top, CONTENT_WIDTH, h, lw=0.6)
        w.para(CONTENT_LEFT + pad, top + pad, inner, MINOR_RULE)
    return top + h


def _sign_field(w: _Writer, x: float, top: float, width: float, label: str) -> None:
    # A form line: label at the left, the writing space after it, ruled along the whole width.
    w.text(x, top + SIGN_LINE_HEIGHT - BODY_SIZE * 1.25, label, BODY_SIZE)
    w.hline(x, x + width, top + SIGN_LINE_HEIGHT, lw=0.5)


def _draw_reply(w: _Writer, top: float, c: NoticeContent) -> float:
    top = w.heading(top, "回答書（窓口で記入していただきます。事前に記入しても構いません）")
    top = w.body(top, REPLY_TEXT.format(issuer_title=c.issuer_title))
    half = CONTENT_WIDTH / 2
    _sign_field(w, CONTENT_LEFT, top, half - 6 * mm, "本人氏名（自署）")
    _sign_field(w, CONTENT_LEFT + half, top, half, DATE_FIELD)
    top += SIGN_LINE_HEIGHT
    _sign_field(w, CONTENT_LEFT, top, CONTENT_WIDTH, "法定代理人氏名（本人が15歳未満の場合）")
    return top + SIGN_LINE_HEIGHT


def _draw_proxy(w: _Writer, top: float) -> float:
    top = w.heading(top, "委任状（代理人が受け取る場合のみ記入してください）")
    top = w.body(top, PROXY_RULE)
    top = w.body(top + 1 * mm, PROXY_DECLARATION)
    w.text(CONTENT_LEFT + 4 * mm, top + 1 * mm, PROXY_REASONS)
    top += BODY_SIZE * LEADING + 1 * mm
    half = CONTENT_WIDTH / 2
    _sign_field(w, CONTENT_LEFT, top, half - 6 * mm, "代理人氏名")
    _sign_field(w, CONTENT_LEFT + half, top, half, "本人との関係")
    top += SIGN_LINE_HEIGHT
    _sign_field(w, CONTENT_LEFT, top, CONTENT_WIDTH, "代理人住所")
    top += SIGN_LINE_HEIGHT
    _sign_field(w, CONTENT_LEFT, top, half - 6 * mm, "委任者（本人）氏名（自署）")
    _sign_field(w, CONTENT_LEFT + half, top, half, DATE_FIELD)
    return top + SIGN_LINE_HEIGHT


def render_notice(
    content: NoticeContent, font_name: str, window: EnvelopeWindow = DEFAULT_WINDOW
) -> bytes:
    """One notice as a one-page PDF of its own."""
    buf = io.BytesIO()
    # invariant=1: no creation timestamp or random ID, so re-rendering gives identical bytes.
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=1, invariant=1, initialFontName=font_name)
    pdf.setTitle(f"交付通知書 {content.notice_number}")  # no personal data in the metadata
    pdf.setAuthor(content.municipality)
    pdf.setCreator("kofu")
    draw_notice(pdf, content, font_name, window)
    pdf.save()
    return buf.getvalue()


def draw_notice(
    pdf: canvas.Canvas,
    content: NoticeContent,
    font_name: str,
    window: EnvelopeWindow = DEFAULT_WINDOW,
) -> None:
    """Draw one notice as the canvas's next page (ends with ``showPage``). A document of many
    notices drawn on one canvas shares one font subset among them. ``window`` is the
    envelope's (settings [notice.window])."""
    c = content
    w = _Writer(pdf, font_name)

    name = f"{c.family_name}　{c.given_name}"
    draw_address_block(
        w, Addressee(f"notice {c.notice_number}", c.postal_code, c.address, name), window
    )
    _draw_header(w, c)
    title_w = pdfmetrics.stringWidth(TITLE, font_name, TITLE_SIZE)
    top = title_top(window)
    w.text((PAGE_WIDTH - title_w) / 2, top, TITLE, TITLE_SIZE)
    top += TITLE_SIZE * LEADING + 1 * mm

    top = w.body(top, INTRO.format(municipality=c.municipality))
    deadline = c.pickup_deadline
    name = f"{c.family_name}　{c.given_name}　様（{c.family_name_kana}　{c.given_name_kana}）"
    top = _draw_table(
        w,
        top + 2 * mm,
        [
            [("お名前", name, BODY_SIZE)],
            [("交付期限", f"{jp_date(deadline)}（{WEEKDAYS[deadline.weekday()]}）まで", 12)],
            [("来庁日時", visit_text(c.visit, c.counter.name), VISIT_SIZE)],
            [("交付場所", c.counter.name, BODY_SIZE)],
            [("所在地", c.counter.address, BODY_SIZE)],
            [("電話番号", c.counter.phone, BODY_SIZE), ("受付時間", c.counter.hours, BODY_SIZE)],
        ],
    )
    top = w.body(top + 1 * mm, DEADLINE_NOTE, SMALL_SIZE)
    top = _draw_bring_list(w, top + SECTION_GAP)
    top = _draw_minor_rule(w, top + SECTION_GAP, is_minor_under_15(c))

    top += SECTION_GAP
    w.hline(CONTENT_LEFT, CONTENT_RIGHT, top, lw=0.5, dash=(3, 2))
    top = _draw_reply(w, top + SECTION_GAP, c)
    top = _draw_proxy(w, top + SECTION_GAP)
    if top > PAGE_HEIGHT - MARGIN_BOTTOM:
        # Only long counter data can push the page this far; fail rather than print off the page.
        raise ValueError(f"notice {c.notice_number}: content does not fit on one page")
    pdf.showPage()


def write_notice_pdf(
    content: NoticeContent, font_name: str, path: Path, window: EnvelopeWindow = DEFAULT_WINDOW
) -> None:
    # Atomic: a crash never leaves a truncated PDF for the print batch to pick up.
    write_bytes_atomic(path, render_notice(content, font_name, window))
