"""How fast notices render and print batches assemble, and how big the batches are.

    .venv/bin/python bench/notice_speed.py [--notices 999] [--rounds 3] [--letters 0.05]
                                           [--pure-python]

One process, one thread (one core). The notices go to synthetic residents from
tasks/demo/generator.py (varied names, variant kanji, addresses, ages), each with a visit window,
under the sample settings. It measures:

- notices rendered per second: ``render_notice``, one PDF with its own font subset, as the
  notice stage makes them; and the same plus the atomic write to disk (with fsync);
- a print batch of 1,000 pages (cover + 999 mail pieces) assembled by ``write_print_file``:
  seconds, and bytes per page on disk. Once with notices only, once with a share of refusal
  letters (``--letters``), which are merged from their own PDFs;
- for comparison, the first design: merging every notice's own PDF with pypdf.

Targets (issue 5): at least 100 notices/s per core; a 1,000-page batch in under 5 s; under
30 KB per page on average. Not a test: the numbers depend on the machine. README.md records
them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "--pure-python" in sys.argv:
    # Before reportlab is imported: measure without its C accelerator (rl-accel).
    sys.modules["_rl_accel"] = None  # type: ignore[assignment]

from pypdf import PdfReader, PdfWriter  # noqa: E402

from kofu.base.fonts import register_notice_font  # noqa: E402
from kofu.base.settings import SAMPLE_CONFIG, load_municipality  # noqa: E402
from kofu.models import VisitWindow  # noqa: E402
from kofu.tasks.demo.register import generate_register  # noqa: E402
from kofu.tasks.letters.pdf import RefusalContent, RefusalReason, write_refusal_letter  # noqa: E402
from kofu.tasks.notices.core import notice_content  # noqa: E402
from kofu.tasks.notices.pdf import NoticeContent, render_notice, write_notice_pdf  # noqa: E402
from kofu.tasks.printing.core import PrintItem, cover_for, split_into_files  # noqa: E402
from kofu.tasks.printing.pdf import write_print_file  # noqa: E402

ISSUED = date(2026, 11, 26)
BATCH_PAGES = 1000  # the issue's "per 1,000 pages", cover included
SEED = 5
FONT_CACHE = Path(tempfile.gettempdir()) / "kofu-test-font-cache"  # shared with the tests


def make_contents(n: int) -> list[NoticeContent]:
    """``n`` notices for synthetic residents, each with a window at the first counter."""
    municipality = load_municipality(SAMPLE_CONFIG)
    counter = municipality.counters[0]
    contents = []
    for i, row in enumerate(generate_register(random.Random(SEED), n)):
        window = VisitWindow(
            counter=counter.name,
            visit_date=ISSUED + timedelta(days=8 + i // 200),
            band_start=clock(9 + i % 7, 0),
            band_end=clock(10 + i % 7, 0),
        )
        # A register row has the attributes notice_content reads from a Resident.
        contents.append(notice_content(municipality, f"2026-{i + 1:08d}", row, ISSUED, window))  # type: ignore[arg-type]
    return contents


def letter_for(content: NoticeContent, number: str) -> RefusalContent:
    return RefusalContent(
        municipality=content.municipality,
        issuer_title=content.issuer_title,
        letter_number=number,
        issued_on=ISSUED,
        application_id="12345678901234567890123",
        submitted_on=ISSUED - timedelta(days=1),
        family_name=content.family_name,
        given_name=content.given_name,
        family_name_kana=content.family_name_kana,
        given_name_kana=content.given_name_kana,
        postal_code=content.postal_code,
        address=content.address,
        reasons=(RefusalReason("head-cut-off", "頭の上まで写るように撮影してください"),),
        contact_name=content.counter.name,
        contact_phone=content.counter.phone,
        contact_hours=content.counter.hours,
    )


def timed(work) -> tuple[float, float, object]:
    """CPU seconds of this process, wall seconds, and the result. CPU time is the per-core
    figure: it holds still when other work shares the machine; wall time does not."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def measure_rendering(contents: list[NoticeContent], font: str, rounds: int, out: Path) -> dict:
    render_notice(contents[0], font)  # warm up: glyph widths, wrap cache
    cpu, wall, written = [], [], []
    for _ in range(rounds):
        c, w, pdfs = timed(lambda: [render_notice(c, font) for c in contents])
        cpu.append(c)
        wall.append(w)
        sizes = [len(p) for p in pdfs]  # type: ignore[attr-defined]
        # As the notice stage does it: rendered, then written atomically (fsync, rename).
        _, w, _ = timed(
            lambda: [write_notice_pdf(c, font, out / f"{c.notice_number}.pdf") for c in contents]
        )
        written.append(w)
    n = len(contents)
    return {
        "notices": n,
        "notices_per_cpu_s": round(n / min(cpu), 1),
        "notices_per_s_wall": round(n / min(wall), 1),
        "written_per_s_wall": round(n / min(written), 1),
        "kb_per_notice_pdf": round(sum(sizes) / n / 1024, 1),
    }


