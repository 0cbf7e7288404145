"""Measures of one face from its landmarks (``kofu.tasks.photos.landmarks.FaceMesh``), in the spirit of
OFIQ (ISO/IEC 29794-5): where the head is in the picture, its pose, the eyes and the mouth, and
what covers the eyes or the head. Plain functions: landmarks and pixels in, numbers out.

Every length is relative (to the head's height, the distance between the eyes, or the
picture), so the reduced decode gives the same numbers as the full picture.

The crown is not a landmark: the mesh ends at the top of the forehead. It is estimated from
the forehead and the chin (``CROWN_FACTOR``) and, where the backdrop shows above the head,
from the picture itself (``top_clear``). README "Photo checks" gives the error against the
hand-placed landmarks of the Face Research Lab London set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kofu.tasks.photos.landmarks import FaceMesh

# MediaPipe face mesh indices. "Left" and "right" are the image's: the person's right eye
# is on the image's left.
IRISES = (468, 473)
EYE_OUTLINES = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
)
EYELIDS = ((159, 145), (386, 374))  # upper and lower lid, at the middle of each eye
EYE_CORNERS = ((33, 133), (263, 362))  # outer and inner corner
INNER_LIPS = (13, 14)
MOUTH_CORNERS = (61, 291)
FOREHEAD = 10  # the top of the face outline, below the hairline
CHIN = 152
FACE_SIDES = (234, 454)  # the outline at the level of the eyes
FACE_OUTLINE = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
BROW_TOPS = (105, 334)  # the top of each brow

# Crown-to-chin height over forehead-to-chin height, fitted on the 102 London portraits'
# hand-placed crown (point 151 of their .tem files): 1.34, error 2.7% of the head's height
# on average, 6% at the 95th percentile (README "Photo checks").
CROWN_FACTOR = 1.34
# ISO/IEC 39794-5's eye visibility zone: the eye's outline grown by a twentieth of the
# distance between the eyes.
EYE_ZONE_GROWTH = 1 / 20


@dataclass(frozen=True)
class Head:
    """Where the head is: crown and chin points (x, y) along the face's own vertical axis,
    its crown-to-chin height, the distance between the pupils, the roll (degrees, positive
    when the head leans clockwise) and the face's width at the eyes."""

    crown: tuple[float, float]
    chin: tuple[float, float]
    height: float
    ied: float
    roll: float
    width: float

    @property
    def centre_x(self) -> float:
        return (self.crown[0] + self.chin[0]) / 2


def head_of(face: FaceMesh) -> Head:
    p = face.points
    chin, forehead = p[CHIN, :2], p[FOREHEAD, :2]
    crown = chin + CROWN_FACTOR * (forehead - chin)
    left, right = p[IRISES[0], :2], p[IRISES[1], :2]
    roll = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    return Head(
        (float(crown[0]), float(crown[1])),
        (float(chin[0]), float(chin[1])),
        float(np.linalg.norm(chin - crown)),
        float(np.linalg.norm(right - left)),
        roll,
        float(np.linalg.norm(p[FACE_SIDES[1], :2] - p[FACE_SIDES[0], :2])),
    )


def eye_openness(face: FaceMesh) -> tuple[float, float]:
    """Each eye's lid gap over its width (about 0.3 open, under 0.1 closed)."""
    p = face.points[:, :2]
    return tuple(  # type: ignore[return-value]
        float(np.linalg.norm(p[u] - p[d]) / max(np.linalg.norm(p[o] - p[i]), 1e-6))
        for (u, d), (o, i) in zip(EYELIDS, EYE_CORNERS, strict=True)
    )


def mouth_openness(face: FaceMesh) -> float:
    """The gap between the inner lips over the mouth's width."""
    p = face.points[:, :2]
    gap = np.linalg.norm(p[INNER_LIPS[0]] - p[INNER_LIPS[1]])
    return float(gap / max(np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]), 1e-6))


