"""A labelled corpus of photos for the photo checks, built in memory from real photographs of
real people (tests/data/photos, credited there) and their landmark files.

Each landmarked portrait gives good photos in several framings and edits, and one photo of
each defect, the defect placed at its landmarks (``tests.photo_defects``). ``corpus(folder)``
builds the same from any folder laid out the same way: ``bench/photo_eval.py`` runs it on the
full development sets for the README's figures.

Each variant carries the reason codes it must produce:
- ``valid``: none at all (not refused, and reported when sent to review);
- ``hard``: exactly these hard-rule codes;
- ``defect``: this code, as a refusal or a referral to review.
"""

from __future__ import annotations

import functools
import io
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from tests import photo_defects as d

SUBMITTED_AT = datetime(2026, 11, 25, 21, 4, tzinfo=timezone(timedelta(hours=9)))
REPO_PHOTOS = Path(__file__).parent / "data" / "photos"
SEED = 20261125
_EXIF_IFD, _DATE_TAKEN, _ORIENTATION = 0x8769, 0x9003, 0x0112
# The portraits are reduced to this before any edit: every photo made is at most about this
# tall, and the edits stay fast.
SOURCE_SIDE = 900


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # "valid", "hard" or "defect"
    expect: frozenset[str]
    data: bytes = b""
    how: str = ""  # the edit, for a reader of a failure


@functools.cache
def corpus(folder: Path = REPO_PHOTOS, seed: int = SEED, rounds: int = 1) -> tuple[Variant, ...]:
    """Built once per process; another seed gives another draw of framings and defects,
    ``rounds`` draws that many of each per portrait."""
    rng = random.Random(seed)
    portraits = [d.scaled(p, SOURCE_SIDE) for p in d.load_portraits(folder)]
    marked = [p for p in portraits if p.points is not None]
    if not marked:
        raise FileNotFoundError(f"no landmarked portraits (.jpg with a .tem) under {folder}")
    out: list[Variant] = []
    for _ in range(rounds):
        out += _valid(rng, marked)
        out += _defects(rng, marked)
    out += [_plain_valid(p) for p in portraits if p.points is None and "smiling" in p.name]
    out += _real_defects(portraits)
    out += _hard(rng, marked[0])
    return tuple(out)


def _variant(kind: str, name: str, data: bytes, *codes: str, how: str = "") -> Variant:
    return Variant(name, kind, frozenset(codes), data, how)


def photo(image: Image.Image | d.Portrait | np.ndarray, rng: random.Random, **params) -> bytes:
    """A made photo as a phone would save it: sensor grain (the portraits were reduced, so
    they lost theirs), JPEG quality 80 to 92. The grain also gives the file the bulk of a real
    photo: a reduced, smooth picture can fall under the 20 KB rule."""
    if isinstance(image, d.Portrait):
        image = image.rgb
    pixels = np.asarray(image, np.float32)
    gen = np.random.default_rng(rng.getrandbits(32))
    noise = gen.standard_normal(pixels.shape[:2], dtype=np.float32) * 3.0 + 0.5
    pixels += noise[..., None] if pixels.ndim == 3 else noise
    grainy = Image.fromarray(np.clip(pixels, 0, 255, out=pixels).astype(np.uint8))
    return jpeg(grainy, rng.choice((80, 86, 92)), **params)


def jpeg(image: Image.Image | d.Portrait | np.ndarray, quality: int = 90, **params) -> bytes:
    if isinstance(image, d.Portrait):
        image = image.rgb
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
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


# ---------------------------------------------------------------------------- good photos


def good_framing(rng: random.Random) -> d.Framing:
    """Crown to shoulders, as the application guide asks: some room above the crown, the
    shoulders or chest below the chin, portrait, square or 35:45, 640 to 1000 px tall."""
    return d.Framing(
        above=rng.uniform(0.05, 0.25),
        below=rng.uniform(0.25, 0.5),
        aspect=rng.choice((0.75, 35 / 45, 1.0)),
        shift=rng.uniform(-0.02, 0.02),
        height=rng.choice((640, 800, 1000)),
    )


def tight_framing(rng: random.Random) -> d.Framing:
    """The tightest good framing: the crown just inside the top, the chin well clear of the
    bottom (a passport-style crop, the head 70-80% of the height)."""
    return d.Framing(
        above=rng.uniform(0.0, 0.04),
        below=rng.uniform(0.15, 0.3),
        aspect=35 / 45,
        height=rng.choice((640, 800)),
    )


