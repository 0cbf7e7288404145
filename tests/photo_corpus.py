"""A labelled corpus of photos for the photo checks, built in memory from real photographs
that ship inside scikit-image (no drawings, nothing downloaded).

The one real portrait is ``astronaut``; ``kofu.demo_names.portrait`` cuts her out of her
studio and frames her on a backdrop at any size and position. Every other picture is derived
from her, or from scikit-image's non-face photographs (a coffee cup, a rocket, a cat…).

Each variant carries the reason codes it must produce:
- ``valid``: none at all (not refused, and reported when sent to review);
- ``hard``: exactly these hard-rule codes;
- ``defect``: at least these codes, as a refusal or a referral to review.
"""

from __future__ import annotations

import functools
import io
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from kofu.demo_names import (
    CHIN_BELOW_FACE,
    CROWN_ABOVE_FACE,
    Framing,
    add_grain,
    cluttered_backdrop,
    plain_backdrop,
    portrait,
)

SUBMITTED_AT = datetime(2026, 11, 25, 21, 4, tzinfo=timezone(timedelta(hours=9)))
SIZE = (600, 800)
_EXIF_IFD, _DATE_TAKEN, _ORIENTATION = 0x8769, 0x9003, 0x0112


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # "valid", "hard" or "defect"
    expect: frozenset[str]
    data: bytes = b""


SEED = 20261125


@functools.cache
def corpus(seed: int = SEED) -> tuple[Variant, ...]:
    """Built once per process (about 10 s); another seed gives another draw of variants."""
    rng = random.Random(seed)
    return (*_valid(rng), *_hard(rng), *_defects(rng))


def jpeg(image: Image.Image, quality: int = 90, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, **params)
    return buf.getvalue()


def exif_bytes(orientation: int | None = None, taken: datetime | None = None) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[_ORIENTATION] = orientation
    if taken:
        exif.get_ifd(_EXIF_IFD)[_DATE_TAKEN] = taken.strftime("%Y:%m:%d %H:%M:%S")
    return exif.tobytes()


def _variant(kind: str, name: str, data: bytes, *codes: str) -> Variant:
    return Variant(name, kind, frozenset(codes), data)


# ---------------------------------------------------------------------------- valid

CROWN, CHIN = CROWN_ABOVE_FACE, CHIN_BELOW_FACE
SIZES = [(480, 640), (600, 800), (768, 1024), (1200, 1600)]
N_VALID_FRAMINGS = 40
N_PER_DEFECT = 8


def valid_framing(rng: random.Random, size: tuple[int, int]) -> Framing:
    """A framing any office accepts: crown to chest, the face 22-44% of the width, near the
    middle, the head nearly straight, room above the crown."""
    width, height = size
    # Crown to chin with 5% of the height above and 15% below must fit.
    fw = rng.uniform(0.22, min(0.44, 0.8 * height / width / (CROWN + CHIN)))
    highest = (CROWN * fw * width + 0.05 * height) / height
    lowest = (0.85 * height - CHIN * fw * width) / height
    cy = rng.uniform(max(0.36, highest), min(0.48, lowest))
    return Framing(fw, rng.uniform(0.45, 0.55), cy, rng.uniform(-4, 4))


