"""The photo checks, one rule at a time. The labelled corpus and its catch rates are in
tests/integration/test_photo_corpus.py."""

import io
import json
import random
from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from pydantic import ValidationError

from kofu.base.photo_rules import PhotoRules
from kofu.tasks.demo.names import Framing, portrait
from kofu.tasks.photos.core import check_photo
from kofu.tasks.photos.detect import DETECTORS, Face
from kofu.tasks.photos.problems import PROBLEMS
from kofu.tasks.photos.report import QualityReport
from tests.helpers import jpeg_bytes
from tests.photo_corpus import SUBMITTED_AT, exif_bytes, jpeg

RULES = PhotoRules()
NO_QUALITY = ()  # the hard rules alone: noise pictures have no face


PASSPORT = Framing(0.34)


def a_portrait(seed: int = 1, size=(600, 800), framing=PASSPORT, **edits) -> Image.Image:
    picture = portrait(random.Random(seed), size, framing)
    if "brightness" in edits:
        picture = ImageEnhance.Brightness(picture).enhance(edits["brightness"])
    return picture


def test_a_good_photo_passes():
    verdict = check_photo(jpeg(a_portrait()), RULES, SUBMITTED_AT)
    assert verdict.ok, (verdict.codes, verdict.review_codes)
    assert verdict.measures["width"] == 600 and verdict.measures["height"] == 800
    assert verdict.measures["face_count"] == 1
    json.dumps(verdict.measures)  # stored as JSON with the application


def test_png_named_anything_is_not_jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(buf, "PNG")
    assert check_photo(buf.getvalue(), RULES).codes == ["photo-not-jpeg"]


def test_small_pixels_and_small_file_are_both_reported():
    data = jpeg_bytes(320, 400, quality=30)
    assert len(data) < RULES.min_bytes
    assert set(check_photo(data, RULES).codes) == {"photo-file-too-small", "photo-too-small-pixels"}


def test_too_many_pixels():
    data = jpeg_bytes(6100, 500, quality=20)
    assert "photo-too-large-pixels" in check_photo(data, RULES, quality_checks=NO_QUALITY).codes


def test_a_decompression_bomb_is_refused_from_its_header():
    data = jpeg(a_portrait())
    sof = data.index(b"\xff\xc0")
    bomb = data[: sof + 5] + (60000).to_bytes(2, "big") * 2 + data[sof + 9 :]
    assert check_photo(bomb, RULES).codes == ["photo-too-large-pixels"]


def test_cmyk_is_refused():
    assert check_photo(jpeg_bytes(mode="CMYK"), RULES).codes == ["photo-cmyk"]


def test_greyscale_is_fine():
    assert check_photo(jpeg_bytes(mode="L"), RULES, quality_checks=NO_QUALITY).ok
    assert check_photo(jpeg(a_portrait().convert("L")), RULES).ok