# Edits a good photo can carry and still be good: each takes the framed RGB picture.
GOOD_EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as-taken": lambda im: im,
    "darker-15": lambda im: ImageEnhance.Brightness(im).enhance(0.85),
    "brighter-10": lambda im: ImageEnhance.Brightness(im).enhance(1.1),
    "softer-contrast": lambda im: ImageEnhance.Contrast(im).enhance(0.85),
    "more-contrast": lambda im: ImageEnhance.Contrast(im).enhance(1.2),
    "greyscale": lambda im: im.convert("L"),
    "warm-light": lambda im: _tint(im, (1.06, 1.0, 0.9)),
    "cool-light": lambda im: _tint(im, (0.94, 1.0, 1.08)),
    "slight-soft-focus": lambda im: im.filter(ImageFilter.GaussianBlur(0.6)),
    "low-jpeg-quality": lambda im: Image.open(io.BytesIO(jpeg(im, 55))),
}


def _tint(image: Image.Image, gains: tuple[float, float, float]) -> Image.Image:
    pixels = np.asarray(image, np.float32) * np.asarray(gains, np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _valid(rng: random.Random, portraits: list[d.Portrait]) -> list[Variant]:
    out = []
    edits = sorted(GOOD_EDITS)
    for n, p in enumerate(portraits):
        framed = d.frame(p, good_framing(rng))
        edit = edits[n % len(edits)]
        picture = GOOD_EDITS[edit](Image.fromarray(framed.rgb))
        out.append(_variant("valid", f"{p.name} framed, {edit}", photo(picture, rng)))
        tight = d.frame(d.rotated(p, rng.uniform(-4, 4)), tight_framing(rng))
        out.append(_variant("valid", f"{p.name} tight, slight roll", photo(tight, rng)))
    # Whole-picture cases that need only one portrait each.
    p = portraits[0]
    landscape = d.frame(p, d.Framing(above=0.3, below=0.35, aspect=4 / 3, height=480))
    out.append(_variant("valid", f"{p.name} landscape 640x480", photo(landscape, rng)))
    phone = Image.fromarray(d.frame(p, good_framing(rng)).rgb)
    phone = phone.resize((3024, round(3024 * phone.height / phone.width)), Image.Resampling.BICUBIC)
    out.append(_variant("valid", f"{p.name} 12 MP", jpeg(phone, 85)))
    upright = Image.fromarray(d.frame(portraits[1 % len(portraits)], good_framing(rng)).rgb)
    for orientation, stored in (
        (3, Image.Transpose.ROTATE_180),
        (6, Image.Transpose.ROTATE_90),
        (8, Image.Transpose.ROTATE_270),
    ):
        # Stored turned, with the EXIF tag that says how to turn it upright.
        data = photo(upright.transpose(stored), rng, exif=exif_bytes(orientation))
        out.append(_variant("valid", f"exif-orientation-{orientation}", data))
    recent = SUBMITTED_AT.replace(tzinfo=None) - timedelta(days=30)
    data = photo(upright, rng, exif=exif_bytes(taken=recent))
    out.append(_variant("valid", "taken-a-month-ago", data))
    return out


def _plain_valid(p: d.Portrait) -> Variant:
    """A portrait without landmarks (the smiling set), as it was taken."""
    return _variant("valid", f"{p.name} as taken", jpeg(p.rgb))


# Real photos with a defect of their own (tests/data/photos/README.md).
REAL_DEFECTS = {
    "selfies/lisa3": "face-tilted",
    "selfies/zoom-30cm": "background-not-plain",
    "selfies/lisa2": "background-not-plain",
    "selfies/lisa4": "background-not-plain",
    "selfies/zoom-45cm": "background-not-plain",
    "selfies/zoom-60cm": "background-not-plain",
}


def _real_defects(portraits: list[d.Portrait]) -> list[Variant]:
    return [
        _variant("defect", f"{p.name} as taken", jpeg(p.rgb), REAL_DEFECTS[p.name], how="real")
        for p in portraits
        if p.name in REAL_DEFECTS
    ]


# ------------------------------------------------------------------------------- defects

# Blur and colour are judged on the face as printed: their strength is relative to the
# distance between the pupils in the photo made.


def _cast(rng: random.Random) -> tuple[str, tuple[float, float, float]]:
    casts = {
        "blue": (0.7, 0.9, 1.4),
        "green": (0.75, 1.15, 0.75),
        "magenta": (1.15, 0.7, 1.2),
        "yellow": (1.1, 1.05, 0.5),
        "cyan": (0.6, 1.0, 1.1),
        "red": (1.0, 0.6, 0.6),
    }
    name, gains = rng.choice(sorted(casts.items()))
    strength = rng.uniform(0.8, 1.2)
    return name, tuple(1 + (g - 1) * strength for g in gains)  # type: ignore[return-value]


def _pil(p: d.Portrait) -> Image.Image:
    return Image.fromarray(p.rgb)


def defect_makers(
    rng: random.Random, p: d.Portrait, other: d.Portrait
) -> Iterator[tuple[str, str, Callable[[], d.Portrait | Image.Image]]]:
    """(code, how, make) for one defect of each kind on portrait ``p``."""
    f = good_framing(rng)
    head = p.head
    above = rng.uniform(-0.03, 0.06)
    yield (
        "head-cut-off",
        f"top edge at the hairline {above:+.2f}",
        lambda: d.cut(p, p.points[d.HAIRLINE, 1] + above * head, None, f),
    )
    below = rng.uniform(-0.05, 0.08)
    yield (
        "chin-cut-off",
        f"bottom edge at the upper lip {below:+.2f}",
        lambda: d.cut(p, None, p.points[d.UPPER_LIP, 1] + below * head, f),
    )
    yield "eyes-not-visible", "sunglasses", lambda: d.frame(d.sunglasses(p, rng), f)
    both = rng.random() < 0.5
    yield (
        "eyes-not-visible",
        f"glare on {'both' if both else 'one'}",
        lambda: d.frame(d.glare(p, rng, both), f),
    )
    yield "head-covering", "hat", lambda: d.frame(d.hat(p, rng), f)
    yield (
        "background-not-plain",
        "busy room",
        lambda: d.frame(d.on_backdrop(p, _busy(rng, p.rgb.shape)), f),
    )
    share = rng.uniform(0.08, 0.17)
    yield "face-too-small", f"head {share:.2f} of the height", lambda: d.small(p, share, f)
    shift = rng.choice((-1, 1)) * rng.uniform(0.2, 0.3)
    yield "face-off-centre", f"shifted {shift:+.2f}", lambda: d.frame(p, replace(f, shift=shift))
    roll = rng.choice((-1, 1)) * rng.uniform(15, 30)
    yield "face-tilted", f"turned {roll:+.0f} degrees", lambda: d.frame(d.rotated(p, roll), f)
    scale = rng.uniform(0.6, 1.0)
    yield (
        "several-faces",
        f"two people, the second {scale:.2f}",
        lambda: d.side_by_side(p, other, scale, f),
    )
    sigma = rng.uniform(0.045, 0.09)
    length = rng.uniform(0.15, 0.3)
    if rng.random() < 0.5:
        yield (
            "blurred",
            f"out of focus {sigma:.3f} IED",
            lambda: _after(p, f, lambda q: d.blurred(q, sigma * q.ied)),
        )
    else:
        yield (
            "blurred",
            f"camera shake {length:.2f} IED",
            lambda: _after(
                p, f, lambda q: d.shaken(q, max(3, round(length * q.ied)), rng.uniform(0, 180))
            ),
        )
    dark = rng.uniform(0.2, 0.35)
    yield (
        "too-dark",
        f"brightness x{dark:.2f}",
        lambda: ImageEnhance.Brightness(_pil(d.frame(p, f))).enhance(dark),
    )
    bright = rng.uniform(1.7, 2.4)
    yield (
        "too-bright",
        f"brightness x{bright:.2f}",
        lambda: ImageEnhance.Brightness(_pil(d.frame(p, f))).enhance(bright),
    )
    flat = rng.uniform(0.2, 0.35)
    yield (
        "low-contrast",
        f"contrast x{flat:.2f}",
        lambda: ImageEnhance.Contrast(_pil(d.frame(p, f))).enhance(flat),
    )
    name, gains = _cast(rng)
    yield "colour-cast", f"{name} light", lambda: d.tinted(d.frame(p, f), gains)
    wink = rng.random() < 0.3
    yield (
        "eyes-closed",
        "one eye closed (painted)" if wink else "eyes closed (painted)",
        (lambda: d.frame(d.eyes_closed(p, (rng.randrange(2),) if wink else (0, 1)), f)),
    )
    drop = rng.uniform(0.06, 0.12)
    yield "mouth-open", f"jaw lowered {drop:.2f}", lambda: d.frame(d.mouth_opened(p, drop), f)
    yaw = rng.choice((-1, 1)) * rng.uniform(28, 38)
    yield (
        "face-turned",
        f"head turned {yaw:+.0f} degrees (warped)",
        lambda: d.frame(d.turned(p, yaw=yaw), f),
    )


def _after(p: d.Portrait, f: d.Framing, edit: Callable[[d.Portrait], d.Portrait]) -> d.Portrait:
    return edit(d.frame(p, f))


def _busy(rng: random.Random, shape: tuple[int, ...]) -> np.ndarray:
    """A room of real photographs (scikit-image's), or a brick wall."""
    from kofu.tasks.demo.names import cluttered_backdrop

    size = (shape[1], shape[0])
    if rng.random() < 0.2:
        from skimage import data

        tile = np.asarray(Image.fromarray(data.brick()).convert("RGB"))
        reps = (shape[0] // tile.shape[0] + 1, shape[1] // tile.shape[1] + 1, 1)
        return np.tile(tile, reps)[: shape[0], : shape[1]]
    return np.asarray(cluttered_backdrop(rng, size))


def _defects(rng: random.Random, portraits: list[d.Portrait]) -> list[Variant]:
    out = []
    for n, p in enumerate(portraits):
        other = portraits[(n + 1) % len(portraits)]
        for code, how, make in defect_makers(rng, p, other):
            out.append(_variant("defect", f"{p.name} {code}", photo(make(), rng), code, how=how))
    p = portraits[0]
    sideways = Image.fromarray(d.frame(p, good_framing(rng)).rgb).transpose(
        Image.Transpose.ROTATE_90
    )
    out.append(
        _variant("defect", "sideways without its EXIF tag", photo(sideways, rng), "face-tilted")
    )
    from skimage import data

    for name in ("coffee", "rocket", "chelsea", "hubble_deep_field", "immunohistochemistry"):
        picture = Image.fromarray(getattr(data, name)()).convert("RGB").resize((600, 800))
        out.append(_variant("defect", f"no-face-{name}", jpeg(picture), "no-face"))
    for days in (2 * 365, 220):
        taken = SUBMITTED_AT.replace(tzinfo=None) - timedelta(days=days)
        data_ = photo(d.frame(p, good_framing(rng)), rng, exif=exif_bytes(taken=taken))
        out.append(_variant("defect", f"taken-{days}-days-ago", data_, "photo-too-old"))
    return out


# ---------------------------------------------------------------------------- hard rules


def _hard(rng: random.Random, p: d.Portrait) -> list[Variant]:
    picture = Image.fromarray(d.frame(p, d.Framing(height=800)).rgb)
    good = jpeg(picture)
    png = io.BytesIO()
    picture.save(png, "PNG")
    webp = io.BytesIO()
    picture.save(webp, "WEBP")
    noise = np.random.default_rng(1).integers(0, 256, (500, 6100), np.uint8)
    wide = jpeg(Image.fromarray(noise).convert("RGB"), 30)
    small = picture.resize((360, round(360 * picture.height / picture.width)))
    smaller = picture.resize((300, round(300 * picture.height / picture.width)))
    return [
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
        _variant("hard", "cmyk", jpeg(picture.convert("CMYK")), "photo-cmyk"),
        _variant("hard", "too-few-pixels", jpeg(small, 95), "photo-too-small-pixels"),
        _variant(
            "hard",
            "too-few-pixels-and-bytes",
            jpeg(smaller, 30),
            "photo-too-small-pixels",
            "photo-file-too-small",
        ),
        _variant(
            "hard",
            "too-few-bytes",
            jpeg(picture.resize((480, round(480 * picture.height / picture.width))), 8),
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


def _declare_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF0) declaring another size."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


# ---------------------------------------------------------------------------- the rates


@dataclass
class Tally:
    total: int = 0
    caught: int = 0  # refused, or sent to a person, for any reason
    named: int = 0  # caught with this reason among its reasons
    refused: int = 0  # refused with this reason
    only: int = 0  # given this reason and no other
    others: dict[str, int] = field(default_factory=dict)  # the other reasons given


def evaluate(variants: tuple[Variant, ...], check: Callable[[Variant], tuple[set, set]]) -> dict:
    """Per reason, how many defect variants carrying it were caught, named and refused; for
    valid photos, how many were accepted, sent to review and refused. ``check`` returns a
    variant's (refusal codes, review codes)."""
    reasons: dict[str, Tally] = {}
    valid = {"total": 0, "accepted": 0, "reviewed": 0, "refused": 0}
    for variant in variants:
        if variant.kind == "hard":
            continue
        refused, reviewed = check(variant)
        if variant.kind == "valid":
            valid["total"] += 1
            outcome = "refused" if refused else "reviewed" if reviewed else "accepted"
            valid[outcome] += 1
            continue
        given = refused | reviewed
        for code in variant.expect:
            tally = reasons.setdefault(code, Tally())
            tally.total += 1
            tally.caught += bool(given)
            tally.named += code in given
            tally.refused += code in refused
            tally.only += given == {code}
            for other in given - {code}:
                tally.others[other] = tally.others.get(other, 0) + 1
    return {"valid": valid, "reasons": dict(sorted(reasons.items()))}
