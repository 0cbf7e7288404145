"""The photo stage's pure core: ``check_photo``.

The reason catalogue (codes and the words a resident reads) is ``kofu.tasks.photos.problems``.

``check_photo`` takes bytes and rules and returns problems with reason codes; it never raises
for a defect of the photo. A file that cannot be read at all (missing, permission) is the
system's problem, not the resident's (kofu.tasks.photos.files): the stage sends it to the
failure queue.

The order: the hard rules on the header alone (format, size, pixels, colour mode); one
reduced decode (JPEG draft mode), which also proves the file is whole; EXIF orientation;
then the quality checks (``kofu.tasks.photos.quality``) and the capture date.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from PIL import Image, ImageOps

from kofu.base.clock import japan_wall_clock
from kofu.base.photo_rules import PhotoRules
from kofu.tasks.photos.problems import PROBLEMS, PhotoProblem
from kofu.tasks.photos.quality import assess_photo
from kofu.tasks.photos.report import QualityReport

JPEG_MAGIC = b"\xff\xd8\xff"
# Refuse images whose pixel count would take gigabytes to decode (decompression bombs):
# the largest legal upload is 6000 x 6000. A header declaring more than 4 times that is
# not even opened further.
MAX_PIXELS = 6000 * 6000
# The quality checks need about 500 pixels on the longest side: draft mode decodes at the
# smallest of 1/2, 1/4 and 1/8 that still gives this many (1/8 for a 12 MP photo).
DRAFT_SIDE = 480
# EXIF tags: the Exif sub-IFD pointer, DateTimeOriginal (when the shutter fired), DateTime.
_EXIF_IFD, _DATE_TAKEN, _DATE_CHANGED = 0x8769, 0x9003, 0x0132


@dataclass(frozen=True)
class PhotoVerdict:
    problems: tuple[PhotoProblem, ...]  # clear defects: photo_rejected, with every one found
    # What was measured, for staff and the review queue: JSON-serialisable, no personal data.
    measures: dict[str, int | float | str] = field(default_factory=dict)
    # Borderline measures for a person to decide (needs_review) when there is no problem.
    borderline: tuple[PhotoProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and not self.borderline

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]

    @property
    def review_codes(self) -> list[str]:
        return [p.code for p in self.borderline]


# The seam for the quality checks: each takes the decoded, upright picture (reduced to about
# WORK_SIDE pixels) and the rules, and returns measures, defects and borderline codes.
QualityCheck = Callable[[Image.Image, PhotoRules], QualityReport]
QUALITY_CHECKS: tuple[QualityCheck, ...] = (assess_photo,)


def check_photo(
    data: bytes,
    rules: PhotoRules,
    submitted_at: datetime | None = None,
    quality_checks: Sequence[QualityCheck] = QUALITY_CHECKS,
) -> PhotoVerdict:
    measures: dict[str, int | float | str] = {"bytes": len(data)}
    found, whole = _file_problems(data, rules)
    if not whole:
        return _verdict(found, measures)
    image, bomb = _open_checked(data, measures)
    if image is None:
        return _verdict([*found, "photo-too-large-pixels" if bomb else "photo-corrupt"], measures)
    found += _header_problems(image, rules)
    if found:
        return _verdict(found, measures)

    taken = _capture_date(image)
    decoded = _decode_reduced(image)
    if decoded is None:
        return _verdict(["photo-corrupt"], measures)
    reviews: list[str] = []
    for check in quality_checks:
        report = check(decoded, rules)
        measures.update(report.measures)
        found.extend(report.fails)
        reviews.extend(report.reviews)
    if taken is not None and submitted_at is not None:
        age = japan_wall_clock(submitted_at) - taken  # the camera's clock: local time
        measures["age_days"] = age.days
        if age > timedelta(days=rules.max_age_days):
            found.append("photo-too-old")
    return _verdict(found, measures, reviews)


def _file_problems(data: bytes, rules: PhotoRules) -> tuple[list[str], bool]:
    """The rules the bytes alone decide, and whether the file may be opened at all."""
    if not data:
        return ["photo-empty"], False
    if not data.startswith(JPEG_MAGIC):
        return ["photo-not-jpeg"], False
    if len(data) > rules.max_bytes:
        # Not decoded at all: the size alone refuses it, and it may be an attack.
        return ["photo-file-too-large"], False
    return (["photo-file-too-small"] if len(data) < rules.min_bytes else []), True


def _header_problems(image: Image.Image, rules: PhotoRules) -> list[str]:
    """The hard rules the header decides: format, pixels a side, colour mode."""
    width, height = image.size
    found = []
    if image.format != "JPEG":
        found.append("photo-not-jpeg")
    if min(width, height) < rules.min_side_px:
        found.append("photo-too-small-pixels")
    if max(width, height) > rules.max_side_px:
        found.append("photo-too-large-pixels")
    if image.mode == "CMYK":
        found.append("photo-cmyk")
    return found


def _verdict(
    codes: list[str], measures: dict[str, int | float | str], reviews: Sequence[str] = ()
) -> PhotoVerdict:
    problems = tuple(PROBLEMS[c] for c in dict.fromkeys(codes))
    borderline = tuple(PROBLEMS[c] for c in dict.fromkeys(reviews) if c not in codes)
    return PhotoVerdict(problems, measures, borderline)


def _open_checked(
    data: bytes, measures: dict[str, int | float | str]
) -> tuple[Image.Image | None, bool]:
    """Read the header only: size, mode and format, without decoding pixels. The second
    value says the header declared a decompression bomb (far more pixels than allowed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, True
    except (OSError, ValueError, SyntaxError):
        return None, False
    measures.update(width=image.width, height=image.height, mode=image.mode)
    if image.width * image.height > MAX_PIXELS * 4:
        return None, True
    return image, False


def _decode_reduced(image: Image.Image) -> Image.Image | None:
    """Decode at reduced size (draft mode: 1/2, 1/4 or 1/8 of each side, no smaller than
    DRAFT_SIDE) to prove the file is whole, and apply EXIF orientation so that every later
    check sees the picture the right way up. A 12 MP photo is never decoded in full."""
    scale = DRAFT_SIDE / max(image.size)
    try:
        if scale < 1:
            image.draft("RGB", (round(image.width * scale), round(image.height * scale)))
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning):
        return None


def _capture_date(image: Image.Image) -> datetime | None:
    """When the photo was taken, from EXIF; None when absent or unreadable (not a defect:
    many apps strip EXIF)."""
    try:
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATE_TAKEN) or exif.get(_DATE_CHANGED)
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S") if raw else None
    except (ValueError, TypeError, OSError, SyntaxError, KeyError):
        return None
