"""The photo checks against the labelled corpus (tests/photo_corpus.py): every hard-rule
violation caught with its exact code, no valid photo refused, and each quality defect caught
at least as often as README.md ("Photo checks") says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kofu.settings import PhotoRules
from tasks.photos import PROBLEMS, PhotoVerdict, check_photo
from tests.photo_corpus import SUBMITTED_AT, Variant, corpus, evaluate

README = Path(__file__).resolve().parents[1] / "README.md"
RULES = PhotoRules()
# Measured on the corpus (seed photo_corpus.SEED), as README.md states them:
# reason -> (caught: refused or sent to review, refused).
STATED = {
    "background-not-plain": ("12/12", "12/12"),
    "blurred": ("8/8", "8/8"),
    "chin-cut-off": ("8/8", "8/8"),
    "colour-cast": ("8/8", "8/8"),
    "face-off-centre": ("8/8", "8/8"),
    "face-tilted": ("8/8", "8/8"),
    "face-too-small": ("8/8", "8/8"),
    "head-cut-off": ("8/8", "6/8"),
    "low-contrast": ("8/8", "8/8"),
    "no-face": ("6/6", "6/6"),
    "photo-too-old": ("2/2", "2/2"),
    "several-faces": ("6/6", "6/6"),
    "too-bright": ("8/8", "8/8"),
    "too-dark": ("8/8", "8/8"),
}
# Valid photos: none refused; at most this many sent to review.
STATED_VALID_REVIEWED = 0


@pytest.fixture(scope="module")
def verdicts() -> dict[str, tuple[Variant, PhotoVerdict]]:
    return {v.name: (v, check_photo(v.data, RULES, SUBMITTED_AT)) for v in corpus()}


def _of(verdicts, kind: str) -> list[tuple[Variant, PhotoVerdict]]:
    found = [pair for pair in verdicts.values() if pair[0].kind == kind]
    assert found, kind
    return found


def test_the_corpus_is_labelled_with_known_codes():
    variants = corpus()
    assert len({v.name for v in variants}) == len(variants)
    assert all(v.expect <= set(PROBLEMS) for v in variants)
    kinds = {v.kind for v in variants}
    assert kinds == {"valid", "hard", "defect"}
    assert sum(v.kind == "valid" for v in variants) >= 60


def test_every_hard_rule_violation_gets_exactly_its_codes(verdicts):
    for variant, verdict in _of(verdicts, "hard"):
        assert set(verdict.codes) == variant.expect, variant.name
        assert verdict.review_codes == [], variant.name


def test_no_valid_photo_is_refused(verdicts):
    reviewed = []
    for variant, verdict in _of(verdicts, "valid"):
        assert verdict.codes == [], (variant.name, verdict.codes, verdict.measures)
        if verdict.review_codes:
            reviewed.append((variant.name, verdict.review_codes))
    assert len(reviewed) <= STATED_VALID_REVIEWED, reviewed


def test_each_defect_is_caught_at_the_stated_rate(verdicts):
    def check(variant: Variant) -> tuple[set, set]:
        verdict = verdicts[variant.name][1]
        return set(verdict.codes), set(verdict.review_codes)

    measured = evaluate(corpus(), check)["reasons"]
    assert set(measured) == set(STATED)
    for code, tally in measured.items():
        caught, refused = (_rate(r) for r in STATED[code])
        assert tally.caught / tally.total >= caught, (code, tally)
        assert tally.refused / tally.total >= refused, (code, tally)


def test_the_readme_states_the_same_rates():
    text = README.read_text(encoding="utf-8")
    start = text.index("### The corpus, and what the checks catch")
    section = text[start : text.index("\n### ", start + 1)]
    for code, (caught, refused) in STATED.items():
        row = re.search(rf"^\| `{code}` \|[^\n]*$", section, re.MULTILINE)
        assert row, code
        assert f"| {caught} | {refused} |" in row.group(0), (code, row.group(0))


def _rate(stated: str) -> float:
    num, den = stated.split("/")
    return int(num) / int(den)
