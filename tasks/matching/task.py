"""Matching stage: find the applicant in the resident register, and decide eligibility.

Three tiers, each deciding alone only when a person would not hesitate:
1. the individual number (check digit verified at intake) plus the birth date;
2. the exact normalised name, birth date and street address;
3. a score over the candidates from the blocking keys (tasks/matching/scoring.py): a clear winner above
   the match threshold is a match, an uncertain one goes to a person, the rest is no match.
The register status then decides eligibility: moved out, deceased or removed -> ``ineligible``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from prefect import task
from sqlalchemy.orm import Session

from kofu.models import Application, ApplicationState, ResidentStatus, Stage, check_transition
from kofu.tasks.chunks.core import Chunk
from kofu.tasks.chunks.records import claim_chunk
from kofu.tasks.chunks.task import CHUNK_TASK_OPTIONS
from kofu.tasks.duplicates.records import hold_as_duplicate, others_in_progress
from kofu.tasks.matching.candidates import (
    MAX_CANDIDATES,
    Applicant,
    Candidate,
    find_candidates,
    person_keys,
)
from kofu.tasks.matching.scoring import Level, ScoringRules, Verdict, rank, verdict
from kofu.tasks.queues.records import open_review, record_failure, resolve_failures

__all__ = [
    "MAX_CANDIDATES",
    "Applicant",
    "Candidate",
    "MatchDecision",
    "decide_match",
    "decide_widening",
    "find_candidates",
    "match_chunk",
    "match_task",
    "person_keys",
]

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