def eye_zones(face: FaceMesh, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Each eye's visibility zone as a boolean mask of the picture."""
    p = face.points[:, :2]
    grow = max(1, round(np.linalg.norm(p[IRISES[0]] - p[IRISES[1]]) * EYE_ZONE_GROWTH))
    zones = []
    for outline in EYE_OUTLINES:
        mask = np.zeros(shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(p[list(outline)]).astype(np.int32)], 1)
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        zones.append(mask.astype(bool))
    return zones


def cheeks(pixels: np.ndarray, face: FaceMesh) -> np.ndarray:
    """The pixels of both cheeks, under the eyes (N, channels): skin that neither glasses,
    a fringe nor a hat covers."""
    p = face.points[:, :2]
    h, w = pixels.shape[:2]
    ied = float(np.linalg.norm(p[IRISES[0]] - p[IRISES[1]]))
    r = max(2, round(0.12 * ied))
    patches = []
    for iris in IRISES:
        x, y = round(p[iris, 0]), round(p[iris, 1] + 0.55 * ied)
        patch = pixels[max(y - r, 0) : min(y + r, h), max(x - r, 0) : min(x + r, w)]
        patches.append(patch.reshape(-1, *pixels.shape[2:]))
    return np.concatenate(patches)


def skin_level(grey: np.ndarray, face: FaceMesh) -> float:
    """The cheeks' median brightness: what the eyes are judged against, so that a dark
    skin is not taken for dark glasses."""
    values = cheeks(grey, face)
    return float(np.median(values)) if values.size else 128.0


@dataclass(frozen=True)
class EyeLook:
    """What is seen of one eye, its zone judged against the brightness of the cheeks:
    ``lens`` is the share of the zone far darker than the skin when the zone is also flat
    and has no bright part (a dark lens; an eye in dim light still shows the white of the
    eye and the edge of the lids, so it scores 0), ``blown`` the share blown out (a
    reflection on glasses), ``opening`` the lid opening over the eye's width."""

    lens: float
    blown: float
    opening: float


# A pixel counts as dark when under this share of the skin's brightness (and under the
# absolute level): an iris and pupil fill a part of the zone, a dark lens all of it.
DARK_OF_SKIN, DARK_LEVEL = 0.45, 60
# A lens is flat: the zone's spread, and its brightest tenth, stay under these shares of
# the skin's brightness (measured: an open eye 0.14 and 0.50 at least, even in a dim
# selfie with dark make-up; dark glasses at most 0.08 and 0.46 over a lens without a
# reflection).
LENS_SPREAD, LENS_BRIGHTEST = 0.15, 0.55
# Blown out: at or above this level in every channel (a reflection on glasses; the small
# catchlight of a lamp in the pupil is a few percent of the zone).
BLOWN_LEVEL = 248


def eye_looks(rgb: np.ndarray | None, grey: np.ndarray, face: FaceMesh) -> list[EyeLook]:
    skin = max(skin_level(grey, face), 1.0)
    dark_below = min(DARK_LEVEL, DARK_OF_SKIN * skin)
    # Blown skin around the eyes is an over-exposed face (too-bright), not a reflection:
    # only what the eye zone has beyond the cheeks counts.
    cheek = cheeks(grey if rgb is None else rgb, face)
    cheek_blown = float(np.mean(cheek.reshape(len(cheek), -1).min(axis=1) >= BLOWN_LEVEL))
    looks = []
    for zone, opening in zip(eye_zones(face, grey.shape), eye_openness(face), strict=True):
        values = grey[zone].astype(np.float32)
        if values.size == 0:
            looks.append(EyeLook(1.0, 0.0, opening))
            continue
        flat = (
            values.std() < LENS_SPREAD * skin and np.percentile(values, 90) < LENS_BRIGHTEST * skin
        )
        lens = float(np.count_nonzero(values < dark_below)) / values.size if flat else 0.0
        blown_px = values >= BLOWN_LEVEL if rgb is None else rgb[zone].min(axis=1) >= BLOWN_LEVEL
        blown = float(np.count_nonzero(blown_px)) / values.size
        looks.append(EyeLook(lens, max(blown - cheek_blown, 0.0), opening))
    return looks


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (L* 0-100, a*, b*) as float32."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255
    lab[..., 1:] -= 128
    return lab


