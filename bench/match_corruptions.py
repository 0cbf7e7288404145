"""Applications derived from a synthetic register, each labelled with the truth.

``derive_applications(rng, register, n)`` returns ``n`` applications as a person would type
them, each with the resident_code it belongs to (None for someone not in the register) and
the kind of corruption applied. Kinds and shares (``KIND_SHARES``) are an assumption, weighted
towards the hard cases rather than measured: the per-kind table in the report lets a reader
re-weight them.

Every application also gets the harmless noise of typing (``_as_typed``): 15% have their
reading in hiragana, 20% their address in another form (full-width digits, kanji numerals,
no municipality…; ``bench/match_typing.py`` has the forms). A resident applies at most once.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date

import jaconv

from bench.match_register import Name, SyntheticRegister
from bench.match_typing import (
    HOMOPHONE_OF,
    address_forms,
    kana_variants,
    reading_typo,
    variant_of,
)
from kofu.tasks.demo import names as demo_names
from kofu.tasks.demo.register import RegisterRow, new_number
from kofu.tasks.matching.normalize import address_key, kana_key, name_key

# kind -> share of the applications; "as-registered" takes what is left.
KIND_SHARES = {
    "no-number": 0.08,  # as registered, without the individual number
    "variant-kanji": 0.05,  # 髙橋 for 高橋 (either way round)
    "kana-spelling": 0.05,  # タロー, small kana written big, ヅ/ズ, hiragana, half-width
    "address-form": 0.06,  # 一丁目二番三号, 1-2-3, full-width, no municipality, building part
    "number-typo": 0.02,  # one wrong digit in the individual number
    "moved": 0.02,  # applied from the old address; the register has the new one
    "married": 0.005,  # the other surname (and its reading) than the register's
    "reading-typo": 0.02,  # one kana of the reading wrong
    "birth-date-typo": 0.005,  # a digit of the month or day, or day and month swapped
    "homophone-kanji": 0.01,  # a different kanji with the same reading (裕/祐, 博/浩)
    "ineligible": 0.03,  # moved out, deceased or removed, applying as registered
    "twin": 0.01,  # one of registered twins (same birth date, surname, address)
    "stranger": 0.04,  # not in the register
    "stranger-same-birth-surname": 0.01,  # not registered; a resident shares both
    "twin-not-registered": 0.005,  # a resident's twin who is not in this register
}
# What a careful person would decide, for the report's "designed" column.
DESIGNED = {
    "as-registered": "match",
    "no-number": "match",
    "variant-kanji": "match",
    "kana-spelling": "match",
    "address-form": "match",
    "number-typo": "match",
    "moved": "match with number, else review",
    "married": "review",
    "reading-typo": "match",
    "birth-date-typo": "review",
    "homophone-kanji": "match with number, else review",
    "ineligible": "match (ineligible)",
    "twin": "match",
    "stranger": "no-match",
    "stranger-same-birth-surname": "no-match",
    "twin-not-registered": "review or no-match",
}
WITHOUT_NUMBER = 0.5  # of the corrupted kinds that may or may not carry the number
_OTHER_CITIES = (
    ("100-0001", "東京都千代田区千代田1番1号"),
    ("530-0001", "大阪府大阪市北区梅田3丁目1番1号"),
    ("231-0005", "神奈川県横浜市中区本町6丁目50番地10"),
    ("460-0001", "愛知県名古屋市中区三の丸3丁目1番1号"),
)


@dataclass(frozen=True)
class TypedApplication:
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: str
    postal_code: str
    address: str
    individual_number: str | None


@dataclass(frozen=True)
class LabelledApplication:
    application: TypedApplication
    truth: str | None  # the resident_code it belongs to
    kind: str
    detail: str  # what was changed (never the number)


class _Context:
    def __init__(self, rng: random.Random, register: SyntheticRegister) -> None:
        self.rng = rng
        self.register = register
        self.used: set[str] = set()
        self.numbers = {r.individual_number for r in register.rows if r.individual_number}
        self.by_birth: dict[date, list[RegisterRow]] = defaultdict(list)
        for row in register.rows:
            self.by_birth[row.birth_date].append(row)
        rows = list(register.rows)
        rng.shuffle(rows)
        variants = variant_of()
        self.pools: dict[str, list[RegisterRow]] = {
            "resident": [
                r
                for r in rows
                if r.status == "resident" and r.resident_code not in register.twin_of
            ],
            "ineligible": [r for r in rows if r.status != "resident"],
            "twin": [r for r in rows if r.resident_code in register.twin_of],
            "variant": [
                r
                for r in rows
                if r.status == "resident"
                and r.resident_code not in register.twin_of
                and any(ch in variants for ch in r.family_name + r.given_name)
            ],
            "homophone": [
                r
                for r in rows
                if r.status == "resident"
                and r.resident_code not in register.twin_of
                and any(ch in HOMOPHONE_OF for ch in r.given_name)
            ],
            "married": [
                r
                for r in rows
                if r.status == "resident"
                and r.sex == "2"
                and 1975 <= r.birth_date.year <= 2003
                and r.resident_code not in register.twin_of
            ],
        }
        self.book = demo_names.AddressBook(rng, len(register.rows))

    def take(self, pool: str) -> RegisterRow | None:
        rows = self.pools[pool]
        while rows:
            row = rows.pop()
            if row.resident_code not in self.used:
                self.used.add(row.resident_code)
                return row
        return None

    def is_registered(
        self, family: str, given: str, family_kana: str, given_kana: str, birth: date
    ) -> bool:
        """Someone in the register with this folded name or reading and birth date."""
        nk, kk = name_key(family, given), kana_key(family_kana, given_kana)
        return any(
            name_key(r.family_name, r.given_name) == nk
            or kana_key(r.family_name_kana, r.given_name_kana) == kk
            for r in self.by_birth.get(birth, ())
        )

    def number_for(self, row: RegisterRow, keep: bool = True) -> str | None:
        return row.individual_number if keep else None

    def maybe_number(self, p: float = WITHOUT_NUMBER) -> bool:
        return self.rng.random() >= p


def _typed(row: RegisterRow, number: str | None, **changes) -> TypedApplication:
    app = TypedApplication(
        family_name=row.family_name,
        given_name=row.given_name,
        family_name_kana=row.family_name_kana,
        given_name_kana=row.given_name_kana,
        birth_date=row.birth_date,
        sex=row.sex,
        postal_code=row.postal_code,
        address=row.address,
        individual_number=number,
    )
    return replace(app, **changes)


def _as_typed(rng: random.Random, app: TypedApplication, kind: str) -> TypedApplication:
    """Harmless typing noise, on top of the kind's own change."""
    changes: dict[str, str] = {}
    if kind not in ("kana-spelling", "reading-typo") and rng.random() < 0.15:
        changes["family_name_kana"] = jaconv.kata2hira(app.family_name_kana)
        changes["given_name_kana"] = jaconv.kata2hira(app.given_name_kana)
    if kind not in ("address-form", "moved") and rng.random() < 0.2:
        forms = address_forms(app.address, app.postal_code)
        forms.pop("room-as-fourth-number", None)  # that one changes the street key
        if forms:
            changes["address"] = forms[rng.choice(sorted(forms))]
    return replace(app, **changes)