def measure_batch(items: list[PrintItem], font: str, rounds: int, out: Path) -> dict:
    (group,) = split_into_files(items, BATCH_PAGES)
    cover = cover_for(
        group,
        municipality="見本市",
        batch_id="bench",
        file_name="print-batch-001.pdf",
        part=1,
        parts=1,
        printed_on=ISSUED,
    )
    pdf, manifest = out / "print-batch-001.pdf", out / "print-batch-001.csv"
    cpu, wall = [], []
    for _ in range(rounds):
        c, w, result = timed(lambda: write_print_file(group, cover, pdf, manifest, font))
        cpu.append(c)
        wall.append(w)
    return {
        "pages": result.page_count,  # type: ignore[attr-defined]
        "drawn": result.drawn,  # type: ignore[attr-defined]
        "merged": result.merged,  # type: ignore[attr-defined]
        "cpu_s": round(min(cpu), 2),
        "wall_s": round(min(wall), 2),
        "kb_per_page": round(pdf.stat().st_size / result.page_count / 1024, 1),  # type: ignore[attr-defined]
        "mb": round(pdf.stat().st_size / 2**20, 2),
    }


def measure_merge_of_own_pdfs(items: list[PrintItem]) -> dict:
    """The first design, for comparison: every notice's own PDF appended with pypdf."""

    def merge() -> tuple[int, int]:
        writer = PdfWriter()
        for item in sorted(items, key=lambda i: i.postal_code):
            writer.append(PdfReader(item.pdf_path), outline_item=item.number, import_outline=False)
        buf = io.BytesIO()
        writer.write(buf)
        return len(writer.pages), buf.tell()

    cpu, wall, (pages, size) = timed(merge)  # type: ignore[misc]
    return {
        "pages": pages,
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "kb_per_page": round(size / pages / 1024, 1),
    }


def cpu_name() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next(
        (line.split(":", 1)[1].strip() for line in out.splitlines() if "Model name" in line),
        platform.processor(),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=BATCH_PAGES - 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--letters", type=float, default=0.05, help="share in the mixed batch")
    parser.add_argument("--pure-python", action="store_true", help="without rl-accel")
    args = parser.parse_args()
    font = register_notice_font(FONT_CACHE)
    try:
        import _rl_accel  # noqa: F401

        accel = "rl-accel (C)"
    except ImportError:
        accel = "none (pure Python)"
    report: dict = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "reportlab_accelerator": accel,
    }
    print(
        f"cpu: {report['cpu']}, {report['cores']} cores, Python {report['python']}; "
        f"one process, one thread; reportlab accelerator: {accel}"
    )
    contents = make_contents(args.notices)
    with tempfile.TemporaryDirectory(prefix="kofu-bench-") as tmp:
        out = Path(tmp)
        (out / "notices").mkdir()
        report["render"] = r = measure_rendering(contents, font, args.rounds, out / "notices")
        print(
            f"render: {r['notices_per_cpu_s']} notices per CPU second "
            f"({r['notices_per_s_wall']}/s wall; {r['written_per_s_wall']}/s wall with the "
            f"atomic write); {r['kb_per_notice_pdf']} KB per notice PDF"
        )
        notices = [
            PrintItem(
                c.notice_number,
                c.postal_code,
                out / "notices" / f"{c.notice_number}.pdf",
                content=c,
            )
            for c in contents
        ]
        report["batch_notices"] = b = measure_batch(notices, font, args.rounds, out)
        print(
            f"batch of {b['pages']} pages, notices only: {b['cpu_s']} CPU s "
            f"({b['wall_s']} s wall), {b['kb_per_page']} KB/page ({b['mb']} MB)"
        )
        # The same number of pages with a share of refusal letters, merged from their PDFs.
        (out / "letters").mkdir()
        letters = int(len(contents) * args.letters)
        mixed = notices[letters:]
        for i, c in enumerate(contents[:letters]):
            number = f"R2026-{i + 1:08d}"
            path = out / "letters" / f"{number}.pdf"
            write_refusal_letter(letter_for(c, number), font, path)
            mixed.append(PrintItem(number, c.postal_code, path, "letter"))
        report["batch_mixed"] = m = measure_batch(mixed, font, args.rounds, out)
        print(
            f"batch of {m['pages']} pages, {letters} of them letters: {m['cpu_s']} CPU s "
            f"({m['wall_s']} s wall), {m['kb_per_page']} KB/page ({m['mb']} MB)"
        )
        own = [replace(item, content=None) for item in notices]
        report["merge_own_pdfs"] = g = measure_merge_of_own_pdfs(own)
        print(
            f"for comparison, merging each notice's own PDF: {g['pages']} pages in "
            f"{g['cpu_s']} CPU s ({g['wall_s']} s wall), {g['kb_per_page']} KB/page"
        )
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