def backdrop_mask(shape: tuple[int, ...], head: Head, step: int = 1) -> np.ndarray:
    """Where the backdrop must be, in a picture reduced by ``step``: above the crown, and
    beside the head (clear of the hair) down to the neck."""
    height, width = shape[:2]
    ys, xs = np.ogrid[0:height, 0:width]
    ys, xs = ys * step, xs * step
    beside = (np.abs(xs - head.centre_x) > 0.6 * head.height) & (
        ys < head.chin[1] - 0.4 * head.height
    )
    return beside | (ys < head.crown[1] - 0.12 * head.height)


@dataclass(frozen=True)
class Backdrop:
    """The backdrop's median colour (RGB 0-255 and CIELAB) and how much it varies (the
    largest channel's median absolute deviation)."""

    rgb: np.ndarray
    lab: np.ndarray
    spread: float

    def gains(self) -> np.ndarray | None:
        """Channel gains that make the backdrop grey (a camera's white balance), or None
        when it cannot be gone by: dark, busy, or strongly coloured itself (a red wall is
        not a tint)."""
        if self.rgb.mean() < 60 or self.spread > PLAIN_SPREAD:
            return None
        gains = self.rgb.mean() / np.maximum(self.rgb, 1.0)
        return None if gains.max() / gains.min() > 3 else gains


# Every third pixel is enough to know a backdrop's colour.
BACKDROP_STEP = 3
# A backdrop whose colour varies by more than this (median absolute deviation of a channel,
# 0-255) is not plain enough to set the white balance by.
PLAIN_SPREAD = 12


def backdrop_of(rgb: np.ndarray, head: Head) -> Backdrop | None:
    """The backdrop, or None when the head leaves too little of it."""
    small = rgb[::BACKDROP_STEP, ::BACKDROP_STEP]
    samples = small[backdrop_mask(small.shape, head, BACKDROP_STEP)]
    if len(samples) < 100:
        return None
    colour = np.median(samples, axis=0).astype(np.float32)
    spread = float(np.median(np.abs(samples - colour), axis=0).max())
    lab = to_lab(colour.round().astype(np.uint8).reshape(1, 1, 3))[0, 0]
    return Backdrop(colour, lab, spread)


# Colour distances (CIELAB: a*b* for the skin, ΔE for the backdrop) within which a pixel
# matches the skin or the backdrop.
SKIN_MATCH, BACKDROP_MATCH = 10.0, 12.0
HAIR_CHROMA = 45.0
# The head-top band, in head heights: from and to below the crown, and either side.
HEAD_TOP_BAND = (0.08, 0.15, 0.15)
# A face's brightness range in a well-exposed photo (2nd to 98th percentile).
NORMAL_RANGE = 150.0
# Pixels this close to the head top's median colour count as of one uniform colour.
UNIFORM_MATCH = 8.0


@dataclass(frozen=True)
class HeadTop:
    """The band above the hairline, inside the head (``HEAD_TOP_BAND``): the share of it whose colour no hair has (``odd_colour``: saturated, or
    of a hue no hair takes), the share of one uniform colour, its fine texture (mean
    Laplacian), its median brightness L*, and the shares that match the skin of the cheeks
    and the backdrop."""

    odd_colour: float
    uniform: float
    texture: float
    lightness: float
    skin: float
    backdrop: float
    colour: np.ndarray  # its median colour (CIELAB, as the picture's light left it)


