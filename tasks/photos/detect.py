"""Face detection for the photo checks, behind a small interface so the detector can be swapped.

Every detector here runs a model that ships inside its PyPI package, so nothing is downloaded
at run time:

- ``lbp``: scikit-image's LBP frontal-face cascade, run by OpenCV's cascade engine (the choice:
  see README, "Photo checks", for the measured comparison);
- ``haar``: OpenCV 4.x's Haar frontal-face cascade (5.x no longer ships it);
- ``skimage-lbp``: the same LBP cascade run by scikit-image's own engine (slow; comparison only).

The roll (head tilt) comes from OpenCV's Haar eye cascade inside the face.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

# Faces are first searched for on the picture shrunk to this longest side (by a whole
# factor): a face of an acceptable size is still 35 pixels or more there, above the
# cascades' 24-pixel window, and the search takes a millisecond or two.
DETECT_SIDE = 320
# The fast first pass looks only for faces at least this share of the shorter side, the size
# of a face in any acceptable framing; smaller faces are searched for only when it finds none.
LARGE_FACE_SHARE = 0.18
# A face turned further than the cascades tolerate (about 12 degrees) is searched for in the
# picture turned back by these angles; found there, it is reported with that roll.
TURN_ANGLES = (25.0, -25.0, 40.0, -40.0)
# Small faces (the photo will be refused or reviewed) are searched for at this longest side.
SMALL_FACE_SIDE = 800
# Another face counts from this share of the largest face's width; smaller ones are
# posters or people far behind, which the background check is for.
SECOND_FACE_SHARE = 0.5
# Share of the height added above and below to find a face cut by the picture's edge.
EDGE_PAD = 0.3
HAAR_FACES = "haarcascade_frontalface_default.xml"
# Eyes are searched for in the face scaled to this width: the eyes are then a little over
# the eye model's 20-pixel window, the cheapest size at which it finds them reliably.
EYE_FACE_WIDTH = 80


@dataclass(frozen=True)
class Face:
    """A face box in the pixels of the picture given to ``detect``; roll in degrees,
    positive when the head leans clockwise, None when the eyes were not found."""

    x: float
    y: float
    w: float
    h: float
    roll_deg: float | None = None

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


class FaceDetector(Protocol):
    name: str

    def detect(self, grey: np.ndarray) -> list[Face]:
        """Faces in an 8-bit greyscale picture, largest first. A face smaller than half
        the largest one may be left out."""
        ...


class CascadeFaceDetector:
    """OpenCV's cascade engine with a face model, plus the eye model for the roll.

    A face found by the slower searches (small, cut by an edge, turned) must be confirmed by
    a second, independent model: those searches look at more candidate windows, and the two
    models' false alarms (a cat, a stained cell) fall in different places.
    """

    def __init__(
        self,
        name: str,
        faces: cv2.CascadeClassifier,
        confirm: cv2.CascadeClassifier,
        min_neighbours: int = 4,
    ):
        if faces.empty() or confirm.empty():
            raise RuntimeError(f"face model {name} did not load")
        self.name = name
        self._faces = faces
        self._confirm = confirm
        self._eyes = _haar("haarcascade_eye.xml")
        self._min_neighbours = min_neighbours

    def detect(self, grey: np.ndarray) -> list[Face]:
        small, k = _shrink(grey, DETECT_SIDE)
        large = round(min(small.shape) * LARGE_FACE_SHARE)
        found = [self._refined(small, f) for f in self._search(small, large)]
        if found:
            found += self._beside(small, found)
            return [self._with_roll(grey, _scaled(f, 1 / k), 0.0) for f in found]
        # Not found at once: the slower searches, for photos that are most likely refused.
        # A face cut by the top or bottom edge (a selfie taken too close): the picture is
        # extended by mirroring its edge rows, so the face is whole enough to be found.
        pad = round(small.shape[0] * EDGE_PAD)
        padded = cv2.copyMakeBorder(small, pad, pad, 0, 0, cv2.BORDER_REFLECT)
        found = self._search(padded, large, confirm=True)
        found = [_moved(f, 0, -pad) for f in found + self._beside(padded, found)]
        if found:
            return [self._with_roll(grey, _scaled(f, 1 / k), 0.0) for f in found]
        # A small face: searched for with more pixels (a small picture is enlarged).
        larger, j = _resized(grey, SMALL_FACE_SIDE)
        found = self._search(larger, 0, scale_step=1.1, confirm=True)
        if found:
            found += self._beside(larger, found)
            return [self._with_roll(grey, _scaled(f, 1 / j), 0.0) for f in found]
        for angle in TURN_ANGLES:
            turned, matrix = _turn(small, angle)
            found = self._search(turned, large, confirm=True)
            if found:
                back = cv2.invertAffineTransform(matrix)
                return [self._turned_back(grey, f, angle, back, k) for f in found]
        return []

    def _search(
        self,
        grey: np.ndarray,
        min_size: int,
        scale_step: float = 1.2,
        confirm: bool = False,
        neighbours: int | None = None,
        largest: int = 0,
    ) -> list[Face]:
        boxes = self._faces.detectMultiScale(
            grey,
            scaleFactor=scale_step,
            minNeighbors=neighbours or self._min_neighbours,
            minSize=(min_size, min_size),
            maxSize=(largest, largest),
        )
        faces = [Face(float(x), float(y), float(w), float(h)) for x, y, w, h in boxes]
        if confirm:
            faces = [f for f in faces if self._confirmed(grey, f)]
        return sorted(faces, key=lambda f: -f.w)

    def _refined(self, grey: np.ndarray, face: Face) -> Face:
        """The same face searched again around itself in fine size steps: the first pass's
        coarse steps (20%) can give a box a fifth too small, which would put the hair in
        the background regions and misjudge the margins."""
        x0, y0 = max(int(face.x - 0.4 * face.w), 0), max(int(face.y - 0.4 * face.h), 0)
        roi = grey[y0 : int(face.y + 1.4 * face.h), x0 : int(face.x + 1.4 * face.w)]
        low, high = int(face.w * 0.85), int(face.w * 1.3)
        boxes = self._faces.detectMultiScale(roi, 1.06, 2, minSize=(low, low), maxSize=(high, high))
        if len(boxes) == 0:
            return face
        cx, cy = face.centre
        x, y, w, h = min(
            boxes, key=lambda b: abs(x0 + b[0] + b[2] / 2 - cx) + abs(y0 + b[1] + b[3] / 2 - cy)
        )
        return Face(float(x0 + x), float(y0 + y), float(w), float(h))

    def _beside(self, grey: np.ndarray, found: list[Face]) -> list[Face]:
        """Another person beside the first, whose face may be smaller than the first pass
        looks for: the strips left and right of the largest face, down to SECOND_FACE_SHARE
        of its width (smaller faces are posters or people far behind: not counted)."""
        if not found:
            return []
        main = found[0]
        least = round(main.w * SECOND_FACE_SHARE)
        # Beside it means at about the same height: from a face above to one below.
        top, bottom = max(int(main.y - main.h), 0), int(main.y + 2 * main.h)
        others = []
        for x0, x1 in ((0, int(main.x)), (int(main.x + main.w), grey.shape[1])):
            if x1 - x0 < least:
                continue
            # Finer steps and fewer votes than the first pass: the strips are small, and a
            # face found there must be confirmed by the second model. A face larger than
            # the first would have been found by the first pass.
            strip = grey[top:bottom, x0:x1]
            for face in self._search(strip, least, 1.1, True, 3, largest=int(main.w * 1.2)):
                moved = _moved(face, x0, top)
                if not any(_overlap(moved, f) for f in found):
                    others.append(moved)
        return others

    def _confirmed(self, grey: np.ndarray, face: Face) -> bool:
        """The second model also finds a face of about this size at about this place."""
        roi = grey[
            max(int(face.y - 0.3 * face.h), 0) : int(face.y + 1.3 * face.h),
            max(int(face.x - 0.3 * face.w), 0) : int(face.x + 1.3 * face.w),
        ]
        low, high = int(face.w * 0.6), int(face.w * 1.6)
        found = self._confirm.detectMultiScale(
            roi, 1.1, 3, minSize=(low, low), maxSize=(high, high)
        )
        return len(found) > 0

    def _turned_back(
        self, grey: np.ndarray, face: Face, angle: float, back: np.ndarray, k: float
    ) -> Face:
        """A face found in the turned picture, as a box in the given one."""
        cx, cy = back @ np.array([*face.centre, 1.0])
        w, h = face.w / k, face.h / k
        upright = Face(cx / k - w / 2, cy / k - h / 2, w, h)
        return self._with_roll(_turn(grey, angle)[0], _scaled(face, 1 / k), angle, upright)

    def _with_roll(
        self, grey: np.ndarray, face: Face, turned: float, box: Face | None = None
    ) -> Face:
        """Roll from the two eyes, plus the angle the picture was turned to find the face."""
        box = box or face
        eyes = _eye_roll(self._eyes, grey, face)
        roll = (turned or None) if eyes is None else eyes + turned
        return Face(box.x, box.y, box.w, box.h, roll)


class SkimageLbpDetector:
    """scikit-image's own engine on its LBP cascade: same model, slower; for comparison."""

    name = "skimage-lbp"

    def __init__(self) -> None:
        from skimage.data import lbp_frontal_face_cascade_filename
        from skimage.feature import Cascade

        self._cascade = Cascade(lbp_frontal_face_cascade_filename())

    def detect(self, grey: np.ndarray) -> list[Face]:
        small, k = _shrink(grey, DETECT_SIDE)
        short = min(small.shape)
        found = self._cascade.detect_multi_scale(
            img=small.astype(np.float32) / 255,
            scale_factor=1.15,
            step_ratio=1,
            min_size=(24, 24),
            max_size=(short, short),
            min_neighbor_number=4,
        )
        faces = [Face(d["c"] / k, d["r"] / k, d["width"] / k, d["height"] / k) for d in found]
        return sorted(faces, key=lambda f: -f.w)


