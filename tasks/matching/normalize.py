"""Normalised keys for comparing names, readings and addresses.

Each field has two keys:
- the *exact* key (``name_key_exact``, ``kana_key_exact``) removes only what never changes the
  text's meaning: width (NFKC), script of the reading, variation selectors and spaces;
- the folded key (``name_key``, ``kana_key``, ``address_key``) also folds the spellings that
  DOMAIN.md says mean the same person or place (髙/高, タロー/タロウ, 一丁目/1-).
Matching compares both, so that it can tell "exact" from "variant-equal".

Kanji variant table: the MJ縮退マップ, through ``jntajis-python`` (code BSD-3, data CC BY-SA
2.1 JP, NTA map CC BY 4.0). Chosen over ``ja-itaiji`` (MIT) because, measured on the DOMAIN
pairs:
- ja-itaiji has no entry for 𠮷, so 𠮷田 and 吉田 stay apart;
- its families are lists, not a mapping: closing them into classes merges 斎 with 斉 (through
  亝) and joins different characters (吉/桔, 崎/埼, 澤/途, 濱/頻);
- the MJ character set was built to cover the 住基 and 戸籍 registers' characters; it folds
  every DOMAIN pair while keeping 斎 and 斉 apart.
We use three of its four schemes: JIS包摂/UCS統合, 法務省告示582号別表第四 and the 戸籍法
related notices. The fourth (CITPC's inference by reading and glyph) has no legal standing.
The map's edges are closed into classes (``_canonical``); a character that leads to two
different classes (㐄 -> 牛 or 井) is left as it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import jaconv
from jntajis import MJShrinkSchemeCombo, mj_shrink_candidates

from kofu.tasks.matching.normalize_address import street_and_building

__all__ = [
    "address_key",
    "fold_kanji",
    "kana_key",
    "kana_key_exact",
    "name_key",
    "name_key_exact",
    "split_address",
]

# Ideographic variation selectors (IVS), standard variation selectors and zero-width
# characters: they pick a glyph shape or nothing, not a different character.
_INVISIBLE = re.compile("[\U000e0100-\U000e01ef\ufe00-\ufe0f\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"\s+")

# --- Kanji variants -----------------------------------------------------------------

_MJ_SCHEMES = (
    MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE
    | MJShrinkSchemeCombo.MOJ_NOTICE_582
    | MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE
)
# Characters that must stay their own class: their outgoing map entries are ignored.
# - 斎 and 斉 (DOMAIN.md): the map keeps them apart already; listed as a guard.
# - Pairs of different common (JIS level 1) kanji that the map's 誤字→正字 entries would join,
#   found by scanning every class for two level-1 members (tests/unit/test_normalize.py re-checks).
_KEEP_APART = frozenset("斎斉着著切功升舛宍肉帥師昼書玉王")
_IDEOGRAPHS = (
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs (NFKC leaves 﨑 and 11 others here)
    (0x20000, 0x3134F),  # extensions B-G (𠮷)
)


def _is_ideograph(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _IDEOGRAPHS)


def _jis_level(ch: str) -> int:
    """1 or 2 for JIS X 0208 level 1 or 2, 3 for anything else: the common form wins."""
    try:
        sjis = ch.encode("shift_jis")
    except UnicodeEncodeError:
        return 3
    return 1 if (sjis[0], sjis[1]) <= (0x98, 0x72) else 2


def _edges(ch: str) -> set[str]:
    if ch in _KEEP_APART:
        return set()
    out = set()
    for candidate in mj_shrink_candidates(ch, _MJ_SCHEMES):
        candidate = unicodedata.normalize("NFKC", candidate)
        if len(candidate) == 1 and candidate != ch:
            out.add(candidate)
    return out


def _reachable(ch: str) -> set[str]:
    seen, todo = {ch}, [ch]
    while todo:
        for nxt in _edges(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _canonical(ch: str) -> str:
    """The class representative of ``ch``: the map's edges lead from a variant towards the
    standard form but may loop (真 <-> 眞), so the class is the one closed set (sink) that
    every path from ``ch`` ends in; its most common member represents it."""
    reach = _reachable(ch)
    if len(reach) == 1:
        return ch
    closures = {v: _reachable(v) for v in reach}
    sinks = {frozenset(r) for v, r in closures.items() if all(v in closures[u] for u in r)}
    if len(sinks) != 1:
        return ch  # ambiguous: the map offers two different characters
    return min(sinks.pop(), key=lambda c: (_jis_level(c), ord(c)))


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each character (a few µs each)."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        folded = _canonical(ch) if _is_ideograph(cp) else ch
        self[cp] = folded
        return folded


_FOLD = _FoldTable()


def fold_kanji(text: str) -> str:
    return text.translate(_FOLD)


def _clean_name(parts: Iterable[str]) -> str:
    text = _INVISIBLE.sub("", "".join(parts))
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def name_key_exact(family: str, given: str) -> str:
    return _clean_name((family, given))


def name_key(family: str, given: str) -> str:
    return fold_kanji(_clean_name((family, given)))


# --- Readings -----------------------------------------------------------------------

_READING_NOISE = re.compile(r"[\s・=゠]+")
# ヴ and its combinations first (ヴィ -> ビ, not ブイ), then the single sounds.
_VU = re.compile("ヴ[ァィェォ]?")
_VU_ROW = {"ヴ": "ブ", "ヴァ": "バ", "ヴィ": "ビ", "ヴェ": "ベ", "ヴォ": "ボ"}
_SOUNDS = str.maketrans(
    "ァィゥェォッャュョヮヵヶヂヅヷヸヹヺヰヱヲ", "アイウエオツヤユヨワカケジズバビベボイエオ"
)
_VOWEL_OF = {
    **dict.fromkeys("アカガサザタダナハバパマヤラワ", "a"),
    **dict.fromkeys("イキギシジチニヒビピミリ", "i"),
    **dict.fromkeys("ウクグスズツヌフブプムユル", "u"),
    **dict.fromkeys("エケゲセゼテデネヘベペメレ", "e"),
    **dict.fromkeys("オコゴソゾトドノホボポモヨロ", "o"),
}
# The kana that lengthen the vowel before them: オウ/オオ/オー, ユウ/ユー, エイ/エー...
_LENGTHENS = {"a": "ア", "i": "イ", "u": "ウ", "e": "イエ", "o": "ウオ"}


def _fold_long_vowels(text: str) -> str:
    """Every spelling of a long vowel becomes ー: タロウ, タロオ, タロー -> タロー.

    Length is kept (サト and サトウ stay apart), and a vowel after a long one starts afresh:
    オオウチ -> オーウチ, not オーーチ.
    """
    out: list[str] = []
    vowel = None
    for ch in text:
        if ch == "ー" or (vowel is not None and ch in _LENGTHENS[vowel]):
            if not out or out[-1] != "ー":
                out.append("ー")
            vowel = None
        else:
            out.append(ch)
            vowel = _VOWEL_OF.get(ch)
    return "".join(out)


def _katakana(text: str) -> str:
    # NFKC first: it turns half-width ｶﾞ into ガ, which hira2kata leaves alone otherwise.
    return jaconv.hira2kata(unicodedata.normalize("NFKC", text))


def _fold_reading(text: str) -> str:
    text = _READING_NOISE.sub("", _katakana(text))
    text = _VU.sub(lambda m: _VU_ROW[m.group()], text)
    return _fold_long_vowels(text.translate(_SOUNDS))


def kana_key_exact(family_kana: str, given_kana: str) -> str:
    return _SPACES.sub("", _katakana(family_kana + given_kana))


def kana_key(family_kana: str, given_kana: str) -> str:
    # Each part alone: a long vowel never spans the family and given names (イト|ウタ).
    return _fold_reading(family_kana) + _fold_reading(given_kana)


# --- Addresses (the rules are in tasks/matching/normalize_address.py) --------------------------


def split_address(address: str) -> tuple[str, str]:
    """(street key, building key): 見本市中央1丁目2番3号 さくらハイツ203号室 ->
    ("中央1-2-3", "さくらハイツ203"); the building key is "" when there is none."""
    street, building = street_and_building(address)
    return fold_kanji(street), fold_kanji(building)


def address_key(address: str) -> str:
    return split_address(address)[0]