def head_top(
    rgb: np.ndarray,
    grey: np.ndarray,
    face: FaceMesh,
    head: Head,
    backdrop: Backdrop | None,
    face_range: float,
) -> HeadTop | None:
    """``face_range`` is the face's brightness range (2nd to 98th percentile): the texture
    is judged against it, so that a flat, foggy picture does not make all hair look flat.
    Colours are judged in the backdrop's white balance: coloured light tints hair and wall
    alike, and a tinted hair is still hair."""
    height, width = grey.shape[:2]
    # Narrow enough to stay on the skull near its top (about 0.2 of the head's height
    # either side of the middle at 8% below the crown), whatever the crown estimate's error.
    y0 = int(max(head.crown[1] + HEAD_TOP_BAND[0] * head.height, 0))
    y1 = int(max(head.crown[1] + HEAD_TOP_BAND[1] * head.height, 0))
    x0 = int(max(head.centre_x - HEAD_TOP_BAND[2] * head.height, 0))
    x1 = int(min(head.centre_x + HEAD_TOP_BAND[2] * head.height, width))
    if (y1 - y0) * (x1 - x0) < 30:
        return None  # the head top is outside the picture: head-cut-off speaks for it
    crop = rgb[y0:y1, x0:x1]
    gains = backdrop.gains() if backdrop is not None else None

    def balanced(pixels: np.ndarray) -> np.ndarray:
        if gains is None:
            return pixels
        return np.clip(pixels.astype(np.float32) * gains, 0, 255).astype(np.uint8)

    band = to_lab(balanced(crop)).reshape(-1, 3)
    chroma = np.hypot(band[:, 1], band[:, 2])
    hue = np.degrees(np.arctan2(band[:, 2], band[:, 1]))
    # Hair, from black through brown, red and blond to grey, has little colour, and what it
    # has lies between red-orange and yellow (hue 15 to 100 degrees, chroma under
    # HAIR_CHROMA: ginger hair reaches about 40, a red, orange or yellow cap 50 and more).
    hair = (chroma < 14) | ((chroma < HAIR_CHROMA) & (hue > 15) & (hue < 100))
    # The skin's colour, at any brightness: a bald crown catches the light, or the shade.
    skin_colour = np.median(to_lab(balanced(cheeks(rgb, face)).reshape(-1, 1, 3)), axis=(0, 1))
    skin = (np.linalg.norm(band[:, 1:] - skin_colour[1:], axis=1) < SKIN_MATCH) & (
        np.abs(band[:, 0] - skin_colour[0]) < 35
    )
    if backdrop is None:
        on_backdrop = np.zeros(len(band), bool)
    else:
        ground = to_lab(balanced(backdrop.rgb.round().astype(np.uint8).reshape(1, 1, 3)))[0, 0]
        on_backdrop = np.linalg.norm(band - ground, axis=1) < BACKDROP_MATCH
    median = np.median(band, axis=0)
    patch = cv2.GaussianBlur(grey[y0:y1, x0:x1].astype(np.float32), (0, 0), 0.7)
    texture = float(np.abs(cv2.Laplacian(patch, cv2.CV_32F)).mean())
    return HeadTop(
        float(np.mean(~hair & ~skin & ~on_backdrop)),
        float(np.mean(np.linalg.norm(band - median, axis=1) < UNIFORM_MATCH)),
        texture * NORMAL_RANGE / max(face_range, 30),
        float(median[0]),
        float(np.mean(skin)),
        float(np.mean(on_backdrop)),
        np.median(to_lab(crop).reshape(-1, 3), axis=0),
    )


def top_clear(rgb: np.ndarray, head: Head, backdrop: Backdrop | None) -> float:
    """The share of the picture's top rows over the head that is backdrop: when the
    backdrop shows above the hair, the top of the head is in the picture, whatever the
    crown estimate says."""
    if backdrop is None:
        return 0.0
    width = rgb.shape[1]
    rows = 2  # the very top: a crown just inside leaves it to the backdrop
    x0 = int(max(head.centre_x - 0.3 * head.height, 0))
    x1 = int(min(head.centre_x + 0.3 * head.height, width))
    if x1 <= x0:
        return 0.0
    strip = to_lab(rgb[:rows, x0:x1]).reshape(-1, 3)
    return float(np.mean(np.linalg.norm(strip - backdrop.lab, axis=1) < BACKDROP_MATCH))
