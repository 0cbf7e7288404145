"""The demo's synthetic resident register: households of made-up people at addresses in the
fictional 見本市 (kofu.tasks.demo.names), with statuses and individual numbers."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from kofu.base.mynumber import check_digit
from kofu.tasks.demo import names
from kofu.tasks.register.core import REGISTER_COLUMNS

STATUSES = ("resident", "moved_out", "deceased", "removed")
STATUS_SHARES = {"moved_out": 0.04, "deceased": 0.04, "removed": 0.02}  # the rest: resident
NO_NUMBER_SHARE = 0.05


@dataclass(frozen=True)
class RegisterRow:
    resident_code: str
    individual_number: str | None
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: str
    postal_code: str
    address: str
    status: str
    status_date: date | None


def generate_register(rng: random.Random, n: int) -> list[RegisterRow]:
    """``n`` register rows in households: members share a surname and an address."""
    book = names.AddressBook(rng, n)
    codes: set[str] = set()
    numbers: set[str] = set()
    rows: list[RegisterRow] = []
    while len(rows) < n:
        surname = names.pick_surname(rng)
        postal_code, address = book.new_household()
        taken: set[str] = set()
        for sex, birth in names.household_members(rng)[: n - len(rows)]:
            given = names.pick_given_name(rng, sex, birth.year, avoid=taken)
            taken.add(given.kanji)
            rows.append(
                new_resident(rng, codes, numbers, surname, given, sex, birth, postal_code, address)
            )
    return _assign_statuses(rng, rows)


def new_resident(
    rng: random.Random,
    codes: set[str],
    numbers: set[str],
    surname: names.Name,
    given: names.Name,
    sex: str,
    birth: date,
    postal_code: str,
    address: str,
    no_number_share: float = NO_NUMBER_SHARE,
) -> RegisterRow:
    """A resident with a fresh resident code and, most of the time, a fresh valid number."""
    number = None if rng.random() < no_number_share else new_number(rng, numbers)
    return RegisterRow(
        resident_code=unique_digits(rng, 11, codes),
        individual_number=number,
        family_name=surname.kanji,
        given_name=given.kanji,
        family_name_kana=surname.kana,
        given_name_kana=given.kana,
        birth_date=birth,
        sex=sex,
        postal_code=postal_code,
        address=address,
        status="resident",
        status_date=None,
    )


def write_register_csv(rows: Iterable[RegisterRow], path: Path) -> None:
    """UTF-8 with a header row; an absent value is an empty field."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(REGISTER_COLUMNS)
        for row in rows:
            values = (getattr(row, column) for column in REGISTER_COLUMNS)
            writer.writerow(["" if v is None else str(v) for v in values])


def unique_digits(rng: random.Random, width: int, used: set[str]) -> str:
    while True:
        value = f"{rng.randrange(10**width):0{width}d}"
        if value not in used:
            used.add(value)
            return value


def new_number(rng: random.Random, used: set[str]) -> str:
    """A fresh 12-digit individual number with a valid check digit."""
    while True:
        first = f"{rng.randrange(10**11):011d}"
        number = first + str(check_digit(first))
        if number not in used:
            used.add(number)
            return number


def _assign_statuses(rng: random.Random, rows: list[RegisterRow]) -> list[RegisterRow]:
    """Exact shares of non-resident statuses: deaths among the older, moves among adults."""
    n = len(rows)
    free = set(range(n))
    last = date(2026, 9, 30)
    for status, share in STATUS_SHARES.items():
        oldest_only = 1960 if status == "deceased" else 2007
        preferred = [i for i in sorted(free) if rows[i].birth_date.year < oldest_only]
        k = min(round(n * share), len(free))
        chosen = rng.sample(preferred, min(k, len(preferred)))
        chosen += rng.sample(sorted(free - set(chosen)), k - len(chosen))
        for i in chosen:
            free.discard(i)
            earliest = max(date(2020, 4, 1), rows[i].birth_date + timedelta(days=1))
            when = earliest + timedelta(days=rng.randrange(max((last - earliest).days, 1)))
            rows[i] = replace(rows[i], status=status, status_date=when)
    return rows
