"""Address keys: the street part, and the building part compared apart (DOMAIN.md, Addresses).

``street_and_building("見本市中央1丁目2番3号 さくらハイツ203号室")`` gives
("中央1-2-3", "さくらハイツ203"). ``kofu.tasks.matching.normalize.split_address`` then folds kanji variants
(澤/沢) with the same table as names.

The street key is the town name and its number chain, without the prefecture and the
municipality, which people write or leave out as they like. Steps, in order:
1. NFKC (full-width digits, letters and spaces to half-width), dashes to "-";
2. kanji numerals to digits, but only where they count (一丁目, 五百三十七の1, 第一), so that
   town names such as 九段, 五反田, 七軒町 and 一の坂 keep theirs;
3. 丁目/丁/番地/番 and の/之/ノ between numbers to "-"; 号 ends the street number (what follows
   is the building, 3号203 included); a unit after the last number goes;
4. ヶ/ケ/が and 之/ノ between two kanji to one form (霞ヶ関 = 霞が関, 一之江 = 一ノ江);
5. the street ends with the first chain of numbers joined by "-" (14-イ22 counts): the rest
   is the building. Without a chain, with the first number not followed by a kanji (第1地割);
6. a leading postal code, the prefecture and the municipality (見本市, 横浜市中区, 千代田区,
   東牟婁郡串本町) are dropped, and the markers 大字/字, as long as a town name is left
   before the number chain: 中央町1-2-3 keeps 中央町.

Known limits (the public normaliser solves them with its gazetteer of town names; we have none):
- 1-2-3-203 is read as a four-part street number, not 1-2-3 plus room 203;
- a town or village typed without its 郡 (串本町串本) keeps its name: it cannot be told from a
  town in a city (栗沢町万字寿町 in 岩見沢市), and cutting those would join different towns;
- a town name with a number typed once in kanji and once in digits (二十四軒 / 24軒) differs, and
  so does a town whose whole name is a number (花巻市十二丁目: the city stays);
- a town name that contains 市 (金木町喜良市) typed without its municipality is cut after 市;
- Kyoto street directions (寺町通御池上る) are kept, so they must be typed the same way.
"""

from __future__ import annotations

import re
import unicodedata

from kofu.base.kanji_numerals import kanji_to_digits

_POSTAL_CODE = re.compile(r"^\s*(?:〒\s*\d{3}-?\d{4}|\d{3}-\d{4}(?=\s))")
_PREFECTURE = re.compile(
    "^(?:日本国?)?(?:北海道|東京都|京都府|大阪府|(?:青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|"
    "埼玉|千葉|神奈川|新潟|富山|石川|福井|山梨|長野|岐阜|静岡|愛知|三重|滋賀|兵庫|奈良|和歌山|"
    "鳥取|島根|岡山|広島|山口|徳島|香川|愛媛|高知|福岡|佐賀|長崎|熊本|大分|宮崎|鹿児島|沖縄)県)"
)
# The municipality after the prefecture: a city and, for a 政令市, its ward; a 郡 and its
# town or village; or a Tokyo ward. 市 is tried first for 蒲郡市 and 大和郡山市. A town or
# village written without its 郡 is kept: its name alone cannot be told from a town-in-a-city
# (栗沢町万字寿町 in 岩見沢市), and cutting those would join different towns.
_CITY = re.compile(r"(?:四日市|廿日市|野々市)市|.{1,7}?市")
_WARD = re.compile(r".{1,5}?区")
_COUNTY_TOWN = re.compile(r".{1,5}?郡.{1,6}?[町村]")
# 大字 and 字 only mark a division's name: 大字 anywhere, 字 at the start and after 地割 (万字 is a
# name).
_SMALL_DIVISION = re.compile("大字|^字|(?<=地割)字")

_KANJI = r"\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f々"
_NUMERALS = "〇一二三四五六七八九十百千"

_SPACES = re.compile(r"\s+")
# Hyphens, minus signs and box-drawing lines; the long-vowel mark ー only after a digit.
_DASHES = re.compile(r"[‐‑‒–—―−─━﹣]")
_CHOON_AFTER_DIGIT = re.compile(r"(?<=\d)ー")
_KANJI_NUMBER = re.compile(f"[{_NUMERALS}]+")
# What may follow a kanji number for it to count as one. 番 always (一番町 and 1番町 become the
# same); 丁 and の only before another number (八丁堀 and 一の坂 stay names).
_COUNTS_BEFORE = re.compile(rf"丁目|条|線|地割|番|号|[-\s]|$|(?:丁|[の之ノー])(?=[\d{_NUMERALS}])")
_COUNTS_AFTER = re.compile(r"(?:第|-[A-Za-z]?)$")
_BETWEEN_NUMBERS = re.compile(
    r"(?<=\d)\s*(?:(?:丁目|丁|番地|番|[の之ノ-])\s*)+(?=[A-Za-zァ-ヺ]?\d)"
)
# 号 ends the street number (住居番号); whatever follows it belongs to the building.
_GO = re.compile(r"(?<=\d)号(?![室棟館])")
_TRAILING_UNIT = re.compile(r"(?<=\d)(?:丁目|番地|番(?![町丁])|号室|室)")
_KE = re.compile(f"(?<=[{_KANJI}])[ヶケがヵ](?=[{_KANJI}])")
_NO = re.compile(f"(?<=[{_KANJI}])[之ノ](?=[{_KANJI}])")
_CHAIN = re.compile(r"\d+(?:-[A-Za-zァ-ヺ]?\d+)+")
_LONE_NUMBER = re.compile(f"\\d+(?![\\d{_KANJI}])")
_BUILDING_NOISE = re.compile(r"^[-,、]+|[()「」\[\]]")


def _numbers_to_digits(text: str) -> str:
    def convert(m: re.Match[str]) -> str:
        counts = _COUNTS_BEFORE.match(text, m.end()) or _COUNTS_AFTER.search(text, 0, m.start())
        return kanji_to_digits(m.group()) if counts else m.group()

    return _KANJI_NUMBER.sub(convert, text)


def _strip_municipality(head: str) -> str:
    """Drop the prefecture and the municipality, as long as a town name is left."""
    head = _PREFECTURE.sub("", head, count=1)
    city = _CITY.match(head)
    if city and city.end() < len(head):
        head = head[city.end() :]
        ward = _WARD.match(head)
        if ward and ward.end() < len(head):
            head = head[ward.end() :]
    else:
        other = _COUNTY_TOWN.match(head) or _WARD.match(head)
        if other and other.end() < len(head):
            head = head[other.end() :]
    return _SMALL_DIVISION.sub("", head) or head


def street_and_building(address: str) -> tuple[str, str]:
    """(street key, building key) before kanji variant folding (``normalize.split_address``)."""
    text = unicodedata.normalize("NFKC", address).strip()
    text = _POSTAL_CODE.sub("", _DASHES.sub("-", text), count=1)
    text = _numbers_to_digits(text)
    text = _CHOON_AFTER_DIGIT.sub("-", text)
    text = _BETWEEN_NUMBERS.sub("-", text)
    text = _TRAILING_UNIT.sub("", _GO.sub(" ", text))
    text = _NO.sub("の", _KE.sub("ケ", text))
    chain = _CHAIN.search(text) or _LONE_NUMBER.search(text)
    if chain is None:
        head, number, rest = text, "", ""
    else:
        head, number, rest = text[: chain.start()], chain.group(), text[chain.end() :]
    head = _strip_municipality(_SPACES.sub("", head))
    building = _BUILDING_NOISE.sub("", _SPACES.sub("", rest))
    return head + number, building
