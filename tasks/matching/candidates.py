"""Who the applicant and the register's candidates are, as the scorer compares them, and
how the candidates are found: the blocking keys, each on its own index (tasks/matching/task.py
decides among them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, select, union
from sqlalchemy.orm import Session

from kofu.models import Resident, ResidentStatus
from kofu.tasks.matching.normalize import (
    address_key,
    kana_key,
    kana_key_exact,
    name_key,
    name_key_exact,
)
from kofu.tasks.matching.scoring import PersonKeys

# Blocking: at most this many candidates are scored for one applicant. A birth date shared by
# more people than this in one register is far beyond any municipality (1M residents give ~40).
MAX_CANDIDATES = 500


@lru_cache(maxsize=100_000)
def _part_keys(name: str, reading: str) -> tuple[str, str, str, str]:
    """One name part's keys: exact name, folded name, exact reading, folded reading. Name parts
    repeat across a register (a household, a common surname), so each is normalised once."""
    return (
        name_key_exact(name, ""),
        name_key(name, ""),
        kana_key_exact(reading, ""),
        kana_key(reading, ""),
    )


def _name_keys(family: str, given: str, family_kana: str, given_kana: str) -> dict[str, str]:
    f_exact, f, fr_exact, fr = _part_keys(family, family_kana)
    g_exact, g, gr_exact, gr = _part_keys(given, given_kana)
    return {
        "family_exact": f_exact,
        "family": f,
        "given_exact": g_exact,
        "given": g,
        "family_reading_exact": fr_exact,
        "family_reading": fr,
        "given_reading_exact": gr_exact,
        "given_reading": gr,
    }


def person_keys(
    family: str,
    given: str,
    family_kana: str,
    given_kana: str,
    birth_date: date,
    sex: str | None,
    postal_code: str | None,
    address: str,
) -> PersonKeys:
    return PersonKeys(
        **_name_keys(family, given, family_kana, given_kana),
        birth_date=birth_date,
        sex=sex,
        postal_code=postal_code,
        street=address_key(address),
    )


@dataclass(frozen=True)
class Applicant:
    keys: PersonKeys
    number_hmac: str | None

    @property
    def name_key(self) -> str:
        return self.keys.family + self.keys.given

    @property
    def kana_key(self) -> str:
        return self.keys.family_reading + self.keys.given_reading


@dataclass(frozen=True)
class Candidate:
    resident_id: int
    resident_code: str
    status: ResidentStatus
    keys: PersonKeys


def find_candidates(
    session: Session, applicant: Applicant, wide: bool = False
) -> tuple[list[Candidate], list[Candidate]]:
    """By number, and by the blocking keys. Each key is indexed, so the cost per applicant does
    not grow with the register. Any one key in common makes a resident a candidate:
    - the birth date;
    - the folded name or the folded reading, either way round (a typo in the birth date);
    - the street (a household: name and birth date both typed wrong);
    - wide only: the postal code with the family reading, or with the given reading. A postal
      area can hold thousands of residents, so these bring hundreds of candidates for a
      common surname: they are searched only before a "no match" (``decide_widening``).
    Each key brings at most ``MAX_CANDIDATES``.

    When the number finds exactly one resident, tier 1 decides on that resident alone and
    the blocking keys are not read: most applicants give their number, and reading ~100
    candidates each was most of the stage's time against a large register."""
    k = applicant.keys
    by_number: list[Candidate] = []
    if applicant.number_hmac:
        by_number = _load(session, _BY_NUMBER, {"number": applicant.number_hmac})
        if len(by_number) == 1:
            return by_number, []
    params = {
        "birth": k.birth_date,
        "names": sorted({k.family + k.given, k.given + k.family}),
        "readings": sorted(
            {k.family_reading + k.given_reading, k.given_reading + k.family_reading}
        ),
        "street": k.street or None,  # NULL equals nothing
        "postal": k.postal_code or None,
        "family_reading": k.family_reading or None,
        "given_reading": k.given_reading or None,
    }
    return by_number, _load(session, _WIDE if wide else _NARROW, params)


_CANDIDATE_COLUMNS = (
    Resident.id,
    Resident.resident_code,
    Resident.status,
    Resident.family_name,
    Resident.given_name,
    Resident.family_name_kana,
    Resident.given_name_kana,
    Resident.birth_date,
    Resident.sex,
    Resident.postal_code,
    Resident.address_key,
)


def _blocked(*keys) -> Select:
    """Candidates sharing any one key, in one statement: the union of each key's first
    ``MAX_CANDIDATES`` ids. Built once, so each applicant only binds its values."""
    per_key = [select(Resident.id).where(key).limit(MAX_CANDIDATES).subquery() for key in keys]
    ids = union(*(select(sq.c.id) for sq in per_key))
    return select(*_CANDIDATE_COLUMNS).where(Resident.id.in_(ids)).order_by(Resident.id)


_NARROW_KEYS = (
    Resident.birth_date == bindparam("birth"),
    Resident.name_key.in_(bindparam("names", expanding=True)),
    Resident.kana_key.in_(bindparam("readings", expanding=True)),
    Resident.address_key == bindparam("street"),
)
_WIDE_KEYS = (
    and_(
        Resident.postal_code == bindparam("postal"),
        Resident.family_kana_key == bindparam("family_reading"),
    ),
    and_(
        Resident.postal_code == bindparam("postal"),
        Resident.given_kana_key == bindparam("given_reading"),
    ),
)
_NARROW = _blocked(*_NARROW_KEYS)
_WIDE = _blocked(*_NARROW_KEYS, *_WIDE_KEYS)
_BY_NUMBER = (
    select(*_CANDIDATE_COLUMNS)
    .where(Resident.individual_number_hmac == bindparam("number"))
    .order_by(Resident.id)
)


def _load(session: Session, statement: Select, params: dict) -> list[Candidate]:
    rows = session.execute(statement, params)
    return [
        Candidate(
            r.id,
            r.resident_code,
            r.status,
            PersonKeys(
                **_name_keys(r.family_name, r.given_name, r.family_name_kana, r.given_name_kana),
                birth_date=r.birth_date,
                sex=r.sex,
                postal_code=r.postal_code,
                street=r.address_key,  # address_key(address), stored at import
            ),
        )
        for r in rows
    ]
