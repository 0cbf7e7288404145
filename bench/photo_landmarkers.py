#!/usr/bin/env python3
"""Facial-landmark candidates for the My Number Card photo checker, measured side by side.

Candidates (each skipped with one line when its package or model is missing):
  mediapipe   MediaPipe Tasks FaceLandmarker (478 points, 52 blendshapes, pose matrix)
  dlib-hog    dlib 68-point shape predictor on dlib's HOG frontal-face box
  dlib-haar   the same shape predictor on an OpenCV Haar-cascade box (the kind of box
              tasks/photos/detect.py gives), mapped to the HOG box convention by
              fixed constants (see HAAR_TO_HOG)

Measured on the photos decoded at about 480 and 640 px on the longest side (PIL draft + resize):
faces found, pupil and chin error against the .tem ground truth (London neutral), a crown
estimate fitted on one half of London and tested on the other, eye openness and mouth opening
on Yale (2x upscaled), time per photo (wall and process CPU), install size and licences.

Usage:  .venv/bin/python bench/photo_landmarkers.py --photos DIR [--json OUT] [--sizes 480 640]
DIR is laid out as tests/data/photos (london-neutral/ with .tem files, london-smiling/,
selfies/, yale/). dlib is not a dependency of kofu: to measure it,
`.venv/bin/pip install dlib-bin face_recognition_models` first (its 68-point model's
training data excludes commercial use, which is one reason kofu does not use it).
Prints Markdown tables on stdout and writes every number (and per-photo values) to JSON.
Runs single-threaded where the library allows it (cv2.setNumThreads(1)); MediaPipe's own
inference threads cannot be set from Python, so its process CPU time is reported too.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import importlib.metadata as md
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

try:
    import numpy as np
    from PIL import Image
except ImportError as _exc:  # the benchmark itself cannot run without these two
    sys.exit(f"photo_landmarkers: numpy and Pillow are required ({_exc})")

DEFAULT_MP_MODEL = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tasks", "photos", "face_landmarker.task"
)
MP_MODEL_SHA256_PREFIX = "64184e22"
YALE_OPEN_KINDS = ("normal", "noglasses", "glasses", "happy")
# Haar box -> dlib HOG box: centre moved down by this share of the Haar width, side scaled.
# Median of HOG/Haar over every 5th London photo at 480 and 640 px (42 pairs; spread of the
# size ratio 7.7 %, of the vertical offset 2.7 % of the width).
HAAR_TO_HOG = {"dx": 0.002, "dy": 0.087, "scale": 0.871}

LICENCES = {
    "mediapipe": {
        "code": "Apache-2.0 (mediapipe wheel metadata)",
        "model": "face_landmarker.task: Apache-2.0 per Google's MediaPipe model distribution; "
        "not shipped in any PyPI wheel used here, must be shipped by the project (3.6 MiB)",
    },
    "dlib-hog": {
        "code": "dlib: Boost Software License 1.0; face_recognition_models wrapper: MIT",
        "model": "shape_predictor_68_face_landmarks.dat: trained on iBUG 300-W, whose licence "
        "excludes commercial use (dlib-models README: the trained model 'can't be used in a "
        "commercial product'); HOG detector is built into dlib (Boost)",
    },
}
LICENCES["dlib-haar"] = dict(LICENCES["dlib-hog"])
LICENCES["dlib-haar"]["model"] += "; Haar cascade: OpenCV (Intel licence, BSD-like)"


# --------------------------------------------------------------------------- data


@dataclass
class Photo:
    path: str
    group: str
    image: np.ndarray  # RGB uint8
    sx: float  # decoded pixels per original pixel, x
    sy: float
    tem: np.ndarray | None = None  # (N, 2) original pixels
    kind: str | None = None  # Yale kind


def read_tem(path: str) -> np.ndarray:
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().split("\n")
    n = int(lines[0].strip())
    return np.array([[float(v) for v in lines[1 + i].split()[:2]] for i in range(n)])


def decode(
    path: str, side: int | None, factor: float | None = None
) -> tuple[np.ndarray, float, float]:
    """RGB at about `side` px on the longest side (JPEG draft, then Lanczos), or scaled by
    `factor` (used to upscale Yale 2x)."""
    im = Image.open(path)
    w0, h0 = im.size
    if factor is None:
        k = side / max(w0, h0)
        target = (max(1, round(w0 * k)), max(1, round(h0 * k)))
        if k < 1:
            im.draft("RGB", target)
    else:
        target = (round(w0 * factor), round(h0 * factor))
    im = im.convert("RGB")
    if im.size != target:
        im = im.resize(target, Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(im)), target[0] / w0, target[1] / h0


def load_set(photos: str, side: int) -> list[Photo]:
    out = []
    for group in ("london-neutral", "london-smiling", "selfies"):
        for p in sorted(glob.glob(os.path.join(photos, group, "*.jpg"))):
            img, sx, sy = decode(p, side)
            tem = None
            if group == "london-neutral" and os.path.exists(p[:-4] + ".tem"):
                tem = read_tem(p[:-4] + ".tem")
            out.append(Photo(p, group, img, sx, sy, tem))
    return out


def load_yale(photos: str, factor: float) -> list[Photo]:
    out = []
    for p in sorted(glob.glob(os.path.join(photos, "yale", "*.png"))):
        kind = os.path.basename(p)[:-4].split("_", 1)[1]
        img, sx, sy = decode(p, None, factor)
        out.append(Photo(p, "yale", img, sx, sy, kind=kind))
    return out


# --------------------------------------------------------------------------- candidates


@dataclass
class FaceResult:
    pts: np.ndarray  # (N, 2) in the decoded image's pixels
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> float:
        return float(self.pts[:, 0].max() - self.pts[:, 0].min())


def _d(a, b) -> float:
    return float(np.hypot(*(np.asarray(a) - np.asarray(b))))


class MediaPipeCandidate:
    name = "mediapipe"
    distributions = ["mediapipe", "certifi", "absl-py", "flatbuffers"]

    def __init__(self, model: str):
        self.model = model

    def available(self) -> str | None:
        try:
            import mediapipe  # noqa: F401
            from mediapipe.tasks.python import vision  # noqa: F401
        except Exception as exc:  # ImportError, or a missing dependency inside
            return f"mediapipe not importable ({type(exc).__name__}: {exc})"
        if not os.path.exists(self.model):
            return f"model file {self.model} not found"
        return None

    def setup(self) -> None:
        import hashlib

        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        with open(self.model, "rb") as fh:
            buf = fh.read()
        self.model_sha256 = hashlib.sha256(buf).hexdigest()
        self.model_bytes = len(buf)
        self._mp = mp
        self._lm = vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_buffer=buf),
                running_mode=vision.RunningMode.IMAGE,
                num_faces=2,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
        )
        self.version = md.version("mediapipe")

    def close(self) -> None:
        self._lm.close()

    def run(self, rgb: np.ndarray) -> list[FaceResult]:
        mp = self._mp
        r = self._lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        h, w = rgb.shape[:2]
        faces = []
        for i, lms in enumerate(r.face_landmarks):
            pts = np.array([[p.x * w, p.y * h] for p in lms])
            extra = {}
            if r.face_blendshapes:
                extra["blend"] = {b.category_name: b.score for b in r.face_blendshapes[i]}
            if r.facial_transformation_matrixes:
                extra["matrix"] = np.array(r.facial_transformation_matrixes[i])
            faces.append(FaceResult(pts, extra))
        return faces

    # Landmark semantics (mesh indices)
    @staticmethod
    def pupils(f: FaceResult):
        return f.pts[468], f.pts[473]  # image-left (subject's right), image-right

    @staticmethod
    def chin(f: FaceResult):
        return f.pts[152]

    @staticmethod
    def crown_refs(f: FaceResult) -> dict:
        return {"mesh10": f.pts[10][1], "iris-mid": (f.pts[468][1] + f.pts[473][1]) / 2}

    @staticmethod
    def eye_metrics(f: FaceResult) -> dict:
        p = f.pts
        right = _d(p[159], p[145]) / _d(p[33], p[133])
        left = _d(p[386], p[374]) / _d(p[362], p[263])
        out = {"lid-gap/eye-width": min(left, right)}
        b = f.extra.get("blend")
        if b:
            out["1-eyeBlink"] = 1 - max(b["eyeBlinkLeft"], b["eyeBlinkRight"])
        return out

    @staticmethod
    def mouth_metrics(f: FaceResult) -> dict:
        p = f.pts
        gap = _d(p[13], p[14])
        out = {
            "gap13-14/width61-291": gap / _d(p[61], p[291]),
            "gap13-14/width78-308": gap / _d(p[78], p[308]),
        }
        b = f.extra.get("blend")
        if b:
            out["jawOpen"] = b["jawOpen"]
        return out


class DlibCandidate:
    distributions = ["dlib-bin", "face_recognition_models"]

    def __init__(self, box: str):
        self.box = box
        self.name = f"dlib-{box}"

    def available(self) -> str | None:
        try:
            import dlib  # noqa: F401
            import face_recognition_models  # noqa: F401
        except Exception as exc:
            return f"{exc.name if isinstance(exc, ImportError) else exc} not importable ({exc})"
        if self.box == "haar":
            try:
                import cv2  # noqa: F401
            except ImportError as exc:
                return f"cv2 not importable ({exc})"
        return None

    def setup(self) -> None:
        import dlib
        import face_recognition_models as frm

        self._dlib = dlib
        self._sp = dlib.shape_predictor(frm.pose_predictor_model_location())
        self.model_bytes = os.path.getsize(frm.pose_predictor_model_location())
        self.version = getattr(dlib, "__version__", "?")
        if self.box == "hog":
            self._det = dlib.get_frontal_face_detector()
        else:
            import cv2

            self._cv2 = cv2
            self._haar = cv2.CascadeClassifier(
                cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
            )

    def close(self) -> None:
        pass

    def _haar_boxes(self, grey: np.ndarray) -> list:
        """As tasks/photos/detect.py's first pass: shrunk by a whole factor to at
        most 320 px, faces of at least 18 % of the shorter side, each refined in 6 % steps."""
        cv2 = self._cv2
        step = math.ceil(max(grey.shape) / 320)
        if step > 1:
            size = (grey.shape[1] // step, grey.shape[0] // step)
            small = cv2.resize(
                grey[: size[1] * step, : size[0] * step], size, interpolation=cv2.INTER_AREA
            )
        else:
            small = grey
        least = round(min(small.shape) * 0.18)
        boxes = self._haar.detectMultiScale(small, 1.2, 4, minSize=(least, least))
        out = []
        for x, y, w, h in boxes:
            x0, y0 = max(int(x - 0.4 * w), 0), max(int(y - 0.4 * h), 0)
            roi = small[y0 : int(y + 1.4 * h), x0 : int(x + 1.4 * w)]
            lo, hi = int(w * 0.85), int(w * 1.3)
            fine = self._haar.detectMultiScale(roi, 1.06, 2, minSize=(lo, lo), maxSize=(hi, hi))
            if len(fine):
                cx, cy = x + w / 2, y + h / 2
                b = min(
                    fine,
                    key=lambda b: abs(x0 + b[0] + b[2] / 2 - cx) + abs(y0 + b[1] + b[3] / 2 - cy),
                )
                x, y, w, h = x0 + b[0], y0 + b[1], b[2], b[3]
            x, y, w, h = (float(v) * step for v in (x, y, w, h))
            cx = x + w / 2 + HAAR_TO_HOG["dx"] * w
            cy = y + h / 2 + HAAR_TO_HOG["dy"] * w
            half = w * HAAR_TO_HOG["scale"] / 2
            out.append(
                self._dlib.rectangle(
                    round(cx - half), round(cy - half), round(cx + half), round(cy + half)
                )
            )
        return out

    def run(self, rgb: np.ndarray) -> list[FaceResult]:
        grey = np.ascontiguousarray(rgb[:, :, 0]) if rgb.ndim == 3 and _is_grey(rgb) else None
        if grey is None:
            grey = np.ascontiguousarray(
                (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(
                    np.uint8
                )
            )
        rects = self._det(grey, 0) if self.box == "hog" else self._haar_boxes(grey)
        faces = []
        for r in rects:
            s = self._sp(grey, r)
            faces.append(FaceResult(np.array([[p.x, p.y] for p in s.parts()], dtype=float)))
        return faces

    @staticmethod
    def pupils(f: FaceResult):
        return f.pts[36:42].mean(0), f.pts[42:48].mean(0)

    @staticmethod
    def chin(f: FaceResult):
        return f.pts[8]

    @staticmethod
    def crown_refs(f: FaceResult) -> dict:
        return {
            "brows17-26": f.pts[17:27, 1].mean(),
            "noseroot27": f.pts[27][1],
            "eye-mid": f.pts[36:48, 1].mean(),
        }

    @staticmethod
    def eye_metrics(f: FaceResult) -> dict:
        p = f.pts

        def ear(a):  # a = first index of the 6-point eye contour (36 or 42)
            return (_d(p[a + 1], p[a + 5]) + _d(p[a + 2], p[a + 4])) / (2 * _d(p[a], p[a + 3]))

        return {"EAR": min(ear(36), ear(42))}

    @staticmethod
    def mouth_metrics(f: FaceResult) -> dict:
        p = f.pts
        gap = _d(p[62], p[66])
        return {
            "gap62-66/width60-64": gap / _d(p[60], p[64]),
            "gap62-66/width48-54": gap / _d(p[48], p[54]),
        }


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(
        (rgb[::7, ::7, 0] == rgb[::7, ::7, 1]).all()
        and (rgb[::7, ::7, 1] == rgb[::7, ::7, 2]).all()
    )


# --------------------------------------------------------------------------- measuring


def stats(v) -> dict:
    v = np.asarray([x for x in v if x is not None and not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return {"n": 0}
    return {
        "n": int(len(v)),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "p95": float(np.percentile(v, 95)),
        "max": float(v.max()),
        "min": float(v.min()),
    }


def timed(cand, rgb) -> tuple[list[FaceResult], float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    faces = cand.run(rgb)
    return faces, (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000


def largest(faces: list[FaceResult]) -> FaceResult | None:
    return max(faces, key=lambda f: f.width) if faces else None


def best_threshold(pos: list[float], neg: list[float], flag_below: bool) -> dict:
    """The threshold on a score that best separates `pos` (to be flagged) from `neg`, the flag
    being score < t (flag_below) or score > t. Fewest total errors; among ties, the middle of
    the widest gap."""
    pos, neg = [x for x in pos if x is not None], [x for x in neg if x is not None]
    if not pos or not neg:
        return {"n_pos": len(pos), "n_neg": len(neg)}
    vals = sorted(set(pos + neg))
    cands = (
        [vals[0] - 1e-6]
        + [(a + b) / 2 for a, b in zip(vals, vals[1:], strict=False)]
        + [vals[-1] + 1e-6]
    )
    best = None
    for t in cands:
        if flag_below:
            miss = sum(x >= t for x in pos)
            false = sum(x < t for x in neg)
        else:
            miss = sum(x <= t for x in pos)
            false = sum(x > t for x in neg)
        # margin: distance from t to the nearest value on either side
        margin = min(abs(x - t) for x in pos + neg)
        key = (miss + false, -margin)
        if best is None or key < best[0]:
            best = (key, t, miss, false)
    _, t, miss, false = best
    gap = (min(neg) - max(pos)) if flag_below else (min(pos) - max(neg))
    return {
        "threshold": t,
        "missed": miss,
        "false_alarms": false,
        "n_pos": len(pos),
        "n_neg": len(neg),
        "errors": miss + false,
        # >0: the classes are separated by this much (score units); <0: they overlap
        "class_gap": gap,
    }


def crown_fit(rows: list[dict], ref: str) -> dict:
    """crown_y = chin_y - k (chin_y - ref_y), k fitted by least squares on split A (even
    index in file order) and tested on B (odd), then the reverse."""
    rows = [r for r in rows if r.get("refs") and ref in r["refs"]]
    out = {}
    for name, train_par in (("fit-even-test-odd", 0), ("fit-odd-test-even", 1)):
        train = [r for r in rows if r["index"] % 2 == train_par]
        test = [r for r in rows if r["index"] % 2 != train_par]
        d = np.array([r["chin_y"] - r["refs"][ref] for r in train])
        t = np.array([r["chin_y"] - r["true_crown_y"] for r in train])
        k = float((d * t).sum() / (d * d).sum())
        errs = [
            abs((r["chin_y"] - k * (r["chin_y"] - r["refs"][ref])) - r["true_crown_y"])
            / r["true_height"]
            for r in test
        ]
        s = stats(errs)
        out[name] = {
            "k": k,
            "n_train": len(train),
            "n_test": len(test),
            "mean_abs": s.get("mean"),
            "p95_abs": s.get("p95"),
            "max_abs": s.get("max"),
        }
    return out


def measure(
    cand, sets: dict[int, list[Photo]], yale: list[Photo], yale1x: list[Photo], rounds: int
) -> dict:
    res: dict = {"version": cand.version, "model_bytes": cand.model_bytes}
    if hasattr(cand, "model_sha256"):
        res["model_sha256"] = cand.model_sha256
    # warm-up (first call allocates / loads delegates)
    first = next(iter(sets.values()))[0]
    for _ in range(3):
        cand.run(first.image)
    res["sizes"] = {}
    for side, photos in sets.items():
        r: dict = {"faces": {}, "per_photo": {}}
        times = {}
        london_rows = []
        pupil_err, chin_err, pupil_off = [], [], []
        for ph in photos:
            faces, wall, cpu = timed(cand, ph.image)
            times.setdefault(ph.group, []).append((wall, cpu))
            g = r["faces"].setdefault(
                ph.group, {"n": 0, "one": 0, "none": 0, "many": 0, "not_one": []}
            )
            g["n"] += 1
            if len(faces) == 1:
                g["one"] += 1
            else:
                g["none" if not faces else "many"] += 1
                g["not_one"].append(f"{os.path.basename(ph.path)}:{len(faces)}")
            pp = {"faces": len(faces), "wall_ms": wall, "cpu_ms": cpu}
            f = largest(faces)
            if ph.tem is not None and f is not None:
                sc = np.array([ph.sx, ph.sy])
                pl, pr = (np.asarray(p) / sc for p in cand.pupils(f))
                chin = np.asarray(cand.chin(f)) / sc
                tl, tr, tchin, tcrown = ph.tem[0], ph.tem[1], ph.tem[129], ph.tem[151]
                ipd = _d(tl, tr)
                e = [_d(pl, tl) / ipd, _d(pr, tr) / ipd]
                ec = _d(chin, tchin) / ipd
                pupil_err += e
                pupil_off += [(pl - tl) / ipd, (pr - tr) / ipd]
                chin_err.append(ec)
                refs = {k: v / ph.sy for k, v in cand.crown_refs(f).items()}
                london_rows.append(
                    {
                        "index": len(london_rows),
                        "chin_y": float(chin[1]),
                        "refs": refs,
                        "true_crown_y": float(tcrown[1]),
                        "true_height": float(tchin[1] - tcrown[1]),
                    }
                )
                pp.update({"pupil_err": e, "chin_err": ec})
            elif ph.tem is not None:
                london_rows.append({"index": len(london_rows)})  # keep the split stable
            if ph.group == "selfies" and f is not None and "matrix" in f.extra:
                m = f.extra["matrix"][:3, :3]
                # yaw (about y), pitch (about x), roll (about z) in degrees, for reference only
                pp["pose_deg"] = {
                    "yaw": math.degrees(math.asin(max(-1, min(1, -m[2, 0])))),
                    "pitch": math.degrees(math.atan2(m[2, 1], m[2, 2])),
                    "roll": math.degrees(math.atan2(m[1, 0], m[0, 0])),
                }
            if f is not None and ph.group.startswith("london"):
                pp.update(cand.eye_metrics(f))
                pp.update(cand.mouth_metrics(f))
            r["per_photo"][f"{ph.group}/{os.path.basename(ph.path)}"] = pp
        r["pupil_err_ipd"] = stats(pupil_err)
        r["chin_err_ipd"] = stats(chin_err)
        off = np.array(pupil_off) if pupil_off else np.zeros((0, 2))
        # mean signed offset (x right, y down) of the predicted pupil, fraction of the IPD
        r["pupil_offset_ipd"] = {
            "dx_mean": float(off[:, 0].mean()) if len(off) else None,
            "dy_mean": float(off[:, 1].mean()) if len(off) else None,
            "err_after_removing_mean_offset": stats(np.hypot(*(off - off.mean(0)).T))
            if len(off)
            else {},
        }
        refs = sorted({k for row in london_rows if row.get("refs") for k in row["refs"]})
        r["crown"] = {ref: crown_fit(london_rows, ref) for ref in refs}
        allt = [
            t for g in ("london-neutral", "london-smiling", "selfies") for t in times.get(g, [])
        ]
        lt = times.get("london-neutral", [])
        r["time_london_neutral_first_pass"] = {
            "calls": len(lt),
            "wall_ms_median": statistics.median(t[0] for t in lt) if lt else None,
            "cpu_ms_median": statistics.median(t[1] for t in lt) if lt else None,
            "wall_ms_p95": float(np.percentile([t[0] for t in lt], 95)) if lt else None,
        }
        r["time_all"] = {
            "calls": len(allt),
            "wall_ms_median": statistics.median(t[0] for t in allt) if allt else None,
            "cpu_ms_median": statistics.median(t[1] for t in allt) if allt else None,
        }
        res["sizes"][str(side)] = r
    # Yale, 2x
    y: dict = {"per_photo": {}, "kinds": {}}
    for label, group in (("1x", yale1x), ("2x", yale)):
        found = sum(1 for ph in group if cand.run(ph.image))
        y[f"found_{label}"] = {"n": len(group), "with_face": found}
    eyes, mouth, ywall, ycpu, missing = {}, {}, [], [], []
    for ph in yale:
        faces, wall, cpu = timed(cand, ph.image)
        ywall.append(wall)
        ycpu.append(cpu)
        f = largest(faces)
        if f is None:
            missing.append(os.path.basename(ph.path))
            continue
        em, mm = cand.eye_metrics(f), cand.mouth_metrics(f)
        y["per_photo"][os.path.basename(ph.path)] = {"faces": len(faces), **em, **mm}
        for k, v in em.items():
            eyes.setdefault(k, {}).setdefault(ph.kind, []).append(v)
        for k, v in mm.items():
            mouth.setdefault(k, {}).setdefault(ph.kind, []).append(v)
    y["missing_2x"] = missing
    y["time"] = {
        "calls": len(ywall),
        "wall_ms_median": statistics.median(ywall),
        "cpu_ms_median": statistics.median(ycpu),
    }
    y["eye"] = {}
    for k, by_kind in eyes.items():
        closed = by_kind.get("sleepy", [])
        opened = [v for kk in YALE_OPEN_KINDS for v in by_kind.get(kk, [])]
        sep = best_threshold(closed, opened, flag_below=True)
        if "threshold" in sep:
            wink = by_kind.get("wink", [])
            sep["wink_flagged"] = f"{sum(v < sep['threshold'] for v in wink)}/{len(wink)}"
        y["eye"][k] = {
            "by_kind": {kk: stats(v) for kk, v in sorted(by_kind.items())},
            "sleepy_vs_open": sep,
        }
    y["mouth"] = {}
    for k, by_kind in mouth.items():
        opened = by_kind.get("surprised", [])
        rest = [v for kk, vv in by_kind.items() if kk != "surprised" for v in vv]
        y["mouth"][k] = {
            "by_kind": {kk: stats(v) for kk, v in sorted(by_kind.items())},
            "surprised_vs_rest": best_threshold(opened, rest, flag_below=False),
        }
    res["yale"] = y
    # Yale thresholds applied to the good London photos: how many would be refused
    for side in sets:
        per = res["sizes"][str(side)]["per_photo"]
        fl = {}
        for part, flag_below in (("eye", True), ("mouth", False)):
            for k, v in y[part].items():
                sep = v.get("sleepy_vs_open") or v.get("surprised_vs_rest")
                t = sep.get("threshold")
                if t is None:
                    continue
                for g in ("london-neutral", "london-smiling"):
                    vals = [pp[k] for key, pp in per.items() if key.startswith(g + "/") and k in pp]
                    n = sum((x < t) if flag_below else (x > t) for x in vals)
                    fl.setdefault(f"{part}:{k}", {})[g] = f"{n}/{len(vals)}"
        res["sizes"][str(side)]["london_flagged_by_yale_thresholds"] = fl
    # Timing: rounds over london-neutral, sizes alternated in order each round
    tt = {s: [] for s in sets}
    for rnd in range(rounds):
        for side in list(sets) if rnd % 2 == 0 else list(sets)[::-1]:
            for ph in sets[side]:
                if ph.group == "london-neutral":
                    _, wall, cpu = timed(cand, ph.image)
                    tt[side].append((wall, cpu))
    for side, lt in tt.items():
        res["sizes"][str(side)]["time_london_neutral"] = {
            "calls": len(lt),
            "rounds": rounds,
            "wall_ms_median": statistics.median(t[0] for t in lt),
            "cpu_ms_median": statistics.median(t[1] for t in lt),
            "wall_ms_p95": float(np.percentile([t[0] for t in lt], 95)),
        }
    return res


# --------------------------------------------------------------------------- sizes and report


def dist_size(name: str) -> int | None:
    try:
        d = md.distribution(name)
    except md.PackageNotFoundError:
        return None
    total = 0
    for f in d.files or []:
        p = f.locate()
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return total


SIZE_GROUPS = {
    "mediapipe (own wheel)": ["mediapipe"],
    "mediapipe's small deps: certifi absl-py flatbuffers": ["certifi", "absl-py", "flatbuffers"],
    "matplotlib stack (mediapipe imports it at `import mediapipe.tasks.python.vision`)": [
        "matplotlib",
        "contourpy",
        "cycler",
        "fonttools",
        "kiwisolver",
        "pyparsing",
        "python-dateutil",
        "packaging",
        "six",
    ],
    "opencv-python-headless (mediapipe imports cv2 too; dlib-haar uses it)": [
        "opencv-python-headless"
    ],
    "numpy": ["numpy"],
    "pillow (decoding; both)": ["pillow"],
    "dlib-bin": ["dlib-bin"],
    "face_recognition_models (all 4 .dat files)": ["face_recognition_models"],
}


def mib(b) -> str:
    return "-" if b is None else f"{b / 2**20:.1f}"


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def f3(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def f4(x) -> str:
    return "-" if x is None else f"{x:+.4f}"


def machine() -> dict:
    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core"):
                info[k.strip()] = v.strip()
    except OSError:
        pass
    return info


def report(results: dict) -> str:
    L = []
    m = results["machine"]
    L.append(
        f"Machine: {m.get('Model name', '?')}, {m.get('CPU(s)', '?')} CPUs; Python {m['python']}; {m['date_utc']}"
    )
    L.append("")
    cands = results["candidates"]
    for name, why in results["skipped"].items():
        L.append(f"- skipped {name}: {why}")
    if results["skipped"]:
        L.append("")
    if not cands:
        return "\n".join(L + ["No candidate ran."])
    sizes = results["sizes"]

    L.append("### Faces found (photos with exactly one face / photos)")
    L.append("")
    L.append(
        "| candidate | px | london-neutral | london-smiling | selfies | not exactly one | Yale 1x (320 px) | Yale 2x |"
    )
    L.append("|---|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for s in sizes:
            fs = r["sizes"][str(s)]["faces"]

            def cell(g: str, fs: dict = fs) -> str:
                return f"{fs[g]['one']}/{fs[g]['n']}" if g in fs else "-"

            bad = ", ".join(x for g in fs.values() for x in g["not_one"]) or "none"
            y = r["yale"]
            L.append(
                f"| {name} | {s} | {cell('london-neutral')} | {cell('london-smiling')} | {cell('selfies')} | {bad} | "
                f"{y['found_1x']['with_face']}/{y['found_1x']['n']} | {y['found_2x']['with_face']}/{y['found_2x']['n']} |"
            )
    L.append("")
    L.append("### Landmark error on london-neutral (fraction of the true inter-pupil distance)")
    L.append("")
    L.append(
        "| candidate | px | pupil mean | pupil p95 | pupil max | chin mean | chin p95 | chin max |"
    )
    L.append("|---|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for s in sizes:
            p, c = r["sizes"][str(s)]["pupil_err_ipd"], r["sizes"][str(s)]["chin_err_ipd"]
            L.append(
                f"| {name} | {s} | {pct(p.get('mean'))} | {pct(p.get('p95'))} | {pct(p.get('max'))} | "
                f"{pct(c.get('mean'))} | {pct(c.get('p95'))} | {pct(c.get('max'))} |"
            )
    L.append("")
    L.append(
        "Mean signed pupil offset (x right, y down, fraction of IPD) and the error left after removing it:"
    )
    L.append("")
    L.append("| candidate | px | dx | dy | pupil mean after | p95 after | max after |")
    L.append("|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for s in sizes:
            o = r["sizes"][str(s)]["pupil_offset_ipd"]
            a = o["err_after_removing_mean_offset"]
            L.append(
                f"| {name} | {s} | {pct(o['dx_mean'])} | {pct(o['dy_mean'])} | {pct(a.get('mean'))} | {pct(a.get('p95'))} | {pct(a.get('max'))} |"
            )
    L.append("")
    L.append(
        "### Crown estimate crown_y = chin_y - k (chin_y - ref_y), |error| as a fraction of the true crown-to-chin height"
    )
    L.append("")
    L.append(
        "Fitted on the even-indexed London photos (file order) and tested on the odd ones, then the reverse."
    )
    L.append("")
    L.append("| candidate | px | ref | k (even) | mean | p95 | max | k (odd) | mean | p95 | max |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for s in sizes:
            for ref, v in r["sizes"][str(s)]["crown"].items():
                a, b = v["fit-even-test-odd"], v["fit-odd-test-even"]
                L.append(
                    f"| {name} | {s} | {ref} | {a['k']:.3f} | {pct(a['mean_abs'])} | {pct(a['p95_abs'])} | {pct(a['max_abs'])} | "
                    f"{b['k']:.3f} | {pct(b['mean_abs'])} | {pct(b['p95_abs'])} | {pct(b['max_abs'])} |"
                )
    L.append("")
    L.append(
        "### Eye openness on Yale (2x, 640x486): min over the two eyes, median [min-max] per kind"
    )
    L.append("")
    order = [
        "sleepy",
        "wink",
        "normal",
        "noglasses",
        "glasses",
        "happy",
        "sad",
        "surprised",
        "centerlight",
        "leftlight",
        "rightlight",
    ]
    present = {kk for r in cands.values() for v in r["yale"]["eye"].values() for kk in v["by_kind"]}
    kinds = [kk for kk in order if kk in present] + sorted(present - set(order))
    L.append("| candidate | score | " + " | ".join(kinds) + " |")
    L.append("|---|---|" + "---|" * len(kinds))
    for name, r in cands.items():
        for k, v in r["yale"]["eye"].items():
            cells = []
            for kk in kinds:
                s_ = v["by_kind"].get(kk, {"n": 0})
                cells.append(
                    "-"
                    if not s_["n"]
                    else f"{s_['median']:.3f} [{s_['min']:.3f}-{s_['max']:.3f}]"
                    + ("" if s_["n"] == 15 else f" n={s_['n']}")
                )
            L.append(f"| {name} | {k} | " + " | ".join(cells) + " |")
    L.append("")
    L.append(
        "| candidate | score | sleepy vs normal/noglasses/glasses/happy: best threshold (closed if below) | missed closed | false alarms | class gap | wink flagged |"
    )
    L.append("|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for k, v in r["yale"]["eye"].items():
            s_ = v["sleepy_vs_open"]
            L.append(
                f"| {name} | {k} | {f3(s_.get('threshold'))} | {s_.get('missed')}/{s_['n_pos']} | {s_.get('false_alarms')}/{s_['n_neg']} | "
                f"{f4(s_.get('class_gap'))} | {s_.get('wink_flagged')} |"
            )
    L.append("")
    L.append("### Mouth open on Yale (2x): surprised vs the 9 other kinds")
    L.append("")
    L.append(
        "| candidate | score | surprised median [min-max] | others median [min-max] | best threshold (open if above) | missed open | false alarms | class gap |"
    )
    L.append("|---|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for k, v in r["yale"]["mouth"].items():
            sp = v["by_kind"].get("surprised", {"n": 0})
            per = r["yale"]["per_photo"]
            rest = [
                pp[k] for fn, pp in per.items() if not fn.endswith("_surprised.png") and k in pp
            ]
            s_ = v["surprised_vs_rest"]
            L.append(
                f"| {name} | {k} | {sp.get('median', 0):.3f} [{sp.get('min', 0):.3f}-{sp.get('max', 0):.3f}] | "
                f"{np.median(rest):.3f} [{min(rest):.3f}-{max(rest):.3f}] | {f3(s_.get('threshold'))} | "
                f"{s_.get('missed')}/{s_['n_pos']} | {s_.get('false_alarms')}/{s_['n_neg']} | {f4(s_.get('class_gap'))} |"
            )
    L.append("")
    L.append(
        "### The Yale thresholds above applied to the good London photos (photos flagged / photos)"
    )
    L.append("")
    L.append("| candidate | px | score | london-neutral | london-smiling |")
    L.append("|---|---|---|---|---|")
    for name, r in cands.items():
        for s in sizes:
            for k, v in r["sizes"][str(s)]["london_flagged_by_yale_thresholds"].items():
                L.append(
                    f"| {name} | {s} | {k} | {v.get('london-neutral')} | {v.get('london-smiling')} |"
                )
    L.append("")
    L.append("### Time per photo, detection + landmarks (median; process CPU includes all threads)")
    L.append("")
    L.append(
        "london-neutral: timed passes over the 102 photos per size, sizes alternated; 'all': the single measuring pass over London + selfies."
    )
    L.append("")
    L.append(
        "| candidate | px | london-neutral wall ms | CPU ms | p95 wall ms | calls | all London+selfies wall ms | CPU ms | calls | Yale 2x wall ms | CPU ms |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in cands.items():
        for s in sizes:
            t, a = r["sizes"][str(s)]["time_london_neutral"], r["sizes"][str(s)]["time_all"]
            yt = r["yale"]["time"]
            L.append(
                f"| {name} | {s} | {t['wall_ms_median']:.1f} | {t['cpu_ms_median']:.1f} | {t['wall_ms_p95']:.1f} | {t['calls']} | "
                f"{a['wall_ms_median']:.1f} | {a['cpu_ms_median']:.1f} | {a['calls']} | {yt['wall_ms_median']:.1f} | {yt['cpu_ms_median']:.1f} |"
            )
    L.append("")
    L.append("### Install size (files listed in each distribution's RECORD, MiB)")
    L.append("")
    L.append("| what | MiB |")
    L.append("|---|---|")
    for g, v in results["install_sizes"].items():
        L.append(f"| {g} | {mib(v)} |")
    for name, r in cands.items():
        L.append(f"| {name}: model file used | {mib(r['model_bytes'])} |")
    L.append("")
    L.append("### Licences")
    L.append("")
    L.append("| candidate | version | code | model |")
    L.append("|---|---|---|---|")
    for name, r in cands.items():
        L.append(
            f"| {name} | {r['version']} | {LICENCES[name]['code']} | {LICENCES[name]['model']} |"
        )
    return "\n".join(L)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--photos",
        default=os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "photos"
        ),
    )
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--sizes", type=int, nargs="+", default=[480, 640])
    ap.add_argument("--candidates", nargs="+", default=["mediapipe", "dlib-hog", "dlib-haar"])
    ap.add_argument(
        "--timing-rounds", type=int, default=3, help="timed passes over london-neutral per size"
    )
    ap.add_argument("--mp-model", default=os.environ.get("FACE_LANDMARKER_TASK", DEFAULT_MP_MODEL))
    args = ap.parse_args()

    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    all_cands = {
        "mediapipe": lambda: MediaPipeCandidate(args.mp_model),
        "dlib-hog": lambda: DlibCandidate("hog"),
        "dlib-haar": lambda: DlibCandidate("haar"),
    }
    results = {
        "machine": machine(),
        "sizes": args.sizes,
        "photos": args.photos,
        "skipped": {},
        "candidates": {},
    }
    print(f"loading photos from {args.photos} ...", file=sys.stderr)
    sets = {s: load_set(args.photos, s) for s in args.sizes}
    yale = load_yale(args.photos, 2.0)
    yale1x = load_yale(args.photos, 1.0)
    for name in args.candidates:
        cand = all_cands[name]()
        why = cand.available()
        if why:
            print(f"skip {name}: {why}")
            results["skipped"][name] = why
            continue
        print(f"measuring {name} ...", file=sys.stderr)
        t0 = time.time()
        cand.setup()
        try:
            results["candidates"][name] = measure(cand, sets, yale, yale1x, args.timing_rounds)
        finally:
            cand.close()
        print(f"  {name} done in {time.time() - t0:.0f} s", file=sys.stderr)
    results["install_sizes"] = {
        g: (sum(x for x in (dist_size(n) for n in names) if x) or None)
        for g, names in SIZE_GROUPS.items()
    }
    text = report(results)
    print(text)

    def conv(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        raise TypeError(type(o))

    for r in results["candidates"].values():
        for s in r["sizes"].values():
            for pp in s["per_photo"].values():
                pp.pop("matrix", None)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1, default=conv)
        print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
