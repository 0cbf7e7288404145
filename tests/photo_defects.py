"""Real portraits and the defects made from them, placed at the portraits' landmarks.

A portrait comes with a landmark file (``.tem``, 189 points, Face Research Lab template) that
gives the true crown, hairline, pupils, eye outlines, brows, lips and chin. Each edit below
uses those points, so that a defect sits where a real one would: sunglasses over the eyes, a
hat from the hairline up, a crop through the lips. How each edit is made is said beside it.

Nothing here reads ``../shared``: the folder is given (tests/data/photos in the repository,
or the full development set for ``bench/photo_eval.py``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

# Points of the 189-point template (tests/data/photos/README.md).
PUPILS = (0, 1)
EYE_OUTLINES = ((18, 19, 20, 21, 22, 30, 29, 28), (23, 24, 25, 26, 27, 33, 32, 31))
BROWS = tuple(range(71, 87))
HAIRLINE = 139
HAIRLINE_ARC = tuple(range(134, 145))
CROWN = 151
HEAD_ARC = tuple(range(145, 156))  # over the hair, from one side of the head to the other
UPPER_LIP = 90
LIPS = tuple(range(87, 109))
CHIN = 129
TEMPLATE_POINTS = 189


@dataclass(frozen=True)
class Portrait:
    """An RGB picture and, when known, its landmarks (TEMPLATE_POINTS x 2, in its pixels)."""

    name: str
    rgb: np.ndarray
    points: np.ndarray | None = None

    @property
    def head(self) -> float:
        """Crown-to-chin height."""
        return float(self.points[CHIN, 1] - self.points[CROWN, 1])

    @property
    def ied(self) -> float:
        return float(np.linalg.norm(self.points[PUPILS[0]] - self.points[PUPILS[1]]))

    @property
    def head_span(self) -> tuple[float, float]:
        """Left and right of the head at its widest, over the hair."""
        xs = self.points[list(HEAD_ARC), 0]
        return float(xs.min()), float(xs.max())

    def centre_x(self) -> float:
        return float((self.points[CROWN, 0] + self.points[CHIN, 0]) / 2)

    def with_pixels(self, rgb: np.ndarray, points: np.ndarray | None = None) -> Portrait:
        return replace(self, rgb=rgb, points=self.points if points is None else points)


def scaled(p: Portrait, side: int) -> Portrait:
    """The portrait reduced to at most ``side`` pixels on its longer side."""
    k = side / max(p.rgb.shape[:2])
    if k >= 1:
        return p
    rgb = cv2.resize(p.rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return p.with_pixels(rgb, None if p.points is None else p.points * k)


def read_tem(path: Path) -> np.ndarray | None:
    """The points of a .tem file, or None when it is not the 189-point template."""
    lines = path.read_text(encoding="ascii").split("\n")
    count = int(lines[0])
    if count != TEMPLATE_POINTS:
        return None
    return np.array([[float(v) for v in line.split()[:2]] for line in lines[1 : count + 1]])


def load_portraits(folder: Path) -> list[Portrait]:
    """Every JPEG under ``folder``, sorted by path, with its .tem points when it has them."""
    portraits = []
    for path in sorted(folder.rglob("*.jpg")):
        tem = path.with_suffix(".tem")
        points = read_tem(tem) if tem.exists() else None
        rgb = np.asarray(Image.open(path).convert("RGB"))
        portraits.append(Portrait(f"{path.parent.name}/{path.stem}", rgb, points))
    return portraits


# ------------------------------------------------------------------------------- framing


def _extended(rgb: np.ndarray, pad: tuple[int, int, int, int]) -> np.ndarray:
    """The picture grown by ``pad`` (top, bottom, left, right) pixels: the backdrop's
    smooth surface (``backdrop_model``) carried on, and the bottom rows repeated below it
    (clothes)."""
    top, bottom, left, right = pad
    h, w = rgb.shape[:2]
    ground = backdrop_model(rgb, (-top, h + bottom, -left, w + right))
    grown = np.clip(ground, 0, 255).astype(np.uint8)
    grown[top : top + h, left : left + w] = rgb
    if bottom:
        grown[top + h :, left : left + w] = rgb[-1]
    return grown


def backdrop_model(rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The backdrop as a smooth surface (H, W, 3): a studio backdrop darkens towards the
    top and the corners. A quadratic in x and y per channel, fitted to the top rows and the
    sides down to 85% of the height, twice, the second time without what sits far from the
    first fit (hair, a shoulder). ``box`` (y0, y1, x0, x1) evaluates it over another area
    of the same coordinates, held within the levels it was fitted to."""
    h, w = rgb.shape[:2]
    step = max(1, min(h, w) // 200)
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    border = (ys < h * 0.06) | (((xs < w * 0.05) | (xs > w * 0.95)) & (ys < h * 0.85))
    x, y = xs[border] / w, ys[border] / h
    samples = rgb[::step, ::step][border].astype(np.float64)
    design = np.column_stack([np.ones_like(x), x, y, x * x, y * y, x * y])
    keep = np.ones(len(x), bool)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[keep], samples[keep], rcond=None)
        keep = np.linalg.norm(design @ coef - samples, axis=1) < 20
    y0, y1, x0, x1 = box or (0, h, 0, w)
    # Evaluated every 8 pixels and enlarged: the surface is smooth.
    gy, gx = np.mgrid[y0:y1:8, x0:x1:8]
    gx, gy = np.clip(gx / w, 0, 1), np.clip(gy / h, 0, 1)  # flat beyond the picture
    full = np.stack([np.ones_like(gx), gx, gy, gx * gx, gy * gy, gx * gy], axis=-1)
    fitted = samples[keep]
    coarse = np.clip(full @ coef, fitted.min(axis=0), fitted.max(axis=0)).astype(np.float32)
    return cv2.resize(coarse, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)


