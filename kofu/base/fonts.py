"""The Japanese font embedded in every notice (Noto Sans JP, SIL OFL 1.1).

The font wheel ships Noto Sans JP with CFF outlines, which reportlab cannot embed, so it
is converted once to TrueType outlines and cached. The cached file carries a stamp of what
it was made from (in a private table), so upgrading the font wheel or this converter makes
a fresh conversion. One file, not file + sidecar: a single os.replace keeps them in step.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pylopdf_fonts_jp
import reportlab.pdfbase.ttfonts as rl_ttfonts
from reportlab.pdfbase import pdfmetrics

from kofu.base.atomic import write_atomic

NOTICE_FONT_NAME = "NotoSansJP"
FONT_FILE_NAME = "NotoSansJP-Regular.ttf"
# Bump when the conversion below changes, so existing caches are rebuilt.
CONVERTER_VERSION = "1"
# Private table holding the stamp. PDF subsets copy only the tables they need, so it never
# reaches a notice.
STAMP_TAG = "kofu"
# Cu2Qu tolerance in font units (1000 per em): 1 unit is 0.01 mm at 10 pt, far below print resolution.
CURVE_TOLERANCE = 1.0

_register_lock = threading.Lock()


def _source_stamp(source: Path) -> bytes:
    return (
        f"pylopdf-fonts-jp {pylopdf_fonts_jp.__version__} {source.name} "
        f"{source.stat().st_size} bytes; converter {CONVERTER_VERSION}"
    ).encode()


def _cached_stamp(font_path: Path) -> bytes | None:
    from fontTools.ttLib import TTFont, TTLibError

    try:
        # lazy=True reads only the table directory and the one table asked for (~1 ms).
        with TTFont(font_path, lazy=True) as font:
            return font[STAMP_TAG].data if STAMP_TAG in font else None
    except (OSError, TTLibError):
        return None


def _convert_cff_to_ttf(source: Path, stamp: bytes, out) -> None:
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(source)
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        # CFF contours run counter-clockwise, TrueType clockwise.
        glyph_set[name].draw(Cu2QuPen(pen, CURVE_TOLERANCE, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    # VORG is CFF-only; DSIG signs the original bytes and would be invalid after the change.
    for tag in ("VORG", "DSIG"):
        if tag in font:
            del font[tag]
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    # post format 3 drops glyph names: the CFF names are not needed and would bloat the file.
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    font[STAMP_TAG] = newTable(STAMP_TAG)
    font[STAMP_TAG].data = stamp
    font.save(out)


def notice_font_path(cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    font_path = cache_dir / FONT_FILE_NAME
    source = Path(pylopdf_fonts_jp.sans_path())
    stamp = _source_stamp(source)
    if _cached_stamp(font_path) == stamp:
        return font_path
    # About 12 s. Two processes may both convert; each replaces atomically with equal bytes.
    write_atomic(font_path, mode=0o600, write=lambda fh: _convert_cff_to_ttf(source, stamp, fh))
    return font_path


def _utf16_hex(code_point: int) -> str:
    return chr(code_point).encode("utf-16-be").hex().upper()


def _make_to_unicode_cmap(fontname, subset):
    # Copy of reportlab.pdfbase.ttfonts.makeToUnicodeCMap (reportlab 4.x) with one change:
    # the destination of each bfchar is UTF-16BE hex. The original writes "<%04X>", which for
    # a code point above U+FFFF (e.g. 𠮷 U+20BB7, common in registered names) gives "<20BB7>",
    # an odd-length string that PDF readers reject, so text extraction of the name breaks.
    # Above U+FFFF this writes the surrogate pair (<D842DFB7>); below it the output is unchanged.
    cmap = (
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
        ]
        + [f"<{i:02X}> <{_utf16_hex(v)}>" for i, v in enumerate(subset)]
        + [
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )
    return "\n".join(cmap)


def _install_to_unicode_fix() -> None:
    # ttfonts.TTFont.addObjects calls makeToUnicodeCMap by its module-level name, so
    # replacing the module attribute is enough.
    rl_ttfonts.makeToUnicodeCMap = _make_to_unicode_cmap


def register_notice_font(cache_dir: Path) -> str:
    # Loading the 5 MB font (~50 ms) and keeping one TTFont object lets reportlab reuse it:
    # once per process, never per notice. The lock covers Prefect's thread-pool task runner.
    with _register_lock:
        _install_to_unicode_fix()
        if NOTICE_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            path = notice_font_path(cache_dir)
            pdfmetrics.registerFont(rl_ttfonts.TTFont(NOTICE_FONT_NAME, str(path)))
    return NOTICE_FONT_NAME
