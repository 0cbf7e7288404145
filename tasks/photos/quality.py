"""The quality checks of a face photo, in the spirit of ISO/IEC 29794-5 (OFIQ's measures):
``assess_photo`` finds the face and runs the face's checks (``kofu.tasks.photos.face_checks``: framing,
pose, eyes, mouth, head covering), then the picture's, here: a plain background, exposure,
contrast, sharpness and colour.

Plain functions: a decoded, upright picture and the rules in, measures and reason codes out.
Every measure is relative (to the face or the picture), so the reduced decode (JPEG draft
mode) gives the same answer as the full picture. A measure past its ``*_fail`` level refuses
the photo; past its ``*_review`` level it sends the photo to a person.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from kofu.base.photo_rules import PhotoRules
from kofu.tasks.photos.detect import SECOND_FACE_SHARE, Face, FaceDetector
from kofu.tasks.photos.face_checks import (
    face_box,
    find_faces,
    judge_eyes,
    judge_framing,
    judge_head_top,
    judge_mouth,
    judge_pose,
)
from kofu.tasks.photos.landmarks import Landmarker, default_landmarker
from kofu.tasks.photos.measures import (
    Head,
    backdrop_of,
    cheeks,
    head_of,
    head_top,
    to_lab,
    top_clear,
)
from kofu.tasks.photos.report import QualityReport

# The face is scaled to this width for the sharpness measure: about its width on the card
# (22 mm at 300 dpi is 260 px, the face about half of it), so blur is judged as it will print.
SHARP_FACE_WIDTH = 128
# Below this width (pixels as decoded) a face holds too little detail to judge its sharpness.
SHARP_MIN_WIDTH = 64
# The background is measured with the head scaled to this height (crown to chin): grain and
# JPEG noise then average out, while furniture, patterns and shadows stay.
BACKGROUND_HEAD_HEIGHT = 96
# A background region smaller than this many pixels (at that scale) says too little.
MIN_REGION_PIXELS = 300
# Face pixels at or below / at or above these levels are crushed to black / blown to white.
CRUSHED, BLOWN = 16, 245
# CIELAB a*, b* ranges that hold the mean colour of human skin under neutral light, from the
# palest to the darkest complexions; a face outside them means the picture is tinted.
SKIN_A = (3.0, 24.0)
SKIN_B = (6.0, 36.0)


def assess_photo(
    image: Image.Image,
    rules: PhotoRules,
    landmarker: Landmarker | None = None,
    detector: FaceDetector | None = None,
) -> QualityReport:
    """Every measure works on the picture as decoded (draft mode keeps it near 500 pixels),
    on crops around the face: nothing else is resized."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    pixels = np.asarray(image)
    rgb = np.dstack([pixels] * 3) if pixels.ndim == 2 else pixels
    grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    white = _white_point(grey)
    report = QualityReport()
    faces = find_faces(rgb, grey, landmarker or default_landmarker(), detector)
    heads = [head_of(f) for f in faces]
    faces = (
        [
            f
            for f, h in zip(faces, heads, strict=True)
            if h.height >= SECOND_FACE_SHARE * heads[0].height
        ]
        if faces
        else []
    )
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
    face, head = faces[0], heads[0]
    backdrop = backdrop_of(rgb, head)
    box = face_box(face)
    judge_pose(report, face, head, rules)
    judge_framing(report, head, top_clear(rgb, head, backdrop), grey.shape, rules)
    judge_eyes(report, None if pixels.ndim == 2 else rgb, grey, face, rules)
    judge_mouth(report, face, rules)
    if "face-too-small" not in (*report.fails, *report.reviews):
        # A small face holds too few pixels to tell blur from size: one message is enough.
        judge_sharpness(report, grey, box, rules)
    face_range = _range(_inner_face(grey, box))
    top = head_top(rgb, grey, face, head, backdrop, face_range)
    judge_head_top(report, top, rules)
    judge_exposure(report, _inner_face(grey, box), white, rules)
    judge_washed_out(report, rgb, rules)
    if abs(head.roll) < rules.tilt_fail_deg:
        # The regions beside the head assume an upright head; a tilted one is refused anyway.
        keep_out = [np.median(to_lab(cheeks(rgb, face).reshape(-1, 1, 3)), axis=(0, 1))]
        if top is not None:  # the hair, or the hat
            keep_out.append(top.colour)
        judge_background(report, rgb, grey, head, tuple(keep_out), rules)
    if pixels.ndim == 3:
        judge_colour(report, _inner_face(rgb, box), rules)
    return report.settled()


def judge_exposure(
    report: QualityReport, pixels: np.ndarray, white_point: float, rules: PhotoRules
) -> None:
    """Under- and over-exposure and contrast of the face (or of the middle of a picture
    where no face was found). A dark face refuses the photo only when the whole picture is
    dark too, and goes to a person only when the picture is dim: a face with dark skin
    before a light wall is well exposed. Contrast is
    judged only for a well exposed face: a dark or blown face is flat anyway, and one
    message is enough."""
    if pixels.size == 0:
        return
    counts = np.bincount(pixels.ravel(), minlength=256)
    mean = float(counts @ np.arange(256)) / pixels.size
    crushed = float(counts[: CRUSHED + 1].sum()) / pixels.size
    blown = float(counts[BLOWN:].sum()) / pixels.size
    report.measures["face_brightness"] = round(mean, 3)
    report.measures["white_point"] = white_point
    if mean < rules.dark_fail and white_point < rules.dark_white_point:
        report.fails.append("too-dark")
    elif mean < rules.dark_review and white_point < rules.dark_review_white_point:
        report.reviews.append("too-dark")
    report.high("too-dark", "face_crushed", crushed, rules.clipped_fail, rules.clipped_review)
    report.high("too-bright", "face_brightness", mean, rules.bright_fail, rules.bright_review)
    report.high("too-bright", "face_blown", blown, rules.clipped_fail, rules.clipped_review)
    low, high = _percentiles(counts, (2, 98))
    if not {"too-dark", "too-bright"} & {*report.fails, *report.reviews}:
        report.low(
            "low-contrast",
            "face_contrast",
            # Relative (Michelson): a dark skin spans fewer levels than a light one.
            float(high - low) / max(high + low, 1.0),
            rules.contrast_fail,
            rules.contrast_review,
        )