def window(
    p: Portrait,
    left: float,
    top: float,
    width: float,
    height: float,
    out: tuple[int, int],
    below: bool = False,
) -> Portrait:
    """The window (in the portrait's pixels) resized to ``out`` (w, h). Where it leaves the
    picture at the top or the sides, the backdrop goes on (``_extended``). A window past
    the bottom is moved up instead, since the body below cannot be made up, unless
    ``below`` allows the clothes to be carried on (a small figure)."""
    k = out[1] / height
    if k < 0.7:  # reduced first: what is made up around it is then made at the output's size
        p = replace(p, rgb=cv2.resize(p.rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
        p = replace(p, points=None if p.points is None else p.points * k)
        left, top, width, height = left * k, top * k, width * k, height * k
    h, w = p.rgb.shape[:2]
    x0, y0 = math.floor(left), math.floor(top)
    x1, y1 = math.ceil(left + width), math.ceil(top + height)
    if y1 > h and not below:  # the body below is not made up: the window moves up
        y0, y1 = y0 - (y1 - h), h
    pad = (max(-y0, 0), max(y1 - h, 0), max(-x0, 0), max(x1 - w, 0))
    rgb = _extended(p.rgb, pad) if any(pad) else p.rgb
    crop = rgb[y0 + pad[0] : y1 + pad[0], x0 + pad[2] : x1 + pad[2]]
    sx, sy = out[0] / crop.shape[1], out[1] / crop.shape[0]
    resized = cv2.resize(crop, out, interpolation=cv2.INTER_AREA if sx < 1 else cv2.INTER_CUBIC)
    points = None
    if p.points is not None:
        points = (p.points - (x0, y0)) * (sx, sy)
    return replace(p, rgb=resized, points=points)


@dataclass(frozen=True)
class Framing:
    """Where the head goes: ``above`` and ``below`` are the room above the crown and below
    the chin in head heights (negative: cut off), ``aspect`` is width over height, ``shift``
    moves the head centre by that share of the width, ``height`` is the output's in pixels."""

    above: float = 0.15
    below: float = 0.6
    aspect: float = 0.75
    shift: float = 0.0
    height: int = 800


def frame(p: Portrait, f: Framing) -> Portrait:
    head = p.head
    top = p.points[CROWN, 1] - f.above * head
    height = head * (1 + f.above + f.below)
    width = height * f.aspect
    left = p.centre_x() - width * (0.5 + f.shift)
    out = (round(f.height * f.aspect), f.height)
    return window(p, left, top, width, height, out, below=f.below > 0.5)


def cut(p: Portrait, top: float | None, bottom: float | None, f: Framing) -> Portrait:
    """A framing whose top or bottom edge is at a given height in the portrait (a crop
    through the hairline, the lips...), the rest as ``f``."""
    head = p.head
    y0 = p.points[CROWN, 1] - f.above * head if top is None else top
    # The bottom stays within the portrait, so that the window is never moved (which would
    # move the cut too).
    y1 = min(p.points[CHIN, 1] + f.below * head, p.rgb.shape[0]) if bottom is None else bottom
    width = (y1 - y0) * f.aspect
    left = p.centre_x() - width * (0.5 + f.shift)
    return window(p, left, y0, width, y1 - y0, (round(f.height * f.aspect), f.height))


# --------------------------------------------------------------------------- the picture


def rotated(p: Portrait, degrees: float) -> Portrait:
    """Turned clockwise about the face centre. The picture is first grown on every side
    (``_extended``: the backdrop carried on, the clothes repeated below), so the corners
    the turn brings in are backdrop, as a turned camera would have seen."""
    h, w = p.rgb.shape[:2]
    pad = round(max(h, w) * 0.25)
    grown = _extended(p.rgb, (pad, pad, pad, pad))
    cx = p.centre_x() + pad
    cy = float((p.points[CROWN, 1] + p.points[CHIN, 1]) / 2) + pad
    matrix = cv2.getRotationMatrix2D((cx, cy), -degrees, 1.0)
    turned = cv2.warpAffine(grown, matrix, grown.shape[1::-1], flags=cv2.INTER_CUBIC)
    points = np.hstack([p.points + pad, np.ones((len(p.points), 1))]) @ matrix.T
    return p.with_pixels(turned[pad : pad + h, pad : pad + w], points - pad)


def exposed(p: Portrait, gain: float) -> Portrait:
    """Exposure times ``gain`` in linear light (as a camera's exposure), back to sRGB."""
    linear = (p.rgb.astype(np.float32) / 255) ** 2.2 * gain
    return p.with_pixels((np.clip(linear, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8))


def contrasted(p: Portrait, k: float) -> Portrait:
    """Contrast times ``k`` about the picture's mean (haze, a washed-out print)."""
    f = p.rgb.astype(np.float32)
    mean = f.mean()
    return p.with_pixels(np.clip(mean + (f - mean) * k + 0.5, 0, 255).astype(np.uint8))


def tinted(p: Portrait, gains: tuple[float, float, float]) -> Portrait:
    """Each channel times its gain: coloured light, a filter."""
    f = p.rgb.astype(np.float32) * np.asarray(gains, np.float32)
    return p.with_pixels(np.clip(f + 0.5, 0, 255).astype(np.uint8))


def blurred(p: Portrait, sigma: float) -> Portrait:
    """Out of focus: a Gaussian of ``sigma`` pixels."""
    return p.with_pixels(cv2.GaussianBlur(p.rgb, (0, 0), sigma))


def shaken(p: Portrait, length: int, angle: float) -> Portrait:
    """Camera shake: a straight line of ``length`` pixels at ``angle`` degrees."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1 / length
    matrix = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, matrix, (length, length))
    return p.with_pixels(cv2.filter2D(p.rgb, -1, kernel / kernel.sum()))


def person_mask(p: Portrait) -> np.ndarray:
    """The person (1) against the plain backdrop (0), as floats with a soft edge: pixels
    far from the backdrop's colour, the head and face as the landmarks outline them, holes
    filled, and only what joins the bottom of the picture (the body)."""
    rgb = p.rgb.astype(np.float32)
    far = np.linalg.norm(rgb - backdrop_model(p.rgb), axis=2) > 24
    mask = far.astype(np.uint8)
    head = np.vstack([p.points[list(HEAD_ARC)], p.points[[CHIN]]]).astype(np.int32)
    cv2.fillConvexPoly(mask, cv2.convexHull(head), 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    count, labels = cv2.connectedComponents(mask)
    keep = {int(v) for v in np.unique(labels[-1]) if v}
    mask = np.isin(labels, list(keep)).astype(np.uint8)
    # Holes (eyes, a white collar) are the person too: fill what the backdrop cannot reach.
    flood = mask.copy()
    cv2.floodFill(flood, None, (0, 0), 2)
    mask[flood == 0] = 1
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.5)


def on_backdrop(p: Portrait, backdrop: np.ndarray) -> Portrait:
    """The person put in front of another backdrop (a room, a pattern)."""
    alpha = person_mask(p)[..., None]
    ground = cv2.resize(backdrop, p.rgb.shape[1::-1], interpolation=cv2.INTER_AREA)
    out = p.rgb.astype(np.float32) * alpha + ground.astype(np.float32) * (1 - alpha)
    return p.with_pixels(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def side_by_side(a: Portrait, b: Portrait, b_scale: float, f: Framing) -> Portrait:
    """Two people next to each other, each in a half as wide as ``f`` frames one person
    (so the picture is twice as wide); the second's head ``b_scale`` as tall as the first's
    (a child, or someone standing further back)."""
    left = frame(a, f)
    room = (1 + f.above + f.below) / b_scale - 1  # the same picture height, a smaller head
    extra = room - f.above - f.below
    right = frame(b, replace(f, above=f.above + extra * 0.3, below=f.below + extra * 0.7))
    return replace(left, name=f"{a.name}+{b.name}", rgb=np.hstack([left.rgb, right.rgb]))


# ------------------------------------------------------------------------ drawn on the face


def _overlay(p: Portrait, mask: np.ndarray, colour: np.ndarray | tuple, alpha: float) -> Portrait:
    """Paint ``colour`` (RGB, or an (H, W, 3) picture) where ``mask`` (0..1) says."""
    m = (mask.astype(np.float32) * alpha)[..., None]
    colour = np.asarray(colour, np.float32)
    out = p.rgb.astype(np.float32) * (1 - m) + colour * m
    return p.with_pixels(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def _aa_mask(shape: tuple[int, ...], draw) -> np.ndarray:
    """A mask drawn at 3x and reduced: smooth edges, as a lens or a hat has in a photo."""
    k = 3
    big = np.zeros((shape[0] * k, shape[1] * k), np.uint8)
    draw(big, k)
    return (
        cv2.resize(big, (shape[1], shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    )


def sunglasses(p: Portrait, rng: random.Random) -> Portrait:
    """Dark lenses over both eyes, centred a little above the pupils and wider than the eye
    outline (0.6-0.8 of the pupil distance), joined by a bridge; round, oval or square;
    black, brown, green-grey or blue-grey, nearly opaque; sometimes with a pale reflection."""
    ied = p.ied
    style = rng.choice(("oval", "round", "square"))
    rx = ied * rng.uniform(0.30, 0.40)
    ry = rx * (rng.uniform(0.62, 0.8) if style != "round" else 0.95)
    lift = ied * rng.uniform(0.0, 0.06)
    centres = [p.points[i] - (0, lift) for i in PUPILS]

    def draw(img: np.ndarray, k: int) -> None:
        for cx, cy in centres:
            c = (round(cx * k), round(cy * k))
            axes = (round(rx * k), round(ry * k))
            if style == "square":
                cv2.rectangle(
                    img, (c[0] - axes[0], c[1] - axes[1]), (c[0] + axes[0], c[1] + axes[1]), 255, -1
                )
            else:
                cv2.ellipse(img, c, axes, 0, 0, 360, 255, -1)
        (x0, y0), (x1, y1) = centres
        cv2.line(
            img,
            (round((x0 + rx) * k), round(y0 * k)),
            (round((x1 - rx) * k), round(y1 * k)),
            255,
            max(2, round(ied * 0.04 * k)),
        )

    lens = _aa_mask(p.rgb.shape, draw)
    colour = rng.choice(((12, 12, 14), (40, 28, 20), (28, 36, 30), (24, 30, 44)))
    out = _overlay(p, lens, colour, rng.uniform(0.88, 1.0))
    if rng.random() < 0.5:  # a window's reflection on the lens
        cx, cy = centres[rng.randrange(2)]

        def shine(img: np.ndarray, k: int) -> None:
            cv2.ellipse(
                img,
                (round((cx - rx * 0.3) * k), round((cy - ry * 0.35) * k)),
                (round(rx * 0.35 * k), round(ry * 0.18 * k)),
                -25,
                0,
                360,
                255,
                -1,
            )

        out = _overlay(out, _aa_mask(p.rgb.shape, shine) * lens, (200, 205, 210), 0.35)
    return out


def glare(p: Portrait, rng: random.Random, both: bool) -> Portrait:
    """Clear glasses (a thin frame) with a blown-out reflection over the eye: a white spot
    0.35-0.6 of the eye's width across, near the pupil, with a soft edge."""
    ied = p.ied
    rx, ry = ied * 0.36, ied * 0.26

    def frames(img: np.ndarray, k: int) -> None:
        for i in PUPILS:
            cx, cy = p.points[i]
            cv2.ellipse(
                img,
                (round(cx * k), round(cy * k)),
                (round(rx * k), round(ry * k)),
                0,
                0,
                360,
                255,
                max(2, round(ied * 0.025 * k)),
            )

    out = _overlay(p, _aa_mask(p.rgb.shape, frames), (30, 30, 30), 0.9)
    eyes = PUPILS if both else (rng.choice(PUPILS),)
    mask = np.zeros(p.rgb.shape[:2], np.float32)
    for i in eyes:
        cx, cy = p.points[i] + (rng.uniform(-0.06, 0.06) * ied, rng.uniform(-0.05, 0.03) * ied)
        r = ied * rng.uniform(0.07, 0.13)
        spot = np.zeros_like(mask)
        cv2.ellipse(
            spot,
            (round(cx), round(cy)),
            (round(r * rng.uniform(1.0, 1.5)), round(r)),
            rng.uniform(-30, 30),
            0,
            360,
            1.0,
            -1,
        )
        mask = np.maximum(mask, cv2.GaussianBlur(spot, (0, 0), r * 0.15))
    return _overlay(out, np.clip(mask * 1.15, 0, 1), (255, 255, 255), 1.0)


HAT_COLOURS = (
    (180, 30, 40),
    (30, 60, 150),
    (40, 120, 60),
    (20, 20, 24),
    (200, 170, 60),
    (110, 70, 40),
    (140, 140, 150),
    (90, 40, 120),
    (230, 230, 225),
    (230, 110, 30),
)


def hat(p: Portrait, rng: random.Random, colour: tuple[int, int, int] | None = None) -> Portrait:
    """A head covering from the hairline up: a knitted cap (with a folded cuff), a baseball
    cap (a visor over the forehead) or a brimmed hat. Its lower edge lies between the
    hairline and the brows, its dome as wide as the head and rising above the crown; a
    plain colour with shading and grain, knitted ones with a rib texture."""
    style = rng.choice(("beanie", "cap", "brim"))
    left, right = p.head_span
    width = (right - left) * rng.uniform(0.92, 1.05)
    hair_y = p.points[HAIRLINE, 1]
    brow_y = p.points[list(BROWS), 1].min()
    edge = hair_y + (brow_y - hair_y) * rng.uniform(0.1, 0.6)
    top = p.points[CROWN, 1] - p.head * rng.uniform(0.02, 0.10)
    cx = p.centre_x()

    def draw(img: np.ndarray, k: int) -> None:
        def ellipse(y: float, ax: float, ay: float, start: int, end: int) -> None:
            cv2.ellipse(
                img,
                (round(cx * k), round(y * k)),
                (round(ax * k), round(ay * k)),
                0,
                start,
                end,
                255,
                -1,
            )

        ellipse(edge, width / 2, edge - top, 180, 360)  # the dome, from its lower edge up
        if style == "beanie":
            band = (edge - top) * 0.18
            cv2.rectangle(
                img,
                (round((cx - width / 2) * k), round((edge - band) * k)),
                (round((cx + width / 2) * k), round((edge + band * 0.4) * k)),
                255,
                -1,
            )
        elif style == "cap":
            ellipse(edge, width * 0.5, width * 0.13, 0, 180)  # the visor, over the forehead
        else:
            ellipse(edge, width * rng.uniform(0.75, 0.95), width * 0.09, 0, 360)

    mask = _aa_mask(p.rgb.shape, draw)
    colour = np.asarray(colour or rng.choice(HAT_COLOURS), np.float32)
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = (
        1.0
        + 0.16 * np.clip((cx - xx) / width, -1, 1)
        - 0.12 * np.clip((yy - top) / (edge - top), 0, 1)
    )
    texture = colour * shade[..., None]
    if style == "beanie":
        ribs = 0.08 * np.sin(xx / max(width / 40, 1.5) * math.pi)
        texture = texture * (1 + ribs[..., None])
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, 4, (h, w, 1)).astype(np.float32)
    return _overlay(p, mask, np.clip(texture + noise, 0, 255), 1.0)


def small(p: Portrait, share: float, f: Framing) -> Portrait:
    """A face far from the camera: the head ``share`` of the picture's height, its crown a
    third of the way down, the clothes carried on below the portrait."""
    height = p.head / share
    width = height * f.aspect
    left = p.centre_x() - width * (0.5 + f.shift)
    top = p.points[CROWN, 1] - (height - p.head) * 0.4
    out = (round(f.height * f.aspect), f.height)
    return window(p, left, top, width, height, out, below=True)


# --------------------------------------------------------------------------- in memory


def jpeg(p: Portrait | np.ndarray, quality: int = 90) -> bytes:
    import io

    rgb = p.rgb if isinstance(p, Portrait) else p
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


# ------------------------------------------------------------------- the face's own shape


def warped(p: Portrait, moved: np.ndarray) -> Portrait:
    """The picture bent so that each landmark goes from where it is to ``moved``, smoothly
    in between; the picture's edges stay put. A dense backward map, interpolated linearly
    between the points (and a ring around the head, held still), then ``cv2.remap``."""
    from scipy.interpolate import griddata

    h, w = p.rgb.shape[:2]
    cx, cy = p.centre_x(), float((p.points[CROWN, 1] + p.points[CHIN, 1]) / 2)
    ring = [
        (cx + 1.1 * p.head * math.cos(a), cy + 0.8 * p.head * math.sin(a))
        for a in np.linspace(0, 2 * math.pi, 24, endpoint=False)
    ]
    edges = [(x, y) for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1)]
    still = np.array(ring + edges)
    dst = np.vstack([moved, still])
    shift = np.vstack([p.points - moved, np.zeros_like(still)])
    step = 8
    gy, gx = np.mgrid[0:h:step, 0:w:step].astype(np.float32)
    coarse = [
        griddata(dst, shift[:, k], (gx, gy), method="linear", fill_value=0).astype(np.float32)
        for k in (0, 1)
    ]
    fine = [cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in coarse]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = cv2.remap(
        p.rgb, xx + fine[0], yy + fine[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return p.with_pixels(rgb, moved)


# Eye outlines and irises of the template: upper lid, lower lid, iris ring, crease above.
LIDS = (
    ((19, 20, 21), (28, 29, 30), tuple(range(2, 10)) + (0,), (34, 35, 36, 37, 38)),
    ((24, 25, 26), (31, 32, 33), tuple(range(10, 18)) + (1,), (39, 40, 41, 42, 43)),
)


def eyes_closed(p: Portrait, which: tuple[int, ...] = (0, 1)) -> Portrait:
    """Closed eyes (``which``: one eye for a wink): the eye's opening, between the corners
    and the lids of its outline, painted over with the skin of the lid above it (with its
    shading), and the line of the lashes drawn where the lids meet, just above the lower
    lid."""
    out = p
    ied = p.ied
    for n in which:
        outline = p.points[list(EYE_OUTLINES[n])]
        upper, lower, _, crease = LIDS[n]
        lid_top = p.points[list(crease), 1].mean()
        lid_low = p.points[list(upper), 1].min()
        x0, x1 = outline[:, 0].min(), outline[:, 0].max()
        skin = out.rgb[int(lid_top) : max(int(lid_low), int(lid_top) + 1), int(x0) : int(x1)]
        colour = np.median(skin.reshape(-1, 3), axis=0) * 0.96

        def opening(img: np.ndarray, k: int, poly: np.ndarray = outline) -> None:
            cv2.fillPoly(img, [np.round(poly * k).astype(np.int32)], 255)

        mask = cv2.GaussianBlur(_aa_mask(out.rgb.shape, opening), (0, 0), max(ied * 0.01, 0.6))
        out = _overlay(out, np.clip(mask * 1.3, 0, 1), colour, 1.0)
        corner_a, corner_b = outline[0], outline[4]
        bottom = p.points[list(lower)]
        lash = np.vstack([corner_a, bottom - (0, ied * 0.015), corner_b])

        def lashes(img: np.ndarray, k: int, line: np.ndarray = lash) -> None:
            cv2.polylines(
                img,
                [np.round(line * k).astype(np.int32)],
                False,
                255,
                max(2, round(ied * 0.022 * k)),
                cv2.LINE_AA,
            )

        out = _overlay(out, _aa_mask(out.rgb.shape, lashes), (35, 28, 26), 0.85)
    return out


UPPER_INNER_LIP = (94, 95, 96, 97, 98)
LOWER_INNER_LIP = (99, 100, 101, 102, 103)
LOWER_LIP = (*LOWER_INNER_LIP, 104, 105, 106, 107, 108)
JAW = (126, 127, 128, 129, 130, 131, 132, 174, 175, 176, 177, 178, 183, 184)


def mouth_opened(p: Portrait, drop: float) -> Portrait:
    """An open mouth: the lower lip and the jaw lowered by ``drop`` head heights (the jaw's
    sides half as much), and the gap between the lips dark, as the mouth's inside is."""
    moved = p.points.copy()
    d = drop * p.head
    for i in (*LOWER_LIP, *JAW):
        side = i in (126, 132)
        moved[i, 1] += d * (0.5 if side else 1.0)
    out = warped(p, moved)
    corners = (87, 93)
    cavity = np.vstack(
        [
            moved[corners[0]],
            moved[list(UPPER_INNER_LIP)],
            moved[corners[1]],
            moved[list(LOWER_INNER_LIP)][::-1],
        ]
    )

    def draw(img: np.ndarray, k: int) -> None:
        cv2.fillPoly(img, [np.round(cavity * k).astype(np.int32)], 255)

    return _overlay(out, _aa_mask(out.rgb.shape, draw), (45, 22, 24), 0.95)


def turned(p: Portrait, yaw: float = 0.0, pitch: float = 0.0) -> Portrait:
    """The head turned by ``yaw`` degrees (to the image's right when positive) and tilted up
    (``pitch`` positive, the chin raised): each landmark is given a depth from an ellipsoid
    head (the nose's points stand out further) and rotated, then the picture is bent to
    match. The ears and hair do not turn with it: a rough turn, but the face's features
    move as a real turn moves them."""
    cx = p.centre_x()
    cy = float(p.points[CROWN, 1] * 0.4 + p.points[CHIN, 1] * 0.6)
    left, right = p.head_span
    rx, ry = (right - left) / 2 * 0.85, p.head / 2
    x, y = p.points[:, 0] - cx, p.points[:, 1] - cy
    inside = np.clip(1 - (x / rx) ** 2 - (y / ry) ** 2, 0, 1)
    z = np.sqrt(inside) * rx * 0.9
    nose = np.zeros(len(x), bool)
    nose[44:71] = True
    z[nose] += rx * 0.25
    a, b = math.radians(yaw), math.radians(pitch)
    x1 = x * math.cos(a) + z * math.sin(a)
    z1 = -x * math.sin(a) + z * math.cos(a)
    y1 = y * math.cos(b) - z1 * math.sin(b)
    moved = np.column_stack([x1 + cx, y1 + cy])
    return warped(p, moved)
