"""Kanji numerals to digits, shared by the address normaliser and the customer barcode."""

from __future__ import annotations

# The legal forms (壱弐参拾) appear in old registers and on Japan Post's lists.
DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "壱": 1, "弐": 2, "参": 3}
UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}


def kanji_to_digits(numeral: str) -> str:
    """二十三 -> 23, 百一 -> 101, and positional 一〇 -> 10 (no unit characters)."""
    if not any(c in UNITS for c in numeral):
        return "".join(str(DIGITS[c]) for c in numeral)
    total = current = 0
    for c in numeral:
        if c in UNITS:
            total += (current or 1) * UNITS[c]
            current = 0
        else:
            current = current * 10 + DIGITS[c]
    return str(total + current)
