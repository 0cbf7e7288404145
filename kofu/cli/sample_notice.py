"""The sample notice shown in the README (``make sample``): an invented resident, the sample
settings, rendered by the real notice code and rasterised to a PNG.

    python -m kofu.cli.sample_notice docs/sample-notice.png

The resident is made up (見本 花子 of 見本市) and has no individual number. The envelope
window is outlined in blue on the picture only, to show where the address block sits; the
PDF carries no such line.
"""

from __future__ import annotations

import io
import sys
from dataclasses import replace
from datetime import date, time
from pathlib import Path

from kofu.base.settings import SAMPLE_CONFIG, Municipality, load_municipality

DPI = 150  # sharp enough to read 8 pt text, about 200 KB as a 16-colour PNG
WINDOW_BLUE = (40, 110, 220)
ISSUED_ON = date(2026, 11, 26)
VISIT_DAY = date(2026, 12, 3)  # a Thursday, a week after the notice: the counters' lead time


def sample_notice_pdf(municipality: Municipality, font_name: str) -> bytes:
    from kofu.models import Resident, ResidentStatus
    from kofu.tasks.notices.core import notice_content
    from kofu.tasks.notices.pdf import VisitLine, render_notice

    resident = Resident(
        resident_code="99999999990",
        family_name="見本",
        given_name="花子",
        family_name_kana="ミホン",
        given_name_kana="ハナコ",
        birth_date=date(1988, 4, 12),
        sex="2",
        postal_code="999-0013",
        address="見本市桜台二丁目5番8号 さくらハイツ203",
        status=ResidentStatus.RESIDENT,
    )
    content = notice_content(municipality, f"{ISSUED_ON.year}-00000042", resident, ISSUED_ON)
    counter = municipality.counters[0]
    band = counter.bands[1] if len(counter.bands) > 1 else None
    start, end = (band.start, band.end) if band else (time(10), time(11))
    content = replace(content, visit=VisitLine(counter.name, VISIT_DAY, start, end))
    return render_notice(content, font_name, municipality.notice.window)


def sample_notice_png(municipality: Municipality, font_name: str) -> bytes:
    import pypdfium2 as pdfium  # a development dependency: only `make sample` needs it
    from PIL import Image, ImageDraw

    from kofu.tasks.notices.envelope_window import window_boxes

    page = pdfium.PdfDocument(sample_notice_pdf(municipality, font_name))[0]
    image = page.render(scale=DPI / 72).to_pil().convert("RGB")
    draw = ImageDraw.Draw(image)
    box = window_boxes(municipality.notice.window).window
    k = DPI / 25.4
    draw.rectangle(
        (box.left * k, box.top * k, box.right * k, box.bottom * k), outline=WINDOW_BLUE, width=3
    )
    # 16 colours are plenty for black text, greys and one blue, and keep the file small
    # (octree keeps the blue; median cut folds it into a grey).
    small = image.quantize(colors=16, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    small.save(out, "PNG")
    return out.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kofu.cli.sample_notice OUT.png", file=sys.stderr)
        return 2
    from kofu.base.fonts import register_notice_font
    from kofu.base.settings import get_settings

    font = register_notice_font(get_settings().data_dir / "fonts")
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(sample_notice_png(load_municipality(SAMPLE_CONFIG), font))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
