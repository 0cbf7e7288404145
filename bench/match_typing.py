"""How people type the same name, reading and address: the spellings the normalisers must
fold (``bench/match_corruptions.py`` applies them).

- Variant kanji: registered variant pairs, only those ``name_key`` folds together.
- Readings: the spellings ``kana_key`` folds (long vowels, small kana, ヂ/ヅ, script, width),
  and typos that it must not fold.
- Addresses: the forms people type for the register's ``見本市{町}{丁目}丁目{番}番{号}号``.
- Homophone kanji: a different character an input method offers for the same reading.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from functools import cache

import jaconv

from kofu.tasks.matching.normalize import kana_key, name_key

# Variant kanji pairs from DOMAIN.md and the 戸籍 variants common in names; only the pairs
# that ``name_key`` folds together are used (``variant_pairs``).
VARIANT_CANDIDATES = (
    "髙高 﨑崎 嵜崎 齋斎 齊斉 邊辺 邉辺 澤沢 濱浜 濵浜 𠮷吉 廣広 嶋島 嶌島 冨富 德徳 國国 櫻桜 "
    "惠恵 眞真 實実 條条 瀨瀬 淺浅 藏蔵 龍竜 槇槙 栁柳 舘館 峯峰 萬万 壽寿 穗穂 彌弥 靜静 "
    "曾曽 禮礼 學学 榮栄 傳伝 當当 黑黒 籠篭"
)
# Kanji an input method offers for the same reading: a different character, not a variant.
HOMOPHONES = ("裕祐佑雄優", "博浩弘宏洋", "智知友朋", "斎斉", "和一", "隆孝貴崇", "明昭彰", "美実")
HOMOPHONE_OF = {ch: group for group in HOMOPHONES for ch in group}
_ADDRESS = re.compile(r"^(見本市)(\D+?)(\d+)丁目(\d+)番(\d+)号(?: (\D+)(\d+))?$")
_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_KANJI_DIGITS = "〇一二三四五六七八九"


@cache
def variant_pairs() -> tuple[tuple[str, str], ...]:
    return tuple(
        (v, s)
        for v, s in (tuple(p) for p in VARIANT_CANDIDATES.split())
        if v != s and name_key(v, "") == name_key(s, "")
    )


@cache
def variant_of() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for v, s in variant_pairs():
        out[s].append(v)
        out[v].append(s)
    return dict(out)


def _kanji_number(n: int) -> str:
    if n < 10:
        return _KANJI_DIGITS[n]
    out = ""
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, value)
        if q:
            out += ("" if q == 1 else _KANJI_DIGITS[q]) + unit
    return out + (_KANJI_DIGITS[n] if n else "")


def address_forms(address: str, postal_code: str) -> dict[str, str]:
    """The same address as people type it, by form name."""
    m = _ADDRESS.match(address)
    if m is None:
        return {}
    city, town, c, b, g, building, room = m.groups()
    flat = f" {building}{room}" if building else ""
    forms = {
        "kanji-numerals": f"{city}{town}{_kanji_number(int(c))}丁目{_kanji_number(int(b))}番"
        f"{_kanji_number(int(g))}号{flat}",
        "hyphens": f"{city}{town}{c}-{b}-{g}{flat}",
        "full-width": f"{city}{town}{c}-{b}-{g}".translate(_FULL_WIDTH) + flat,
        "no-municipality": f"{town}{c}丁目{b}番{g}号{flat}",
        "with-prefecture": f"千葉県{address}",
        "banchi": f"{city}{town}{c}丁目{b}番地{g}{flat}",
        "no-particles": f"{city}{town}{c}の{b}の{g}{flat}",
        "postal-code-first": f"〒{postal_code} {city}{town}{c}-{b}-{g}{flat}",
    }
    if building:
        forms["building-dropped"] = f"{city}{town}{c}丁目{b}番{g}号"
        forms["room-with-go-shitsu"] = f"{city}{town}{c}-{b}-{g} {building} {room}号室"
        # A known limit of the normaliser: read as a four-part street number.
        forms["room-as-fourth-number"] = f"{city}{town}{c}-{b}-{g}-{room}"
    return forms


def kana_variants(kana: str) -> dict[str, str]:
    """Spellings of the same reading that ``kana_key`` folds, by form name."""
    out = {
        "hiragana": jaconv.kata2hira(kana),
        "half-width": jaconv.z2h(kana, kana=True, ascii=False, digit=False),
    }
    # ウ after an o- or u-sound lengthens it (サトウ, ユウコ) unless a vowel follows (イノウエ).
    long_vowel = re.sub(
        "(?<=[オコゴソゾトドノホボポモヨロョウクグスズツヌフブプムユルュ])ウ(?![アイウエオ])",
        "ー",
        kana,
        count=1,
    )
    if long_vowel != kana:
        out["long-vowel-bar"] = long_vowel
    elif "ー" in kana:
        out["long-vowel-u"] = kana.replace("ー", "ウ", 1)
    big = kana.translate(str.maketrans("ャュョッァィェォ", "ヤユヨツアイエオ"))
    if big != kana:
        out["small-kana-big"] = big
    dz = kana.translate(str.maketrans("ヂヅ", "ジズ"))
    if dz != kana:
        out["dzi-zi"] = dz
    return out


_KANA_ROWS = [
    "アイウエオ",
    "カキクケコ",
    "ガギグゲゴ",
    "サシスセソ",
    "ザジズゼゾ",
    "タチツテト",
    "ダヂヅデド",
    "ナニヌネノ",
    "ハヒフヘホ",
    "バビブベボ",
    "パピプペポ",
    "マミムメモ",
    "ヤユヨ",
    "ラリルレロ",
    "ワン",
]


def reading_typo(rng: random.Random, kana: str) -> str:
    """One kana replaced by a neighbour: another vowel of its row, or its (un)voiced form."""
    for _ in range(20):
        i = rng.randrange(len(kana))
        row = next((r for r in _KANA_ROWS if kana[i] in r), None)
        if row is None:
            continue
        if rng.random() < 0.5:
            choice = rng.choice([c for c in row if c != kana[i]] or ["ア"])
        else:
            col = row.index(kana[i])
            rows = [r for r in _KANA_ROWS if len(r) == 5 and r != row and len(row) == 5]
            choice = rng.choice(rows)[col] if rows else rng.choice("アカサタナ")
        typo = kana[:i] + choice + kana[i + 1 :]
        if kana_key(typo, "") != kana_key(kana, ""):
            return typo
    return kana + "ア"
