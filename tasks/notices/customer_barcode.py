"""Japan Post customer barcode (カスタマバーコード) for the address block of a notice.

Plain functions, no I/O: an address becomes its address number (住所表示番号), the postal
code and address number become 23 bar characters, and those become 67 bars that ``draw``
puts on a reportlab canvas.

Source: Japan Post 郵便番号・バーコードマニュアル, pages p12 (format, sizes), p17-p20
(抜き出し法: extracting the address number, truncation). The bar table is the one in zint
(backend/postal.c, JapanTable), because the manual gives it only as a picture; the tests
compare every bar with zint's JAPANPOST symbology.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from kofu.base.kanji_numerals import kanji_to_digits

START, STOP = "STC", "SPC"  # スタートコード, ストップコード
PAD = "CC4"  # fills the address number up to 13 characters (p12)
DATA_LENGTH = 20  # 7-digit postal code + 13 characters of address number (p12)
BAR_COUNT = 67  # start 2 + 21 characters × 3 + stop 2

LONG, ASCENDER, DESCENDER, TIMING = "long", "ascender", "descender", "timing"
_BAR_NAMES = {"L": LONG, "A": ASCENDER, "D": DESCENDER, "T": TIMING}
# L = long bar (ロングバー), A = upper semi-long (セミロングバー上), D = lower semi-long
# (セミロングバー下), T = timing bar (タイミングバー). zint writes these as 1, 2, 3, 4.
_PATTERNS = {
    "1": "LLT", "2": "LDA", "3": "DLA", "4": "LAD", "5": "LTL",
    "6": "DAL", "7": "ALD", "8": "ADL", "9": "TLL", "0": "LTT",
    "-": "TLT",
    "CC1": "DAT", "CC2": "DTA", "CC3": "ADT", "CC4": "TDA",
    "CC5": "ATD", "CC6": "TAD", "CC7": "TTL", "CC8": "LLL",
    START: "LD", STOP: "DL",
}  # fmt: skip
# Check digit values (p17 (7)): digits are themselves, "-" is 10, CC1..CC8 are 11..18.
_VALUES = {str(d): d for d in range(10)} | {"-": 10} | {f"CC{n}": 10 + n for n in range(1, 9)}
_CHARACTERS = {value: character for character, value in _VALUES.items()}

# --- Extraction of the address number (p19 抜き出しの基本ルール and 補足ルール) ---
# 補足ルール 1: a kanji numeral is a number only right before one of these markers.
# Anywhere else it is a name (北六条東, 一ツ橋) and becomes a separator like other kanji.
_KANJI_NUMERAL = re.compile(r"[〇零一壱二弐三参四五六七八九十拾百千]+(?=丁|番|号|地割|線|の|ノ)")
# 基本ルール 2: these are dropped and the text closes up, so 「A&b」 is a run of two letters.
_DROPPED = re.compile(r"[&/・.]")
# 基本ルール 3/4: only a letter standing alone is kept; a run of two or more is a name.
_LETTER_RUN = re.compile(r"[A-Z]{2,}")
# 「F」 right after a number is a floor: the manual turns ABCビル10F into 10 and ABCビル2F into
# 2 (p19 test table, p20). Its exact wording for this was not found; this is inferred.
_FLOOR = re.compile(r"(?<=\d)F")
_OTHER = re.compile(r"[^0-9A-Z-]+")
_HYPHENS = re.compile(r"-{2,}")
# A letter joins the numbers around it: 3-20-5-B604 -> 3-20-5B604 (p19's worked example,
# where the manual defers the step to its 補足ルール).
_HYPHEN_AROUND_LETTER = re.compile(r"-?([A-Z])-?")


def address_number(address: str, town: str | None = None) -> str:
    """住所表示番号 of the part of ``address`` after the town name (住所B).

    A leading prefecture, city or town name without numbers drops out by itself; pass
    ``town`` (町域名) when the town name holds a numeral before の/ノ/丁/番 (三ノ輪, 一番町).
    """
    # The manual splits the address after the town name first (p17, p18).
    if town and town in address:
        address = address.split(town, 1)[1]
    # Registers mix full- and half-width: １２Ａ－３ is 12A-3 (not in the manual).
    text = unicodedata.normalize("NFKC", address)
    # 補足ルール 1: 四丁目 -> 4丁目, 二十五番 -> 25番, 百一番地 -> 101番地.
    text = _KANJI_NUMERAL.sub(lambda m: kanji_to_digits(m.group()), text)
    text = text.upper()  # 基本ルール 1
    text = _DROPPED.sub("", text)  # 基本ルール 2
    text = _LETTER_RUN.sub("-", text)  # 基本ルール 3/4: ABCビル -> -ビル
    text = _FLOOR.sub("-", text)  # 補足: 10F -> 10
    # 基本ルール 4: kanji, kana, blanks and any other mark before a kept character become
    # one hyphen; 基本ルール 5: consecutive hyphens become one.
    text = _HYPHENS.sub("-", _OTHER.sub("-", text))
    text = _HYPHEN_AROUND_LETTER.sub(r"\1", text)
    # 基本ルール 6 strips a leading hyphen; a trailing one only comes from text after the
    # last number (403号, 10F), which the manual never extracts.
    return text.strip("-")


# --- Encoding ---


def _letter(ch: str) -> list[str]:
    # p12: a letter is a control code and a digit: A-J = CC1 0-9, K-T = CC2 0-9, U-Z = CC3 0-5.
    index = ord(ch) - ord("A")
    return [f"CC{index // 10 + 1}", str(index % 10)]


def check_character(data: list[str]) -> str:
    """The character that makes the sum of all values a multiple of 19 (p17 (7))."""
    return _CHARACTERS[-sum(_VALUES[c] for c in data) % 19]


def encode(postal_code: str, address: str, town: str | None = None) -> list[str]:
    """Bar characters: STC, 7 postal code digits, 13 address characters, check, SPC.
    ``town`` is passed on to ``address_number``."""
    postal = unicodedata.normalize("NFKC", postal_code).replace("-", "")
    if not re.fullmatch(r"\d{7}", postal):
        raise ValueError(f"postal code must have 7 digits: {postal_code!r}")
    data = list(postal)
    for ch in address_number(address, town):
        data += _letter(ch) if ch.isalpha() else [ch]
    # p20: beyond 20 characters the rest is cut off; a letter split at the 20th character
    # keeps its control code (CC1-CC3) and loses the digit, which the slice does.
    data = data[:DATA_LENGTH]
    data += [PAD] * (DATA_LENGTH - len(data))
    return [START, *data, check_character(data), STOP]


def bars(postal_code: str, address: str, town: str | None = None) -> list[str]:
    """The 67 bars, left to right, each "long", "ascender", "descender" or "timing"."""
    return [_BAR_NAMES[b] for ch in encode(postal_code, address, town) for b in _PATTERNS[ch]]


# --- Geometry (p12: sizes for a point size a, 8 <= a <= 11.5; a = 10 is the base) ---
MIN_POINT_SIZE, MAX_POINT_SIZE = 8.0, 11.5


@dataclass(frozen=True)
class BarGeometry:
    """Millimetre sizes of one barcode; a long bar is three timing-bar heights tall."""

    long_mm: float  # ロングバー長さ, 3.6 mm at 10 pt
    semi_long_mm: float  # upper or lower semi-long bar: the timing bar plus one third
    timing_mm: float  # タイミングバー長さ, 1.2 mm at 10 pt
    pitch_mm: float  # バーピッチ, 1.2 mm at 10 pt
    bar_width_mm: float  # バー幅, 0.6 mm at 10 pt (the space is the other 0.6 mm)

    @property
    def width_mm(self) -> float:
        return (BAR_COUNT - 1) * self.pitch_mm + self.bar_width_mm  # 79.8 mm at 10 pt

    @property
    def height_mm(self) -> float:
        return self.long_mm


def geometry(point_size: float = 10.0) -> BarGeometry:
    if not MIN_POINT_SIZE <= point_size <= MAX_POINT_SIZE:
        raise ValueError(f"Japan Post allows 8 to 11.5 pt, not {point_size}")
    scale = point_size / 10
    return BarGeometry(
        long_mm=3.6 * scale,
        semi_long_mm=2.4 * scale,
        timing_mm=1.2 * scale,
        pitch_mm=1.2 * scale,
        bar_width_mm=0.6 * scale,
    )


def draw(canvas: Any, x_mm: float, y_mm: float, bars: list[str], point_size: float = 10.0) -> None:
    """Draw ``bars`` with the bottom-left corner of the symbol at (x_mm, y_mm) in reportlab's
    bottom-up coordinates. Japan Post asks for black (or dark blue) bars on a light ground."""
    from reportlab.lib.units import mm

    size = geometry(point_size)
    third = size.timing_mm  # the long bar is split into three equal bands
    # (bottom, height) of each bar above the bottom of the symbol
    spans = {
        LONG: (0.0, size.long_mm),
        ASCENDER: (third, size.semi_long_mm),
        DESCENDER: (0.0, size.semi_long_mm),
        TIMING: (third, size.timing_mm),
    }
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    for i, bar in enumerate(bars):
        bottom, height = spans[bar]
        canvas.rect(
            (x_mm + i * size.pitch_mm) * mm,
            (y_mm + bottom) * mm,
            size.bar_width_mm * mm,
            height * mm,
            stroke=0,
            fill=1,
        )
    canvas.restoreState()
