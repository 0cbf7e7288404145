import io

import pytest
from PIL import Image

from kofu.settings import PhotoRules
from tasks.photos import PROBLEMS, check_photo
from tests.helpers import jpeg_bytes

RULES = PhotoRules()


def test_a_good_photo_passes():
    verdict = check_photo(jpeg_bytes(), RULES)
    assert verdict.ok, verdict.codes
    assert verdict.measures["width"] == 600 and verdict.measures["height"] == 800


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
    assert "photo-too-large-pixels" in check_photo(data, RULES).codes


def test_cmyk_is_refused():
    assert check_photo(jpeg_bytes(mode="CMYK"), RULES).codes == ["photo-cmyk"]


def test_greyscale_is_fine():
    assert check_photo(jpeg_bytes(mode="L"), RULES).ok


def test_truncated_and_empty_files_are_corrupt_not_crashes():
    data = jpeg_bytes()
    assert check_photo(data[: len(data) // 2], RULES).codes == ["photo-corrupt"]
    assert check_photo(b"", RULES).codes == ["photo-not-jpeg"]
    assert check_photo(b"\xff\xd8\xff" + b"\x00" * 30_000, RULES).codes == ["photo-corrupt"]


def test_over_the_size_limit_is_refused_without_decoding():
    data = jpeg_bytes() + b"\x00" * (RULES.max_bytes)
    assert check_photo(data, RULES).codes == ["photo-file-too-large"]


def test_quality_check_seam_runs_on_the_decoded_image():
    seen = []

    def dark(image, rules):
        seen.append(image.size)
        return [PROBLEMS["photo-corrupt"]]

    assert check_photo(jpeg_bytes(), RULES, quality_checks=[dark]).codes == ["photo-corrupt"]
    assert seen and seen[0][0] < 600  # draft mode: decoded at reduced size


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_every_reason_has_messages_in_both_languages(code):
    problem = PROBLEMS[code]
    assert problem.message_ja and problem.message_en and problem.code == code
