"""A synthetic resident register for the matching evaluation (``bench/match_eval.py``).

Names come from two sources:
- ``japanese-personal-name-dataset`` (PyPI, MIT; an ``eval`` extra, read offline from its
  wheel): 1,999 surnames with their estimated number of bearers (名字由来net) and readings, and
  9,463 given-name readings, each with every kanji spelling known for it;
- ``kofu.tasks.demo.names``: the era-typed common given names (茂 for 1950, 陽翔 for 2015) and the
  variant spellings (髙橋, 山﨑, 𠮷田) that the dataset lacks.

Surnames are drawn by their number of bearers, so 佐藤 is the commonest and the long tail is
there. The dataset gives no frequency for given names, so half of them are the era-typed
common ones; the other half are a dataset reading (popular subset 4 in 5, the full list 1 in
5) written with one of its spellings, weighted towards spellings made of common name kanji
(how many of the dataset's spellings use each character) and of JIS level-1 characters.

Households, addresses (in the fictional 見本市) and birth years come from ``kofu.tasks.demo.names``.
About 2% of children are twins: same household, birth date and surname, and a similar given
name (翔太/翔太郎, 美咲/美咲希, 大輝/大翔). Individual numbers carry a valid check digit, and 5%
of residents have none. Statuses are mixed: about 4% moved out, 3% deceased (mostly the old),
2% removed.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

import jaconv

from kofu.tasks.demo import names as demo_names
from kofu.tasks.demo.register import RegisterRow, new_resident

NO_NUMBER_SHARE = 0.05
TWIN_SHARE = 0.02  # of children born into a family household
DEMO_NAME_SHARE = 0.5  # of given names: the era-typed common ones
FULL_LIST_SHARE = 0.2  # of dataset given names: from the full list, not the popular subset
SURNAME_UNIT = 10_000  # kofu.tasks.demo.names weights are in units of 10,000 bearers


@dataclass(frozen=True)
class Name:
    kanji: str
    kana: str  # full-width katakana


class _Weighted:
    """Weighted sampling in O(log n) per draw."""

    def __init__(self, items: list, weights: list[float]) -> None:
        self.items = items
        self.cum = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def _jis_weight(ch: str) -> float:
    try:
        sjis = ch.encode("shift_jis")
    except UnicodeEncodeError:
        return 0.02
    return 1.0 if (sjis[0], sjis[1]) <= (0x98, 0x72) else 0.2


def _katakana(hiragana: str) -> str:
    return jaconv.hira2kata(hiragana)


class NamePools:
    def __init__(self) -> None:
        self.source = "kofu.tasks.demo.names"
        surnames: dict[str, tuple[str, float]] = {
            s.kanji: (s.kana, s.weight * SURNAME_UNIT) for s in demo_names.SURNAMES
        }
        self.dataset: dict[str, list[tuple[Name, float]]] = {"1": [], "2": []}
        try:
            from japanese_personal_name_dataset import load_dataset
        except ImportError:  # the eval extra is not installed: the demo tables alone
            pass
        else:
            self.source = "japanese-personal-name-dataset + kofu.tasks.demo.names"
            man, woman, last = load_dataset(include_last_names=True)
            man_pop, woman_pop = load_dataset(kind="opti")
            for kanji, entry in last.items():
                if unicodedata.normalize("NFKC", kanji) == kanji:
                    surnames[kanji] = (_katakana(entry["reading"]), float(entry["count"]))
            for sex, full, popular in (("1", man, man_pop), ("2", woman, woman_pop)):
                self.dataset[sex] = self._given_from_dataset(full, popular)
        names = list(surnames)
        self.surnames = _Weighted(
            [Name(k, surnames[k][0]) for k in names], [surnames[k][1] for k in names]
        )
        self.surname_count = len(names)
        self.dataset_pick = {
            sex: _Weighted([n for n, _ in entries], [w for _, w in entries])
            for sex, entries in self.dataset.items()
            if entries
        }
        demo = {"1": demo_names.MALE_NAMES, "2": demo_names.FEMALE_NAMES}
        self.by_first_char: dict[str, dict[str, list[Name]]] = {"1": {}, "2": {}}
        for sex in ("1", "2"):
            everyone = [Name(g.kanji, g.kana) for g in demo[sex]]
            everyone += [n for n, _ in self.dataset[sex]]
            index: dict[str, list[Name]] = defaultdict(list)
            for name in dict.fromkeys(everyone):
                index[name.kanji[0]].append(name)
            self.by_first_char[sex] = dict(index)

    @staticmethod
    def _given_from_dataset(full: dict, popular: dict) -> list[tuple[Name, float]]:
        usage = Counter(ch for entry in full.values() for k in entry["kanji"] for ch in set(k))
        out: list[tuple[Name, float]] = []
        for table, share in ((popular, 1 - FULL_LIST_SHARE), (full, FULL_LIST_SHARE)):
            per_reading = share / len(table)
            for reading, entry in table.items():
                spellings = [
                    k for k in entry["kanji"] if unicodedata.normalize("NFKC", k) == k and k
                ]
                if not spellings:
                    continue
                weights = []
                for k in spellings:
                    common = math.exp(sum(math.log(usage[c] + 1) for c in k) / len(k))
                    weights.append(common**2 * math.prod(_jis_weight(c) for c in k))
                total = sum(weights)
                kana = _katakana(reading)
                out += [
                    (Name(k, kana), per_reading * w / total)
                    for k, w in zip(spellings, weights, strict=True)
                ]
        return out

    def surname(self, rng: random.Random) -> Name:
        return self.surnames.pick(rng)

    def given(self, rng: random.Random, sex: str, year: int, avoid: set[str]) -> Name:
        while True:
            if rng.random() < DEMO_NAME_SHARE or sex not in self.dataset_pick:
                g = demo_names.pick_given_name(rng, sex, year, avoid)
                name = Name(g.kanji, g.kana)
            else:
                name = self.dataset_pick[sex].pick(rng)
            if name.kanji not in avoid:
                return name

    def twin_name(self, rng: random.Random, given: Name, sex: str) -> Name:
        """A name a parent might give the other twin: 翔太 -> 翔太郎, 美咲 -> 美咲希, 大輝 -> 大翔."""
        if sex == "1":
            endings = {"太": ("郎", "ロウ"), "一": ("郎", "ロウ"), "平": ("太", "タ")}
            suffix = endings.get(given.kanji[-1])
        else:
            suffix = ("子", "コ") if len(given.kanji) == 1 else ("希", "キ")
        options = []
        if suffix and len(given.kanji) <= 2 and not given.kanji.endswith(suffix[0]):
            options.append(Name(given.kanji + suffix[0], given.kana + suffix[1]))
        shared = [
            n
            for n in self.by_first_char[sex].get(given.kanji[0], [])
            if n.kanji != given.kanji and n.kana != given.kana
        ]
        if shared:
            options += rng.sample(shared, min(2, len(shared)))
        if not options:  # a name no other name starts like: the commonest twin pattern
            return (
                Name(given.kanji + "子", given.kana + "コ")
                if sex == "2"
                else Name(given.kanji + "郎", given.kana + "ロウ")
            )
        return rng.choice(options)


@dataclass
class SyntheticRegister:
    rows: list[RegisterRow]
    twin_of: dict[str, str]  # resident_code -> the other twin's, both ways
    pools: NamePools


def build_register(rng: random.Random, n: int, pools: NamePools) -> SyntheticRegister:
    book = demo_names.AddressBook(rng, n)
    codes: set[str] = set()
    numbers: set[str] = set()
    rows: list[RegisterRow] = []
    twin_of: dict[str, str] = {}

    def person(surname: Name, given: Name, sex: str, birth: date, postal: str, address: str):
        return new_resident(
            rng, codes, numbers, surname, given, sex, birth, postal, address, NO_NUMBER_SHARE
        )

    while len(rows) < n:
        surname = pools.surname(rng)
        postal, address = book.new_household()
        taken: set[str] = set()
        members = demo_names.household_members(rng)
        for sex, birth in members:
            if len(rows) >= n:
                break
            given = pools.given(rng, sex, birth.year, taken)
            taken.add(given.kanji)
            rows.append(person(surname, given, sex, birth, postal, address))
            is_child = birth.year >= members[0][1].year + 15
            if is_child and len(rows) < n and rng.random() < TWIN_SHARE:
                twin_sex = sex if rng.random() < 0.5 else rng.choice("12")
                twin_given = pools.twin_name(rng, given, twin_sex)
                if twin_given.kanji in taken:
                    continue
                taken.add(twin_given.kanji)
                rows.append(person(surname, twin_given, twin_sex, birth, postal, address))
                a, b = rows[-2].resident_code, rows[-1].resident_code
                twin_of[a], twin_of[b] = b, a
    return SyntheticRegister(_assign_statuses(rng, rows, twin_of), twin_of, pools)


def _assign_statuses(
    rng: random.Random, rows: list[RegisterRow], twin_of: dict[str, str]
) -> list[RegisterRow]:
    """Deaths mostly among the old, moves among adults; twins stay residents (they are the
    near-twin test, which needs both in the register)."""
    last = date(2026, 9, 30)
    for i, row in enumerate(rows):
        if row.resident_code in twin_of:
            continue
        year, u = row.birth_date.year, rng.random()
        p_deceased = 0.15 if year < 1955 else 0.003
        p_moved = 0.045 if year <= 2006 else 0.02
        if u < p_deceased:
            status = "deceased"
        elif u < p_deceased + p_moved:
            status = "moved_out"
        elif u < p_deceased + p_moved + 0.02:
            status = "removed"
        else:
            continue
        earliest = max(date(2020, 4, 1), row.birth_date + timedelta(days=1))
        when = earliest + timedelta(days=rng.randrange(max((last - earliest).days, 1)))
        rows[i] = replace(row, status=status, status_date=when)
    return rows
