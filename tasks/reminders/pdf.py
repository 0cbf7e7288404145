"""Render the reminder letter (再通知: マイナンバーカードの受け取りについて) as a one-page A4 PDF.

A card gets one reminder (tasks/lifecycle/core.py): when its pickup deadline passed, or when
the notice came back from the post office while the resident is still registered at the
address. The letter goes out in the same window envelope as the pickup notice, so it reuses
the notice's page geometry, address block (window, customer barcode) and drawing helpers, and
it names the notice the resident must bring by its number. Plain functions: content in, PDF
bytes out. Like the notice it has no field for the individual number, and it refuses to
print any 12-digit run that the data might carry.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from kofu.base.atomic import write_bytes_atomic
from kofu.base.settings import EnvelopeWindow
from kofu.tasks.letters.pdf import (
    BODY_SIZE,
    _centred,
    _RecordingWriter,
    draw_contact,
    draw_letter_header,
    finish_one_page,
)
from kofu.tasks.notices.address_block import (
    DEFAULT_WINDOW,
    Addressee,
    draw_address_block,
    title_top,
)
from kofu.tasks.notices.page import (
    SMALL_SIZE,
    WEEKDAYS,
    _draw_table,
    _Writer,
    jp_date,
)
from kofu.tasks.notices.pdf import BRING_ITEMS, SECTION_GAP, TITLE_SIZE, _draw_bring_list

TITLE = "マイナンバーカードの受け取りについて（再通知）"
SUBTITLE = "個人番号カード交付通知書の再通知"
SUBTITLE_SIZE = 11
DEADLINE_SIZE = 14  # the new deadline is what the letter is for: the largest value on the page

NOT_COLLECTED = "not-collected"
RETURNED_SAME_ADDRESS = "returned-same-address"
# The reason (tasks/lifecycle/core.py's REMIND decision) picks the opening paragraph.
OPENINGS = {
    NOT_COLLECTED: (
        "先に送付した交付通知書（通知番号 {number}、{issued}付）のカードがまだ受け取られて"
        "いません。下記の期限までに受け取ってください。期限を過ぎると、カードは廃棄される"
        "ことがあります（再申請が必要になります）。"
    ),
    RETURNED_SAME_ADDRESS: (
        "先に送付した交付通知書（通知番号 {number}、{issued}付）は、お届けできずに郵便局から"
        "返送されました。住民登録の住所に変わりがないため、あらためてお知らせします。"
        "下記の期限までに受け取ってください。期限を過ぎると、カードは廃棄されることがあります"
        "（再申請が必要になります）。"
    ),
}
# The notice's bring list, with the notice itself named by its number in place of "this
# notice" (the resident reads this letter, not the notice).
BRING_NOTICE = (
    "交付通知書（通知番号 {number}）とこの再通知書。交付通知書がお手元にない場合は、"
    "窓口でお申し出ください"
)
PROXY_NOTE = (
    "代理人が受け取る場合は、交付通知書の委任状に記入してお持ちください"
    "（代理人の本人確認書類と、来庁が困難な理由を確認できる書類も必要です）。"
)
CROSSED_NOTE = "この通知と行き違いに、すでにカードを受け取られた場合はご容赦ください。"


@dataclass(frozen=True)
class ReminderContent:
    municipality: str  # e.g. "見本市"
    issuer_title: str  # e.g. "見本市長"
    letter_number: str  # e.g. "RM2026-00000123" (tasks/notices/core.py reminder_number)
    issued_on: date
    notice_number: str  # the notice to bring: "2026-00000123", or a reissue's "…-2"
    notice_issued_on: date
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    postal_code: str  # "NNN-NNNN"
    address: str
    deadline: date  # the new pickup deadline
    reason: str  # "not-collected" or "returned-same-address": picks the opening
    pickup_place: str  # the counter's name and address, as the 受取場所 row shows them
    contact_name: str
    contact_phone: str
    contact_hours: str  # e.g. "平日 8:30〜17:15"
    # A 来庁日時 row when given (e.g. tasks/notices/pdf.py visit_text); none without.
    visit_text: str | None = None


def _draw_details(w: _Writer, top: float, c: ReminderContent) -> float:
    name = f"{c.family_name}　{c.given_name}　様（{c.family_name_kana}　{c.given_name_kana}）"
    deadline = f"{jp_date(c.deadline)}（{WEEKDAYS[c.deadline.weekday()]}）まで"
    notice = f"{c.notice_number}（{jp_date(c.notice_issued_on)}付の交付通知書）"
    rows = [
        [("お名前", name, BODY_SIZE)],
        [("通知番号", notice, BODY_SIZE)],
        [("新しい受取期限", deadline, DEADLINE_SIZE)],
    ]
    if c.visit_text is not None:
        rows.append([("来庁日時", c.visit_text, BODY_SIZE)])
    rows.append([("受取場所", c.pickup_place, BODY_SIZE)])
    return _draw_table(w, top, rows)


def render_reminder_letter(
    content: ReminderContent, font_name: str, window: EnvelopeWindow = DEFAULT_WINDOW
) -> bytes:
    c = content
    if c.reason not in OPENINGS:
        raise ValueError(f"reminder letter {c.letter_number}: unknown reason {c.reason!r}")
    buf = io.BytesIO()
    # invariant=1: no creation timestamp or random ID, so re-rendering gives identical bytes.
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=1, invariant=1, initialFontName=font_name)
    pdf.setTitle(f"再通知 {c.letter_number}")  # no personal data in the metadata
    pdf.setAuthor(c.municipality)
    pdf.setCreator("kofu")
    w = _RecordingWriter(pdf, font_name)

    # The notice's block: the same envelope window, customer barcode and refusal to print
    # outside the window.
    name = f"{c.family_name}　{c.given_name}"
    addressee = Addressee(f"reminder letter {c.letter_number}", c.postal_code, c.address, name)
    draw_address_block(w, addressee, window)
    draw_letter_header(w, c.letter_number, c.issued_on, c.issuer_title)
    top = _centred(w, title_top(window), TITLE, TITLE_SIZE)
    top = _centred(w, top + 0.5 * mm, f"（{SUBTITLE}）", SUBTITLE_SIZE)
    opening = OPENINGS[c.reason].format(number=c.notice_number, issued=jp_date(c.notice_issued_on))
    top = w.body(top + 2 * mm, opening, BODY_SIZE)
    top = _draw_details(w, top + 1.5 * mm, c)
    items = (BRING_NOTICE.format(number=c.notice_number), *BRING_ITEMS[1:])
    top = _draw_bring_list(w, top + SECTION_GAP, items)
    top = w.body(top + 1 * mm, PROXY_NOTE, SMALL_SIZE)
    top = draw_contact(w, top + SECTION_GAP, c)
    top = w.body(top + 2 * mm, CROSSED_NOTE, SMALL_SIZE)
    # A long pickup place or contact can push the page this far.
    return finish_one_page(pdf, buf, w, top, f"reminder letter {c.letter_number}")


def write_reminder_letter(
    content: ReminderContent, font_name: str, path: Path, window: EnvelopeWindow = DEFAULT_WINDOW
) -> None:
    # Atomic: a crash never leaves a truncated PDF for the print batch to pick up.
    write_bytes_atomic(path, render_reminder_letter(content, font_name, window))