def _lbp() -> cv2.CascadeClassifier:
    """scikit-image's LBP cascade, loaded into OpenCV's faster engine."""
    from skimage.data import lbp_frontal_face_cascade_filename

    with open(lbp_frontal_face_cascade_filename(), encoding="utf-8") as fh:
        text = fh.read()
    # The copy in scikit-image misspells one tag, which OpenCV's reader refuses.
    text = text.replace("featuhreParams", "featureParams")
    storage = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
    faces = cv2.CascadeClassifier()
    faces.read(storage.getFirstTopLevelNode())
    return faces


def lbp_detector() -> CascadeFaceDetector:
    return CascadeFaceDetector("lbp", _lbp(), _haar(HAAR_FACES))


def haar_detector() -> CascadeFaceDetector:
    return CascadeFaceDetector("haar", _haar(HAAR_FACES), _lbp())


DETECTORS = {"lbp": lbp_detector, "haar": haar_detector, "skimage-lbp": SkimageLbpDetector}
DEFAULT_DETECTOR = "lbp"
_local = threading.local()


def default_detector() -> FaceDetector:
    """One detector per thread: OpenCV's cascade objects are not safe to share."""
    detector = getattr(_local, "detector", None)
    if detector is None:
        detector = _local.detector = DETECTORS[DEFAULT_DETECTOR]()
    return detector


