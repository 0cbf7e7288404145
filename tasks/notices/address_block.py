"""The address block: what the 長3 window envelope's window shows (postal code, address,
name and customer barcode), and where the page's title may start below it.

The window's place comes from the settings ([notice.window]); tasks/notices/envelope_window.py
has Japan Post's rules. A block that does not fit is a LayoutError, never printed outside.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from kofu.base.settings import EnvelopeWindow
from kofu.tasks.notices import customer_barcode
from kofu.tasks.notices.envelope_window import BARCODE_CLEAR_MM, barcode_point_size, window_boxes
from kofu.tasks.notices.page import HEADER_LEFT, LEADING, PAGE_HEIGHT, LayoutError, _Writer, wrap

ADDRESS_SIZE = 10.5  # pt; shrinks in 0.5 pt steps for a long address
ADDRESS_MIN_SIZE = 8  # pt; below this the address is hard to read through the window film
NAME_SIZE = 14  # pt; the name stands out for the carrier
NAME_GAP = 2 * mm  # between the address and the name, so the name reads as its own line
DEFAULT_WINDOW = EnvelopeWindow()  # the sample settings' window, for callers without settings

# The title starts below all the window can show (window plus shift), so nothing but the
# address is ever seen through it, and never above 45 mm, where the header has ended.
TITLE_MIN_TOP = 45 * mm
TITLE_GAP = 2 * mm


@dataclass(frozen=True)
class Addressee:
    """What the envelope window shows. ``document`` names the page in errors."""

    document: str  # e.g. "notice 2026-00000123"
    postal_code: str  # "NNN-NNNN"
    address: str
    name: str  # family and given name, as printed


def title_top(window: EnvelopeWindow) -> float:
    return max(TITLE_MIN_TOP, window_boxes(window).visible.bottom * mm + TITLE_GAP)


def draw_address_block(w: _Writer, who: Addressee, window: EnvelopeWindow) -> None:
    """Postal code, address, name and customer barcode inside the window's safe area, or a
    LayoutError: a notice the post office cannot read must not be printed."""
    boxes = window_boxes(window)
    if boxes.visible.right * mm > HEADER_LEFT:
        raise LayoutError(
            "window-over-header", f"{who.document}: the envelope window reaches the header"
        )
    bar_size = barcode_point_size(boxes.barcode.width)
    if bar_size is None:
        raise LayoutError(
            "window-too-small", f"{who.document}: the customer barcode does not fit the window"
        )
    try:
        bars = customer_barcode.bars(who.postal_code, who.address)
    except ValueError:
        # Bulk mail earns its discount only with the barcode, and a postal code that cannot
        # make one cannot be sorted either: the register needs fixing, so the notice fails.
        raise LayoutError(
            "no-customer-barcode", f"{who.document}: postal code is not 7 digits, no barcode"
        ) from None
    bar = customer_barcode.geometry(bar_size)

    area = boxes.address
    x, top, width = area.left * mm, area.top * mm, area.width * mm
    # The barcode goes directly under the name (Japan Post, for an address written across),
    # with its clear zone above it: the text must end that far above the barcode's lowest place.
    room = (boxes.barcode.bottom - bar.height_mm - BARCODE_CLEAR_MM) * mm - top
    name = f"{who.name}　様"
    name_size, size = NAME_SIZE, ADDRESS_SIZE
    # Shrink name, then address, until the whole block fits; refuse rather than print outside.
    while pdfmetrics.stringWidth(name, w.font, name_size) > width and name_size > ADDRESS_MIN_SIZE:
        name_size -= 0.5
    lines = wrap(who.address, w.font, size, width)
    while (1 + len(lines)) * size * LEADING + NAME_GAP + name_size * LEADING > room:
        if size <= ADDRESS_MIN_SIZE:
            raise LayoutError(
                "address-too-long-for-window",
                f"{who.document}: address does not fit the envelope window",
            )
        size -= 0.5
        lines = wrap(who.address, w.font, size, width)
    if pdfmetrics.stringWidth(name, w.font, name_size) > width:
        raise LayoutError(
            "name-too-long-for-window", f"{who.document}: name does not fit the envelope window"
        )
    w.text(x, top, f"〒{who.postal_code}", size)
    top += size * LEADING
    for line in lines:
        w.text(x, top, line, size)
        top += size * LEADING
    top += NAME_GAP
    w.text(x, top, name, name_size)
    # The name's line box ends below its glyphs, so the clear zone above the bars is more
    # than the 2 mm asked for.
    bars_top = top / mm + name_size * LEADING / mm + BARCODE_CLEAR_MM
    bars_bottom_from_page_bottom = PAGE_HEIGHT / mm - bars_top - bar.height_mm
    customer_barcode.draw(w.pdf, boxes.barcode.left, bars_bottom_from_page_bottom, bars, bar_size)
