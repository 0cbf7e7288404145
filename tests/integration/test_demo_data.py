"""The synthetic register and delivery: deterministic, well-formed, and true to their labels."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import jaconv
import pytest
from PIL import Image
from stdnum.jp import in_ as stdnum_in

from kofu.base.mynumber import has_valid_check_digit
from kofu.base.photo_rules import PhotoRules
from kofu.tasks.demo import names as demo_names
from kofu.tasks.demo.generator import (
    BAD_PHOTOS,
    KIND_SHARES,
    generate_delivery,
    kind_counts,
    write_demo_data,
)
from kofu.tasks.demo.register import generate_register
from kofu.tasks.photos.core import check_photo
from kofu.tasks.register.core import REGISTER_COLUMNS

SUBMITTED_ON = date(2026, 11, 26)
N_APPLICATIONS = 300
# DESIGN.md, "Input: the resident register".
DESIGN_COLUMNS = [
    "resident_code",
    "individual_number",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "postal_code",
    "address",
    "status",
    "status_date",
]
LINE_FIELDS = {
    "application_id",
    "submitted_at",
    "channel",
    "individual_number",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "postal_code",
    "address",
    "photo",
}
EXPECTED_STATE = {
    "good": "notice_generated",
    "no-number-good": "notice_generated",
    "address-typo": "notice_generated",
    "needs-review": "needs_review",
    "bad-photo": "photo_rejected",
    "unknown": "no_match",
    "moved-out": "ineligible",
    "deceased": "ineligible",
    "removed": "ineligible",
}
KATAKANA = re.compile(r"[ァ-ヶー]+")
ADDRESS = re.compile(r"見本市(\D+?)(\d)丁目(\d+)番(\d+)号( \S+?\d{3})?")
TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
# Bad photos that break no hard rule: only the quality checks find them.
QUALITY_DEFECTS = {"head-cut-off", "background-not-plain"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    register_csv, truth = write_demo_data(root, submitted_on=SUBMITTED_ON)
    with register_csv.open(encoding="utf-8", newline="") as fh:
        register = list(csv.DictReader(fh))
    raw_lines = (truth.folder / "applications.jsonl").read_text(encoding="utf-8").splitlines()
    return register_csv, register, truth, raw_lines


@pytest.fixture(scope="module")
def lines(demo):
    """(outcome, parsed line or None for the unparseable ones), in line order."""
    _, _, truth, raw_lines = demo
    assert len(raw_lines) == len(truth.outcomes) == N_APPLICATIONS
    out = []
    for raw, outcome in zip(raw_lines, truth.outcomes, strict=True):
        parsed = None if outcome.expected_state == "rejected-line" else json.loads(raw)
        out.append((outcome, parsed))
    return out


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_the_same_bytes(demo, tmp_path):
    register_csv, _, truth, _ = demo
    again_csv, again = write_demo_data(tmp_path, submitted_on=SUBMITTED_ON)
    assert again_csv.read_bytes() == register_csv.read_bytes()
    assert _tree_digest(again.folder) == _tree_digest(truth.folder)
    assert again.outcomes == truth.outcomes
    assert again.individual_numbers == truth.individual_numbers


def test_another_seed_gives_other_data(tmp_path):
    small = {"residents": 200, "applications": 20, "submitted_on": SUBMITTED_ON}
    a_csv, a = write_demo_data(tmp_path / "a", seed=1, **small)
    b_csv, b = write_demo_data(tmp_path / "b", seed=2, **small)
    assert a_csv.read_bytes() != b_csv.read_bytes()
    assert a.outcomes != b.outcomes


def test_register_header_is_the_designed_one(demo):
    register_csv, _, _, _ = demo
    assert list(REGISTER_COLUMNS) == DESIGN_COLUMNS
    header = register_csv.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == DESIGN_COLUMNS


def test_register_rows_are_plausible(demo):
    _, register, _, _ = demo
    assert len(register) == 3000
    codes = [r["resident_code"] for r in register]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"\d{11}", c) for c in codes)
    numbers = [r["individual_number"] for r in register if r["individual_number"]]
    assert len(set(numbers)) == len(numbers)
    assert 0.02 < 1 - len(numbers) / len(register) < 0.08
    male = {g.kanji for g in demo_names.MALE_NAMES}
    female = {g.kanji for g in demo_names.FEMALE_NAMES}
    postal = {t.name: t.postal_code for t in demo_names.TOWNS}
    for r in register:
        assert r["given_name"] in (male if r["sex"] == "1" else female)
        assert KATAKANA.fullmatch(r["family_name_kana"] + r["given_name_kana"])
        match = ADDRESS.fullmatch(r["address"])
        assert match, r["address"]
        assert postal[match.group(1)] == r["postal_code"]
        assert date(1935, 1, 1) <= date.fromisoformat(r["birth_date"]) <= date(2024, 12, 31)
        assert (r["status"] == "resident") == (r["status_date"] == "")
        if r["status_date"]:
            assert date.fromisoformat(r["status_date"]) > date.fromisoformat(r["birth_date"])
    statuses = Counter(r["status"] for r in register)
    assert statuses == {"resident": 2700, "moved_out": 120, "deceased": 120, "removed": 60}
    assert 0.15 < sum(" " in r["address"] for r in register) / len(register) < 0.25
    children = sum(r["birth_date"] > "2011-11-26" for r in register)
    assert 0.04 < children / len(register) < 0.2
    households = Counter((r["address"], r["family_name"]) for r in register)
    assert sum(size >= 2 for size in households.values()) > 200


def test_individual_numbers_have_valid_check_digits(demo, lines):
    _, register, truth, raw_lines = demo
    in_register = {r["individual_number"] for r in register if r["individual_number"]}
    in_delivery = {p["individual_number"] for _, p in lines if p and "individual_number" in p}
    for number in in_register | in_delivery | set(truth.individual_numbers):
        assert has_valid_check_digit(number), number
        assert stdnum_in.is_valid(number), number  # an independent implementation
    # The truth lists every 12-digit number written anywhere in the delivery, and only those.
    written = {m for raw in raw_lines for m in TWELVE_DIGITS.findall(raw)}
    assert set(truth.individual_numbers) == written
    assert in_delivery <= written
    assert 0.05 < sum(p is not None and "individual_number" not in p for _, p in lines) / 300 < 0.15


def test_application_ids_are_unique_23_digits(lines):
    ids = [p["application_id"] for _, p in lines if p is not None]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[1-9]\d{22}", i) for i in ids)
    for outcome, parsed in lines:
        assert outcome.application_id == ("" if parsed is None else parsed["application_id"])


def test_kind_mix(demo):
    _, _, truth, _ = demo
    counts = truth.kind_counts()
    assert counts == kind_counts(N_APPLICATIONS)
    for kind, share in KIND_SHARES.items():
        assert abs(counts[kind] / N_APPLICATIONS - share) <= 0.01, kind
    for outcome in truth.outcomes:
        if outcome.kind in EXPECTED_STATE:
            assert outcome.expected_state == EXPECTED_STATE[outcome.kind]
        else:
            assert outcome.kind == "malformed"
            assert outcome.expected_state in ("invalid", "rejected-line")
    malformed = {o.reasons: o.expected_state for o in truth.outcomes if o.kind == "malformed"}
    assert malformed == {
        ("malformed-json",): "rejected-line",
        ("missing-field",): "invalid",
        ("bad-birth-date",): "invalid",
        ("bad-postal-code",): "invalid",
        ("photo-path-outside-delivery",): "invalid",
    }
    photo_codes = {c for o in truth.outcomes if o.kind == "bad-photo" for c in o.reasons}
    assert set(BAD_PHOTOS) <= photo_codes


def test_lines_follow_the_contract(lines):
    evening = datetime.combine(SUBMITTED_ON - timedelta(days=1), datetime.min.time())
    for outcome, parsed in lines:
        if outcome.kind == "malformed":
            continue
        assert set(parsed) <= LINE_FIELDS
        assert LINE_FIELDS - set(parsed) <= {"individual_number"}
        stamp = datetime.fromisoformat(parsed["submitted_at"])
        assert stamp.utcoffset() == timedelta(hours=9)
        assert evening.replace(hour=18) <= stamp.replace(tzinfo=None) < evening + timedelta(days=1)
        assert parsed["channel"] in ("smartphone", "pc", "kiosk", "mail")
        assert parsed["sex"] in ("1", "2")
        assert re.fullmatch(r"\d{3}-\d{4}", parsed["postal_code"])
        date.fromisoformat(parsed["birth_date"])
        assert parsed["photo"] == f"photos/{parsed['application_id']}.jpg"


def test_applicants_agree_with_their_register_rows(demo, lines):
    _, register, _, _ = demo
    by_code = {r["resident_code"]: r for r in register}
    people = Counter((r["family_name"], r["given_name"], r["birth_date"]) for r in register)
    numbers = {r["individual_number"] for r in register if r["individual_number"]}
    status = {"moved-out": "moved_out", "deceased": "deceased", "removed": "removed"}
    for outcome, parsed in lines:
        if outcome.kind == "unknown":
            assert outcome.resident_code is None and outcome.reasons == ("not-in-register",)
            key = (parsed["family_name"], parsed["given_name"], parsed["birth_date"])
            assert key not in people
            assert parsed["individual_number"] not in numbers
            continue
        if outcome.kind in ("malformed", "bad-photo"):
            continue
        row = by_code[outcome.resident_code]
        for field in ("family_name", "given_name", "sex", "postal_code"):
            assert parsed[field] == row[field]
        kana = jaconv.hira2kata(parsed["family_name_kana"] + parsed["given_name_kana"])
        assert kana == row["family_name_kana"] + row["given_name_kana"]
        if outcome.kind == "needs-review":
            # Same person, one digit of the birth day wrong, no number: a person decides.
            assert "individual_number" not in parsed and parsed["address"] == row["address"]
            typed, registered = parsed["birth_date"], row["birth_date"]
            assert sum(a != b for a, b in zip(typed, registered, strict=True)) == 1
            assert typed[:8] == registered[:8]
            assert outcome.reasons == ("partial-match",) and outcome.match_method is None
            continue
        assert parsed["birth_date"] == row["birth_date"]
        if outcome.kind == "address-typo":
            # Same person, another house number, no number: the scored tier matches alone.
            assert "individual_number" not in parsed and parsed["address"] != row["address"]
            assert ADDRESS.fullmatch(parsed["address"])
            assert outcome.reasons == () and outcome.match_method == "scored"
            continue
        assert unicodedata.normalize("NFKC", parsed["address"]) == row["address"]
        method = "individual-number" if parsed.get("individual_number") else "exact"
        assert outcome.match_method == method
        if outcome.kind == "no-number-good":
            assert "individual_number" not in parsed
            assert parsed["address"] == row["address"]
            assert people[(row["family_name"], row["given_name"], row["birth_date"])] == 1
        else:
            assert parsed["individual_number"] == row["individual_number"]
        expected_status = status.get(outcome.kind, "resident")
        assert row["status"] == expected_status
        assert outcome.reasons == (() if expected_status == "resident" else (outcome.kind,))
    codes = [o.resident_code for o, _ in lines if o.resident_code]
    assert len(set(codes)) == len(codes)


def _violations(data: bytes) -> set[str]:
    """The hard photo rules (DOMAIN.md), checked independently of the pipeline's checker."""
    if not data.startswith(b"\xff\xd8\xff"):
        return {"photo-not-jpeg"}
    found = set()
    if len(data) < 20 * 1024:
        found.add("photo-file-too-small")
    if len(data) > 7 * 1024 * 1024:
        found.add("photo-file-too-large")
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.format != "JPEG":
            found.add("photo-not-jpeg")
        if min(image.size) < 480:
            found.add("photo-too-small-pixels")
        if max(image.size) > 6000:
            found.add("photo-too-large-pixels")
        if image.mode == "CMYK":
            found.add("photo-cmyk")
        elif image.mode not in ("RGB", "L"):
            found.add("photo-odd-mode")
    return found