# --- The kinds ------------------------------------------------------------------------------


def _as_registered(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    if row is None:
        return None
    keep = kind == "as-registered"
    return LabelledApplication(_typed(row, ctx.number_for(row, keep)), row.resident_code, kind, "")


def _variant_kanji(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("variant")
    if row is None:
        return None
    rng, variants = ctx.rng, variant_of()
    family, given = row.family_name, row.given_name
    spots = [(0, i) for i, ch in enumerate(family) if ch in variants]
    spots += [(1, i) for i, ch in enumerate(given) if ch in variants]
    part, i = rng.choice(spots)
    text = (family, given)[part]
    new = text[:i] + rng.choice(variants[text[i]]) + text[i + 1 :]
    change = {"family_name": new} if part == 0 else {"given_name": new}
    app = _typed(row, ctx.number_for(row, ctx.maybe_number()), **change)
    return LabelledApplication(app, row.resident_code, kind, f"{text}->{new}")


def _kana_spelling(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    if row is None:
        return None
    rng = ctx.rng
    options = [
        ("family_name_kana", form, text)
        for form, text in kana_variants(row.family_name_kana).items()
    ] + [
        ("given_name_kana", form, text) for form, text in kana_variants(row.given_name_kana).items()
    ]
    # Prefer the spellings that kana_key_exact tells apart (long vowels, small kana, ヅ).
    folded = [o for o in options if o[1] not in ("hiragana", "half-width")]
    field, form, text = rng.choice(folded if folded and rng.random() < 0.7 else options)
    app = _typed(row, ctx.number_for(row, ctx.maybe_number()), **{field: text})
    return LabelledApplication(app, row.resident_code, kind, form)


def _address_form(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    if row is None:
        return None
    forms = address_forms(row.address, row.postal_code)
    form = ctx.rng.choice(sorted(forms))
    app = _typed(row, ctx.number_for(row, ctx.maybe_number()), address=forms[form])
    return LabelledApplication(app, row.resident_code, kind, form)


def _number_typo(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    while row is not None and not row.individual_number:
        row = ctx.take("resident")
    if row is None or row.individual_number is None:
        return None
    rng, number = ctx.rng, row.individual_number
    i = rng.randrange(12)
    wrong = number[:i] + rng.choice([d for d in "0123456789" if d != number[i]]) + number[i + 1 :]
    return LabelledApplication(_typed(row, wrong), row.resident_code, kind, f"digit {i + 1}")


def _moved(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    if row is None:
        return None
    rng = ctx.rng
    if rng.random() < 0.2:
        postal, old, where = *rng.choice(_OTHER_CITIES), "from another city"
    else:
        postal, old = ctx.book.anywhere()
        while address_key(old) == address_key(row.address):
            postal, old = ctx.book.anywhere()
        where = "inside the municipality"
    keep = rng.random() < 2 / 3
    app = _typed(row, ctx.number_for(row, keep), address=old, postal_code=postal)
    return LabelledApplication(
        app, row.resident_code, kind, f"{where}, {'with' if keep else 'no'} number"
    )


def _married(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("married")
    if row is None:
        return None
    other = ctx.register.pools.surname(ctx.rng)
    while other.kanji == row.family_name or other.kana == row.family_name_kana:
        other = ctx.register.pools.surname(ctx.rng)
    keep = ctx.maybe_number()
    app = _typed(
        row, ctx.number_for(row, keep), family_name=other.kanji, family_name_kana=other.kana
    )
    return LabelledApplication(app, row.resident_code, kind, f"{'with' if keep else 'no'} number")


def _reading_typo_kind(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    if row is None:
        return None
    field = ctx.rng.choice(("family_name_kana", "given_name_kana"))
    typo = reading_typo(ctx.rng, getattr(row, field))
    app = _typed(row, ctx.number_for(row, ctx.maybe_number()), **{field: typo})
    return LabelledApplication(app, row.resident_code, kind, f"{getattr(row, field)}->{typo}")


def _birth_date_typo(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("resident")
    if row is None:
        return None
    rng, birth = ctx.rng, row.birth_date
    typo = None
    for _ in range(50):
        how = rng.choice(("month-digit", "day-digit", "day-month-swapped"))
        y, m, d = birth.year, birth.month, birth.day
        if how == "day-month-swapped":
            m, d = d, m
        elif how == "month-digit":
            m = (
                int(f"{m:02d}"[0] + rng.choice("0123456789"))
                if rng.random() < 0.5
                else int(rng.choice("01") + f"{m:02d}"[1])
            )
        else:
            digits = f"{d:02d}"
            i = rng.randrange(2)
            d = int(digits[:i] + rng.choice("0123456789") + digits[i + 1 :])
        try:
            typo = date(y, m, d)
        except ValueError:
            continue
        if typo != birth:
            break
        typo = None
    if typo is None:
        return None
    app = _typed(row, ctx.number_for(row, ctx.maybe_number()), birth_date=typo)
    return LabelledApplication(app, row.resident_code, kind, how)


def _homophone(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("homophone")
    if row is None:
        return None
    i = ctx.rng.choice([i for i, ch in enumerate(row.given_name) if ch in HOMOPHONE_OF])
    ch = row.given_name[i]
    other = ctx.rng.choice([c for c in HOMOPHONE_OF[ch] if c != ch])
    new = row.given_name[:i] + other + row.given_name[i + 1 :]
    app = _typed(row, ctx.number_for(row, ctx.maybe_number()), given_name=new)
    return LabelledApplication(app, row.resident_code, kind, f"{row.given_name}->{new}")


def _ineligible(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("ineligible")
    if row is None:
        return None
    return LabelledApplication(
        _typed(row, row.individual_number), row.resident_code, kind, row.status
    )


def _twin(ctx: _Context, kind: str) -> LabelledApplication | None:
    row = ctx.take("twin")
    if row is None:
        return None
    keep = ctx.maybe_number()
    return LabelledApplication(
        _typed(row, ctx.number_for(row, keep)),
        row.resident_code,
        kind,
        f"{'with' if keep else 'no'} number",
    )


def _stranger_number(ctx: _Context) -> str | None:
    return new_number(ctx.rng, ctx.numbers) if ctx.rng.random() < 0.7 else None


def _stranger(ctx: _Context, kind: str) -> LabelledApplication | None:
    rng, pools = ctx.rng, ctx.register.pools
    while True:
        surname = pools.surname(rng)
        sex = rng.choice("12")
        birth = demo_names.birth_in(rng, rng.randint(1940, 2010))
        given = pools.given(rng, sex, birth.year, set())
        if not ctx.is_registered(surname.kanji, given.kanji, surname.kana, given.kana, birth):
            break
    postal, address = ctx.book.anywhere()
    app = TypedApplication(
        surname.kanji,
        given.kanji,
        surname.kana,
        given.kana,
        birth,
        sex,
        postal,
        address,
        _stranger_number(ctx),
    )
    return LabelledApplication(app, None, kind, "")


def _stranger_same_birth_surname(ctx: _Context, kind: str) -> LabelledApplication | None:
    rng, pools = ctx.rng, ctx.register.pools
    for _ in range(100):
        row = rng.choice(ctx.register.rows)
        sex = rng.choice("12")
        given = pools.given(rng, sex, row.birth_date.year, set())
        if not ctx.is_registered(
            row.family_name, given.kanji, row.family_name_kana, given.kana, row.birth_date
        ):
            break
    else:
        return None
    postal, address = ctx.book.anywhere()
    app = TypedApplication(
        row.family_name,
        given.kanji,
        row.family_name_kana,
        given.kana,
        row.birth_date,
        sex,
        postal,
        address,
        _stranger_number(ctx),
    )
    return LabelledApplication(app, None, kind, f"shares with {row.resident_code}")


def _twin_not_registered(ctx: _Context, kind: str) -> LabelledApplication | None:
    rng, pools = ctx.rng, ctx.register.pools
    for _ in range(100):
        row = ctx.take("resident")
        if row is None:
            return None
        ctx.used.discard(row.resident_code)  # the registered twin may still apply
        sex = row.sex if rng.random() < 0.5 else rng.choice("12")
        twin: Name = pools.twin_name(rng, Name(row.given_name, row.given_name_kana), sex)
        if not ctx.is_registered(
            row.family_name, twin.kanji, row.family_name_kana, twin.kana, row.birth_date
        ):
            break
    else:
        return None
    app = _typed(
        row, _stranger_number(ctx), given_name=twin.kanji, given_name_kana=twin.kana, sex=sex
    )
    return LabelledApplication(app, None, kind, f"{row.given_name}/{twin.kanji}")


_MAKERS = {
    "as-registered": _as_registered,
    "no-number": _as_registered,
    "variant-kanji": _variant_kanji,
    "kana-spelling": _kana_spelling,
    "address-form": _address_form,
    "number-typo": _number_typo,
    "moved": _moved,
    "married": _married,
    "reading-typo": _reading_typo_kind,
    "birth-date-typo": _birth_date_typo,
    "homophone-kanji": _homophone,
    "ineligible": _ineligible,
    "twin": _twin,
    "stranger": _stranger,
    "stranger-same-birth-surname": _stranger_same_birth_surname,
    "twin-not-registered": _twin_not_registered,
}


def kind_counts(n: int) -> dict[str, int]:
    counts = {k: round(n * share) for k, share in KIND_SHARES.items()}
    return {"as-registered": n - sum(counts.values()), **counts}


def derive_applications(
    rng: random.Random, register: SyntheticRegister, n: int
) -> list[LabelledApplication]:
    """``n`` labelled applications in random order. A kind whose pool runs out (a small
    register has few twins) falls back to an as-registered application."""
    ctx = _Context(rng, register)
    kinds = [k for k, c in kind_counts(n).items() for _ in range(c)]
    rng.shuffle(kinds)
    out: list[LabelledApplication] = []
    for kind in kinds:
        made = _MAKERS[kind](ctx, kind) or _as_registered(ctx, "as-registered")
        if made is None:
            raise ValueError("the register is too small for this many applications")
        out.append(replace(made, application=_as_typed(rng, made.application, made.kind)))
    return out
