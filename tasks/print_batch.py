"""Merge rendered notices into one print batch PDF plus a manifest CSV.

The batch is sorted by postal code because Japan Post discounts bulk mail that arrives
sorted that way. The manifest lets staff find a notice in the printed stack (batch file
and page); it carries no personal data beyond the postal code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pypdf import PdfReader, PdfWriter

from kofu.atomic import write_atomic

MANIFEST_COLUMNS = ("notice_number", "batch_file", "page", "postal_code")


@dataclass(frozen=True)
class PrintItem:
    notice_number: str
    postal_code: str
    pdf_path: Path


@dataclass(frozen=True)
class PrintBatchResult:
    pdf_path: Path
    manifest_path: Path
    page_count: int


def postal_sort_key(item: PrintItem) -> tuple[str, str]:
    # Digits only, so "100-0001", "1000001" and "〒100-0001" sort together.
    return re.sub(r"\D", "", item.postal_code), item.notice_number


def merge_print_batch(
    items: Sequence[PrintItem], out_pdf: Path, manifest_csv: Path
) -> PrintBatchResult:
    if not items:
        raise ValueError("a print batch needs at least one notice")
    numbers = [item.notice_number for item in items]
    if len(set(numbers)) != len(numbers):
        # Two rows for one notice would print and mail it twice.
        raise ValueError("duplicate notice numbers in print batch")

    writer = PdfWriter()
    rows: list[tuple[str, str, int, str]] = []
    for item in sorted(items, key=postal_sort_key):
        first_page = len(writer.pages)  # 0-based index of this notice's first page
        reader = PdfReader(item.pdf_path)
        # import_outline=False: the notice's own outline (none today) must not nest in ours.
        writer.append(reader, outline_item=item.notice_number, import_outline=False)
        for offset in range(len(writer.pages) - first_page):
            rows.append(
                (item.notice_number, out_pdf.name, first_page + offset + 1, item.postal_code)
            )
    writer.add_metadata({"/Title": f"印刷バッチ {out_pdf.stem}", "/Creator": "kofu"})
    page_count = len(writer.pages)

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
    return PrintBatchResult(pdf_path=out_pdf, manifest_path=manifest_csv, page_count=page_count)
