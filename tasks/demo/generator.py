"""Synthetic resident register and application delivery, for ``kofu demo`` and the tests.

Everything comes from one seeded ``random.Random``: the same seed gives byte-identical files.
The delivery comes with its ground truth (``DeliveryTruth``): for every line, the state and
reason codes the pipeline is expected to reach, so a test can compare a run's export to it.

The people are made up (``kofu.tasks.demo.names``): common Japanese names, households at addresses
in the fictional 見本市, and random individual numbers with a valid check digit. Photos are
of a real face (``demo_names.portrait``: scikit-image's astronaut on a plain backdrop), so
that a good one is a 600 x 800 RGB JPEG that passes every photo check, face included.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

import jaconv

from kofu.base.clock import JST
from kofu.tasks.demo import names
from kofu.tasks.demo.photos import Photos, save_bad_photo, save_good_photo
from kofu.tasks.demo.register import (
    STATUSES,
    RegisterRow,
    generate_register,
    new_number,
    write_register_csv,
)

KIND_SHARES = {
    "good": 0.71,
    "no-number-good": 0.05,
    # Without a number, and with a slip in the house number (2番3号 typed 2番4号): the name,
    # reading, birth date, sex and postal code all agree, so the scored tier matches alone.
    "address-typo": 0.02,
    # Without a number, and with a slip in one digit of the birth date: the name and address
    # agree, but a person must decide.
    "needs-review": 0.02,
    "bad-photo": 0.07,
    "unknown": 0.05,
    "moved-out": 0.03,
    "deceased": 0.02,
    "removed": 0.01,
    "malformed": 0.02,
}
INELIGIBLE = {"moved-out": "moved_out", "deceased": "deceased", "removed": "removed"}
# Bad photos and malformed lines take these problems in turn.
BAD_PHOTOS = (
    "photo-not-jpeg",
    "photo-too-small-pixels",
    "photo-file-too-small",
    "photo-cmyk",
    # The two commonest reasons a real upload is sent back (DOMAIN.md).
    "head-cut-off",
    "background-not-plain",
)
MALFORMED = (
    "malformed-json",
    "missing-field",
    "bad-birth-date",
    "bad-postal-code",
    "photo-path-outside-delivery",
)
CHANNELS = {"smartphone": 60, "pc": 20, "kiosk": 12, "mail": 8}
_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class ExpectedOutcome:
    application_id: str  # "" for a line whose id cannot be read
    kind: str  # one of KIND_SHARES
    expected_state: str  # an application state, or "rejected-line"
    reasons: tuple[str, ...]
    resident_code: str | None  # the register row the line was derived from, if any
    # How matching should find the resident: "individual-number", "exact" or "scored".
    match_method: str | None = None


@dataclass(frozen=True)
class DeliveryTruth:
    folder: Path
    outcomes: list[ExpectedOutcome]  # in line order
    individual_numbers: list[str]  # every individual number written into the delivery

    def kind_counts(self) -> Counter[str]:
        return Counter(o.kind for o in self.outcomes)


# ---------------------------------------------------------------------------- delivery


def kind_counts(n: int) -> dict[str, int]:
    """How many applications of each kind a delivery of ``n`` holds (before any fallback)."""
    counts = {k: round(n * share) for k, share in KIND_SHARES.items() if k != "good"}
    return {"good": n - sum(counts.values()), **counts}


def generate_delivery(
    rng: random.Random,
    register: Sequence[RegisterRow],
    folder: Path,
    n: int,
    submitted_on: date,
    write_good_photo: Callable[[Path], None] | None = None,
) -> DeliveryTruth:
    """Write ``folder/applications.jsonl`` and ``folder/photos/``, and return the truth.
    ``write_good_photo(path)``, when given, writes the good photos instead of the demo's own
    (bench/nightly_scale.py links photos of realistic sizes).

    A kind whose register rows run out (say, too few ``removed`` rows with a number) falls
    back to a good application; ``truth.kind_counts()`` gives what was written.
    """
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    pools = _Pools(rng, register)
    photo_maker = Photos(rng)
    write_good = write_good_photo or partial(save_good_photo, photo_maker)
    kinds = [kind for kind, count in kind_counts(n).items() for _ in range(count)]
    rng.shuffle(kinds)
    evening = datetime.combine(submitted_on - timedelta(days=1), datetime.min.time(), JST)
    seconds = sorted(rng.randrange(18 * 3600, 24 * 3600) for _ in range(n))
    ids: set[str] = set()
    lines: list[str] = []
    outcomes: list[ExpectedOutcome] = []
    numbers: list[str] = []
    turn = Counter[str]()
    for kind, second in zip(kinds, seconds, strict=True):
        row = pools.take(kind)
        if row is None:
            kind, row = "good", pools.take("good")
            if row is None:
                raise ValueError("the register is too small for this many applications")
        app_id = _application_id(rng, ids)
        record = _record(rng, app_id, evening + timedelta(seconds=second), row, kind)
        photo = photos / f"{app_id}.jpg"
        state, reasons, line, method = "notice_generated", (), None, None
        if kind == "bad-photo":
            problem = BAD_PHOTOS[turn[kind] % len(BAD_PHOTOS)]
            state, reasons = "photo_rejected", save_bad_photo(photo_maker, photo, problem)
        elif kind == "malformed":
            problem = MALFORMED[turn[kind] % len(MALFORMED)]
            state, reasons, line = _malform(record, problem)
            if state == "rejected-line":
                app_id = ""
            if problem not in ("malformed-json", "photo-path-outside-delivery"):
                write_good(photo)
        else:
            write_good(photo)
            state, reasons, method = _expected_match(kind, record)
        turn[kind] += 1
        line = json.dumps(record, ensure_ascii=False) if line is None else line
        number = record.get("individual_number")
        if number and number in line:
            numbers.append(number)
        lines.append(line)
        code = row.resident_code or None  # a stranger has none
        outcomes.append(ExpectedOutcome(app_id, kind, state, tuple(reasons), code, method))
    (folder / "applications.jsonl").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return DeliveryTruth(folder=folder, outcomes=outcomes, individual_numbers=numbers)


def _malform(record: dict, problem: str) -> tuple[str, tuple[str, ...], str | None]:
    """Break ``record`` the way ``problem`` says: the state and reasons it should reach, and
    the line to write instead of the record (a truncated upload), if any."""
    if problem == "malformed-json":
        text = json.dumps(record, ensure_ascii=False)
        return "rejected-line", (problem,), text[: len(text) // 2]
    if problem == "missing-field":
        del record["birth_date"]
    elif problem == "bad-birth-date":
        record["birth_date"] = "2023-02-30"
    elif problem == "bad-postal-code":
        record["postal_code"] = "12-345"
    else:
        record["photo"] = "../../etc/passwd"
    return "invalid", (problem,), None


def _expected_match(kind: str, record: dict) -> tuple[str, tuple[str, ...], str | None]:
    """A well-formed application with a good photo: its state, reasons and match tier."""
    if kind == "unknown":
        return "no_match", ("not-in-register",), None
    if kind == "needs-review":
        return "needs_review", ("partial-match",), None
    state, reasons = ("ineligible", (kind,)) if kind in INELIGIBLE else ("notice_generated", ())
    if kind == "address-typo":
        method = "scored"
    else:
        method = "individual-number" if "individual_number" in record else "exact"
    return state, reasons, method


def _application_id(rng: random.Random, used: set[str]) -> str:
    """23 digits, unique, without a leading zero (which a careless ``int()`` would lose)."""
    while True:
        app_id = str(rng.randrange(10**22, 10**23))
        if app_id not in used:
            used.add(app_id)
            return app_id


def _record(
    rng: random.Random, app_id: str, submitted_at: datetime, row: RegisterRow, kind: str
) -> dict[str, str]:
    record = {
        "application_id": app_id,
        "submitted_at": submitted_at.isoformat(),
        "channel": rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0],
    }
    # About one application in ten comes without a number: all "no-number-good" ones, and
    # half of those that fail before matching.
    omit_number = kind in ("no-number-good", "address-typo", "needs-review") or (
        kind in ("bad-photo", "malformed") and rng.random() < 0.5
    )
    if row.individual_number and not omit_number:
        record["individual_number"] = row.individual_number
    family_kana, given_kana, address = row.family_name_kana, row.given_name_kana, row.address
    if kind == "good":
        # As typed: readings sometimes in hiragana, digits sometimes full-width (NFKC folds both).
        if rng.random() < 0.15:
            family_kana, given_kana = jaconv.kata2hira(family_kana), jaconv.kata2hira(given_kana)
        if rng.random() < 0.15:
            address = address.translate(_FULL_WIDTH_DIGITS)
    birth_date = row.birth_date
    if kind == "address-typo":
        address = _other_house_number(address)
    if kind == "needs-review":
        birth_date = _one_digit_slip(birth_date)
    record.update(
        family_name=row.family_name,
        given_name=row.given_name,
        family_name_kana=family_kana,
        given_name_kana=given_kana,
        birth_date=birth_date.isoformat(),
        sex=row.sex,
        postal_code=row.postal_code,
        address=address,
        photo=f"photos/{app_id}.jpg",
    )
    return record


def _other_house_number(address: str) -> str:
    """The same street with another 号 (house number): 中央1丁目2番3号 -> 中央1丁目2番4号.
    Every demo address has one (``demo_names.AddressBook``)."""
    match = re.search(r"(\d+)号", address)
    if match is None:
        raise ValueError("a demo address without a house number")
    return address[: match.start(1)] + str(int(match.group(1)) + 1) + address[match.end(1) :]


def _one_digit_slip(birth: date) -> date:
    """The same birth date with one digit of the day typed wrong: 12 -> 13, 19 -> 18, 30 -> 31."""
    day = f"{birth.day:02d}"
    for position in (1, 0):
        for step in (1, -1):
            digit = int(day[position]) + step
            typed = int(day[:position] + str(digit) + day[position + 1 :]) if 0 <= digit <= 9 else 0
            try:
                return birth.replace(day=typed)
            except ValueError:  # day 0, or past the month's end
                continue
    raise ValueError(f"no one-digit slip for {birth}")


class _Pools:
    """Register rows to draw applicants from; each row is used at most once."""

    def __init__(self, rng: random.Random, register: Sequence[RegisterRow]) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.by_status: dict[str, list[RegisterRow]] = {s: [] for s in STATUSES}
        for row in register:
            if row.individual_number:
                self.by_status[row.status].append(row)
        # Matched without a number: the name and birth date must point at one row only.
        people = Counter((r.family_name, r.given_name, r.birth_date) for r in register)
        self.unique_residents = [
            r
            for r in register
            if r.status == "resident" and people[(r.family_name, r.given_name, r.birth_date)] == 1
        ]
        for pool in (*self.by_status.values(), self.unique_residents):
            rng.shuffle(pool)
        # A stranger must not share a name, or a reading, and a birth date with anyone here.
        self.people = set(people) | {
            (r.family_name_kana, r.given_name_kana, r.birth_date) for r in register
        }
        self.numbers = {r.individual_number for r in register if r.individual_number}
        self.book = names.AddressBook(rng, len(register))

    def take(self, kind: str) -> RegisterRow | None:
        if kind == "unknown":
            return self._stranger()
        if kind in ("no-number-good", "address-typo", "needs-review"):
            pool = self.unique_residents
        else:
            pool = self.by_status[INELIGIBLE.get(kind, "resident")]
        while pool:
            row = pool.pop()
            if row.resident_code not in self.used:
                self.used.add(row.resident_code)
                return row
        return None

    def _stranger(self) -> RegisterRow:
        """A made-up person who is not in the register, with a number nobody there has."""
        rng = self.rng
        while True:
            surname = names.pick_surname(rng)
            sex = rng.choice("12")
            birth = names.birth_in(rng, rng.randint(1940, 2006))
            given = names.pick_given_name(rng, sex, birth.year, avoid=set())
            keys = {(surname.kanji, given.kanji, birth), (surname.kana, given.kana, birth)}
            if not keys & self.people:
                break
        postal_code, address = self.book.anywhere()
        return RegisterRow(
            resident_code="",
            individual_number=new_number(rng, self.numbers),
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


# ---------------------------------------------------------------------------- demo


def write_demo_data(
    folder: Path,
    *,
    seed: int = 20261126,
    residents: int = 3000,
    applications: int = 300,
    submitted_on: date,
    write_good_photo: Callable[[Path], None] | None = None,
) -> tuple[Path, DeliveryTruth]:
    """``folder/register.csv`` and the delivery ``folder/inbox/<submitted_on>/``."""
    rng = random.Random(seed)
    register = generate_register(rng, residents)
    register_csv = folder / "register.csv"
    write_register_csv(register, register_csv)
    inbox = folder / "inbox" / submitted_on.isoformat()
    truth = generate_delivery(rng, register, inbox, applications, submitted_on, write_good_photo)
    return register_csv, truth
