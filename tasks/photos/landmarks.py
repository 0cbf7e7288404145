"""Facial landmarks for the photo checks, behind a small interface so the model can be swapped.

The model is MediaPipe's FaceLandmarker (code and model Apache-2.0): a face detector, a mesh
of 478 points (the irises included), 52 blendshapes (eyeBlink, jawOpen…) and the head's pose
as a transformation matrix. Its model file ships in this package (``face_landmarker.task``,
checked against its SHA-256 before it is loaded), so nothing is downloaded at run time.
README "Photo checks" gives the measured comparison that chose it.

Points are returned in the pixels of the picture given, with z (depth) in the same scale.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import math
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from kofu.base.errors import UserError

MODEL_PATH = Path(__file__).with_name("face_landmarker.task")
# The float16 FaceLandmarker v1 bundle of MediaPipe's model card (detector, 478-point mesh
# with irises, blendshapes), as published.
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
# At most this many faces are meshed: one applicant, and enough to tell there are others.
MAX_FACES = 3
# MediaPipe's defaults are 0.5. A face is searched for once per photo (no video to track
# it through), so a somewhat lower bar keeps a dim or partly cut face from being missed;
# the measures, not the detector, decide whether the face is good enough.
MIN_DETECTION = 0.35
MIN_PRESENCE = 0.35


@dataclass(frozen=True)
class FaceMesh:
    """One face. ``points`` is (478, 3): x and y in pixels of the picture given, z (depth,
    towards the camera negative) in the same scale. ``blink`` and ``jaw_open`` are the
    blendshape scores (0 to 1) of the image-left and image-right eye and of the jaw.
    ``yaw``, ``pitch`` and ``roll`` are the head's angles in degrees from the model's pose
    matrix: yaw positive when the face turns to the image's right, pitch positive when the
    chin goes up, roll positive when the head leans clockwise."""

    points: np.ndarray
    blink: tuple[float, float]
    jaw_open: float
    yaw: float
    pitch: float
    roll: float

    def moved(self, dx: float, dy: float, scale: float = 1.0) -> FaceMesh:
        """The same face in a picture cropped at (dx, dy) of this one and scaled."""
        points = self.points.copy()
        points[:, 0] = (points[:, 0] - dx) * scale
        points[:, 1] = (points[:, 1] - dy) * scale
        points[:, 2] *= scale
        return FaceMesh(points, self.blink, self.jaw_open, self.yaw, self.pitch, self.roll)


class Landmarker(Protocol):
    name: str

    def find(self, rgb: np.ndarray) -> list[FaceMesh]:
        """The faces in an RGB uint8 picture (H, W, 3), largest first."""
        ...


class ModelFileError(UserError):
    """The packaged model file is missing or not the one published, or MediaPipe is not
    installed: the install is broken, and no photo can be checked until it is mended."""


def check_installed() -> None:
    """Before a run: the model file is the published one and MediaPipe can be imported."""
    model_bytes()
    if importlib.util.find_spec("mediapipe") is None:
        raise ModelFileError("mediapipe is not installed: run `make install` (see README)")


def model_bytes(path: Path = MODEL_PATH) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(
            f"the face model {path} cannot be read ({exc.strerror}): reinstall kofu"
        ) from None
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise ModelFileError(
            f"the face model {path} is not the published file (its SHA-256 differs): reinstall kofu"
        )
    return data


class MediaPipeLandmarker:
    """MediaPipe's FaceLandmarker in image mode. One instance per thread: the model keeps
    buffers of its own and is not safe to share."""

    name = "mediapipe"

    def __init__(self, data: bytes | None = None) -> None:
        # Importing and starting MediaPipe writes C++ log lines ("Created TensorFlow Lite
        # XNNPACK delegate…") straight to file descriptor 2, past Python's logging; no
        # setting turns them off, so they are kept out of the run's output here.
        with _CREATE_LOCK, _quiet_stderr():
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions

            options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_buffer=data or model_bytes()),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=MAX_FACES,
                min_face_detection_confidence=MIN_DETECTION,
                min_face_presence_confidence=MIN_PRESENCE,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
            self._model = vision.FaceLandmarker.create_from_options(options)
        _OPEN.append(self)

    def find(self, rgb: np.ndarray) -> list[FaceMesh]:
        import mediapipe as mp

        height, width = rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._model.detect(image)
        faces = []
        for n, marks in enumerate(result.face_landmarks):
            points = np.array([(p.x * width, p.y * height, p.z * width) for p in marks])
            shapes = {c.category_name: c.score for c in result.face_blendshapes[n]}
            yaw, pitch, roll = _angles(np.asarray(result.facial_transformation_matrixes[n]))
            faces.append(
                FaceMesh(
                    points,
                    # The model names eyes from the person's side: their left is image-right.
                    (shapes["eyeBlinkRight"], shapes["eyeBlinkLeft"]),
                    shapes["jawOpen"],
                    yaw,
                    pitch,
                    roll,
                )
            )
        return _distinct(sorted(faces, key=lambda f: -_size(f)))

    def close(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            model.close()


def _distinct(faces: list[FaceMesh]) -> list[FaceMesh]:
    """One mesh per face: the detector can place two meshes on one face turned far from
    upright (a photo stored sideways), which would count as two people."""
    kept: list[FaceMesh] = []
    for face in faces:
        if all(_overlap(face, other) < SAME_FACE_OVERLAP for other in kept):
            kept.append(face)
    return kept


# Two meshes whose boxes overlap by more than this (intersection over union) are one face.
SAME_FACE_OVERLAP = 0.3


def _overlap(a: FaceMesh, b: FaceMesh) -> float:
    (ax0, ay0), (ax1, ay1) = a.points[:, :2].min(axis=0), a.points[:, :2].max(axis=0)
    (bx0, by0), (bx1, by1) = b.points[:, :2].min(axis=0), b.points[:, :2].max(axis=0)
    w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    h = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = w * h
    return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter)


def _size(face: FaceMesh) -> float:
    xs, ys = face.points[:, 0], face.points[:, 1]
    return float((xs.max() - xs.min()) * (ys.max() - ys.min()))


def _angles(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch and roll (degrees) of the rotation part of MediaPipe's face pose matrix,
    with the signs of ``FaceMesh``."""
    r = matrix[:3, :3]
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, -r[2, 0]))))
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return -yaw, pitch, -roll


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


_CREATE_LOCK = threading.Lock()
_OPEN: list[MediaPipeLandmarker] = []
_local = threading.local()


@atexit.register
def _close_all() -> None:
    """Closed before the interpreter tears its modules down: MediaPipe's own finaliser
    runs too late then and prints an ignored TypeError on every exit."""
    while _OPEN:
        _OPEN.pop().close()


def default_landmarker() -> Landmarker:
    landmarker = getattr(_local, "landmarker", None)
    if landmarker is None:
        landmarker = _local.landmarker = MediaPipeLandmarker()
    return landmarker
