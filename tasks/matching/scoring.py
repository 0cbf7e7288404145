"""Scored matching: the third tier, for applicants the number and the exact keys did not find.

Each candidate from the blocking keys is compared field by field. Each field gets an
agreement level (exact, variant-equal, similar, different), and each level carries a
Fellegi–Sunter weight: log2(m/u), where m is how often the level occurs when the two records
are the same person and u how often when they are not. A missing value weighs nothing. The
defaults are below; the settings file's [matching] section can override any of them
(``ScoringRules.from_settings``), so every decision can be explained as a sum of named numbers.

The default weights are chosen so that no single "similar" or "different" on a name part or
the birth date leaves a candidate above the match threshold: such cases always reach a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum
from typing import TYPE_CHECKING

from rapidfuzz.distance import JaroWinkler

from kofu.base.errors import UserError

if TYPE_CHECKING:
    from kofu.base.settings import MatchingRules


class Level(IntEnum):
    DIFFERENT = 0
    SIMILAR = 1
    VARIANT = 2
    EXACT = 3
    # Either side left the field empty: no evidence either way, so it weighs nothing.
    MISSING = 4


LEVEL_NAMES = {
    Level.EXACT: "exact",
    Level.VARIANT: "variant",
    Level.SIMILAR: "similar",
    Level.DIFFERENT: "different",
    Level.MISSING: "missing",
}


@dataclass(frozen=True)
class PersonKeys:
    """What the scorer compares; made by the normalisers from an application or a resident.
    An empty string or None is a missing value."""

    family_exact: str
    family: str  # variant-folded (髙 -> 高)
    given_exact: str
    given: str
    family_reading_exact: str
    family_reading: str  # folded spellings (タロー -> タロウ)
    given_reading_exact: str
    given_reading: str
    birth_date: date | None
    sex: str | None
    postal_code: str | None
    street: str


@dataclass(frozen=True)
class FieldWeights:
    exact: float
    variant: float
    similar: float
    different: float
    missing: float = 0.0

    def of(self, level: Level) -> float:
        return (self.different, self.similar, self.variant, self.exact, self.missing)[level]


def _default_weights() -> dict[str, FieldWeights]:
    # log2(m/u), rounded. A name part agreeing exactly is rare between strangers born on the
    # same day (u small): high weight. A different street is common for the same person after
    # a move, but the issue asks a person to look then, so it costs enough to stop a match.
    return {
        # "Similar" names score nothing: a twin's name is similar too (翔太 / 翔太郎).
        "family": FieldWeights(6.0, 5.5, 0.0, -4.0),
        "given": FieldWeights(6.0, 5.5, 0.0, -5.0),
        "family_reading": FieldWeights(4.0, 3.5, 1.0, -3.0),
        "given_reading": FieldWeights(4.0, 3.5, 1.0, -4.0),
        "birth_date": FieldWeights(9.0, 9.0, 1.0, -10.0),
        # A near-miss street (a typo, another house number) keeps a candidate whose name,
        # reading, birth date, sex and postal code all agree just above the match threshold:
        # the notice goes to the register's address either way. With anything else off too,
        # a person looks.
        "street": FieldWeights(5.0, 5.0, 1.0, -8.0),
        "postal_code": FieldWeights(2.0, 2.0, 2.0, -1.0),
        "sex": FieldWeights(1.0, 1.0, 1.0, -4.0),
    }


@dataclass(frozen=True)
class ScoringRules:
    weights: dict[str, FieldWeights] = field(default_factory=_default_weights)
    # All fields exact scores 37. One "similar" on a name part or the birth date (a twin, a
    # typo) must land below the match threshold; a variant kanji or folded reading must not.
    match_threshold: float = 32.0
    # The best candidate must beat the runner-up by this much, or a person decides.
    match_margin: float = 6.0
    review_threshold: float = 14.0
    # Jaro–Winkler similarity at or above which two differing strings count as "similar".
    similar_name: float = 0.85
    similar_reading: float = 0.88
    similar_street: float = 0.9

    @classmethod
    def from_settings(cls, overrides: MatchingRules) -> ScoringRules:
        """The defaults, with what the settings file's [matching] section sets."""
        weights = _default_weights()
        for name, w in overrides.weights.items():
            weights[name] = FieldWeights(w.exact, w.variant, w.similar, w.different)
        given = {
            name: value
            for name in ("match_threshold", "match_margin", "review_threshold")
            if (value := getattr(overrides, name)) is not None
        }
        rules = cls(weights=weights, **given)
        if rules.review_threshold > rules.match_threshold:
            raise UserError("settings [matching]: review_threshold is above match_threshold")
        return rules


