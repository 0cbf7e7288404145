from datetime import date

from models import ApplicationState as S
from models import ResidentStatus
from tasks.matching import Applicant, Candidate, decide_match

BIRTH = date(1980, 4, 1)
APPLICANT = Applicant(BIRTH, "佐藤太郎", "サトウタロウ", "見本市中央1-2-3", "h" * 64)


def resident(rid=1, status=ResidentStatus.RESIDENT, **overrides) -> Candidate:
    fields = dict(
        resident_id=rid,
        resident_code=f"{rid:011d}",
        birth_date=BIRTH,
        name_key="佐藤太郎",
        kana_key="サトウタロウ",
        address_key="見本市中央1-2-3",
        status=status,
    )
    fields.update(overrides)
    return Candidate(**fields)


def test_number_and_birth_date_match():
    d = decide_match(APPLICANT, [resident()], [])
    assert (d.state, d.method, d.resident_id) == (S.MATCHED, "individual-number", 1)


def test_number_with_another_birth_date_goes_to_a_person():
    d = decide_match(APPLICANT, [resident(birth_date=date(1981, 4, 1))], [])
    assert d.state == S.NEEDS_REVIEW and d.reasons == ("birth-date-differs",)
    assert d.evidence["candidates"][0]["fields"]["birth_date"] == "different"


def test_number_with_another_name_goes_to_a_person():
    d = decide_match(APPLICANT, [resident(name_key="鈴木花子", kana_key="スズキハナコ")], [])
    assert d.state == S.NEEDS_REVIEW and d.reasons == ("name-differs-from-register",)


def test_exact_name_birth_and_address_match_without_number():
    applicant = Applicant(BIRTH, "佐藤太郎", "サトウタロウ", "見本市中央1-2-3", None)
    d = decide_match(applicant, [], [resident(7)])
    assert (d.state, d.method, d.resident_id) == (S.MATCHED, "exact", 7)


def test_two_exact_candidates_are_not_guessed_between():
    applicant = Applicant(BIRTH, "佐藤太郎", "サトウタロウ", "見本市中央1-2-3", None)
    d = decide_match(applicant, [], [resident(1), resident(2)])
    assert d.state == S.NEEDS_REVIEW and d.reasons == ("several-candidates",)


def test_same_reading_other_address_is_uncertain():
    applicant = Applicant(BIRTH, "佐藤太郎", "サトウタロウ", "見本市北町5-5-5", None)
    d = decide_match(applicant, [], [resident()])
    assert d.state == S.NEEDS_REVIEW and d.reasons == ("partial-match",)
    assert d.evidence["candidates"][0]["fields"]["address"] == "different"


def test_nobody_found_is_no_match():
    d = decide_match(APPLICANT, [], [])
    assert d.state == S.NO_MATCH and d.reasons[0] == "not-in-register"


def test_register_status_decides_eligibility():
    for status, reason in [
        (ResidentStatus.MOVED_OUT, "moved-out"),
        (ResidentStatus.DECEASED, "deceased"),
        (ResidentStatus.REMOVED, "removed"),
    ]:
        d = decide_match(APPLICANT, [resident(status=status)], [])
        assert (d.state, d.reasons) == (S.INELIGIBLE, (reason,))


def test_evidence_never_carries_the_number_hash():
    d = decide_match(APPLICANT, [resident()], [])
    assert "h" * 64 not in repr(d.evidence)
