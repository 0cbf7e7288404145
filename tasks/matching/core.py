"""Matching stage, the pure decision: find the applicant among the register's candidates,
and decide eligibility.

Three tiers, each deciding alone only when a person would not hesitate:
1. the individual number (check digit verified at intake) plus the birth date;
2. the exact normalised name, birth date and street address;
3. a score over the candidates from the blocking keys (tasks/matching/scoring.py): a clear winner above
   the match threshold is a match, an uncertain one goes to a person, the rest is no match.
The register status then decides eligibility: moved out, deceased or removed -> ``ineligible``.

Values in, values out: the candidates are found by tasks/matching/records.py, which also
records the decision. States and register statuses are their string values here
(kofu.models.ApplicationState and ResidentStatus are StrEnums: each equals its value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from kofu.tasks.matching.normalize import (
    address_key,
    kana_key,
    kana_key_exact,
    name_key,
    name_key_exact,
)
from kofu.tasks.matching.scoring import Level, PersonKeys, ScoringRules, Verdict, rank, verdict

# The states a decision moves an application to (ApplicationState values).
MATCHED = "matched"
NEEDS_REVIEW = "needs_review"
NO_MATCH = "no_match"
INELIGIBLE = "ineligible"
# The register statuses (ResidentStatus values): only a resident is eligible; the others
# give the reason code. Looked up by a ResidentStatus too, as it hashes as its value.
RESIDENT = "resident"
STATUS_REASONS = {
    "moved_out": "moved-out",
    "deceased": "deceased",
    "removed": "removed",
}
# An automatic match whose kanji family name differs entirely from the register's (not
# equal, not a variant form the MJ map folds) is a married name or another person, however
# well the reading, birth date, address or number agree: a person decides. (A number alone
# once matched 「山田'; DROP TABLE residents;--」 to the register's 吉田 on its reading.)
FAMILY_DIFFERS = "family-name-differs-from-register"


# --- Who the applicant and the register's candidates are, as the scorer compares them ----


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
    return register_keys(
        family, given, family_kana, given_kana, birth_date, sex, postal_code, address_key(address)
    )


def register_keys(
    family: str,
    given: str,
    family_kana: str,
    given_kana: str,
    birth_date: date,
    sex: str | None,
    postal_code: str | None,
    street: str,
) -> PersonKeys:
    """As ``person_keys``, for a register row: its street key ``address_key(address)`` was
    stored at import."""
    return PersonKeys(
        **_name_keys(family, given, family_kana, given_kana),
        birth_date=birth_date,
        sex=sex,
        postal_code=postal_code,
        street=street,
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
    status: str  # a ResidentStatus value
    keys: PersonKeys


# --- The decision ---------------------------------------------------------------------


@dataclass(frozen=True)
class MatchDecision:
    state: str  # an ApplicationState value
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
    if by_number:
        return _by_number(applicant, by_number, rules)
    exact = [
        c
        for c in candidates
        if c.keys.birth_date == applicant.keys.birth_date
        and c.keys.family + c.keys.given == applicant.name_key
        and c.keys.street == applicant.keys.street
    ]
    if exact:
        return _exact(applicant, exact, rules)
    return _scored(applicant, candidates, rules)


def _by_number(
    applicant: Applicant, by_number: list[Candidate], rules: ScoringRules
) -> MatchDecision:
    """Tier 1: the residents with the applicant's individual number."""
    if len(by_number) > 1:
        evidence = _evidence(
            "individual-number", by_number, rank(applicant.keys, [c.keys for c in by_number], rules)
        )
        return MatchDecision(NEEDS_REVIEW, ("several-candidates",), evidence=evidence)
    resident = by_number[0]
    ranked = rank(applicant.keys, [resident.keys], rules)
    levels = ranked[0].explain()
    evidence = _evidence("individual-number", [resident], ranked)
    if levels["birth_date"] != "exact":
        return MatchDecision(NEEDS_REVIEW, ("birth-date-differs",), evidence=evidence)
    names = ("family", "given", "family_reading", "given_reading")
    if any(levels[n] in ("different", "similar") for n in names[:2]) and any(
        levels[n] in ("different", "similar") for n in names[2:]
    ):
        # Same number and birth date but another name: a marriage, or a typing error.
        return MatchDecision(NEEDS_REVIEW, ("name-differs-from-register",), evidence=evidence)
    if levels["family"] == "different":
        return MatchDecision(NEEDS_REVIEW, (FAMILY_DIFFERS,), evidence=evidence)
    # A different street is a move inside the municipality: the notice goes to the
    # register's current address.
    return _eligible(resident, "individual-number", ranked[0].score, evidence)


def _exact(applicant: Applicant, exact: list[Candidate], rules: ScoringRules) -> MatchDecision:
    """Tier 2: the candidates with the exact folded name, birth date and street."""
    ranked = rank(applicant.keys, [c.keys for c in exact], rules)
    evidence = _evidence("exact", exact, ranked)
    if len(exact) > 1:
        return MatchDecision(NEEDS_REVIEW, ("several-candidates",), evidence=evidence)
    return _eligible(exact[0], "exact", ranked[0].score, evidence)


def _scored(
    applicant: Applicant, candidates: list[Candidate], rules: ScoringRules
) -> MatchDecision:
    """Tier 3: the score over every candidate from the blocking keys."""
    ranked = rank(applicant.keys, [c.keys for c in candidates], rules)
    outcome = verdict(ranked, rules)
    evidence = _evidence("scored", candidates, ranked[:3])
    if outcome == Verdict.MATCH:
        best = candidates[ranked[0].candidate_index]
        if ranked[0].levels["family"] == Level.DIFFERENT:
            return MatchDecision(
                NEEDS_REVIEW, (FAMILY_DIFFERS,), score=ranked[0].score, evidence=evidence
            )
        return _eligible(best, "scored", ranked[0].score, evidence)
    if outcome == Verdict.REVIEW:
        close = len(ranked) > 1 and ranked[1].score >= rules.review_threshold
        reason = "several-candidates" if close else "partial-match"
        return MatchDecision(NEEDS_REVIEW, (reason,), score=ranked[0].score, evidence=evidence)
    reasons = ["not-in-register"]
    if applicant.number_hmac:
        reasons.append("individual-number-not-in-register")
    best_score = ranked[0].score if ranked else None
    return MatchDecision(NO_MATCH, tuple(reasons), score=best_score, evidence=evidence)


def _eligible(resident: Candidate, method: str, score: float, evidence: dict) -> MatchDecision:
    if resident.status != RESIDENT:
        reasons = (STATUS_REASONS[resident.status],)
        return MatchDecision(INELIGIBLE, reasons, resident.resident_id, method, score, evidence)
    return MatchDecision(MATCHED, (), resident.resident_id, method, score, evidence)


def _evidence(method: str, candidates: list[Candidate], ranked: list) -> dict:
    """What a reviewer needs: who the candidates are and which fields agreed. Never the
    number or its hash."""
    return {
        "method": method,
        "candidates": [
            {
                "resident_code": candidates[s.candidate_index].resident_code,
                "status": str(candidates[s.candidate_index].status),
                "score": round(s.score, 1),
                "fields": s.explain(),
            }
            for s in ranked
        ],
    }


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
    if decision.state != NO_MATCH:
        return decision
    _, wider = find(applicant, wide=True)
    if len(wider) == len(candidates):
        return decision
    return decide_match(applicant, by_number, wider, rules)
