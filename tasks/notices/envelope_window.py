"""Where the address may print on a sheet mailed in a 長3 window envelope.

Japan Post's rules (定形郵便物・はがき作成のガイドライン 5, 窓付封筒; 郵便番号・バーコード
マニュアル, バーコード 4/4 印字位置):
- the postal code, address and name, and the customer barcode, must stay inside the window
  even when the sheet moves in the envelope;
- the customer barcode needs 2 mm clear on every side, and 2 mm between it and the window's
  frame whatever the shift;
- with the address written across, the barcode goes directly under the addressee's name,
  alone on its line.

Plain values, no drawing. Every figure is in mm from the sheet's top-left corner; the window
itself comes from the settings file ([notice.window]), because envelope makers differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from kofu.base.settings import EnvelopeWindow
from kofu.tasks.notices import customer_barcode

BARCODE_CLEAR_MM = 2.0  # manual p13: blank on every side of the barcode, frame included
# Largest size first: Japan Post allows 8 to 11.5 pt; 10 pt is the base size.
BARCODE_POINT_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0)


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def grown(self, by: float) -> Box:
        """The box moved out by ``by`` on every side (inward when negative)."""
        return Box(self.left - by, self.top - by, self.right + by, self.bottom + by)


@dataclass(frozen=True)
class WindowBoxes:
    window: Box  # the window over a sheet that has not moved
    visible: Box  # all the window can show as the sheet moves: the address and nothing else
    address: Box  # where the address block prints: inside the window whatever the shift
    barcode: Box  # where the barcode's bars print: 2 mm further in, for its clear zone


@lru_cache(maxsize=8)
def window_boxes(window: EnvelopeWindow) -> WindowBoxes:
    box = Box(
        window.left_mm,
        window.top_mm,
        window.left_mm + window.width_mm,
        window.top_mm + window.height_mm,
    )
    address = box.grown(-window.shift_mm)
    return WindowBoxes(
        window=box,
        visible=box.grown(window.shift_mm),
        address=address,
        barcode=address.grown(-BARCODE_CLEAR_MM),
    )


def barcode_point_size(width_mm: float) -> float | None:
    """The largest allowed barcode size whose 67 bars fit ``width_mm``, or None."""
    for size in BARCODE_POINT_SIZES:
        if customer_barcode.geometry(size).width_mm <= width_mm:
            return size
    return None
