"""The twelve months as a line chart (PNG): cards handed over, applications, and cards in
storage at each month's end. Drawn with Pillow; figures in, PNG bytes out.

The labels are Japanese, in Noto Sans JP: the OpenType file of the font wheel the notices
use (kofu/base/fonts.py converts it for reportlab; FreeType reads it as it is). Each series
has its own colour (Okabe-Ito, told apart with colour blindness) and its own marker, so a
grey printout still tells them apart. Drawn at twice the size and scaled down, for smooth
lines.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kofu.tasks.stats.core import MonthFigures

SIZE = (800, 400)
SCALE = 2  # drawn at twice the size, then scaled down
BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
GRID = (225, 225, 225)
# (field, label, colour, marker)
SERIES = (
    ("handed_over", "交付枚数", (0, 114, 178), "circle"),
    ("applications", "申請件数", (230, 159, 0), "square"),
    ("pending_in_storage", "保管中の未交付枚数（月末）", (0, 158, 115), "triangle"),
)
# The plot area's margins, in pixels of the final image: left, top, right, bottom.
MARGINS = (72, 66, 24, 62)


@cache
def _font_path() -> str:
    import pylopdf_fonts_jp

    return str(Path(pylopdf_fonts_jp.sans_path()))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_path(), size * SCALE)


def nice_step(top: float, intervals: int = 5) -> int:
    """A tick step of 1, 2 or 5 times a power of ten giving about ``intervals`` intervals."""
    raw = max(top, 1) / intervals
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(int(factor * power), 1)
    return int(10 * power)  # pragma: no cover - the loop always returns


def stats_chart(
    rows: Sequence[MonthFigures], title: str | None = None, size: tuple[int, int] = SIZE
) -> bytes:
    """The chart of ``rows`` (consecutive months, oldest first) as PNG bytes of ``size``."""
    if not rows:
        raise ValueError("no months to draw")
    width, height = size
    s = SCALE
    image = Image.new("RGB", (width * s, height * s), BACKGROUND)
    draw = ImageDraw.Draw(image)
    left, top = MARGINS[0] * s, MARGINS[1] * s
    right, bottom = (width - MARGINS[2]) * s, (height - MARGINS[3]) * s

    title = title or f"交付・申請・保管中の未交付　{rows[0].month}〜{rows[-1].month}"
    draw.text((16 * s, 10 * s), title, font=_font(16), fill=INK)
    _legend(draw, 16 * s, 38 * s)

    values = [[getattr(r, name) or 0 for r in rows] for name, *_ in SERIES]
    step = nice_step(max(max(v) for v in values))
    ceiling = step * max(math.ceil(max(max(v) for v in values) / step), 1)

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / ceiling

    slot = (right - left) / len(rows)

    def x_of(i: int) -> float:
        return left + slot * (i + 0.5)

    # Grid and y ticks.
    tick_font = _font(11)
    for value in range(0, ceiling + 1, step):
        y = y_of(value)
        draw.line((left, y, right, y), fill=GRID if value else INK, width=s)
        label = f"{value:,}"
        w = draw.textlength(label, font=tick_font)
        draw.text((left - 6 * s - w, y), label, font=tick_font, fill=INK, anchor="lm")
    draw.line((left, top, left, bottom), fill=INK, width=s)
    _vertical_text(image, "件数・枚数", (14 * s, (top + bottom) // 2), _font(12))

    # Month ticks: the month under each point, the year under the first and every January.
    for i, row in enumerate(rows):
        x = x_of(i)
        year, month = row.month.split("-")
        draw.line((x, bottom, x, bottom + 4 * s), fill=INK, width=s)
        draw.text((x, bottom + 6 * s), f"{int(month)}月", font=tick_font, fill=INK, anchor="mt")
        if i == 0 or month == "01":
            draw.text((x, bottom + 22 * s), f"{year}年", font=tick_font, fill=INK, anchor="mt")
    draw.text(
        ((left + right) / 2, bottom + 42 * s),
        "月（日本時間の暦月）",
        font=_font(12),
        fill=INK,
        anchor="mt",
    )

    for (_, _, colour, marker), series in zip(SERIES, values, strict=True):
        points = [(x_of(i), y_of(v)) for i, v in enumerate(series)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=3 * s, joint="curve")
        for point in points:
            _marker(draw, point, marker, colour, 4 * s)

    # 64 colours are plenty for three lines on white, and keep the file about 20 KB: the
    # flow sends it to the Prefect UI inside a markdown artifact (flows/stats.py).
    small = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out, "PNG", optimize=True)
    return out.getvalue()


def _legend(draw: ImageDraw.ImageDraw, x: float, y: float) -> None:
    s = SCALE
    font = _font(12)
    for _, label, colour, marker in SERIES:
        draw.line((x, y, x + 24 * s, y), fill=colour, width=3 * s)
        _marker(draw, (x + 12 * s, y), marker, colour, 4 * s)
        draw.text((x + 30 * s, y), label, font=font, fill=INK, anchor="lm")
        x += 30 * s + draw.textlength(label, font=font) + 24 * s


def _marker(
    draw: ImageDraw.ImageDraw, at: tuple[float, float], shape: str, colour, r: float
) -> None:
    x, y = at
    if shape == "square":
        draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == "triangle":
        draw.polygon(
            [(x, y - r * 1.2), (x - r * 1.1, y + r * 0.8), (x + r * 1.1, y + r * 0.8)], fill=colour
        )
    else:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _vertical_text(image: Image.Image, text: str, centre: tuple[float, float], font) -> None:
    """``text`` turned a quarter anticlockwise, centred on ``centre`` (the y-axis label)."""
    box = font.getbbox(text)
    label = Image.new("RGB", (box[2] + 4, box[3] + 4), BACKGROUND)
    ImageDraw.Draw(label).text((2, 2), text, font=font, fill=INK)
    turned = label.rotate(90, expand=True)
    x, y = centre
    image.paste(turned, (int(x - turned.width / 2), int(y - turned.height / 2)))
