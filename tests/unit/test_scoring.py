"""The scored tier decides alone only when a person would not hesitate."""

from dataclasses import replace
from datetime import date

from kofu.tasks.matching.scoring import (
    Level,
    PersonKeys,
    ScoringRules,
    Verdict,
    compare,
    rank,
    score,
    verdict,
)

RULES = ScoringRules()
TARO = PersonKeys(
    family_exact="佐藤",
    family="佐藤",
    given_exact="太郎",
    given="太郎",
    family_reading_exact="サトウ",
    family_reading="サトウ",
    given_reading_exact="タロウ",
    given_reading="タロウ",
    birth_date=date(1980, 4, 1),
    sex="1",
    postal_code="999-0011",
    street="中央1-2-3",
)


def decide(applicant, *candidates):
    return verdict(rank(applicant, list(candidates), RULES), RULES)


def test_all_fields_exact_is_the_maximum_and_matches():
    assert decide(TARO, TARO) == Verdict.MATCH


def test_variant_kanji_and_folded_reading_still_match():
    typed = replace(TARO, family_exact="髙橋", family="高橋", given_reading_exact="タロー")
    register = replace(TARO, family_exact="高橋", family="高橋")
    levels = compare(typed, register, RULES)
    assert levels["family"] == Level.VARIANT and levels["given_reading"] == Level.VARIANT
    assert decide(typed, register) == Verdict.MATCH


def test_a_twin_with_a_similar_name_is_never_matched_alone():
    jiro = replace(
        TARO, given_exact="次郎", given="次郎", given_reading_exact="ジロウ", given_reading="ジロウ"
    )
    # The applicant is Jiro; only Taro is in the register (same birth date and address).
    assert decide(jiro, TARO) != Verdict.MATCH
    # Both twins registered: the exact one wins by a clear margin.
    assert decide(TARO, TARO, jiro) == Verdict.MATCH


def test_a_birth_date_typo_goes_to_a_person():
    typo = replace(TARO, birth_date=date(1980, 4, 11))
    assert compare(typo, TARO, RULES)["birth_date"] == Level.SIMILAR
    assert decide(typo, TARO) == Verdict.REVIEW


def test_an_address_change_goes_to_a_person():
    moved = replace(TARO, street="北町5-5-5", postal_code="999-0022")
    assert decide(moved, TARO) == Verdict.REVIEW


def test_a_married_surname_goes_to_a_person():
    married = replace(
        TARO,
        family_exact="鈴木",
        family="鈴木",
        family_reading_exact="スズキ",
        family_reading="スズキ",
    )
    assert decide(married, TARO) == Verdict.REVIEW


def test_a_stranger_born_the_same_day_is_no_match():
    stranger = replace(
        TARO,
        given_exact="健一",
        given="健一",
        given_reading_exact="ケンイチ",
        given_reading="ケンイチ",
        street="南町9-9-9",
        postal_code="999-0033",
    )
    assert decide(stranger, TARO) == Verdict.NO_MATCH


def test_two_equally_good_candidates_are_not_guessed_between():
    assert decide(TARO, TARO, replace(TARO, sex="1")) == Verdict.REVIEW


def test_a_similar_name_alone_never_reaches_the_match_threshold():
    shota = replace(
        TARO,
        given_exact="翔太",
        given="翔太",
        given_reading_exact="ショウタ",
        given_reading="ショウタ",
    )
    shotaro = replace(
        TARO,
        given_exact="翔太郎",
        given="翔太郎",
        given_reading_exact="ショウタロウ",
        given_reading="ショウタロウ",
    )
    assert compare(shota, shotaro, RULES)["given"] == Level.SIMILAR
    assert decide(shota, shotaro) == Verdict.REVIEW


def test_a_near_miss_street_matches_only_when_everything_else_agrees():
    typo = replace(TARO, street="中央1-2-4")
    assert compare(typo, TARO, RULES)["street"] == Level.SIMILAR
    assert decide(typo, TARO) == Verdict.MATCH
    assert decide(replace(typo, postal_code="999-0012"), TARO) == Verdict.REVIEW
    assert decide(replace(typo, given_reading_exact="タロ", given_reading="タロ"), TARO) == (
        Verdict.REVIEW
    )


def test_a_missing_field_weighs_nothing():
    no_sex = replace(TARO, sex=None)
    levels = compare(no_sex, TARO, RULES)
    assert levels["sex"] == Level.MISSING
    assert score(levels, RULES) == score(compare(TARO, TARO, RULES), RULES) - 1.0
    no_birth = replace(TARO, birth_date=None)
    assert compare(no_birth, TARO, RULES)["birth_date"] == Level.MISSING


def test_family_and_given_written_the_wrong_way_round_compare_as_variants():
    swapped = replace(
        TARO,
        family_exact="太郎",
        family="太郎",
        given_exact="佐藤",
        given="佐藤",
        family_reading_exact="タロウ",
        family_reading="タロウ",
        given_reading_exact="サトウ",
        given_reading="サトウ",
    )
    levels = compare(swapped, TARO, RULES)
    assert {levels[f] for f in ("family", "given", "family_reading", "given_reading")} == {
        Level.VARIANT
    }
    assert decide(swapped, TARO) == Verdict.MATCH
    # Swapped and a birth-date typo: a person decides.
    assert decide(replace(swapped, birth_date=date(1980, 4, 11)), TARO) == Verdict.REVIEW


def test_the_settings_file_overrides_the_defaults(tmp_path):
    import pytest

    from kofu.base.errors import UserError
    from kofu.base.settings import SAMPLE_CONFIG, load_municipality

    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    assert ScoringRules.from_settings(load_municipality(SAMPLE_CONFIG).matching) == RULES
    path = tmp_path / "m.toml"
    path.write_text(
        text
        + "\nmatch_threshold = 35.0\n"
        + "[matching.weights.street]\n"
        + "exact = 5.0\nvariant = 5.0\nsimilar = -3.0\ndifferent = -8.0\n",
        encoding="utf-8",
    )
    rules = ScoringRules.from_settings(load_municipality(path).matching)
    assert (rules.match_threshold, rules.weights["street"].similar) == (35.0, -3.0)
    assert rules.weights["family"] == RULES.weights["family"]
    # With the street's near miss back at -3, the house-number slip goes to a person.
    typo = replace(TARO, street="中央1-2-4")
    assert verdict(rank(typo, [TARO], rules), rules) == Verdict.REVIEW

    weights = "exact = 5.0\nvariant = 5.0\nsimilar = 1.0\ndifferent = -8.0\n"
    path.write_text(text + "\n[matching.weights.street_name]\n" + weights, encoding="utf-8")
    with pytest.raises(UserError, match="unknown field"):
        load_municipality(path)
    path.write_text(text + "\nreview_threshold = 40.0\n", encoding="utf-8")
    with pytest.raises(UserError, match="review_threshold is above match_threshold"):
        ScoringRules.from_settings(load_municipality(path).matching)
    path.write_text(
        text
        + "\n[matching.weights.sex]\nexact = 1.0\nvariant = 1.0\nsimilar = 2.0\ndifferent = 0\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="must not rise"):
        load_municipality(path)