def _text_level(exact_a: str, exact_b: str, folded_a: str, folded_b: str, similar: float) -> Level:
    if not folded_a or not folded_b:
        return Level.MISSING
    if exact_a == exact_b:
        return Level.EXACT
    if folded_a == folded_b:
        return Level.VARIANT
    if JaroWinkler.similarity(folded_a, folded_b) >= similar:
        return Level.SIMILAR
    return Level.DIFFERENT


def _date_level(a: date | None, b: date | None) -> Level:
    if a is None or b is None:
        return Level.MISSING
    if a == b:
        return Level.EXACT
    ta, tb = a.strftime("%Y%m%d"), b.strftime("%Y%m%d")
    one_digit = sum(x != y for x, y in zip(ta, tb, strict=True)) == 1
    day_month_swapped = (a.year, a.month, a.day) == (b.year, b.day, b.month)
    return Level.SIMILAR if one_digit or day_month_swapped else Level.DIFFERENT


def _equal_level(a: str | None, b: str | None) -> Level:
    if not a or not b:
        return Level.MISSING
    return Level.EXACT if a == b else Level.DIFFERENT


_NAME_FIELDS = ("family", "given", "family_reading", "given_reading")


def _swapped(k: PersonKeys) -> PersonKeys:
    return replace(
        k,
        family_exact=k.given_exact,
        family=k.given,
        given_exact=k.family_exact,
        given=k.family,
        family_reading_exact=k.given_reading_exact,
        family_reading=k.given_reading,
        given_reading_exact=k.family_reading_exact,
        given_reading=k.family_reading,
    )


def compare(a: PersonKeys, b: PersonKeys, rules: ScoringRules) -> dict[str, Level]:
    """Each field's agreement level. A family and given name written in each other's field
    (a foreign resident's name order, a form filled in the wrong way round) is the same name
    written another way: its parts compare as at most "variant"."""
    if a.family and a.family != b.family and a.family == b.given and a.given == b.family:
        levels = _compare(a, _swapped(b), rules)
        for name in _NAME_FIELDS:
            if levels[name] == Level.EXACT:
                levels[name] = Level.VARIANT
        return levels
    return _compare(a, b, rules)


def _compare(a: PersonKeys, b: PersonKeys, rules: ScoringRules) -> dict[str, Level]:
    street = _text_level(a.street, b.street, a.street, b.street, rules.similar_street)
    return {
        "family": _text_level(
            a.family_exact, b.family_exact, a.family, b.family, rules.similar_name
        ),
        "given": _text_level(a.given_exact, b.given_exact, a.given, b.given, rules.similar_name),
        "family_reading": _text_level(
            a.family_reading_exact,
            b.family_reading_exact,
            a.family_reading,
            b.family_reading,
            rules.similar_reading,
        ),
        "given_reading": _text_level(
            a.given_reading_exact,
            b.given_reading_exact,
            a.given_reading,
            b.given_reading,
            rules.similar_reading,
        ),
        "birth_date": _date_level(a.birth_date, b.birth_date),
        "street": street,
        "postal_code": _equal_level(a.postal_code, b.postal_code),
        "sex": _equal_level(a.sex, b.sex),
    }


@dataclass(frozen=True)
class Scored:
    candidate_index: int
    score: float
    levels: dict[str, Level]

    def explain(self) -> dict[str, str]:
        return {name: LEVEL_NAMES[level] for name, level in self.levels.items()}


def score(levels: dict[str, Level], rules: ScoringRules) -> float:
    return sum(rules.weights[name].of(level) for name, level in levels.items())


def rank(applicant: PersonKeys, candidates: list[PersonKeys], rules: ScoringRules) -> list[Scored]:
    """Candidates scored and sorted, best first."""
    scored = []
    for i, candidate in enumerate(candidates):
        levels = compare(applicant, candidate, rules)
        scored.append(Scored(i, score(levels, rules), levels))
    return sorted(scored, key=lambda s: (-s.score, s.candidate_index))


class Verdict(IntEnum):
    NO_MATCH = 0
    REVIEW = 1
    MATCH = 2


def verdict(ranked: list[Scored], rules: ScoringRules) -> Verdict:
    if not ranked or ranked[0].score < rules.review_threshold:
        return Verdict.NO_MATCH
    best = ranked[0].score
    runner_up = ranked[1].score if len(ranked) > 1 else float("-inf")
    if best >= rules.match_threshold and best - runner_up >= rules.match_margin:
        return Verdict.MATCH
    return Verdict.REVIEW