def _haar(filename: str) -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + filename)


def _shrink(grey: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Reduced by a whole factor to at most ``side``: area averaging by whole factors is
    fast, by fractions several times slower."""
    step = math.ceil(max(grey.shape) / side)
    if step == 1:
        return grey, 1.0
    size = (grey.shape[1] // step, grey.shape[0] // step)
    crop = grey[: size[1] * step, : size[0] * step]
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA), 1 / step


def _resized(grey: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    k = side / max(grey.shape)
    if k >= 1:
        return cv2.resize(grey, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR), k
    return _shrink(grey, side)


def _scaled(face: Face, k: float) -> Face:
    return Face(face.x * k, face.y * k, face.w * k, face.h * k, face.roll_deg)


def _overlap(a: Face, b: Face) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def _moved(face: Face, dx: float, dy: float) -> Face:
    return Face(face.x + dx, face.y + dy, face.w, face.h, face.roll_deg)


def _turn(grey: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The picture turned counter-clockwise by ``angle`` about its centre; edges repeated."""
    h, w = grey.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(grey, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE), matrix


def _eye_roll(eyes: cv2.CascadeClassifier, grey: np.ndarray, face: Face) -> float | None:
    """The angle of the line between the eyes, searched in the upper half of the face."""
    top, bottom = int(face.y + face.h * 0.15), int(face.y + face.h * 0.6)
    left, right = int(max(face.x, 0)), int(face.x + face.w)
    roi = grey[max(top, 0) : bottom, left:right]
    if roi.size == 0 or roi.shape[1] < 8:
        return None
    k = EYE_FACE_WIDTH / roi.shape[1]
    roi = cv2.resize(
        roi, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    )
    found = eyes.detectMultiScale(roi, 1.2, 3, minSize=(16, 16), maxSize=(40, 40))
    centres = [(x + w / 2, y + h / 2, w) for x, y, w, h in found]
    half = EYE_FACE_WIDTH / 2
    left_eyes = [c for c in centres if c[0] < half]
    right_eyes = [c for c in centres if c[0] >= half]
    best: tuple[float, float] | None = None
    for a in left_eyes:
        for b in right_eyes:
            dx, dy = b[0] - a[0], b[1] - a[1]
            # Two eyes are 0.3 to 0.6 of the face width apart and of similar size.
            if not 0.25 * EYE_FACE_WIDTH <= math.hypot(dx, dy) <= 0.65 * EYE_FACE_WIDTH:
                continue
            mismatch = abs(a[2] - b[2]) / max(a[2], b[2])
            if best is None or mismatch < best[0]:
                best = (mismatch, math.degrees(math.atan2(dy, dx)))
    return None if best is None else best[1]