def _valid(rng: random.Random) -> list[Variant]:
    out = []
    for i in range(N_VALID_FRAMINGS):
        size = SIZES[i % len(SIZES)]
        framing = valid_framing(rng, size)
        picture = portrait(rng, size, framing, grain=rng.uniform(1.5, 3.5))
        name = f"framing-{i}-{size[0]}x{size[1]}-fw{framing.face_width:.2f}"
        out.append(_variant("valid", name, jpeg(picture, rng.choice((75, 85, 95)))))
    landscape = Framing(face_width=0.24, centre_y=0.45)
    out.append(_variant("valid", "landscape-640x480", jpeg(portrait(rng, (640, 480), landscape))))
    phone = portrait(rng, (1008, 1344)).resize((3024, 4032), Image.Resampling.BICUBIC)
    out.append(_variant("valid", "smartphone-3024x4032", jpeg(phone, 85)))
    base = Framing(face_width=0.34)
    edits: dict[str, Callable[[Image.Image], Image.Image]] = {
        "darker-15": lambda im: ImageEnhance.Brightness(im).enhance(0.85),
        "darker-30": lambda im: ImageEnhance.Brightness(im).enhance(0.7),
        "brighter-10": lambda im: ImageEnhance.Brightness(im).enhance(1.1),
        "softer-contrast": lambda im: ImageEnhance.Contrast(im).enhance(0.8),
        "more-contrast": lambda im: ImageEnhance.Contrast(im).enhance(1.2),
        "greyscale": lambda im: im.convert("L"),
        "greyscale-as-rgb": lambda im: im.convert("L").convert("RGB"),
        "warm-light": lambda im: _tint(im, (1.06, 1.0, 0.9)),
        "cool-light": lambda im: _tint(im, (0.94, 1.0, 1.08)),
        "slight-soft-focus": lambda im: im.filter(ImageFilter.GaussianBlur(0.8)),
        "low-jpeg-quality": lambda im: Image.open(io.BytesIO(jpeg(im, 55))),
    }
    for name, edit in edits.items():
        out.append(_variant("valid", name, jpeg(edit(portrait(rng, SIZE, base)))))
    for colour in ((255, 255, 255), (190, 200, 210), (200, 215, 235), (160, 160, 160)):
        backdrop = plain_backdrop(rng, SIZE, colour)
        picture = portrait(rng, SIZE, base, backdrop=backdrop)
        out.append(_variant("valid", f"backdrop-{colour[0]}-{colour[2]}", jpeg(picture)))
    turns = (
        (3, Image.Transpose.ROTATE_180),
        (6, Image.Transpose.ROTATE_90),
        (8, Image.Transpose.ROTATE_270),
    )
    for orientation, stored in turns:
        # Stored turned, with the EXIF tag that says how to turn it upright.
        picture = portrait(rng, SIZE, base).transpose(stored)
        data = jpeg(picture, exif=exif_bytes(orientation))
        out.append(_variant("valid", f"exif-orientation-{orientation}", data))
    recent = SUBMITTED_AT.replace(tzinfo=None) - timedelta(days=30)
    data = jpeg(portrait(rng, SIZE, base), exif=exif_bytes(taken=recent))
    out.append(_variant("valid", "taken-a-month-ago", data))
    return out


