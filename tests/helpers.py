"""Plain factory functions for tests (no fixtures magic, no mocks)."""

from __future__ import annotations

import functools
import io
import itertools
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from kofu.base.mynumber import check_digit
from kofu.tasks.demo.register import RegisterRow, write_register_csv

# --- The application database of a test: SQLite by default, PostgreSQL on request ---
# `scripts/with-postgres` (make test-postgres) exports KOFU_TEST_DATABASE_URL, a database on a
# throwaway server whose role may create databases. Each test then gets a database of its own,
# one per data directory; without the variable, the SQLite file kofu uses by default.

TEST_DATABASE_URL = os.environ.get("KOFU_TEST_DATABASE_URL") or None
ON_POSTGRES = TEST_DATABASE_URL is not None
_databases: dict[Path, str] = {}  # data directory -> database URL, this session's
_created: list[str] = []  # database names, in the order made
_numbers = itertools.count(1)


def _admin_engine():
    """A connection to the server's own test database, outside any transaction (CREATE and
    DROP DATABASE need that)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    assert TEST_DATABASE_URL is not None
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def db_url_for(data_dir: Path) -> str:
    """The application database of the test whose data directory is ``data_dir``: the SQLite
    file kofu uses by default there, or on PostgreSQL a fresh, empty database of its own (made
    on the first ask; every later ask for the same directory gets the same one)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    data_dir = Path(data_dir).resolve()
    if not ON_POSTGRES:
        return f"sqlite:///{data_dir / 'kofu.sqlite3'}"
    if data_dir not in _databases:
        name = f"kofu_t_{os.getpid()}_{next(_numbers)}"
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        _created.append(name)
        url = make_url(TEST_DATABASE_URL).set(database=name)
        _databases[data_dir] = url.render_as_string(hide_password=False)
    return _databases[data_dir]


def db_env(data_dir: Path) -> dict[str, str]:
    """What a `kofu` subprocess with ``KOFU_DATA_DIR=data_dir`` needs to find the test's
    database: nothing on SQLite (the default file), KOFU_DATABASE_URL on PostgreSQL."""
    return {"KOFU_DATABASE_URL": db_url_for(data_dir)} if ON_POSTGRES else {}


def databases_made() -> int:
    return len(_created)


