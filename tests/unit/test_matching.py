"""The matching decision (kofu.tasks.matching.core). Its states and register statuses are
the string values of kofu.models' ApplicationState and ResidentStatus (tests/integration/
test_blocking.py checks they are theirs)."""

from datetime import date

from kofu.tasks.matching.core import Applicant, Candidate, decide_match, person_keys
from kofu.tasks.matching.scoring import ScoringRules

RULES = ScoringRules()
BIRTH = date(1980, 4, 1)


def keys(
    family="佐藤",
    given="太郎",
    fk="サトウ",
    gk="タロウ",
    birth=BIRTH,
    sex="1",
    postal="999-0011",
    address="見本市中央1丁目2番3号",
):
    return person_keys(family, given, fk, gk, birth, sex, postal, address)


def applicant(number="h" * 64, **kw) -> Applicant:
    return Applicant(keys(**kw), number)


def resident(rid=1, status="resident", **kw) -> Candidate:
    return Candidate(rid, f"{rid:011d}", status, keys(**kw))


def decide(app, by_number=(), candidates=()):
    return decide_match(app, list(by_number), list(candidates), RULES)


def test_number_and_birth_date_match():
    d = decide(applicant(), [resident()])
    assert (d.state, d.method, d.resident_id) == ("matched", "individual-number", 1)


def test_number_match_after_a_move_inside_the_municipality_still_matches():
    d = decide(applicant(address="見本市北町9-9-9"), [resident()])
    assert d.state == "matched"  # the notice goes to the register's current address


def test_number_with_another_birth_date_goes_to_a_person():
    d = decide(applicant(), [resident(birth=date(1981, 4, 1))])
    assert d.state == "needs_review" and d.reasons == ("birth-date-differs",)
    assert d.evidence["candidates"][0]["fields"]["birth_date"] != "exact"


def test_number_with_another_name_goes_to_a_person():
    d = decide(applicant(), [resident(family="鈴木", given="花子", fk="スズキ", gk="ハナコ")])
    assert d.state == "needs_review" and d.reasons == ("name-differs-from-register",)


def test_exact_name_birth_and_address_match_without_number():
    d = decide(applicant(number=None), candidates=[resident(7)])
    assert (d.state, d.method, d.resident_id) == ("matched", "exact", 7)


def test_address_typed_another_way_is_still_exact():
    d = decide(applicant(number=None, address="中央１丁目２−３"), candidates=[resident(7)])
    assert (d.state, d.method) == ("matched", "exact")


def test_variant_kanji_is_equal_after_folding():
    d = decide(
        applicant(number=None, family="髙橋", fk="タカハシ"),
        candidates=[resident(3, family="高橋", fk="タカハシ")],
    )
    assert (d.state, d.method, d.resident_id) == ("matched", "exact", 3)
    assert d.evidence["candidates"][0]["fields"]["family"] == "variant"


def test_a_reading_typo_with_the_exact_name_matches_but_a_name_typo_goes_to_a_person():
    d = decide(applicant(number=None, gk="タロ"), candidates=[resident(3)])
    assert (d.state, d.resident_id) == ("matched", 3)
    d = decide(applicant(number=None, given="太朗"), candidates=[resident(3)])
    assert d.state == "needs_review"
    d = decide(
        applicant(number=None, given="翔太", gk="ショウタ"),
        candidates=[resident(3, given="翔太郎", gk="ショウタロウ")],
    )
    assert d.state == "needs_review"


def test_two_exact_candidates_are_not_guessed_between():
    d = decide(applicant(number=None), candidates=[resident(1), resident(2)])
    assert d.state == "needs_review" and d.reasons == ("several-candidates",)


def test_a_slip_in_the_house_number_with_all_else_agreeing_is_a_scored_match():
    d = decide(applicant(number=None, address="見本市中央1丁目2番4号"), candidates=[resident()])
    assert (d.state, d.method, d.resident_id) == ("matched", "scored", 1)
    assert d.evidence["candidates"][0]["fields"]["street"] == "similar"


def test_same_person_other_address_is_uncertain():
    d = decide(applicant(number=None, address="見本市北町9丁目9番9号"), candidates=[resident()])
    assert d.state == "needs_review" and d.reasons == ("partial-match",)
    assert d.evidence["candidates"][0]["fields"]["street"] == "different"


def test_a_slip_in_the_birth_date_without_the_number_goes_to_a_person():
    d = decide(applicant(number=None, birth=date(1980, 4, 2)), candidates=[resident()])
    assert d.state == "needs_review" and d.reasons == ("partial-match",)
    assert d.evidence["candidates"][0]["fields"]["birth_date"] == "similar"


def test_nobody_found_is_no_match():
    d = decide(applicant())
    assert d.state == "no_match" and d.reasons[0] == "not-in-register"


def test_a_stranger_sharing_only_the_birth_date_is_no_match():
    other = resident(
        family="田中", given="健一", fk="タナカ", gk="ケンイチ", address="見本市南町8-8-8"
    )
    d = decide(applicant(number=None), candidates=[other])
    assert d.state == "no_match"


def test_register_status_decides_eligibility():
    for status, reason in [
        ("moved_out", "moved-out"),
        ("deceased", "deceased"),
        ("removed", "removed"),
    ]:
        d = decide(applicant(), [resident(status=status)])
        assert (d.state, d.reasons) == ("ineligible", (reason,))


def test_evidence_never_carries_the_number_hash():
    d = decide(applicant(), [resident()])
    assert "h" * 64 not in repr(d.evidence)


SQL_FAMILY = "山田'; DROP TABLE residents;--"


def test_a_family_name_that_differs_entirely_goes_to_a_person_whatever_else_agrees():
    """The reading, birth date, address and even the number agree with the register's 吉田,
    but the kanji family name is another one entirely: a married name or another person."""
    yoshida = resident(5, family="吉田", fk="ヨシダ")
    typed = {"family": SQL_FAMILY, "fk": "ヨシダ"}
    by_number = decide(applicant(**typed), [yoshida], [yoshida])
    assert by_number.state == "needs_review" and by_number.resident_id is None
    assert by_number.reasons == ("family-name-differs-from-register",)
    assert by_number.evidence["candidates"][0]["fields"]["family"] == "different"
    without = decide(applicant(number=None, **typed), candidates=[yoshida])
    assert without.state == "needs_review" and without.resident_id is None
    # Even with weights that would let the score match alone, a person decides.
    lenient = ScoringRules(match_threshold=20.0, review_threshold=10.0)
    scored = decide_match(applicant(number=None, **typed), [], [yoshida], lenient)
    assert (scored.state, scored.reasons) == (
        "needs_review",
        ("family-name-differs-from-register",),
    )
    # A registered variant form (𠮷/吉) is the same name: matched.
    variant = decide(applicant(family="𠮷田", fk="ヨシダ"), [yoshida], [yoshida])
    assert (variant.state, variant.resident_id) == ("matched", 5)
