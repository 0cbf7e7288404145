"""The photo checks against the labelled corpus of real faces (tests/photo_corpus.py, from
tests/data/photos): every hard-rule break refused with exactly its codes, the good photos
accepted, and each defect caught with its own reason at least as often as docs/photos.md
says for the repository's photos."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kofu.base.photo_rules import PhotoRules
from kofu.tasks.photos.core import PhotoVerdict, check_photo
from kofu.tasks.photos.problems import PROBLEMS
from tests.photo_corpus import SUBMITTED_AT, Variant, corpus, evaluate

PAGE = Path(__file__).resolve().parents[2] / "docs" / "photos.md"
RULES = PhotoRules()
# Measured on the repository's corpus (seed photo_corpus.SEED), as docs/photos.md states:
# reason -> (photos, caught with this reason, refused with it).
STATED = {
    "background-not-plain": (15, 15, 15),
    "blurred": (14, 14, 13),
    "chin-cut-off": (14, 14, 14),
    "colour-cast": (14, 12, 10),
    "eyes-closed": (14, 4, 3),
    "eyes-not-visible": (28, 28, 28),
    "face-off-centre": (14, 14, 14),
    "face-tilted": (16, 16, 16),
    "face-too-small": (14, 14, 14),
    "face-turned": (14, 14, 10),
    "head-covering": (14, 10, 10),
    "head-cut-off": (14, 14, 14),
    "low-contrast": (14, 14, 14),
    "mouth-open": (14, 14, 13),
    "no-face": (5, 5, 5),
    "photo-too-old": (2, 2, 2),
    "several-faces": (14, 14, 14),
    "too-bright": (14, 14, 12),
    "too-dark": (14, 14, 14),
}
# Good photos: (photos, accepted with no person, refused).
STATED_GOOD = (38, 37, 0)


@pytest.fixture(scope="module")
def verdicts() -> dict[str, tuple[Variant, PhotoVerdict]]:
    return {f"{v.name}|{v.how}": (v, check_photo(v.data, RULES, SUBMITTED_AT)) for v in corpus()}


def _of(verdicts, kind: str) -> list[tuple[Variant, PhotoVerdict]]:
    found = [pair for pair in verdicts.values() if pair[0].kind == kind]
    assert found, kind
    return found


def test_the_corpus_is_real_faces_labelled_with_known_codes():
    variants = corpus()
    assert len({(v.name, v.how) for v in variants}) == len(variants)
    assert all(v.expect <= set(PROBLEMS) for v in variants)
    assert {v.kind for v in variants} == {"valid", "hard", "defect"}
    assert sum(v.kind == "valid" for v in variants) >= 30
    # Every reason a resident can be given is in it, the five new ones included.
    assert {c for v in variants for c in v.expect} >= set(STATED)


def test_every_hard_rule_break_gets_exactly_its_codes(verdicts):
    for variant, verdict in _of(verdicts, "hard"):
        assert set(verdict.codes) == variant.expect, variant.name
        assert verdict.review_codes == [], variant.name


def test_good_photos_pass_without_a_person(verdicts):
    total, accepted, refused = STATED_GOOD
    good = _of(verdicts, "valid")
    assert len(good) == total
    outcomes = [(v.name, v.how, verdict.codes, verdict.review_codes) for v, verdict in good]
    assert sum(not verdict.codes and not verdict.review_codes for _, verdict in good) >= accepted, (
        outcomes
    )
    assert sum(bool(verdict.codes) for _, verdict in good) <= refused, outcomes


def test_each_defect_is_caught_with_its_reason_at_the_stated_rate(verdicts):
    def check(variant: Variant) -> tuple[set, set]:
        verdict = verdicts[f"{variant.name}|{variant.how}"][1]
        return set(verdict.codes), set(verdict.review_codes)

    measured = evaluate(corpus(), check)["reasons"]
    assert set(measured) == set(STATED)
    for code, tally in measured.items():
        total, named, refused = STATED[code]
        assert tally.total == total, code
        assert tally.named >= named, (code, tally)
        assert tally.refused >= refused, (code, tally)


def test_the_page_states_the_same_rates():
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("### The repository's photos")
    section = text[start : text.index("\n#", start + 1)]
    for code, (total, named, refused) in STATED.items():
        row = re.search(rf"^\| `{code}` \|[^\n]*$", section, re.MULTILINE)
        assert row, code
        cells = [c.strip() for c in row.group(0).strip("|").split("|")]
        assert cells[1:4] == [str(total), f"{named}/{total}", f"{refused}/{total}"], cells
    total, accepted, refused = STATED_GOOD
    assert f"{accepted} of {total} good photos were accepted" in section
