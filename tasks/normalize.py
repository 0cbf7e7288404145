"""Normalised keys for comparing names, readings and addresses.

This is the exact-match tier: forms that mean the same text compare equal. Kanji variant
folding (髙/高) and scored similarity come with the fuzzy-matching issue.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

# Ideographic variation selectors (IVS) and standard variation selectors: they pick a glyph
# shape, not a different character.
_VARIATION_SELECTORS = re.compile("[\U000e0100-\U000e01ef\ufe00-\ufe0f]")
_SPACES = re.compile(r"\s+")
_KANJI_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")
# Units and 之/ノ/の count as separators only right after a number: さくらの里 keeps its の.
_ADDRESS_UNITS = re.compile(r"(?<=\d)(丁目|番地|番|号|の|之|ノ)")
_DASHES = re.compile(r"[‐‑‒–—―−ーｰ－-]+")


def name_key(family: str, given: str) -> str:
    text = unicodedata.normalize("NFKC", family + given)
    text = _VARIATION_SELECTORS.sub("", text)
    return _SPACES.sub("", text)


def kana_key(family_kana: str, given_kana: str) -> str:
    text = unicodedata.normalize("NFKC", family_kana + given_kana)
    text = jaconv.hira2kata(text)
    return _SPACES.sub("", text)


def address_key(address: str) -> str:
    """Street part of an address with numbers as hyphen-joined digits: 中央1丁目2番3号 -> 中央1-2-3."""
    text = unicodedata.normalize("NFKC", address)
    text = _SPACES.sub("", text)
    text = text.translate(_KANJI_DIGITS)
    text = _ADDRESS_UNITS.sub("-", text)
    text = _DASHES.sub("-", text)
    return text.strip("-")
