"""Every kind of page that goes into the envelope, rasterised with pypdfium2 and checked as
the printer, the envelope and the post office see it:

- no ink in the strip along the edges that the printer cannot print;
- nothing in what the envelope window can show (the window plus the sheet's shift) but the
  address block, and the address block inside the window whatever the shift;
- a customer barcode that reads back as the right bars, at Japan Post's sizes, with 2 mm
  clear all round;
- on the notice, a QR code that decodes to the notice number.

Each checker is first shown to catch a mark drawn just where it must not be.
"""

import io
from datetime import date

import cv2
import numpy as np
import pytest

from kofu.base.errors import UserError
from kofu.base.settings import SAMPLE_CONFIG, EnvelopeWindow, load_municipality
from kofu.tasks.letters.pdf import render_refusal_letter
from kofu.tasks.notices import customer_barcode
from kofu.tasks.notices.envelope_window import (
    BARCODE_CLEAR_MM,
    Box,
    barcode_point_size,
    window_boxes,
)
from kofu.tasks.notices.page import LayoutError
from kofu.tasks.notices.pdf import render_notice
from kofu.tasks.reminders.pdf import render_reminder_letter
from tests.helpers import (
    A4_MM,
    compact_text,
    fonts_not_embedded,
    ink_in,
    ink_in_margin,
    ink_outside,
    page_sizes_mm,
    render_gray,
    with_mark,
)
from tests.unit.test_notice_pdf import make_content as notice_content
from tests.unit.test_refusal_letter import make_content as letter_content
from tests.unit.test_reminder_letter import make_content as reminder_content

NOTICE = load_municipality(SAMPLE_CONFIG).notice
WINDOW = NOTICE.window
BOXES = window_boxes(WINDOW)
DPI = 200  # 0.13 mm a pixel: a 0.5 mm mark is 4 pixels
BARCODE_DPI = 400  # bars about 0.57 mm wide and apart: 9 pixels each
LONG_ADDRESS = "見本市中央一丁目2番3号 見本グランドパレスマンション東棟1203号室 見本方"

PAGES = {
    "notice": lambda font: render_notice(notice_content(), font, WINDOW),
    "notice-long-address": lambda font: render_notice(
        notice_content(address=LONG_ADDRESS), font, WINDOW
    ),
    # The under-15 box makes the longest notice.
    "notice-under-15": lambda font: render_notice(
        notice_content(birth_date=date(2015, 5, 1)), font, WINDOW
    ),
    "refusal-letter": lambda font: render_refusal_letter(letter_content(), font, WINDOW),
    "refusal-letter-long-address": lambda font: render_refusal_letter(
        letter_content(address=LONG_ADDRESS), font, WINDOW
    ),
    "reminder-letter": lambda font: render_reminder_letter(reminder_content(), font, WINDOW),
    # The returned notice's opening is the longer one.
    "reminder-letter-long-address": lambda font: render_reminder_letter(
        reminder_content(address=LONG_ADDRESS, reason="returned-same-address"), font, WINDOW
    ),
}
ADDRESSES = {
    "notice": ("100-0001", notice_content().address),
    "notice-long-address": ("100-0001", LONG_ADDRESS),
    "notice-under-15": ("100-0001", notice_content().address),
    "refusal-letter": ("100-0001", letter_content().address),
    "refusal-letter-long-address": ("100-0001", LONG_ADDRESS),
    "reminder-letter": ("100-0001", reminder_content().address),
    "reminder-letter-long-address": ("100-0001", LONG_ADDRESS),
}


@pytest.fixture(params=list(PAGES))
def page(request, font_name: str) -> tuple[str, bytes]:
    return request.param, PAGES[request.param](font_name)


@pytest.fixture(scope="module")
def notice_pdf(font_name: str) -> bytes:
    return PAGES["notice"](font_name)


# --- Checkers ---


def address_leaks(pdf: bytes, boxes=BOXES) -> int:
    """Ink the envelope window could show that is not inside the address block's area."""
    return ink_outside(render_gray(pdf, DPI), DPI, region=boxes.visible, allowed=boxes.address)


