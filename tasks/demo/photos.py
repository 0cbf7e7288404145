"""The demo's photos: a real face (``names.portrait``, scikit-image's astronaut on a plain
backdrop), good ones that pass every check and bad ones that break one rule each."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageEnhance

from kofu.tasks.demo import names

PHOTO_SIZE = (600, 800)
JPEG_QUALITY = 90
MIN_PHOTO_BYTES = 20 * 1024
MAX_PHOTO_BYTES = 7 * 1024 * 1024


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


class Photos:
    """Photos of the astronaut (``demo_names.portrait``). A few studio portraits are made
    once per delivery; each applicant's photo is a slightly different crop, exposure and
    grain of one of them, so that no two files are alike and each takes milliseconds."""

    BASES = 8
    SLACK = (24, 32)  # the base is this much larger than a photo: room for the crop to move

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.bases: list[Image.Image] = []

    def good(self, grain: float = 2.5) -> Image.Image:
        rng = self.rng
        if len(self.bases) < self.BASES:
            size = (PHOTO_SIZE[0] + self.SLACK[0], PHOTO_SIZE[1] + self.SLACK[1])
            # Well inside every framing rule: a person checking these would pass them all.
            framing = names.Framing(
                face_width=rng.uniform(0.3, 0.37),
                centre_x=rng.uniform(0.48, 0.52),
                centre_y=rng.uniform(0.41, 0.45),
            )
            self.bases.append(names.portrait(rng, size, framing, grain=0))
            base = self.bases[-1]
        else:
            base = rng.choice(self.bases)
        dx, dy = rng.randrange(self.SLACK[0] + 1), rng.randrange(self.SLACK[1] + 1)
        photo = base.crop((dx, dy, dx + PHOTO_SIZE[0], dy + PHOTO_SIZE[1]))
        photo = ImageEnhance.Brightness(photo).enhance(rng.uniform(0.92, 1.08))
        return names.add_grain(rng, photo, grain)

    def head_cut_off(self) -> Image.Image:
        """A selfie taken too close: the crown 0.4 face widths above the top edge."""
        fw = 0.5
        cy = (names.CROWN_ABOVE_FACE - 0.4) * fw * PHOTO_SIZE[0] / PHOTO_SIZE[1]
        return names.portrait(self.rng, PHOTO_SIZE, names.Framing(fw, 0.5, cy))

    def cluttered(self) -> Image.Image:
        """Furniture behind the head: a busy room instead of a plain wall."""
        room = names.cluttered_backdrop(self.rng, PHOTO_SIZE)
        return names.portrait(self.rng, PHOTO_SIZE, names.Framing(0.34, 0.5, 0.43), room)


def save_good_photo(photos: Photos, path: Path) -> None:
    data = _encode(photos.good(), "JPEG", quality=JPEG_QUALITY)
    if not 2 * MIN_PHOTO_BYTES <= len(data) <= MAX_PHOTO_BYTES:
        raise RuntimeError(f"demo photo of {len(data)} bytes is not safely within the rules")
    path.write_bytes(data)


def save_bad_photo(photos: Photos, path: Path, problem: str) -> tuple[str, ...]:
    """Write a photo that breaks the rule ``problem``; return the reason codes it earns."""
    if problem == "photo-not-jpeg":
        data = _encode(photos.good(), "PNG", compress_level=1)
    elif problem == "photo-too-small-pixels":
        data = _encode(photos.good().resize((360, 480)), "JPEG", quality=JPEG_QUALITY)
    elif problem == "photo-file-too-small":
        data = _encode(photos.good(grain=0).resize((500, 666)), "JPEG", quality=25)
    elif problem == "photo-cmyk":
        data = _encode(photos.good().convert("CMYK"), "JPEG", quality=JPEG_QUALITY)
    elif problem == "head-cut-off":
        data = _encode(photos.head_cut_off(), "JPEG", quality=JPEG_QUALITY)
    elif problem == "background-not-plain":
        data = _encode(photos.cluttered(), "JPEG", quality=JPEG_QUALITY)
    else:
        raise ValueError(problem)
    too_small = len(data) < MIN_PHOTO_BYTES
    if problem == "photo-file-too-small" and not too_small:
        raise RuntimeError(f"'too small' demo photo has {len(data)} bytes")
    if problem not in ("photo-file-too-small", "photo-too-small-pixels") and (
        too_small or len(data) > MAX_PHOTO_BYTES
    ):
        raise RuntimeError(f"{problem} demo photo of {len(data)} bytes breaks a size rule too")
    path.write_bytes(data)
    if problem == "photo-too-small-pixels" and too_small:
        # The checker reports the byte size first.
        return ("photo-file-too-small", problem)
    return (problem,)
