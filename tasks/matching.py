"""Matching stage: find the applicant in the resident register, and decide eligibility.

Only two kinds of evidence decide alone:
1. the individual number (check digit verified at intake) plus the birth date;
2. the exact normalised name, birth date and address.
Anything else that looks like the person goes to a person (``needs_review``). The register
status then decides eligibility: moved out, deceased or removed -> ``ineligible``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from prefect import task
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kofu.db import unit_of_work
from models import Application, ApplicationState, Resident, ResidentStatus, Stage, check_transition
from tasks.chunks import CHUNK_TASK_OPTIONS, Chunk, chunk_applications, with_db_retry
from tasks.normalize import address_key, kana_key, name_key
from tasks.queues import open_review, record_failure, resolve_failures

S = ApplicationState
STATUS_REASONS = {
    ResidentStatus.MOVED_OUT: "moved-out",
    ResidentStatus.DECEASED: "deceased",
    ResidentStatus.REMOVED: "removed",
}


@dataclass(frozen=True)
class Applicant:
    birth_date: date
    name_key: str
    kana_key: str
    address_key: str
    number_hmac: str | None


@dataclass(frozen=True)
class Candidate:
    resident_id: int
    resident_code: str
    birth_date: date
    name_key: str
    kana_key: str
    address_key: str
    status: ResidentStatus


@dataclass(frozen=True)
class MatchDecision:
    state: ApplicationState
    reasons: tuple[str, ...] = ()
    resident_id: int | None = None
    method: str | None = None
    evidence: dict = field(default_factory=dict)


def compare_fields(applicant: Applicant, candidate: Candidate) -> dict[str, str]:
    return {
        "birth_date": _agree(applicant.birth_date == candidate.birth_date),
        "name": _agree(applicant.name_key == candidate.name_key),
        "reading": _agree(applicant.kana_key == candidate.kana_key),
        "address": _agree(applicant.address_key == candidate.address_key),
    }


def _agree(equal: bool) -> str:
    return "exact" if equal else "different"


def decide_match(
    applicant: Applicant, by_number: list[Candidate], by_birth_and_name: list[Candidate]
) -> MatchDecision:
    """Decide from the candidates found by number and by birth date + name or reading."""
    if len(by_number) == 1:
        resident = by_number[0]
        fields = compare_fields(applicant, resident)
        evidence = _evidence("individual-number", [resident], applicant)
        if fields["birth_date"] != "exact":
            return MatchDecision(S.NEEDS_REVIEW, ("birth-date-differs",), evidence=evidence)
        if fields["name"] != "exact" and fields["reading"] != "exact":
            # Same number and birth date but another name: a marriage or a typing error.
            return MatchDecision(S.NEEDS_REVIEW, ("name-differs-from-register",), evidence=evidence)
        return _eligible(resident, "individual-number", evidence)
    if len(by_number) > 1:
        evidence = _evidence("individual-number", by_number, applicant)
        return MatchDecision(S.NEEDS_REVIEW, ("several-candidates",), evidence=evidence)

    exact = [
        c
        for c in by_birth_and_name
        if c.name_key == applicant.name_key and c.address_key == applicant.address_key
    ]
    if len(exact) == 1:
        return _eligible(exact[0], "exact", _evidence("exact", exact, applicant))
    if len(exact) > 1:
        evidence = _evidence("exact", exact, applicant)
        return MatchDecision(S.NEEDS_REVIEW, ("several-candidates",), evidence=evidence)
    if by_birth_and_name:
        evidence = _evidence("partial", by_birth_and_name, applicant)
        return MatchDecision(S.NEEDS_REVIEW, ("partial-match",), evidence=evidence)
    reasons = ["not-in-register"]
    if applicant.number_hmac:
        reasons.append("individual-number-not-in-register")
    return MatchDecision(S.NO_MATCH, tuple(reasons), evidence={"method": "none"})


def _eligible(resident: Candidate, method: str, evidence: dict) -> MatchDecision:
    if resident.status != ResidentStatus.RESIDENT:
        return MatchDecision(
            S.INELIGIBLE, (STATUS_REASONS[resident.status],), resident.resident_id, method, evidence
        )
    return MatchDecision(S.MATCHED, (), resident.resident_id, method, evidence)


def _evidence(method: str, candidates: list[Candidate], applicant: Applicant) -> dict:
    return {
        "method": method,
        "candidates": [
            {
                "resident_code": c.resident_code,
                "status": c.status.value,
                "fields": compare_fields(applicant, c),
            }
            for c in candidates
        ],
    }


# --- The stage over a chunk of applications -------------------------------------------


def applicant_of(app: Application) -> Applicant:
    assert app.birth_date is not None
    return Applicant(
        birth_date=app.birth_date,
        name_key=name_key(app.family_name or "", app.given_name or ""),
        kana_key=kana_key(app.family_name_kana or "", app.given_name_kana or ""),
        address_key=address_key(app.address or ""),
        number_hmac=app.individual_number_hmac,
    )


def find_candidates(
    session: Session, applicant: Applicant
) -> tuple[list[Candidate], list[Candidate]]:
    by_number: list[Resident] = []
    if applicant.number_hmac:
        by_number = list(
            session.scalars(
                select(Resident).where(Resident.individual_number_hmac == applicant.number_hmac)
            )
        )
    by_birth = session.scalars(
        select(Resident).where(
            Resident.birth_date == applicant.birth_date,
            or_(Resident.name_key == applicant.name_key, Resident.kana_key == applicant.kana_key),
        )
    )
    return [_candidate(r) for r in by_number], [_candidate(r) for r in by_birth]


def _candidate(r: Resident) -> Candidate:
    return Candidate(
        r.id, r.resident_code, r.birth_date, r.name_key, r.kana_key, r.address_key, r.status
    )


def match_chunk(db_url: str, chunk: Chunk, now: datetime) -> Counter[str]:
    """photo_ok -> matched | needs_review | no_match | ineligible."""
    decisions: list[tuple[int, MatchDecision | BaseException]] = []
    with unit_of_work(db_url) as session:
        for app in chunk_applications(session, chunk, S.PHOTO_OK):
            try:
                applicant = applicant_of(app)
                decisions.append(
                    (app.id, decide_match(applicant, *find_candidates(session, applicant)))
                )
            except Exception as exc:
                decisions.append((app.id, exc))
    return with_db_retry(lambda: _record_decisions(db_url, chunk, decisions, now))


def _record_decisions(
    db_url: str,
    chunk: Chunk,
    decisions: list[tuple[int, MatchDecision | BaseException]],
    now: datetime,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with unit_of_work(db_url, write=True) as session:
        for pk, decision in decisions:
            app = session.get_one(Application, pk)
            if app.state != S.PHOTO_OK:
                continue
            if isinstance(decision, BaseException):
                record_failure(session, chunk.batch_id, pk, Stage.MATCHING, decision, now)
                counts["failed"] += 1
                continue
            check_transition(app.state, decision.state)
            app.state = decision.state
            app.reasons = [*app.reasons, *decision.reasons]
            app.resident_id = decision.resident_id
            app.match_method = decision.method
            if decision.state == S.NEEDS_REVIEW:
                open_review(session, app, Stage.MATCHING, list(decision.reasons), decision.evidence)
            resolve_failures(session, pk, Stage.MATCHING)
            counts[decision.state.value] += 1
        session.commit()
    return counts


@task(
    name="matching",
    task_run_name="{chunk.batch_id} matching {chunk.label}",
    **CHUNK_TASK_OPTIONS,
)
def match_task(db_url: str, chunk: Chunk, now: datetime) -> dict:
    return dict(match_chunk(db_url, chunk, now))
