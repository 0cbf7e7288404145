"""Matching stage: find the applicant in the resident register, and decide eligibility.

Three tiers, each deciding alone only when a person would not hesitate:
1. the individual number (check digit verified at intake) plus the birth date;
2. the exact normalised name, birth date and street address;
3. a score over the candidates from the blocking keys (tasks/scoring.py): a clear winner above
   the match threshold is a match, an uncertain one goes to a person, the rest is no match.
The register status then decides eligibility: moved out, deceased or removed -> ``ineligible``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial

from prefect import task
from sqlalchemy import Select, and_, bindparam, select, union
from sqlalchemy.orm import Session

from models import Application, ApplicationState, Resident, ResidentStatus, Stage, check_transition
from tasks.chunks import CHUNK_TASK_OPTIONS, Chunk, claim_chunk
from tasks.duplicates import hold_as_duplicate, others_in_progress
from tasks.normalize import (
    address_key,
    kana_key,
    kana_key_exact,
    name_key,
    name_key_exact,
)
from tasks.queues import open_review, record_failure, resolve_failures
from tasks.scoring import Level, PersonKeys, ScoringRules, Verdict, rank, verdict

S = ApplicationState
STATUS_REASONS = {
    ResidentStatus.MOVED_OUT: "moved-out",
    ResidentStatus.DECEASED: "deceased",
    ResidentStatus.REMOVED: "removed",
}
# An automatic match whose kanji family name differs entirely from the register's (not
# equal, not a variant form the MJ map folds) is a married name or another person, however
# well the reading, birth date, address or number agree: a person decides. (A number alone
# once matched 「山田'; DROP TABLE residents;--」 to the register's 吉田 on its reading.)
FAMILY_DIFFERS = "family-name-differs-from-register"
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


@dataclass(frozen=True)
class MatchDecision:
    state: ApplicationState
    reasons: tuple[str, ...] = ()
    resident_id: int | None = None
    method: str | None = None
    score: float | None = None
    evidence: dict = field(default_factory=dict)


def decide_match(
    applicant: Applicant,
    by_number: list[Candidate],
    candidates: list[Candidate],
    rules: ScoringRules,
) -> MatchDecision:
    """Decide from the candidates found by number and by the blocking keys. One resident by
    number decides alone (``find_candidates`` does not read the blocking keys for it)."""
    if len(by_number) == 1:
        resident = by_number[0]
        ranked = rank(applicant.keys, [resident.keys], rules)
        levels = ranked[0].explain()
        evidence = _evidence("individual-number", [resident], ranked)
        if levels["birth_date"] != "exact":
            return MatchDecision(S.NEEDS_REVIEW, ("birth-date-differs",), evidence=evidence)
        names = ("family", "given", "family_reading", "given_reading")
        if any(levels[n] in ("different", "similar") for n in names[:2]) and any(
            levels[n] in ("different", "similar") for n in names[2:]
        ):
            # Same number and birth date but another name: a marriage, or a typing error.
            return MatchDecision(S.NEEDS_REVIEW, ("name-differs-from-register",), evidence=evidence)
        if levels["family"] == "different":
            return MatchDecision(S.NEEDS_REVIEW, (FAMILY_DIFFERS,), evidence=evidence)
        # A different street is a move inside the municipality: the notice goes to the
        # register's current address.
        return _eligible(resident, "individual-number", ranked[0].score, evidence)
    if len(by_number) > 1:
        evidence = _evidence(
            "individual-number", by_number, rank(applicant.keys, [c.keys for c in by_number], rules)
        )
        return MatchDecision(S.NEEDS_REVIEW, ("several-candidates",), evidence=evidence)

    exact = [
        c
        for c in candidates
        if c.keys.birth_date == applicant.keys.birth_date
        and c.keys.family + c.keys.given == applicant.name_key
        and c.keys.street == applicant.keys.street
    ]
    if len(exact) == 1:
        ranked = rank(applicant.keys, [exact[0].keys], rules)
        return _eligible(exact[0], "exact", ranked[0].score, _evidence("exact", exact, ranked))
    if len(exact) > 1:
        ranked = rank(applicant.keys, [c.keys for c in exact], rules)
        evidence = _evidence("exact", exact, ranked)
        return MatchDecision(S.NEEDS_REVIEW, ("several-candidates",), evidence=evidence)

    ranked = rank(applicant.keys, [c.keys for c in candidates], rules)
    outcome = verdict(ranked, rules)
    evidence = _evidence("scored", candidates, ranked[:3])
    if outcome == Verdict.MATCH:
        best = candidates[ranked[0].candidate_index]
        if ranked[0].levels["family"] == Level.DIFFERENT:
            return MatchDecision(
                S.NEEDS_REVIEW, (FAMILY_DIFFERS,), score=ranked[0].score, evidence=evidence
            )
        return _eligible(best, "scored", ranked[0].score, evidence)
    if outcome == Verdict.REVIEW:
        close = len(ranked) > 1 and ranked[1].score >= rules.review_threshold
        reason = "several-candidates" if close else "partial-match"
        return MatchDecision(S.NEEDS_REVIEW, (reason,), score=ranked[0].score, evidence=evidence)
    reasons = ["not-in-register"]
    if applicant.number_hmac:
        reasons.append("individual-number-not-in-register")
    best_score = ranked[0].score if ranked else None
    return MatchDecision(S.NO_MATCH, tuple(reasons), score=best_score, evidence=evidence)


def _eligible(resident: Candidate, method: str, score: float, evidence: dict) -> MatchDecision:
    if resident.status != ResidentStatus.RESIDENT:
        reasons = (STATUS_REASONS[resident.status],)
        return MatchDecision(S.INELIGIBLE, reasons, resident.resident_id, method, score, evidence)
    return MatchDecision(S.MATCHED, (), resident.resident_id, method, score, evidence)


def _evidence(method: str, candidates: list[Candidate], ranked: list) -> dict:
    """What a reviewer needs: who the candidates are and which fields agreed. Never the
    number or its hash."""
    return {
        "method": method,
        "candidates": [
            {
                "resident_code": candidates[s.candidate_index].resident_code,
                "status": candidates[s.candidate_index].status.value,
                "score": round(s.score, 1),
                "fields": s.explain(),
            }
            for s in ranked
        ],
    }


# --- The stage over a chunk of applications -------------------------------------------


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


def decide_widening(
    applicant: Applicant,
    find: Callable[..., tuple[list[Candidate], list[Candidate]]],
    rules: ScoringRules,
) -> MatchDecision:
    """Decide on the main blocking keys; before saying "no match", look again with the wide
    keys too (``find(applicant, wide=True)``). Only the few applicants nobody resembles pay
    for the wide search."""
    by_number, candidates = find(applicant)
    decision = decide_match(applicant, by_number, candidates, rules)
    if decision.state != S.NO_MATCH:
        return decision
    _, wider = find(applicant, wide=True)
    if len(wider) == len(candidates):
        return decision
    return decide_match(applicant, by_number, wider, rules)


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


def match_chunk(
    db_url: str, chunk: Chunk, now: datetime, rules: ScoringRules | None = None
) -> Counter[str]:
    """photo_ok -> matched | needs_review | no_match | ineligible."""
    rules = rules or ScoringRules()
    decisions: list[tuple[int, MatchDecision | BaseException]] = []
    with claim_chunk(db_url, chunk, S.PHOTO_OK) as claim:
        for app in claim.applications:
            try:
                applicant = applicant_of(app)
                find = partial(find_candidates, claim.session)
                decisions.append((app.id, decide_widening(applicant, find, rules)))
            except Exception as exc:
                decisions.append((app.id, exc))
        return claim.record(lambda session: _record_decisions(session, chunk, decisions, now))


def _record_decisions(
    session: Session,
    chunk: Chunk,
    decisions: list[tuple[int, MatchDecision | BaseException]],
    now: datetime,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for pk, decision in decisions:
        app = session.get_one(Application, pk)
        if app.state != S.PHOTO_OK:
            continue
        if isinstance(decision, BaseException):
            record_failure(session, chunk.batch_id, pk, Stage.MATCHING, decision, now)
            counts["failed"] += 1
            continue
        resolve_failures(session, pk, Stage.MATCHING)
        app.match_score = decision.score
        others = (
            others_in_progress(session, decision.resident_id, app.id)
            if decision.state == S.MATCHED and decision.resident_id is not None
            else []
        )
        if others:
            # The resident has another card in progress: a person decides which stands.
            app.reasons = [*app.reasons, *decision.reasons]
            sent_back = hold_as_duplicate(
                session, app, decision.resident_id, others, decision.evidence
            )
            counts[S.NEEDS_REVIEW.value] += 1
            counts["duplicate-application"] += 1
            # Matched earlier (this run or before) and sent back to a person with it.
            counts["sent-back-as-duplicate"] += len(sent_back)
            continue
        check_transition(app.state, decision.state)
        app.state = decision.state
        app.reasons = [*app.reasons, *decision.reasons]
        app.resident_id = decision.resident_id
        app.match_method = decision.method
        if decision.state == S.NEEDS_REVIEW:
            open_review(session, app, Stage.MATCHING, list(decision.reasons), decision.evidence)
        counts[decision.state.value] += 1
    return counts


@task(
    name="matching",
    task_run_name="{chunk.batch_id} matching {chunk.label}",
    **CHUNK_TASK_OPTIONS,
)
def match_task(db_url: str, rules: ScoringRules, chunk: Chunk, now: datetime) -> dict:
    return dict(match_chunk(db_url, chunk, now, rules))