def judge_washed_out(report: QualityReport, rgb: np.ndarray, rules: PhotoRules) -> None:
    """Over-exposure of the whole picture: a face of dark skin can still look right when
    the wall behind it and the clothes are blown to white."""
    small = rgb[::2, ::2]
    blown = float(np.mean(cv2.min(cv2.min(small[..., 0], small[..., 1]), small[..., 2]) >= BLOWN))
    report.high("too-bright", "picture_blown", blown, rules.blown_fail, rules.blown_review)


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
    report: QualityReport,
    rgb: np.ndarray,
    grey: np.ndarray,
    head: Head,
    keep_out: tuple[np.ndarray, ...],
    rules: PhotoRules,
) -> None:
    """Edges (furniture, patterns) and uneven light (shadows) in what shows of the backdrop:
    the picture outside the head (an ellipse wide enough for most hair) and above the
    shoulders, leaving out the colours in ``keep_out`` (the hair's and the skin's, CIELAB):
    long or curly hair reaches past any ellipse."""
    step = max(1, round(head.height / BACKGROUND_HEAD_HEIGHT))  # whole steps: fast
    size = (grey.shape[1] // step, grey.shape[0] // step)
    small = cv2.resize(grey[: size[1] * step, : size[0] * step], size, interpolation=cv2.INTER_AREA)
    small_lab = to_lab(
        cv2.resize(rgb[: size[1] * step, : size[0] * step], size, interpolation=cv2.INTER_AREA)
    )
    cx, cy = head.centre_x / step, (head.crown[1] + head.chin[1]) / 2 / step
    h = head.height / step
    ys, xs = np.ogrid[0 : size[1], 0 : size[0]]
    rx, ry, below = ELLIPSE
    outside = ((xs - cx) / (rx * h)) ** 2 + ((ys - cy + 0.02 * h) / (ry * h)) ** 2 > 1
    mask = outside & (ys < head.chin[1] / step + below * h)
    for colour in keep_out:
        away = small_lab - np.asarray(colour, np.float32)
        mask &= np.einsum("ijk,ijk->ij", away, away) >= KEEP_OUT_MATCH**2
    mask = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    area = int(np.count_nonzero(mask))
    report.measures["background_area"] = round(area / mask.size, 3)
    if area < MIN_REGION_PIXELS:
        return  # the head fills the picture: the framing checks speak for it
    # Beside the face, and lower down beside the jaw and neck, where a collar, a hood or a
    # raised shoulder can be as busy as a room: the lower part counts at most twice what the
    # part beside the face shows.
    upper = mask & (ys < head.chin[1] / step - 0.2 * h)
    beside = int(np.count_nonzero(upper))
    edge_map = cv2.Canny(small, 40, 100) > 0
    below = float(np.count_nonzero(edge_map & mask & ~upper)) / max(area - beside, 1)
    if beside < MIN_REGION_PIXELS:
        # Only the part beside the neck shows (a tight crop): a collar or a raised shoulder
        # is there too, so it refuses at a higher level and is never merely reviewed.
        report.high("background-not-plain", "background_edges_low", below, NECK_EDGES, NECK_EDGES)
        return
    above = float(np.count_nonzero(edge_map & upper)) / beside
    edges = max(above, min(below, 2 * above))
    report.high(
        "background-not-plain",
        "background_edges",
        edges,
        rules.background_edges_fail,
        rules.background_edges_review,
    )
    # The light's spread (a shadow, a lamp) is judged beside the face only: lower down, a
    # collar or a shoulder is as dark as a shadow.
    light = cv2.GaussianBlur(small, (0, 0), 3)[upper]
    low, high = _percentiles(np.bincount(light, minlength=256), (2, 98))
    report.high(
        "background-not-plain",
        "background_spread",
        float(high - low),
        rules.background_spread_fail,
        rules.background_spread_review,
    )


# The head's ellipse, beyond which the backdrop is looked for: half-widths in head heights
# (wide enough for most hair), and how far below the chin the look goes.
ELLIPSE = (0.7, 0.68, 0.1)
# Edges beside the neck alone: a space suit's collar ring measured up to 0.13 (the demo's
# portrait), rooms behind a tightly framed head 0.04 to 0.33.
NECK_EDGES = 0.14
# Pixels within this CIELAB distance of the hair's or the skin's colour are not backdrop.
KEEP_OUT_MATCH = 12.0


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


def _range(pixels: np.ndarray) -> float:
    """Brightness range between the 2nd and 98th percentiles."""
    if pixels.size == 0:
        return 0.0
    low, high = _percentiles(np.bincount(pixels.ravel(), minlength=256), (2, 98))
    return high - low


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
