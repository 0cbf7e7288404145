"""Writing one print file: the cover, then its mail pieces in the order given, as one PDF,
and its manifest CSV.

Size: each notice's own PDF embeds its own subset of the Japanese font (~45 KB), so merging
those PDFs gives ~54 KB a page. Instead the notices are drawn again, with the cover, on one
reportlab canvas per file, which embeds one subset for the whole file: ~3.5 KB a page. The
content drawn is rebuilt by the notice stage's own function and checked against the
fingerprint of what the notice's PDF shows (tasks/printing/core.py); anything that cannot be
redrawn the same (the refusal letters, older notices) is merged from its own PDF instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from kofu.base.atomic import write_atomic
from kofu.base.settings import EnvelopeWindow
from kofu.tasks.notices.address_block import DEFAULT_WINDOW
from kofu.tasks.notices.pdf import draw_notice
from kofu.tasks.printing.core import COVER_SHEETS, PrintItem
from kofu.tasks.printing.cover import Cover, draw_cover

MANIFEST_COLUMNS = ("notice_number", "batch_file", "page", "postal_code")
# AES-256 (PDF 2.0, revision 6). pypdf needs the `cryptography` package for it.
ENCRYPTION = "AES-256"


@dataclass(frozen=True)
class PrintFileResult:
    pdf_path: Path
    manifest_path: Path
    page_count: int  # sheets, the cover included
    drawn: int  # items drawn on the shared canvas
    merged: int  # items merged from their own PDF


def write_print_file(
    items: Sequence[PrintItem],
    cover: Cover,
    out_pdf: Path,
    manifest_csv: Path,
    font_name: str,
    password: str | None = None,
    window: EnvelopeWindow = DEFAULT_WINDOW,
) -> PrintFileResult:
    """Write one print file (cover, then ``items`` in the order given) and its manifest.
    Notices with content are drawn for ``window``, the envelope their fingerprint names."""
    if not items:
        raise ValueError("a print batch needs at least one notice")
    if len({item.number for item in items}) != len(items):
        raise ValueError("duplicate notice numbers in print batch")

    drawn = PdfReader(io.BytesIO(_draw_pages(items, cover, font_name, window)))
    redrawn = sum(item.content is not None for item in items)
    if len(drawn.pages) != COVER_SHEETS + redrawn:
        # Each notice is one page; anything else would shift every page in the manifest.
        raise ValueError(f"drew {len(drawn.pages)} pages for {redrawn} notices and a cover")
    drawn_pages = iter(drawn.pages)
    writer = PdfWriter()
    writer.add_page(next(drawn_pages))  # the cover
    rows: list[tuple[str, str, int, str]] = []
    for item in items:
        if item.content is not None:
            page = next(drawn_pages)
        else:
            own = PdfReader(item.pdf_path).pages
            if len(own) != 1:
                # The sheet count on the cover and the split assume one sheet per item.
                raise ValueError(f"{item.number}: {len(own)} pages; a mail piece is one sheet")
            page = own[0]
        # add_page copies the font objects the page uses once per source document, so the
        # drawn pages all share the one subset.
        writer.add_page(page)
        page_number = len(writer.pages)  # 1-based: the cover is page 1
        writer.add_outline_item(item.number, page_number - 1)
        rows.append((item.number, out_pdf.name, page_number, item.postal_code))
    writer.add_metadata({"/Title": f"印刷バッチ {out_pdf.stem}", "/Creator": "kofu"})
    if password:
        writer.encrypt(user_password=password, algorithm=ENCRYPTION)

    def write_manifest(fh: BinaryIO) -> None:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        out = csv.writer(text)
        out.writerow(MANIFEST_COLUMNS)
        out.writerows(rows)
        text.flush()
        text.detach()  # leave fh open for the fsync in write_atomic

    # PDF first, manifest second: a manifest never names a batch file that is not on disk.
    write_atomic(out_pdf, writer.write)
    write_atomic(manifest_csv, write_manifest)
    return PrintFileResult(
        pdf_path=out_pdf,
        manifest_path=manifest_csv,
        page_count=len(writer.pages),
        drawn=redrawn,
        merged=len(items) - redrawn,
    )


def _draw_pages(
    items: Sequence[PrintItem], cover: Cover, font_name: str, window: EnvelopeWindow
) -> bytes:
    """The cover and every item that has content, on one canvas: one font subset for all."""
    buf = io.BytesIO()
    # invariant=1: no timestamp or random id, so a rerun writes the same bytes.
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=1, invariant=1, initialFontName=font_name)
    draw_cover(pdf, cover, font_name)
    for item in items:
        if item.content is not None:
            draw_notice(pdf, item.content, font_name, window)
    pdf.save()
    return buf.getvalue()