def _tint(image: Image.Image, gains: tuple[float, float, float]) -> Image.Image:
    pixels = np.asarray(image, np.float32) * np.asarray(gains, np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------------------- hard rules


def _hard(rng: random.Random) -> list[Variant]:
    good = jpeg(portrait(rng, SIZE))
    png = io.BytesIO()
    portrait(rng, SIZE).save(png, "PNG")
    webp = io.BytesIO()
    portrait(rng, SIZE).save(webp, "WEBP")
    noise = np.random.default_rng(1).integers(0, 256, (500, 6100), np.uint8)
    wide = jpeg(Image.fromarray(noise).convert("RGB"), 30)
    out = [
        _variant("hard", "zero-bytes", b"", "photo-empty"),
        _variant("hard", "png-named-jpg", png.getvalue(), "photo-not-jpeg"),
        _variant("hard", "webp-named-jpg", webp.getvalue(), "photo-not-jpeg"),
        _variant("hard", "html-named-jpg", b"<!doctype html><p>photo</p>" * 900, "photo-not-jpeg"),
        # JPEG's first bytes, then a PNG: it only pretends to be a JPEG.
        _variant("hard", "jpeg-magic-then-png", good[:3] + png.getvalue(), "photo-corrupt"),
        _variant(
            "hard", "jpeg-magic-then-noise", good[:4] + rng.randbytes(60_000), "photo-corrupt"
        ),
        _variant("hard", "truncated-half", good[: len(good) // 2], "photo-corrupt"),
        _variant("hard", "truncated-header", good[:600], "photo-corrupt", "photo-file-too-small"),
        _variant("hard", "cmyk", jpeg(portrait(rng, SIZE).convert("CMYK")), "photo-cmyk"),
        _variant(
            "hard",
            "too-few-pixels",
            jpeg(portrait(rng, (360, 480)), 95),
            "photo-too-small-pixels",
        ),
        _variant(
            "hard",
            "too-few-pixels-and-bytes",
            jpeg(portrait(rng, (300, 400), grain=0), 40),
            "photo-too-small-pixels",
            "photo-file-too-small",
        ),
        _variant(
            "hard",
            "too-few-bytes",
            jpeg(portrait(rng, (480, 640), grain=0), 10),
            "photo-file-too-small",
        ),
        _variant("hard", "too-many-pixels", wide, "photo-too-large-pixels"),
        _variant(
            "hard", "too-many-bytes", good + b"\0" * (7 * 1024 * 1024), "photo-file-too-large"
        ),
        # A small file whose header declares 60000 x 60000 pixels: a decompression bomb.
        _variant(
            "hard", "bomb-60000px", _declare_size(good, 60000, 60000), "photo-too-large-pixels"
        ),
        _variant(
            "hard", "bomb-12000px", _declare_size(good, 12000, 12000), "photo-too-large-pixels"
        ),
    ]
    return out


def _declare_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF0) declaring another size."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


# ---------------------------------------------------------------------------- defects


def _defects(rng: random.Random) -> list[Variant]:
    """N_PER_DEFECT variants of each defect, their strength drawn at random from a range
    that is clearly a defect, on a random size and backdrop."""
    out: list[Variant] = []
    n = N_PER_DEFECT

    def add(name: str, picture: Image.Image, *codes: str, **params) -> None:
        out.append(_variant("defect", name, jpeg(picture, rng.choice((80, 90)), **params), *codes))

    def size() -> tuple[int, int]:
        return rng.choice(SIZES[:3])

    # The selfie taken too close: the crown, or the chin, outside the picture by 10-35% of
    # the face width.
    for i in range(n):
        (width, height), fw, cut = size(), rng.uniform(0.4, 0.6), rng.uniform(0.1, 0.35)
        cy = (CROWN - cut) * fw * width / height
        framing = Framing(fw, rng.uniform(0.46, 0.54), cy)
        add(f"head-cut-{i}-by-{cut:.2f}", portrait(rng, (width, height), framing), "head-cut-off")
    for i in range(n):
        (width, height), fw, cut = size(), rng.uniform(0.4, 0.6), rng.uniform(0.1, 0.3)
        cy = 1 + (cut - CHIN) * fw * width / height
        framing = Framing(fw, rng.uniform(0.46, 0.54), cy)
        add(f"chin-cut-{i}-by-{cut:.2f}", portrait(rng, (width, height), framing), "chin-cut-off")
    for i in range(n):
        fw = rng.uniform(0.06, 0.1)
        framing = Framing(fw, rng.uniform(0.4, 0.6), rng.uniform(0.3, 0.5))
        add(f"tiny-face-{i}-{fw:.3f}", portrait(rng, size(), framing), "face-too-small")
    for i in range(n):
        cx = rng.uniform(0.2, 0.27)
        cx = cx if i % 2 else 1 - cx
        framing = Framing(rng.uniform(0.26, 0.34), cx, rng.uniform(0.38, 0.45))
        add(f"off-centre-{i}-{cx:.2f}", portrait(rng, size(), framing), "face-off-centre")
    for i in range(n):
        roll = rng.uniform(20, 32) * (1 if i % 2 else -1)
        framing = Framing(rng.uniform(0.28, 0.38), roll_deg=roll)
        add(f"tilted-{i}-{roll:.0f}", portrait(rng, size(), framing), "face-tilted")
    sideways = portrait(rng, SIZE, Framing(0.34)).transpose(Image.Transpose.ROTATE_90)
    add("sideways-without-exif-tag", sideways, "no-face")

    # Blur is relative to the face: on the card it is printed about 128 pixels wide.
    for i in range(n):
        framing, where = valid_framing(rng, SIZE), size()
        picture = portrait(rng, where, framing)
        face_px = framing.face_width * where[0]
        if i % 2:
            sigma = rng.uniform(0.012, 0.025) * face_px
            blurred = add_grain(rng, picture.filter(ImageFilter.GaussianBlur(sigma)), 2.5)
            add(f"out-of-focus-{i}-{sigma:.1f}px", blurred, "blurred")
        else:
            length = round(rng.uniform(0.06, 0.12) * face_px)
            angle = rng.uniform(0, 180)
            shaken = add_grain(rng, _shake(picture, length, angle), 2.5)
            add(f"camera-shake-{i}-{length}px", shaken, "blurred")
    for i in range(n):
        gain = rng.uniform(0.2, 0.35)
        picture = ImageEnhance.Brightness(portrait(rng, size(), valid_framing(rng, SIZE)))
        add(f"dark-{i}-{gain:.2f}", add_grain(rng, picture.enhance(gain), 2.5), "too-dark")
    for i in range(n):
        gain = rng.uniform(1.7, 2.4)
        picture = ImageEnhance.Brightness(portrait(rng, size(), valid_framing(rng, SIZE)))
        add(f"bright-{i}-{gain:.2f}", picture.enhance(gain), "too-bright")
    for i in range(n):
        factor = rng.uniform(0.2, 0.35)
        picture = ImageEnhance.Contrast(portrait(rng, size(), valid_framing(rng, SIZE)))
        add(f"flat-{i}-{factor:.2f}", add_grain(rng, picture.enhance(factor), 2.5), "low-contrast")
    casts = {
        "blue": (0.7, 0.9, 1.4),
        "green": (0.75, 1.15, 0.75),
        "magenta": (1.15, 0.7, 1.2),
        "yellow": (1.1, 1.05, 0.5),
        "cyan": (0.6, 1.0, 1.1),
        "red": (1.0, 0.6, 0.6),
    }
    for i in range(n):
        name, gains = rng.choice(sorted(casts.items()))
        strength = rng.uniform(0.8, 1.2)
        gains = tuple(1 + (g - 1) * strength for g in gains)
        picture = portrait(rng, size(), valid_framing(rng, SIZE))
        add(f"cast-{i}-{name}-{strength:.2f}", _tint(picture, gains), "colour-cast")

    # The furniture in the background.
    for i in range(n):
        where = size()
        picture = portrait(rng, where, valid_framing(rng, where), cluttered_backdrop(rng, where))
        add(f"cluttered-{i}", picture, "background-not-plain")
    add("studio-flag-and-shuttle", _studio(rng), "background-not-plain")
    picture = portrait(rng, SIZE, Framing(0.34), _texture("brick", SIZE))
    add("brick-wall", picture, "background-not-plain")
    for side in ("left", "right"):
        add(f"shadow-{side}", _shadow(rng, side), "background-not-plain")

    # More than one person, and nobody.
    for i in range(6):
        # Two adults, or (from i = 3) a parent and a child whose face is 60-85% as wide.
        fw = rng.uniform(0.3, 0.44)
        second = fw * (rng.uniform(0.6, 0.85) if i >= 3 else 1.0)
        pair = Image.new("RGB", SIZE)
        for j, width in enumerate((fw, second)):
            framing = Framing(width, 0.5, rng.uniform(0.38, 0.5))
            pair.paste(portrait(rng, (SIZE[0] // 2, SIZE[1]), framing), (j * SIZE[0] // 2, 0))
        add(f"two-people-{i}", pair, "several-faces")
    for name in ("coffee", "rocket", "chelsea", "hubble_deep_field", "immunohistochemistry"):
        add(f"no-face-{name}", _upscaled(name, SIZE), "no-face")

    # Taken long ago, according to EXIF.
    for days in (2 * 365, 220):
        taken = SUBMITTED_AT.replace(tzinfo=None) - timedelta(days=days)
        add(
            f"taken-{days}-days-ago",
            portrait(rng, SIZE, Framing(0.34)),
            "photo-too-old",
            exif=exif_bytes(taken=taken),
        )
    return out


def _shake(image: Image.Image, length: int, angle: float) -> Image.Image:
    """Camera shake: a straight motion blur of ``length`` pixels at ``angle`` degrees."""
    import cv2

    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1 / length
    turn = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    kernel /= kernel.sum()
    return Image.fromarray(cv2.filter2D(np.asarray(image), -1, kernel))


def _texture(name: str, size: tuple[int, int]) -> Image.Image:
    from skimage import data

    tile = Image.fromarray(getattr(data, name)()).convert("RGB")
    wall = Image.new("RGB", size)
    for x in range(0, size[0], tile.width):
        for y in range(0, size[1], tile.height):
            wall.paste(tile, (x, y))
    return wall


def _upscaled(name: str, size: tuple[int, int]) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB").resize(size)


def _studio(rng: random.Random) -> Image.Image:
    """Her own studio: the flag on the left and the model shuttle on the right, as in the
    original picture, placed beside her head."""
    from skimage import data

    source = Image.fromarray(data.astronaut())
    backdrop = plain_backdrop(rng, SIZE, (176, 176, 178))
    backdrop.paste(source.crop((0, 0, 100, 512)).resize((150, 800)), (0, 0))
    backdrop.paste(source.crop((350, 0, 512, 300)).resize((200, 370)), (430, 60))
    return portrait(rng, SIZE, Framing(0.34), backdrop)


def _shadow(rng: random.Random, side: str) -> Image.Image:
    """A hard shadow of the head on the wall beside it (a flash or a lamp to one side)."""
    width, height = SIZE
    wall = plain_backdrop(rng, SIZE)
    mask = Image.new("L", SIZE, 0)
    x0 = int(width * (0.6 if side == "right" else 0.0))
    mask.paste(255, (x0, int(height * 0.05), x0 + int(width * 0.4), int(height * 0.6)))
    mask = mask.filter(ImageFilter.GaussianBlur(10))
    shaded = Image.composite(ImageEnhance.Brightness(wall).enhance(0.5), wall, mask)
    return portrait(rng, SIZE, Framing(0.34), shaded)


@dataclass
class Tally:
    total: int = 0
    caught: int = 0  # refused, or sent to a person
    refused: int = 0


def evaluate(variants: tuple[Variant, ...], check: Callable[[Variant], tuple[set, set]]) -> dict:
    """Per reason, how many defect variants carrying it were caught and refused; for valid
    photos, how many were refused and how many sent to review. ``check`` returns a variant's
    (refusal codes, review codes)."""
    reasons: dict[str, Tally] = {}
    valid = {"total": 0, "refused": 0, "reviewed": 0}
    for variant in variants:
        if variant.kind == "hard":
            continue
        refused, reviewed = check(variant)
        if variant.kind == "valid":
            valid["total"] += 1
            valid["refused"] += bool(refused)
            valid["reviewed"] += bool(reviewed) and not refused
            continue
        for code in variant.expect:
            tally = reasons.setdefault(code, Tally())
            tally.total += 1
            tally.caught += code in refused | reviewed
            tally.refused += code in refused
    return {"valid": valid, "reasons": dict(sorted(reasons.items()))}
