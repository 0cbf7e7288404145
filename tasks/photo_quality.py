"""The quality checks of a face photo, in the spirit of ISO/IEC 29794-5 (OFIQ's measures):
one face, its size, position, tilt and crop margins, a plain background, exposure, contrast,
sharpness and colour.

Plain functions: a decoded, upright picture and the rules in, measures and reason codes out.
Every measure is relative (to the face or the picture), so the reduced decode (JPEG draft
mode) gives the same answer as the full picture. A measure past its ``*_fail`` level refuses
the photo; past its ``*_review`` level it sends the photo to a person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from kofu.settings import PhotoRules
from tasks.face_detect import SECOND_FACE_SHARE, Face, FaceDetector, default_detector

# The face is scaled to this width for the sharpness measure: about its width on the card
# (22 mm at 300 dpi is 260 px, the face about half of it), so blur is judged as it will print.
SHARP_FACE_WIDTH = 128
# Below this width (pixels as decoded) a face holds too little detail to judge its sharpness.
SHARP_MIN_WIDTH = 64
# The background is measured with the face scaled to this width: grain and JPEG noise then
# average out, while furniture, patterns and shadows stay.
BACKGROUND_FACE_WIDTH = 64
# A background region smaller than this many pixels (at that scale) says too little.
MIN_REGION_PIXELS = 300
# Face pixels at or below / at or above these levels are crushed to black / blown to white.
CRUSHED, BLOWN = 16, 245
# CIELAB a*, b* ranges that hold the mean colour of human skin under neutral light, from the
# palest to the darkest complexions; a face outside them means the picture is tinted.
SKIN_A = (3.0, 24.0)
SKIN_B = (6.0, 36.0)

Measure = int | float | str


@dataclass
class QualityReport:
    measures: dict[str, Measure] = field(default_factory=dict)
    fails: list[str] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)

    def low(self, code: str, name: str, value: float, fail: float, review: float) -> None:
        """Judge a measure where a low value is the defect."""
        self.measures[name] = round(float(value), 3)
        if value < fail:
            self.fails.append(code)
        elif value < review:
            self.reviews.append(code)

    def high(self, code: str, name: str, value: float, fail: float, review: float) -> None:
        """Judge a measure where a high value is the defect."""
        self.low(code, name, -value, -fail, -review)
        self.measures[name] = round(float(value), 3)

    def settled(self) -> QualityReport:
        """Each code once, and a code that refuses is not also sent to review."""
        fails = list(dict.fromkeys(self.fails))
        reviews = [c for c in dict.fromkeys(self.reviews) if c not in fails]
        return QualityReport(self.measures, fails, reviews)


def assess_photo(
    image: Image.Image, rules: PhotoRules, detector: FaceDetector | None = None
) -> QualityReport:
    """Every measure works on the picture as decoded (draft mode keeps it near 500 pixels),
    on crops around the face: nothing else is resized."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    pixels = np.asarray(image)
    rgb = None if pixels.ndim == 2 else pixels
    grey = pixels if rgb is None else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    white = _white_point(grey)
    report = QualityReport()
    faces = (detector or default_detector()).detect(grey)
    faces = [f for f in faces if f.w >= SECOND_FACE_SHARE * faces[0].w] if faces else []
    report.measures["face_count"] = len(faces)
    if not faces:
        report.fails.append("no-face")
        # Say why the face may not be seen: a very dark, bright or flat picture.
        judge_exposure(
            report, grey[grey.shape[0] // 4 : -grey.shape[0] // 4 : 2, ::2], white, rules
        )
        return report.settled()
    if len(faces) > 1:
        report.fails.append("several-faces")
        return report.settled()
    face = faces[0]
    judge_framing(report, face, grey.shape, rules)
    judge_sharpness(report, grey, face, rules)
    judge_exposure(report, _inner_face(grey, face), white, rules)
    if abs(face.roll_deg or 0.0) < rules.tilt_fail_deg:
        # The regions beside the head assume an upright head; a tilted one is refused anyway.
        judge_background(report, grey, face, rules)
    if rgb is not None:
        judge_colour(report, _inner_face(rgb, face), rules)
    return report.settled()


def judge_framing(
    report: QualityReport, face: Face, shape: tuple[int, ...], rules: PhotoRules
) -> None:
    height, width = shape[:2]
    size = math.sqrt(face.w * face.h / (width * height))
    report.low("face-too-small", "face_size", size, rules.face_size_fail, rules.face_size_review)
    offset = abs(face.centre[0] / width - 0.5)
    report.high(
        "face-off-centre", "face_offset", offset, rules.face_offset_fail, rules.face_offset_review
    )
    if face.roll_deg is not None:
        report.high(
            "face-tilted",
            "tilt_deg",
            abs(face.roll_deg),
            rules.tilt_fail_deg,
            rules.tilt_review_deg,
        )
    # The face box runs from the forehead to the chin: the crown is about half a face
    # height above it, so less room than that means the top of the head is cut off.
    above = face.y / face.h
    report.low(
        "head-cut-off", "space_above", above, rules.space_above_fail, rules.space_above_review
    )
    below = (height - face.y - face.h) / face.h
    report.low(
        "chin-cut-off", "space_below", below, rules.space_below_fail, rules.space_below_review
    )


def judge_exposure(
    report: QualityReport, pixels: np.ndarray, white_point: float, rules: PhotoRules
) -> None:
    """Under- and over-exposure and contrast of the face (or of the middle of a picture
    where no face was found). A dark face refuses the photo only when the whole picture is
    dark too: a face with dark skin before a light wall goes to a person at most. Contrast is
    judged only for a well exposed face: a dark or blown face is flat anyway, and one
    message is enough."""
    if pixels.size == 0:
        return
    counts = np.bincount(pixels.ravel(), minlength=256)
    mean = float(counts @ np.arange(256)) / pixels.size
    crushed = float(counts[: CRUSHED + 1].sum()) / pixels.size
    blown = float(counts[BLOWN:].sum()) / pixels.size
    report.low("too-dark", "face_brightness", mean, -1.0, rules.dark_review)
    report.measures["white_point"] = white_point
    if mean < rules.dark_fail and white_point < rules.dark_white_point:
        report.fails.append("too-dark")
    report.high("too-dark", "face_crushed", crushed, rules.clipped_fail, rules.clipped_review)
    report.high("too-bright", "face_brightness", mean, rules.bright_fail, rules.bright_review)
    report.high("too-bright", "face_blown", blown, rules.clipped_fail, rules.clipped_review)
    low, high = _percentiles(counts, (2, 98))
    if not {"too-dark", "too-bright"} & {*report.fails, *report.reviews}:
        report.low(
            "low-contrast",
            "face_contrast",
            float(high - low),
            rules.contrast_fail,
            rules.contrast_review,
        )


def judge_sharpness(report: QualityReport, grey: np.ndarray, face: Face, rules: PhotoRules) -> None:
    """Variance of the Laplacian over the face scaled to SHARP_FACE_WIDTH: focus blur and
    camera shake both take away the fine detail it measures. The face's brightness range is
    stretched first, so that a dark or flat face is not taken for a blurred one, and lightly
    smoothed, so that sensor grain does not pass for detail."""
    crop = _crop(grey, face.x, face.y, face.x + face.w, face.y + face.h)
    if crop.shape[1] < SHARP_MIN_WIDTH:
        return  # too few pixels to tell blur from size; face-too-small speaks for it
    k = SHARP_FACE_WIDTH / crop.shape[1]
    crop = cv2.resize(
        crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
    )
    low, high = _percentiles(np.bincount(crop.ravel(), minlength=256), (2, 98))
    stretched = ((crop - low) * (255 / max(float(high - low), 16.0))).astype(np.float32)
    smooth = cv2.GaussianBlur(stretched, (0, 0), 0.8)
    sharpness = float(cv2.Laplacian(smooth, cv2.CV_32F).var())
    report.low("blurred", "sharpness", sharpness, rules.sharpness_fail, rules.sharpness_review)


def judge_background(
    report: QualityReport, grey: np.ndarray, face: Face, rules: PhotoRules
) -> None:
    """Edges (furniture, patterns) and uneven light (shadows) in the regions above and
    beside the head, clear of the hair and the shoulders."""
    step = max(1, round(face.w / BACKGROUND_FACE_WIDTH))  # whole steps: a fast reduction
    small = grey
    if step > 1:
        size = (grey.shape[1] // step, grey.shape[0] // step)
        small = cv2.resize(
            grey[: size[1] * step, : size[0] * step], size, interpolation=cv2.INTER_AREA
        )
    x, y, w, h = face.x / step, face.y / step, face.w / step, face.h / step
    regions = [
        _crop(small, x - 0.6 * w, 0, x + 1.6 * w, y - 0.85 * h),  # above the head
        _crop(small, x - 1.8 * w, y - 0.5 * h, x - 0.4 * w, y + 0.8 * h),  # left of it
        _crop(small, x + 1.4 * w, y - 0.5 * h, x + 2.8 * w, y + 0.8 * h),  # right of it
    ]
    regions = [r for r in regions if r.size >= MIN_REGION_PIXELS]
    report.measures["background_regions"] = len(regions)
    if not regions:
        return  # the face fills the picture: the framing checks speak for it
    edges = max(float(np.count_nonzero(cv2.Canny(r, 40, 100))) / r.size for r in regions)
    report.high(
        "background-not-plain",
        "background_edges",
        edges,
        rules.background_edges_fail,
        rules.background_edges_review,
    )
    light = np.concatenate([cv2.GaussianBlur(r, (0, 0), 3).ravel() for r in regions])
    low, high = _percentiles(np.bincount(light, minlength=256), (2, 98))
    report.high(
        "background-not-plain",
        "background_spread",
        float(high - low),
        rules.background_spread_fail,
        rules.background_spread_review,
    )


def judge_colour(report: QualityReport, rgb: np.ndarray, rules: PhotoRules) -> None:
    """Distance of the face's mean colour (CIELAB a*, b*) from the range of skin colours.
    A picture kept in colour but without any (a * and b * near 0) is black and white: fine."""
    if rgb.size == 0:
        return
    mean = rgb.reshape(-1, 3).mean(axis=0).astype(np.float32) / 255
    _, a, b = cv2.cvtColor(mean.reshape(1, 1, 3), cv2.COLOR_RGB2LAB)[0, 0]
    if math.hypot(a, b) < 4:
        report.measures["colour_cast"] = 0.0  # black and white
        return
    off_a = max(SKIN_A[0] - a, a - SKIN_A[1], 0.0)
    off_b = max(SKIN_B[0] - b, b - SKIN_B[1], 0.0)
    report.high(
        "colour-cast",
        "colour_cast",
        math.hypot(off_a, off_b),
        rules.colour_cast_fail,
        rules.colour_cast_review,
    )


def _white_point(grey: np.ndarray) -> float:
    """The level of the brightest 1% of the picture: low when the whole shot is dark."""
    return _percentiles(np.bincount(grey[::2, ::2].ravel(), minlength=256), (99,))[0]


def _percentiles(counts: np.ndarray, at: tuple[float, ...]) -> list[float]:
    """Percentiles of 8-bit levels from their histogram (far cheaper than sorting)."""
    cumulative = np.cumsum(counts)
    return [float(np.searchsorted(cumulative, cumulative[-1] * q / 100)) for q in at]


def _inner_face(pixels: np.ndarray, face: Face) -> np.ndarray:
    """Eyes, nose, mouth and cheeks: the middle of the face box, little hair or background."""
    return _crop(
        pixels,
        face.x + 0.2 * face.w,
        face.y + 0.2 * face.h,
        face.x + 0.8 * face.w,
        face.y + 0.9 * face.h,
    )


def _crop(pixels: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    height, width = pixels.shape[:2]
    x0, x1 = max(int(x0), 0), min(int(x1), width)
    y0, y1 = max(int(y0), 0), min(int(y1), height)
    return pixels[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else pixels[:0, :0]