def test_truncated_empty_and_pretend_files_are_refused_not_crashes():
    data = jpeg_bytes()
    assert check_photo(data[: len(data) // 2], RULES).codes == ["photo-corrupt"]
    assert check_photo(b"", RULES).codes == ["photo-empty"]
    assert check_photo(b"\xff\xd8\xff" + b"\x00" * 30_000, RULES).codes == ["photo-corrupt"]


def test_random_bytes_never_raise():
    rng = random.Random(5)
    good = jpeg(a_portrait())
    for _ in range(30):
        cut = rng.randrange(3, len(good))
        mangled = bytearray(good[:cut] + rng.randbytes(rng.randrange(0, 30_000)))
        for _ in range(rng.randrange(0, 20)):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        verdict = check_photo(bytes(mangled), RULES, SUBMITTED_AT)
        assert all(code in PROBLEMS for code in verdict.codes + verdict.review_codes)


def test_over_the_size_limit_is_refused_without_decoding():
    data = jpeg_bytes() + b"\x00" * (RULES.max_bytes)
    assert check_photo(data, RULES).codes == ["photo-file-too-large"]


def test_exif_orientation_is_applied_before_the_face_checks():
    stored = a_portrait().transpose(Image.Transpose.ROTATE_90)  # as a phone held sideways
    assert check_photo(jpeg(stored, exif=exif_bytes(orientation=6)), RULES).ok
    # Without the tag the landmarker still sees her, lying on her side: one tilted face.
    assert check_photo(jpeg(stored), RULES).codes == ["face-tilted"]


def test_a_12_megapixel_photo_is_decoded_at_reduced_size():
    seen = []

    def spy(image, rules):
        seen.append(image.size)
        return QualityReport()

    data = jpeg(a_portrait().resize((3024, 4032)), 80)
    assert check_photo(data, RULES, quality_checks=[spy]).ok
    assert seen == [(378, 504)]  # draft mode: 1/8 of each side


def test_the_quality_seam_adds_measures_defects_and_borderline_cases():
    def fake(image, rules):
        return QualityReport({"fake": 1.5}, ["too-dark"], ["blurred", "too-dark"])

    verdict = check_photo(jpeg_bytes(), RULES, quality_checks=[fake])
    assert verdict.codes == ["too-dark"] and verdict.review_codes == ["blurred"]
    assert verdict.measures["fake"] == 1.5 and not verdict.ok


def test_a_borderline_measure_goes_to_review_with_its_measure():
    strict = RULES.model_copy(update={"sharpness_review": 500.0})
    verdict = check_photo(jpeg(a_portrait()), strict)
    assert verdict.codes == [] and verdict.review_codes == ["blurred"] and not verdict.ok
    assert 40 < verdict.measures["sharpness"] < 500


def test_every_defect_found_is_reported():
    picture = a_portrait(framing=Framing(0.3, 0.22, 0.42), brightness=0.25)
    verdict = check_photo(jpeg(picture), RULES)
    assert {"too-dark", "face-off-centre"} <= set(verdict.codes)


def test_a_dark_face_before_a_light_wall_is_not_refused():
    """Dark skin before a light wall is well exposed: only a dim picture makes a dark face
    worth a person's look, and only a dark picture refuses it."""
    picture = a_portrait()
    pixels = np.asarray(picture).copy()
    face = (slice(200, 420), slice(200, 400))
    pixels[face] = (pixels[face] * 0.35).astype(np.uint8)
    verdict = check_photo(jpeg(Image.fromarray(pixels)), RULES)
    assert "too-dark" not in verdict.codes and "too-dark" not in verdict.review_codes
    dim = (np.asarray(Image.fromarray(pixels)) * 0.7).astype(np.uint8)
    assert "too-dark" in check_photo(jpeg(Image.fromarray(dim)), RULES).review_codes


def test_capture_date_older_than_six_months_is_refused():
    old = SUBMITTED_AT.replace(tzinfo=None) - timedelta(days=2 * 365)
    data = jpeg(a_portrait(), exif=exif_bytes(taken=old))
    verdict = check_photo(data, RULES, SUBMITTED_AT)
    assert verdict.codes == ["photo-too-old"] and verdict.measures["age_days"] == 730
    recent = jpeg(a_portrait(), exif=exif_bytes(taken=datetime(2026, 10, 1, 9, 0)))
    assert check_photo(recent, RULES, SUBMITTED_AT).ok
    assert check_photo(data, RULES).ok  # no submission time: the age is not judged
    assert check_photo(jpeg(a_portrait()), RULES, SUBMITTED_AT).ok  # no date: not a defect


@pytest.mark.parametrize("name", ["lbp", "haar"])
def test_each_detector_finds_her_face_and_its_tilt(name):
    detector = DETECTORS[name]()
    for roll in (0, 25, -25):
        picture = a_portrait(framing=Framing(0.34, roll_deg=roll)).convert("L")
        faces = detector.detect(np.asarray(picture))
        assert len(faces) == 1, (roll, faces)
        face: Face = faces[0]
        assert abs(face.centre[0] - 300) < 30 and abs(face.centre[1] - 336) < 40
        assert abs(face.w - 0.34 * 600) < 40
        # Her head leans about 3 degrees clockwise in the source photo.
        assert face.roll_deg is not None and abs(face.roll_deg - (roll + 3)) < 7


def test_review_levels_must_be_milder_than_refusal_levels():
    with pytest.raises(ValidationError, match="sharpness_fail"):
        PhotoRules(sharpness_fail=90.0, sharpness_review=60.0)
    with pytest.raises(ValidationError, match="tilt_fail_deg"):
        PhotoRules(tilt_fail_deg=5.0)


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_every_reason_has_messages_in_both_languages(code):
    problem = PROBLEMS[code]
    assert problem.message_ja and problem.message_en and problem.code == code
    assert "ください" in problem.message_ja  # it tells the resident what to do


def test_reading_checks_the_path_again_and_reads_only_regular_files(tmp_path):
    """Intake refused these paths; a file swapped in after intake is caught on reading."""
    import os

    from kofu.tasks.photos.files import PhotoOutsideDelivery, PhotoUnreadable, read_photo

    folder, outside = tmp_path / "delivery", tmp_path / "secret.jpg"
    (folder / "photos").mkdir(parents=True)
    outside.write_bytes(jpeg_bytes())
    (folder / "photos" / "a.jpg").write_bytes(b"\xff\xd8\xff" + b"x" * 100)
    assert read_photo(folder, "photos/a.jpg", 50) == b"\xff\xd8\xff" + b"x" * 48
    (folder / "photos" / "out.jpg").symlink_to(outside)
    (folder / "photos" / "loop.jpg").symlink_to("loop.jpg")
    os.mkfifo(folder / "photos" / "pipe.jpg")  # no writer: opening it plainly would hang
    with pytest.raises(PhotoOutsideDelivery) as out:
        read_photo(folder, "photos/out.jpg", RULES.max_bytes)
    assert out.value.code == "photo-path-outside-delivery"
    for path in ("../secret.jpg", "photos/loop.jpg", "photos/pipe.jpg", "photos", "gone.jpg"):
        with pytest.raises(PhotoUnreadable):
            read_photo(folder, path, RULES.max_bytes)