def drop_databases(since: int = 0) -> None:
    """Drop the PostgreSQL databases made since the ``since``-th (their connections too)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from kofu.models.db import dispose_engines

    names = _created[since:]
    if not names:
        return
    dispose_engines()
    engine = _admin_engine()
    with engine.connect() as conn:
        for name in names:
            # Plain DROP stops an autovacuum worker on the database by itself; FORCE ends a
            # connection something of the test left open, but may not end a worker it
            # does not own. A database neither drops is left to the throwaway server.
            for sql in (
                f'DROP DATABASE IF EXISTS "{name}"',
                f'DROP DATABASE "{name}" WITH (FORCE)',
            ):
                try:
                    conn.execute(text(sql))
                    break
                except DBAPIError:
                    continue
    engine.dispose()
    del _created[since:]
    for data_dir, url in list(_databases.items()):
        if url.rsplit("/", 1)[-1] in names:
            del _databases[data_dir]


def database_bytes(data_dir: Path) -> bytes:
    """Everything the test's database holds, as bytes to search for a leak: the SQLite
    files themselves (journal and WAL included), or on PostgreSQL a plain-text dump of the
    database's data (`pg_dump --data-only`)."""
    if not ON_POSTGRES:
        files = sorted(Path(data_dir).glob("kofu.sqlite3*"))
        assert files, f"no database file in {data_dir}"
        return b"".join(f.read_bytes() for f in files)
    from sqlalchemy.engine import make_url

    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump not found on the PATH"
    url = make_url(db_url_for(data_dir)).set(drivername="postgresql")
    dump = subprocess.run(
        [pg_dump, "--data-only", "--no-owner", "--dbname", url.render_as_string(False)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert b"COPY public." in dump.stdout  # the tables' data is there to search
    return dump.stdout


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


@functools.cache
def portrait_jpeg(seed: int) -> bytes:
    """A real portrait (the astronaut, framed as a passport photo) that passes every check."""
    from kofu.tasks.demo.names import portrait

    buf = io.BytesIO()
    portrait(random.Random(seed), (600, 800)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def application_for(app_id: str, row: RegisterRow, **overrides) -> dict:
    """The application line of the resident ``row`` (photo ``photos/<app_id>.jpg``)."""
    fields = dict(
        application_id=app_id,
        family_name=row.family_name,
        given_name=row.given_name,
        family_name_kana=row.family_name_kana,
        given_name_kana=row.given_name_kana,
        birth_date=row.birth_date.isoformat(),
        sex=row.sex,
        postal_code=row.postal_code,
        address=row.address,
        individual_number=row.individual_number,
        photo=f"photos/{app_id}.jpg",
    )
    return application_line(**{**fields, **overrides})


def import_register(db_url: str, rows: list[RegisterRow], path: Path, key: bytes) -> Path:
    """Write ``rows`` as a register CSV at ``path`` and import it, as `kofu residents import`
    does."""
    from kofu.models.db import unit_of_work
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    write_register_csv(rows, path)
    with unit_of_work(db_url, write=True) as session:
        upsert_residents(session, read_register(path, key))
        session.commit()
    return path


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


# --- Reading rendered pages back: text, fonts, page size, and ink on a raster ---
# Notices, refusal letters and print batches are all checked with these.

PT_PER_MM = 72 / 25.4
A4_MM = (210.0, 297.0)
# A grey level below this is ink. Well above mid-grey, so the anti-aliased edge of a hairline
# or of a dot a fraction of a pixel wide still counts.
INK_LEVEL = 200


def compact_text(pdf: bytes) -> str:
    """All pages' text with the whitespace removed (extraction splits lines arbitrarily)."""
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    from pypdf import PdfReader

    return [
        (
            round(float(p.mediabox.width) / PT_PER_MM, 1),
            round(float(p.mediabox.height) / PT_PER_MM, 1),
        )
        for p in PdfReader(io.BytesIO(pdf)).pages
    ]


def fonts_not_embedded(pdf: bytes) -> list[str]:
    """Names of the fonts used on any page without an embedded font program; [] when every
    font is embedded. Raises when a page uses no font at all, which would be a blank page."""
    from pypdf import PdfReader

    missing = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page["/Resources"]["/Font"]
        assert fonts, "a page without fonts"
        for ref in fonts.values():
            font = ref.get_object()
            # A Type0 (CID) font keeps its descriptor on its descendant font.
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font["/FontDescriptor"].get_object()
            if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                missing.append(str(font["/BaseFont"]))
    return missing


def render_gray(pdf: bytes, dpi: float = 150, page: int = 0):
    """One page as a 2-D numpy array of grey levels (0 black, 255 white), row 0 at the top."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return document[page].render(scale=dpi / 72, grayscale=True).to_numpy().squeeze().copy()
    finally:
        document.close()


def px(value_mm: float, dpi: float) -> float:
    return value_mm * dpi / 25.4


def ink_in(image, dpi: float, left: float, top: float, right: float, bottom: float) -> int:
    """Ink pixels whose centre lies in the box (mm from the top-left corner)."""
    height, width = image.shape
    x0, y0 = max(0, round(px(left, dpi))), max(0, round(px(top, dpi)))
    x1, y1 = min(width, round(px(right, dpi))), min(height, round(px(bottom, dpi)))
    if x1 <= x0 or y1 <= y0:
        return 0
    return int((image[y0:y1, x0:x1] < INK_LEVEL).sum())


def ink_in_margin(image, dpi: float, margin_mm: float) -> int:
    """Ink within ``margin_mm`` of any edge of the page: the printer cannot print it."""
    height_mm, width_mm = (n * 25.4 / dpi for n in image.shape)
    inside = ink_in(image, dpi, margin_mm, margin_mm, width_mm - margin_mm, height_mm - margin_mm)
    return int((image < INK_LEVEL).sum()) - inside


def ink_outside(image, dpi: float, region, allowed, tolerance_px: int = 1) -> int:
    """Ink in ``region`` but not in ``allowed`` (boxes with left/top/right/bottom in mm).
    ``allowed`` grows by ``tolerance_px`` for the anti-aliased edge of a glyph drawn right
    against it."""
    slack = tolerance_px * 25.4 / dpi
    a = (allowed.left - slack, allowed.top - slack, allowed.right + slack, allowed.bottom + slack)
    both = (
        max(region.left, a[0]),
        max(region.top, a[1]),
        min(region.right, a[2]),
        min(region.bottom, a[3]),
    )
    return ink_in(image, dpi, region.left, region.top, region.right, region.bottom) - ink_in(
        image, dpi, *both
    )


def with_mark(pdf: bytes, left_mm: float, top_mm: float, size_mm: float = 0.5) -> bytes:
    """The PDF with a black square of ``size_mm`` drawn on its first page at (left_mm,
    top_mm) from the top-left corner: a known defect for a checker to catch."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    page = writer.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    buf = io.BytesIO()
    mark = canvas.Canvas(buf, pagesize=(width, height))
    left, bottom, side = left_mm * mm, height - (top_mm + size_mm) * mm, size_mm * mm
    mark.rect(left, bottom, side, side, stroke=0, fill=1)
    mark.save()
    page.merge_page(PdfReader(io.BytesIO(buf.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def aid(n: int) -> str:
    """A 23-digit application id, as J-LIS gives them, ending in ``n``: ``aid(2001)``."""
    return f"2026112500000000000{n:04d}"