def test_good_photos_pass_the_hard_rules(demo, lines):
    _, _, truth, _ = demo
    checked = 0
    for outcome, parsed in lines:
        if parsed is None or outcome.kind == "bad-photo":
            continue
        path = truth.folder / parsed["photo"]
        if outcome.reasons == ("photo-path-outside-delivery",):
            assert parsed["photo"] == "../../etc/passwd"
            continue
        data = path.read_bytes()
        assert data[:3] == b"\xff\xd8\xff"
        assert 2 * 20 * 1024 <= len(data) <= 7 * 1024 * 1024
        assert _violations(data) == set()
        with Image.open(path) as image:
            assert image.size == (600, 800) and image.mode == "RGB"
        checked += 1
    assert checked > 250


def test_each_bad_photo_breaks_exactly_its_rule(demo, lines):
    _, _, truth, _ = demo
    for outcome, parsed in lines:
        if outcome.kind != "bad-photo":
            continue
        data = (truth.folder / parsed["photo"]).read_bytes()
        hard = set(outcome.reasons) - QUALITY_DEFECTS
        assert _violations(data) == hard, outcome
        if "photo-not-jpeg" in outcome.reasons:
            with Image.open(truth.folder / parsed["photo"]) as image:
                assert image.format == "PNG"


def test_the_photo_checks_give_every_photo_its_intended_verdict(demo, lines):
    """Good photos pass every check (face included) with nothing for a person to review;
    each bad one earns exactly its reasons."""
    _, _, truth, _ = demo
    rules = PhotoRules()
    seen = Counter()
    for outcome, parsed in lines:
        if parsed is None or outcome.reasons == ("photo-path-outside-delivery",):
            continue
        data = (truth.folder / parsed["photo"]).read_bytes()
        verdict = check_photo(data, rules, datetime.fromisoformat(parsed["submitted_at"]))
        if outcome.kind == "bad-photo":
            assert tuple(verdict.codes) == outcome.reasons, (outcome, verdict.review_codes)
            seen.update(outcome.reasons)
        else:
            assert verdict.ok, (outcome, verdict.codes, verdict.review_codes, verdict.measures)
            seen["good"] += 1
    assert seen["good"] > 250 and seen["head-cut-off"] and seen["background-not-plain"]


def test_small_register_falls_back_to_good_applications(tmp_path):
    rng = random.Random(7)
    register = generate_register(rng, 40)
    truth = generate_delivery(rng, register, tmp_path / "d", 25, SUBMITTED_ON)
    assert len(truth.outcomes) == 25
    assert sum(truth.kind_counts().values()) == 25
    with pytest.raises(ValueError, match="too small"):
        generate_delivery(rng, register, tmp_path / "e", 200, SUBMITTED_ON)
