"""The counter barcode: a QR code of the notice number, printed on the notice so that counter
staff pull up the case with a scanner instead of typing it.

It carries the notice number only, never personal data. zint (a C encoder) makes the code in
about 0.1 ms; reportlab's pure-Python encoder takes about 3 ms, a third of a notice's
rendering budget.
"""

from __future__ import annotations

from typing import Any

import zint

# Error correction level M (zint option_1 = 2): about 15% of the code can be lost, e.g. to a
# fold or a date stamp over a corner, and it still reads.
ECC_LEVEL_M = 2
# ISO/IEC 18004 asks for 4 blank modules around the code; scanners fail without them.
QUIET_ZONE_MODULES = 4


def qr_modules(text: str) -> list[list[bool]]:
    """The code's modules, row by row from the top; True is dark."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.QRCODE
    symbol.option_1 = ECC_LEVEL_M
    symbol.encode(text)
    rows = symbol.encoded_data.tolist()
    # zint packs each row's modules into bytes, least significant bit first.
    return [
        [bool(rows[r][c // 8] >> (c % 8) & 1) for c in range(symbol.width)]
        for r in range(symbol.rows)
    ]


def draw_qr(canvas: Any, left: float, bottom: float, size: float, text: str) -> None:
    """Draw the code of ``text`` in a ``size``-point square, quiet zone included, with its
    bottom-left corner at (left, bottom) in reportlab's bottom-up points."""
    modules = qr_modules(text)
    count = len(modules)
    module = size / (count + 2 * QUIET_ZONE_MODULES)
    origin_x = left + QUIET_ZONE_MODULES * module
    origin_top = bottom + size - QUIET_ZONE_MODULES * module
    # One path for the whole code, each run of dark modules in a row one rectangle: filled
    # at once, adjacent modules leave no hairline seams when rasterised.
    path = canvas.beginPath()
    for r, row in enumerate(modules):
        c = 0
        while c < count:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < count and row[c]:
                c += 1
            y = origin_top - (r + 1) * module
            path.rect(origin_x + start * module, y, (c - start) * module, module)
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