def read_barcode(pdf: bytes, area: Box = BOXES.address) -> dict:
    """The customer barcode under the name, read from the raster: the kind of each bar, the
    symbol's box (mm) and its mean sizes (mm)."""
    image = render_gray(pdf, BARCODE_DPI)
    k = BARCODE_DPI / 25.4
    x0, y0 = round(area.left * k), round(area.top * k)
    ink = image[y0 : round(area.bottom * k), x0 : round(area.right * k)] < 128
    rows = ink.any(axis=1)
    # The barcode is the lowest thing in the block: its rows run up from the last inked row
    # to the blank gap under the name.
    bottom = int(np.nonzero(rows)[0].max()) + 1
    top = bottom
    while top > 0 and rows[top - 1]:
        top -= 1
    band = ink[top:bottom]
    columns = np.flatnonzero(band.any(axis=0))
    runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    height = bottom - top
    kinds, spans = [], []
    for run in runs:
        inked = np.flatnonzero(band[:, run[len(run) // 2]])
        span = (int(inked.min()), int(inked.max()) + 1)
        reaches_top, reaches_bottom = span[0] < height / 6, span[1] > height * 5 / 6
        kinds.append(
            {(True, True): "long", (True, False): "ascender", (False, True): "descender"}.get(
                (reaches_top, reaches_bottom), "timing"
            )
        )
        spans.append(span)

    def mean_height(kind: str) -> float:
        return (
            float(
                np.mean(
                    [b - t for (t, b), kind_ in zip(spans, kinds, strict=True) if kind_ == kind]
                )
            )
            / k
        )

    centres = [float(run.mean()) for run in runs]
    return {
        "bars": kinds,
        "box": Box(
            (x0 + runs[0][0]) / k,
            (y0 + top) / k,
            (x0 + runs[-1][-1] + 1) / k,
            (y0 + bottom) / k,
        ),
        "long_mm": mean_height("long"),
        "timing_mm": mean_height("timing"),
        "pitch_mm": (centres[-1] - centres[0]) / (len(runs) - 1) / k,
        "bar_width_mm": float(np.mean([len(run) for run in runs])) / k,
    }


def barcode_clear_zone_ink(pdf: bytes, barcode_box: Box) -> int:
    """Ink within 2 mm of the barcode's box: Japan Post wants it blank."""
    image = render_gray(pdf, BARCODE_DPI)
    return ink_outside(
        image, BARCODE_DPI, region=barcode_box.grown(BARCODE_CLEAR_MM), allowed=barcode_box
    )


def decode_qr(pdf: bytes) -> str:
    image = render_gray(pdf, DPI)
    header = image[: round(50 * DPI / 25.4), round(120 * DPI / 25.4) :]  # top right
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(header)
    return text


# --- The checkers catch known marks ---


@pytest.mark.parametrize(
    ("left", "top"),
    [
        (NOTICE.printer_margin_mm - 0.6, 150),  # left edge
        (A4_MM[0] - NOTICE.printer_margin_mm + 0.1, 150),  # right edge
        (100, NOTICE.printer_margin_mm - 0.6),  # top edge
        (100, A4_MM[1] - NOTICE.printer_margin_mm + 0.1),  # bottom edge
    ],
)
def test_margin_checker_catches_a_dot_just_outside_the_printable_area(
    notice_pdf: bytes, left: float, top: float
):
    marked = with_mark(notice_pdf, left, top, size_mm=0.5)
    assert ink_in_margin(render_gray(marked, DPI), DPI, NOTICE.printer_margin_mm) > 0


def test_margin_checker_passes_a_dot_just_inside_the_printable_area(notice_pdf: bytes):
    marked = with_mark(notice_pdf, NOTICE.printer_margin_mm + 0.3, 150, size_mm=0.5)
    assert ink_in_margin(render_gray(marked, DPI), DPI, NOTICE.printer_margin_mm) == 0


@pytest.mark.parametrize(
    ("left", "top"),
    [
        (BOXES.address.left - 0.8, 30),  # just left of the address area
        (BOXES.address.right + 0.3, 30),  # just right of it
        (60, BOXES.address.top - 0.8),  # just above it
        (60, BOXES.address.bottom + 0.3),  # just below it
        (60, BOXES.visible.bottom - 0.6),  # at the lowest edge the window can show
    ],
)
def test_window_checker_catches_a_mark_just_outside_the_address_area(
    notice_pdf: bytes, left: float, top: float
):
    assert address_leaks(notice_pdf) == 0
    assert address_leaks(with_mark(notice_pdf, left, top, size_mm=0.5)) > 0


def test_window_checker_passes_a_mark_inside_the_address_area(notice_pdf: bytes):
    inside = with_mark(notice_pdf, BOXES.address.right - 1, BOXES.address.top + 0.5)
    assert address_leaks(inside) == 0


def test_clear_zone_checker_catches_a_mark_next_to_the_barcode(notice_pdf: bytes):
    box = read_barcode(notice_pdf)["box"]
    assert barcode_clear_zone_ink(notice_pdf, box) == 0
    marked = with_mark(notice_pdf, box.right + 1.0, box.top, size_mm=0.5)
    assert barcode_clear_zone_ink(marked, box) > 0


# --- Every kind of page ---


def test_page_is_one_a4_page_with_fonts_embedded(page):
    _, pdf = page
    assert page_sizes_mm(pdf) == [A4_MM]
    assert fonts_not_embedded(pdf) == []


def test_nothing_prints_in_the_printer_margin(page):
    _, pdf = page
    image = render_gray(pdf, DPI)
    assert ink_in_margin(image, DPI, NOTICE.printer_margin_mm) == 0
    assert (image < 128).sum() > 100_000  # the page is not blank


def test_only_the_address_block_shows_through_the_window(page):
    _, pdf = page
    image = render_gray(pdf, DPI)
    assert ink_outside(image, DPI, region=BOXES.visible, allowed=BOXES.address) == 0
    assert ink_in(image, DPI, *_edges(BOXES.address)) > 3000  # the block is there


def test_customer_barcode_reads_back_at_japan_post_sizes(page):
    kind, pdf = page
    postal_code, address = ADDRESSES[kind]
    read = read_barcode(pdf)
    assert read["bars"] == customer_barcode.bars(postal_code, address)
    # Inside the window with its 2 mm clear zone, whatever the shift.
    one_px = 25.4 / BARCODE_DPI
    inner = BOXES.barcode.grown(one_px)
    box = read["box"]
    assert inner.left <= box.left and box.right <= inner.right, box
    assert inner.top <= box.top and box.bottom <= inner.bottom, box
    assert barcode_clear_zone_ink(pdf, box) == 0
    # Japan Post's tolerances at the size used, plus a pixel for the raster.
    a = barcode_point_size(BOXES.barcode.width) / 10
    assert 3.40 * a - one_px <= read["long_mm"] <= 3.60 * a + one_px
    assert 1.05 * a - one_px <= read["timing_mm"] <= 1.35 * a + one_px
    assert 0.95 * a <= read["pitch_mm"] <= 1.30 * a
    assert 0.50 * a - one_px <= read["bar_width_mm"] <= 0.70 * a + one_px


def test_address_block_text_round_trips(page):
    kind, pdf = page
    postal_code, address = ADDRESSES[kind]
    text = compact_text(pdf)
    assert f"〒{postal_code}" in text
    assert "".join(address.split()) in text
    assert "見本太郎様" in text


# --- The counter's QR code ---


@pytest.mark.parametrize("number", ["2026-00000123", "2027-99999999"])
def test_qr_code_decodes_to_the_notice_number(font_name: str, number: str):
    pdf = render_notice(notice_content(notice_number=number), font_name, WINDOW)
    assert decode_qr(pdf) == number


def test_checker_finds_no_qr_code_where_there_is_none(font_name: str):
    # The refusal letter has no QR code: the decoder must not invent one.
    assert decode_qr(PAGES["refusal-letter"](font_name)) == ""


# --- The window comes from the settings ---


def test_another_envelope_window_moves_the_address_block(font_name: str):
    # Another maker's window: further right, narrower, a tighter fit in the envelope.
    window = EnvelopeWindow(left_mm=30, top_mm=14, width_mm=84, height_mm=46, shift_mm=4)
    boxes = window_boxes(window)
    pdf = render_notice(notice_content(), font_name, window)
    image = render_gray(pdf, DPI)
    assert address_leaks(pdf, boxes) == 0
    assert ink_in(image, DPI, *_edges(boxes.address)) > 3000
    # Where the default window's address began is now blank paper.
    assert ink_in(image, DPI, BOXES.address.left, BOXES.address.top, 33, 60) == 0
    read = read_barcode(pdf, boxes.address)
    assert read["bars"] == customer_barcode.bars("100-0001", notice_content().address)
    assert boxes.barcode.left - 0.1 <= read["box"].left
    assert read["box"].bottom <= boxes.barcode.bottom + 0.1


def test_address_without_numbers_gets_a_padded_barcode(font_name: str):
    pdf = render_notice(notice_content(address="見本市本町"), font_name, WINDOW)
    assert read_barcode(pdf)["bars"] == customer_barcode.bars("100-0001", "見本市本町")


def test_postal_code_without_seven_digits_fails_with_a_reason_code(font_name: str):
    with pytest.raises(LayoutError) as caught:
        render_notice(notice_content(postal_code="100-001"), font_name, WINDOW)
    assert caught.value.code == "no-customer-barcode"
    assert "2026-00000123" in str(caught.value)
    assert "100-001" not in str(caught.value)  # the message names the notice, not the data


def test_window_too_narrow_for_the_barcode_is_refused(font_name: str):
    narrow = EnvelopeWindow(left_mm=20, top_mm=12, width_mm=70, height_mm=45, shift_mm=5)
    with pytest.raises(LayoutError) as caught:
        render_notice(notice_content(), font_name, narrow)
    assert caught.value.code == "window-too-small"


def test_window_off_the_top_panel_is_refused_at_start_up(tmp_path):
    config = SAMPLE_CONFIG.read_text(encoding="utf-8").replace("top_mm = 12.0", "top_mm = 60.0")
    path = tmp_path / "municipality.toml"
    path.write_text(config, encoding="utf-8")
    with pytest.raises(UserError, match="notice.window.*top third"):
        load_municipality(path)


def test_sample_notice_png_shows_a_whole_notice(font_name: str):
    # `make sample` writes this picture into docs/ for the README.
    from PIL import Image

    from kofu.cli.sample_notice import DPI, sample_notice_png

    png = sample_notice_png(load_municipality(SAMPLE_CONFIG), font_name)
    image = Image.open(io.BytesIO(png))
    width, height = (n * DPI / 25.4 for n in A4_MM)
    assert abs(image.width - width) <= 1 and abs(image.height - height) <= 1
    assert len(png) < 300_000
    gray = np.array(image.convert("L"))
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(gray[:300, 700:])
    assert text == "2026-00000042"


def _edges(box: Box) -> tuple[float, float, float, float]:
    return box.left, box.top, box.right, box.bottom
