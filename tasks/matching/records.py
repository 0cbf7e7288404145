"""The matching stage over a chunk of applications (tasks/chunks/loop.py): photo_ok ->
matched | needs_review | no_match | ineligible, decided by tasks/matching/core.py.

Here are the candidates' queries: the blocking keys, each on its own index, and the writes
of each decision, including the duplicate hold (tasks/duplicates/records.py)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from functools import partial

from sqlalchemy import Select, and_, bindparam, select, union
from sqlalchemy.orm import Session

from kofu.models import Application, ApplicationState, Resident, Stage, transition
from kofu.tasks.chunks.core import Chunk, Outcome
from kofu.tasks.chunks.loop import StageWork, run_chunk
from kofu.tasks.chunks.records import Claim
from kofu.tasks.duplicates.records import DUPLICATE, hold_as_duplicate, others_in_progress
from kofu.tasks.matching.core import (
    Applicant,
    Candidate,
    MatchDecision,
    decide_widening,
    person_keys,
    register_keys,
)
from kofu.tasks.matching.scoring import ScoringRules
from kofu.tasks.queues.records import open_review

S = ApplicationState
# Blocking: at most this many candidates are scored for one applicant. A birth date shared by
# more people than this in one register is far beyond any municipality (1M residents give ~40).
MAX_CANDIDATES = 500


def applicant_of(app: Application) -> Applicant:
    assert app.birth_date is not None
    keys = person_keys(
        app.family_name or "",
        app.given_name or "",
        app.family_name_kana or "",
        app.given_name_kana or "",
        app.birth_date,
        app.sex,
        app.postal_code,
        app.address or "",
    )
    return Applicant(keys=keys, number_hmac=app.individual_number_hmac)


class MatchWork(StageWork[MatchDecision]):
    stage = Stage.MATCHING

    def __init__(self, rules: ScoringRules) -> None:
        self.rules = rules

    def compute(self, claim: Claim, app: Application) -> Outcome[MatchDecision]:
        find = partial(find_candidates, claim.session)
        return Outcome(app.id, decide_widening(applicant_of(app), find, self.rules))

    def record(
        self, session: Session, app: Application, decision: MatchDecision | None
    ) -> Counter[str]:
        assert decision is not None
        target = S(decision.state)
        app.match_score = decision.score
        others = (
            others_in_progress(session, decision.resident_id, app.id)
            if target == S.MATCHED and decision.resident_id is not None
            else []
        )
        if others:
            # The resident has another card in progress: a person decides which stands.
            assert decision.resident_id is not None
            app.reasons = [*app.reasons, *decision.reasons]
            sent_back = hold_as_duplicate(
                session, app, decision.resident_id, others, decision.evidence
            )
            # A Counter, not a list of labels: the count of those matched earlier (this run
            # or before) and sent back to a person with it is reported even when it is 0.
            return Counter(
                {
                    S.NEEDS_REVIEW.value: 1,
                    DUPLICATE: 1,
                    "sent-back-as-duplicate": len(sent_back),
                }
            )
        transition(app, target, decision.reasons)
        app.resident_id = decision.resident_id
        app.match_method = decision.method
        if target == S.NEEDS_REVIEW:
            open_review(session, app, Stage.MATCHING, list(decision.reasons), decision.evidence)
        return Counter([target.value])


def match_chunk(
    db_url: str,
    chunk: Chunk,
    now: datetime,
    rules: ScoringRules | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> Counter[str]:
    """photo_ok -> matched | needs_review | no_match | ineligible."""
    return run_chunk(db_url, chunk, MatchWork(rules or ScoringRules()), now, log=log)


# --- Finding the candidates -------------------------------------------------------------


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
            register_keys(
                r.family_name,
                r.given_name,
                r.family_name_kana,
                r.given_name_kana,
                r.birth_date,
                r.sex,
                r.postal_code,
                r.address_key,  # address_key(address), stored at import
            ),
        )
        for r in rows
    ]
