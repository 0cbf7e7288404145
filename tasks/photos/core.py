"""The photo stage's pure core: the reason catalogue, and ``check_photo``.

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
class PhotoProblem:
    code: str
    message_ja: str
    message_en: str


PROBLEMS: dict[str, PhotoProblem] = {
    p.code: p
    for p in (
        PhotoProblem(
            "photo-empty",
            "写真のファイルが空です（0バイト）。撮影した写真をもう一度選んで提出してください",
            "The photo file is empty (0 bytes): choose the photo again and resubmit it.",
        ),
        PhotoProblem(
            "photo-not-jpeg",
            "写真はJPEG形式で提出してください",
            "The photo must be a JPEG file.",
        ),
        PhotoProblem(
            "photo-file-too-small",
            "写真のファイルサイズが小さすぎます（20KB以上にしてください）",
            "The photo file is too small (it must be at least 20 KB).",
        ),
        PhotoProblem(
            "photo-file-too-large",
            "写真のファイルサイズが大きすぎます（7MB以下にしてください）",
            "The photo file is too large (it must be at most 7 MB).",
        ),
        PhotoProblem(
            "photo-too-small-pixels",
            "写真の画素数が足りません（縦横とも480ピクセル以上にしてください）",
            "The photo is too small: each side must be at least 480 pixels.",
        ),
        PhotoProblem(
            "photo-too-large-pixels",
            "写真の画素数が多すぎます（縦横とも6000ピクセル以下にしてください）",
            "The photo is too large: each side must be at most 6000 pixels.",
        ),
        PhotoProblem(
            "photo-cmyk",
            "印刷用（CMYK）の画像は使えません。カラー（RGB）か白黒で保存してください",
            "CMYK images are not accepted: save the photo in colour (RGB) or black and white.",
        ),
        PhotoProblem(
            "photo-corrupt",
            "写真のファイルが壊れているため読み取れません。撮影し直してください",
            "The photo file is damaged and cannot be read: please take it again.",
        ),
        PhotoProblem(
            "no-face",
            "顔が確認できません。正面を向いた顔がはっきり写るように撮影してください",
            "No face could be found: take the photo facing the camera, with your face clearly visible.",
        ),
        PhotoProblem(
            "several-faces",
            "複数の人が写っています。申請者本人だけが写るように撮影してください",
            "More than one person is in the photo: take it with only yourself in the picture.",
        ),
        PhotoProblem(
            "face-too-small",
            "顔が小さすぎます。もう少し近づいて、胸から上が写るように撮影してください",
            "Your face is too small: move closer so that the photo shows you from the chest up.",
        ),
        PhotoProblem(
            "face-off-centre",
            "顔が中央にありません。顔が写真の中央に来るように撮影してください",
            "Your face is not in the middle: centre your face in the photo.",
        ),
        PhotoProblem(
            "face-tilted",
            "顔が傾いています。顔をまっすぐにして、カメラを傾けずに撮影してください",
            "Your head is tilted: hold your head straight and keep the camera level.",
        ),
        PhotoProblem(
            "face-turned",
            "顔が横や上下を向いています。顔を正面に向け、カメラをまっすぐ見て撮影してください",
            "Your face is turned to the side, up or down: face the camera and look straight at it.",
        ),
        PhotoProblem(
            "eyes-closed",
            "目を閉じています。両目をしっかり開けて撮影してください",
            "Your eyes are closed: keep both eyes open.",
        ),
        PhotoProblem(
            "eyes-not-visible",
            "目がはっきり写っていません。サングラスや色の付いた眼鏡を外し、眼鏡の反射や前髪で目が隠れないようにして撮影してください",
            "Your eyes cannot be seen: take off sunglasses or tinted glasses, and keep reflections on glasses and hair away from your eyes.",
        ),
        PhotoProblem(
            "mouth-open",
            "口が開いています。口を閉じて撮影してください",
            "Your mouth is open: close your mouth.",
        ),
        PhotoProblem(
            "head-covering",
            "帽子などで頭が覆われています。帽子やフードを外して撮影してください（宗教上・医療上の理由で外せない場合は窓口にご相談ください）",
            "Your head is covered: take off any hat, cap or hood (if you wear it for religious or medical reasons, ask at the counter).",
        ),
        PhotoProblem(
            "head-cut-off",
            "頭の上まで写るように、少し離れて撮影してください",
            "The top of your head is cut off: step back a little so the whole head is in the photo.",
        ),
        PhotoProblem(
            "chin-cut-off",
            "あごの下まで写るように、少し離れて撮影してください",
            "Your chin is cut off: step back a little so the photo shows you down to the shoulders.",
        ),
        PhotoProblem(
            "background-not-plain",
            "背景に物や模様、影が写っています。無地の壁などの前で撮影してください",
            "The background is not plain (objects, patterns or shadows): stand in front of a plain wall.",
        ),
        PhotoProblem(
            "too-dark",
            "写真が暗すぎます。明るい場所で、顔に光が当たるように撮影してください",
            "The photo is too dark: take it in a bright place with light on your face.",
        ),
        PhotoProblem(
            "too-bright",
            "写真が明るすぎます（白くとんでいます）。強い光や直射日光を避けて撮影してください",
            "The photo is too bright (washed out): avoid strong light and direct sunlight.",
        ),
        PhotoProblem(
            "low-contrast",
            "写真がぼんやりしていて顔の明暗がはっきりしません。明るさが均一な場所で撮影し直してください",
            "The photo is washed out and your features do not stand out: retake it in even light.",
        ),
        PhotoProblem(
            "blurred",
            "写真がぼやけています（ピンぼけ・手ぶれ）。カメラを固定し、ピントを合わせて撮影してください",
            "The photo is blurred (out of focus or camera shake): hold the camera still and focus on your face.",
        ),
        PhotoProblem(
            "colour-cast",
            "写真の色が不自然です。色の付いた照明やフィルター・加工を使わずに撮影してください",
            "The colours are unnatural: do not use coloured light, filters or editing.",
        ),
        PhotoProblem(
            "photo-too-old",
            "6か月以内に撮影した写真を使ってください",
            "The photo must have been taken within the last 6 months.",
        ),
    )
}


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
