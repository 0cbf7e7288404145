"""Plain factory functions for tests (no fixtures magic, no mocks)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

from PIL import Image

from kofu.mynumber import check_digit


def valid_number(rng: random.Random) -> str:
    body = f"{rng.randrange(10**10, 10**11):011d}"
    return body + str(check_digit(body))


def jpeg_bytes(
    width: int = 600, height: int = 800, mode: str = "RGB", quality: int = 90, seed: int = 1
) -> bytes:
    """A photo-like JPEG: noise gives it the bulk of a real picture (above 20 KB)."""
    rng = random.Random(seed)
    noise = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    base = Image.new("RGB", (width, height), (200, 205, 210))
    image = Image.blend(base, Image.merge("RGB", (noise, noise, noise)), 0.25)
    if mode != "RGB":
        image = image.convert(mode)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def application_line(**overrides) -> dict:
    line = {
        "application_id": "12345678901234567890123",
        "submitted_at": "2026-11-25T21:04:11+09:00",
        "channel": "smartphone",
        "individual_number": "983205673214",
        "family_name": "佐藤",
        "given_name": "太郎",
        "family_name_kana": "サトウ",
        "given_name_kana": "タロウ",
        "birth_date": "1980-04-01",
        "sex": "1",
        "postal_code": "999-0011",
        "address": "見本市中央1丁目2番3号",
        "photo": "photos/a.jpg",
    }
    line.update(overrides)
    return {k: v for k, v in line.items() if v is not None}


def write_delivery(folder: Path, lines: list[dict | bytes], photos: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "applications.jsonl").open("wb") as fh:
        for line in lines:
            raw = line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode()
            fh.write(raw + b"\n")
    for name, data in photos.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder
