"""Print batches, read back: the files the print shop gets, split, sorted, covered, bookmarked,
listed in their manifests, and optionally encrypted.

The first half builds batch files from notice contents and PDFs directly; the second runs the
real notice and letter stages on a SQLite file built by the migrations, then plans and writes
the print files as the flow does (plan_print_files, print_file)."""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError
from sqlalchemy import select

from kofu.base.errors import UserError
from kofu.base.settings import SAMPLE_CONFIG, PrintSettings, get_settings
from kofu.tasks.letters.pdf import RefusalContent, RefusalReason, write_refusal_letter
from kofu.tasks.notices.pdf import CounterInfo, NoticeContent, write_notice_pdf
from kofu.tasks.printing.core import PrintItem, cover_for, split_into_files
from kofu.tasks.printing.pdf import write_print_file
from tests.conftest import TEST_KEY  # here, not in a test: a late import reruns its env reset

ISSUED = date(2026, 11, 26)
PASSWORD = "correct horse battery staple"
A4_PT = (595.28, 841.89)
PT_PER_MM = 72 / 25.4
# Office printers leave the outer ~5 mm blank; nothing on any page may need it.
PRINTABLE_MARGIN_MM = 5
# A batch page must weigh under 30 KB on average (issue 5); a notice's own PDF is ~55 KB.
MAX_BYTES_PER_PAGE = 30 * 1024


def notice(
    number: str, postal_code: str, family: str = "見本", given: str = "花子"
) -> NoticeContent:
    return NoticeContent(
        municipality="見本市",
        issuer_title="見本市長",
        notice_number=number,
        issued_on=ISSUED,
        pickup_deadline=date(2027, 2, 24),
        family_name=family,
        given_name=given,
        family_name_kana="ミホン",
        given_name_kana="ハナコ",
        postal_code=postal_code,
        address="見本市中央一丁目2番3号",
        counter=CounterInfo("見本市役所 市民課", "見本市中央1丁目1番1号", "0120-000-000", "平日"),
        birth_date=date(1990, 1, 1),
    )


def letter(number: str, postal_code: str) -> RefusalContent:
    return RefusalContent(
        municipality="見本市",
        issuer_title="見本市長",
        letter_number=number,
        issued_on=ISSUED,
        application_id="12345678901234567890123",
        submitted_on=date(2026, 11, 25),
        family_name="写真",
        given_name="次郎",
        family_name_kana="シャシン",
        given_name_kana="ジロウ",
        postal_code=postal_code,
        address="見本市中央二丁目3番4号",
        reasons=(RefusalReason("head-cut-off", "頭の上まで写るように撮影してください"),),
        contact_name="見本市役所 市民課",
        contact_phone="0120-000-000",
        contact_hours="平日 8:30〜17:15",
    )


@pytest.fixture
def mixed_items(tmp_path: Path, font_name: str) -> list[PrintItem]:
    """Two notices drawn on the batch's canvas, one merged from its own PDF, one letter."""
    own = tmp_path / "own"
    own.mkdir()
    items = []
    for number, postal, drawn in [
        ("2026-00000001", "300-0001", True),
        ("2026-00000002", "100-0002", False),
        ("2026-00000003", "2000001", True),  # digits only still sorts by the number
    ]:
        content = notice(number, postal, given=f"花子{number[-1]}")
        write_notice_pdf(content, font_name, own / f"{number}.pdf")
        items.append(
            PrintItem(number, postal, own / f"{number}.pdf", content=content if drawn else None)
        )
    write_refusal_letter(letter("R2026-00000004", "150-0004"), font_name, own / "R4.pdf")
    items.append(PrintItem("R2026-00000004", "150-0004", own / "R4.pdf", "letter"))
    return items


def write_one(items: list[PrintItem], out: Path, font_name: str, **kw) -> Path:
    (group,) = split_into_files(items, 1000)
    cover = cover_for(
        group,
        municipality="見本市",
        batch_id="2026-11-26",
        file_name=out.name,
        part=1,
        parts=1,
        printed_on=ISSUED,
    )
    write_print_file(group, cover, out, out.with_suffix(".csv"), font_name, **kw)
    return out


def page_texts(reader: PdfReader) -> list[str]:
    return [re.sub(r"\s+", "", page.extract_text()) for page in reader.pages]


def read_manifest(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def ink_outside_margin(pdf: pdfium.PdfDocument, index: int) -> int:
    """Dark pixels within PRINTABLE_MARGIN_MM of any edge, at 72 dpi."""
    image = pdf[index].render(scale=1, grayscale=True).to_pil()
    edge = round(PRINTABLE_MARGIN_MM * PT_PER_MM)
    width, height = image.size
    inner = image.crop((edge, edge, width - edge, height - edge))
    dark = sum(1 for v in image.getdata() if v < 128)
    return dark - sum(1 for v in inner.getdata() if v < 128)


# ------------------------------------------------------------------------ planning


def test_split_into_files_of_max_sheets_in_postal_order_across_files():
    postal = ["500-0001", "100-0001", "300-0001", "1000002", "200-0001", "400-0001", "150-0001"]
    items = [PrintItem(f"2026-{i:08d}", pc, Path(f"{i}.pdf")) for i, pc in enumerate(postal)]
    files = split_into_files(items, max_sheets=3)
    # The cover is a sheet too: two mail pieces per file of three sheets.
    assert [len(f) for f in files] == [2, 2, 2, 1]
    in_order = [item.postal_code for f in files for item in f]
    assert in_order == [
        "100-0001",
        "1000002",
        "150-0001",
        "200-0001",
        "300-0001",
        "400-0001",
        "500-0001",
    ]
    assert split_into_files(items, 3) == files  # same items, same files


def test_default_is_1000_sheets_a_file():
    assert PrintSettings().max_sheets == 1000
    items = [
        PrintItem(f"2026-{i:08d}", f"{i % 900 + 100:03d}-0000", Path("x")) for i in range(2500)
    ]
    assert [len(f) for f in split_into_files(items, PrintSettings().max_sheets)] == [
        999,
        999,
        502,
    ]


def test_duplicate_and_empty_batches_are_refused(tmp_path: Path, font_name: str):
    item = PrintItem("2026-00000001", "100-0001", tmp_path / "x.pdf")
    with pytest.raises(ValueError, match="duplicate"):
        split_into_files([item, item], 1000)
    with pytest.raises(ValueError, match="at least one"):
        write_print_file([], None, tmp_path / "b.pdf", tmp_path / "b.csv", font_name)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ one file, read back


def test_batch_file_reads_back(tmp_path: Path, font_name: str, mixed_items: list[PrintItem]):
    out = write_one(mixed_items, tmp_path / "print-batch-001.pdf", font_name)
    reader = PdfReader(out)
    texts = page_texts(reader)
    assert len(texts) == 5  # the cover, three notices and a letter

    cover = texts[0]
    for expected in (
        "印刷バッチ表紙",
        "見本市",
        "2026-11-26",
        "print-batch-001.pdf",
        "1/1",
        "交付通知書3通",
        "再申請のお願い1通",
        "用紙5枚（この表紙を含む）",
        "100-0002〜300-0001",
    ):
        assert expected in cover, expected
    assert "花子" not in cover and "中央" not in cover  # no resident on the cover

    order = ["2026-00000002", "R2026-00000004", "2026-00000003", "2026-00000001"]
    manifest = read_manifest(out.with_suffix(".csv"))
    assert list(manifest[0]) == ["notice_number", "batch_file", "page", "postal_code"]
    assert [row["notice_number"] for row in manifest] == order
    assert [row["page"] for row in manifest] == ["2", "3", "4", "5"]
    assert {row["batch_file"] for row in manifest} == {"print-batch-001.pdf"}
    for row in manifest:
        # The page the manifest names is the page that carries that number (and postal code).
        page = texts[int(row["page"]) - 1]
        assert row["notice_number"] in page and f"〒{row['postal_code']}" in page
    assert "花子" not in out.with_suffix(".csv").read_text(encoding="utf-8")

    assert [item.title for item in reader.outline] == order
    assert [reader.get_destination_page_number(item) for item in reader.outline] == [1, 2, 3, 4]

    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            A4_PT, abs=0.5
        )
        fonts = page["/Resources"]["/Font"].values()
        assert fonts
        for ref in fonts:
            assert "/FontFile2" in ref.get_object()["/FontDescriptor"].get_object()


def test_redrawn_notice_shows_what_its_own_pdf_shows(
    tmp_path: Path, font_name: str, mixed_items: list[PrintItem]
):
    out = write_one(mixed_items, tmp_path / "batch.pdf", font_name)
    texts = page_texts(PdfReader(out))
    own_pdf = {item.number: item.pdf_path for item in mixed_items}
    for row in read_manifest(out.with_suffix(".csv")):
        (own,) = page_texts(PdfReader(own_pdf[row["notice_number"]]))
        assert texts[int(row["page"]) - 1] == own


def test_drawn_notices_share_one_font_subset(tmp_path: Path, font_name: str):
    own = tmp_path / "own"
    own.mkdir()
    surnames = ["髙橋", "渡邊", "齋藤", "𠮷田", "濱田", "佐々木", "小林", "山﨑", "長谷川", "伊藤"]
    items = []
    for i, family in enumerate(surnames):
        number, postal = f"2026-{i:08d}", f"{100 + i * 37:03d}-{i:04d}"
        content = notice(number, postal, family, "太郎")
        write_notice_pdf(content, font_name, own / f"{number}.pdf")
        items.append(PrintItem(number, postal, own / f"{number}.pdf", content=content))
    out = write_one(items, tmp_path / "batch.pdf", font_name)
    reader = PdfReader(out)
    font_files = {
        ref.get_object()["/FontDescriptor"].raw_get("/FontFile2").idnum
        for page in reader.pages
        for ref in page["/Resources"]["/Font"].values()
    }
    # One subset holds at most 256 glyphs: a few subsets for the whole file, not two a page.
    assert len(font_files) < 8
    assert out.stat().st_size / len(reader.pages) < MAX_BYTES_PER_PAGE
    # Every name reads back, astral 𠮷 included.
    texts = page_texts(reader)
    for row in read_manifest(out.with_suffix(".csv")):
        family = surnames[int(row["notice_number"][-2:]) % len(surnames)]
        assert f"{family}　太郎".replace("　", "") in texts[int(row["page"]) - 1]


def test_nothing_prints_in_the_printer_margins(
    tmp_path: Path, font_name: str, mixed_items: list[PrintItem]
):
    out = write_one(mixed_items, tmp_path / "batch.pdf", font_name)
    pdf = pdfium.PdfDocument(str(out))
    try:
        assert [ink_outside_margin(pdf, i) for i in range(len(pdf))] == [0] * len(pdf)
    finally:
        pdf.close()


def test_margin_check_catches_a_mark_in_the_margin(tmp_path: Path, font_name: str):
    """The checker above, shown to work: a dot 3 mm from the left edge of the cover is found."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    marked = tmp_path / "marked.pdf"
    pdf = canvas.Canvas(str(marked), pagesize=A4)
    pdf.circle(3 * PT_PER_MM, A4[1] / 2, 1 * PT_PER_MM, stroke=0, fill=1)
    pdf.showPage()
    pdf.save()
    doc = pdfium.PdfDocument(str(marked))
    try:
        assert ink_outside_margin(doc, 0) > 0
    finally:
        doc.close()


def test_encrypted_batch_needs_the_password(
    tmp_path: Path, font_name: str, mixed_items: list[PrintItem]
):
    out = write_one(mixed_items, tmp_path / "batch.pdf", font_name, password=PASSWORD)

    locked = PdfReader(out)
    assert locked.is_encrypted
    encrypt = locked.trailer["/Encrypt"].get_object()
    assert (encrypt["/V"], encrypt["/R"]) == (5, 6)  # AES-256 (PDF 2.0)
    assert encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV3"
    with pytest.raises(FileNotDecryptedError):
        locked.pages[0].extract_text()
    assert not locked.decrypt("wrong password")
    # Unencrypted, the bookmarks name the notices in plain text; encrypted, nothing does.
    plain = write_one(mixed_items, tmp_path / "plain.pdf", font_name)
    title = rb"/Title (2026\05500000001)"  # pypdf writes "-" as \055
    assert title in plain.read_bytes()
    assert b"/Title (" not in out.read_bytes()
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(str(out))

    unlocked = PdfReader(out, password=PASSWORD)
    texts = page_texts(unlocked)
    assert "印刷バッチ表紙" in texts[0] and "2026-00000002" in texts[1]
    doc = pdfium.PdfDocument(str(out), password=PASSWORD)
    try:
        assert len(doc) == 5 and ink_outside_margin(doc, 1) == 0
    finally:
        doc.close()


# ------------------------------------------------------------------------ the stage, on SQLite

BATCH = "2026-11-26"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# Five residents (postal codes out of order) and one refused photo, whose letter sorts second.
RESIDENTS = [
    ("髙橋", "500-0001"),
    ("渡邊", "100-0001"),
    ("齋藤", "400-0001"),
    ("𠮷田", "200-0001"),
    ("濱田", "300-0001"),
]
REFUSED_POSTAL = "150-0001"


def configure(tmp_path: Path, monkeypatch, max_sheets: int = 1000, encrypt: bool = False):
    """Settings from the sample file with its [print] section changed."""
    text = SAMPLE_CONFIG.read_text(encoding="utf-8")
    changed = text.replace("max_sheets = 1000", f"max_sheets = {max_sheets}").replace(
        "encrypt = false", f"encrypt = {str(encrypt).lower()}"
    )
    assert changed.count("max_sheets") == 1 and (changed != text) == (max_sheets != 1000 or encrypt)
    config = tmp_path / "municipality.toml"
    config.write_text(changed, encoding="utf-8")
    monkeypatch.setenv("KOFU_CONFIG", str(config))
    return get_settings()


def seed_night(settings) -> None:
    """Matched applications and a refused photo, then the real visit, letter and notice stages."""
    from kofu.models import Application, ApplicationState, Batch, Resident, ResidentStatus
    from kofu.models.db import unit_of_work
    from kofu.tasks.chunks.records import plan_chunks
    from kofu.tasks.letters.records import write_letters_chunk
    from kofu.tasks.notices.records import generate_notice_chunk
    from kofu.tasks.visits.records import assign_batch_windows

    with unit_of_work(settings.db_url, write=True) as session:
        session.add(Batch(id=BATCH, inbox="/inbox", delivery_sha256="0" * 64))
        session.flush()
        for i, (family, postal) in enumerate(RESIDENTS, start=1):
            resident = Resident(
                resident_code=f"{i:011d}",
                family_name=family,
                given_name="太郎",
                family_name_kana="ミホン",
                given_name_kana="タロウ",
                birth_date=date(1980, 1, i),
                sex="1",
                postal_code=postal,
                address=f"見本市中央1丁目{i}番1号",
                status=ResidentStatus.RESIDENT,
                name_key=f"{family}太郎",
                kana_key="ミホンタロウ",
                address_key=f"中央1-{i}-1",
            )
            session.add(resident)
            session.flush()
            session.add(
                Application(
                    application_id=f"{i:023d}",
                    batch_id=BATCH,
                    line_no=i,
                    state=ApplicationState.MATCHED,
                    reasons=[],
                    submitted_at=NOW,
                    resident_id=resident.id,
                )
            )
        session.add(
            Application(
                application_id=f"{99:023d}",
                batch_id=BATCH,
                line_no=99,
                state=ApplicationState.PHOTO_REJECTED,
                reasons=["head-cut-off"],
                submitted_at=NOW,
                family_name="写真",
                given_name="次郎",
                family_name_kana="シャシン",
                given_name_kana="ジロウ",
                postal_code=REFUSED_POSTAL,
                address="見本市中央2丁目1番1号",
            )
        )
        session.commit()
    assign_batch_windows(settings, BATCH, ISSUED)
    with unit_of_work(settings.db_url) as session:
        letter_chunks = plan_chunks(session, BATCH, ApplicationState.PHOTO_REJECTED, 250)
        notice_chunks = plan_chunks(session, BATCH, ApplicationState.MATCHED, 250)
    for chunk in letter_chunks:
        assert write_letters_chunk(settings, chunk, ISSUED, NOW)["letters"] == 1
    for chunk in notice_chunks:
        assert generate_notice_chunk(settings, chunk, ISSUED, NOW)["notice_generated"] == 5


def print_night(settings) -> list:
    """The flow's print step without Prefect (flows/stages.py ``_print_batch``): the batch's
    print files planned, then each one written and recorded, one after the other."""
    from kofu.tasks.printing.records import plan_print_files, print_file

    return [print_file(settings, plan, ISSUED) for plan in plan_print_files(settings, BATCH)]


def files_in(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.iterdir())}


def test_night_is_split_sorted_recorded_and_not_printed_twice(kofu_env, tmp_path, monkeypatch):
    from kofu.models import Notice, PrintBatch, RefusalLetter
    from kofu.models.db import unit_of_work

    settings = configure(tmp_path, monkeypatch, max_sheets=3)
    seed_night(settings)
    results = print_night(settings)

    out_dir = settings.print_dir / BATCH
    assert [r.pdf_path.name for r in results] == [
        "print-batch-001.pdf",
        "print-batch-002.pdf",
        "print-batch-003.pdf",
    ]
    assert [r.page_count for r in results] == [3, 3, 3]  # a cover and two mail pieces each
    # Every notice was drawn again on its file's canvas; only the letter was merged.
    assert (sum(r.drawn for r in results), sum(r.merged for r in results)) == (5, 1)
    rows = []
    for part, result in enumerate(results, start=1):
        texts = page_texts(PdfReader(result.pdf_path))
        assert f"{part}/3" in texts[0] and "用紙3枚" in texts[0]
        for row in read_manifest(result.manifest_path):
            assert row["batch_file"] == result.pdf_path.name
            assert row["notice_number"] in texts[int(row["page"]) - 1]
            rows.append(row)
    postal = [row["postal_code"] for row in rows]
    assert postal == sorted(postal) and len(postal) == 6
    assert postal[1] == REFUSED_POSTAL and rows[1]["notice_number"].startswith("R")

    with unit_of_work(settings.db_url) as session:
        batches = session.scalars(select(PrintBatch).order_by(PrintBatch.id)).all()
        assert [Path(b.pdf_path).name for b in batches] == [r.pdf_path.name for r in results]
        assert [b.page_count for b in batches] == [3, 3, 3]
        assert None not in session.scalars(select(Notice.print_batch_id)).all()
        assert None not in session.scalars(select(RefusalLetter.print_batch_id)).all()

    before = files_in(out_dir)
    assert print_night(settings) == []
    assert files_in(out_dir) == before


def test_a_crash_between_files_is_finished_by_the_rerun(kofu_env, tmp_path, monkeypatch):
    from kofu.models import PrintBatch
    from kofu.models.db import unit_of_work

    settings = configure(tmp_path, monkeypatch, max_sheets=3)
    seed_night(settings)
    out_dir = settings.print_dir / BATCH
    # A directory where the second file goes: writing it fails after the first is recorded.
    (out_dir / "print-batch-002.pdf").mkdir(parents=True)
    with pytest.raises(OSError):
        print_night(settings)
    first = files_in(out_dir)
    assert "print-batch-001.pdf" in first and "print-batch-003.pdf" not in first

    (out_dir / "print-batch-002.pdf").rmdir()
    results = print_night(settings)
    assert [r.pdf_path.name for r in results] == ["print-batch-002.pdf", "print-batch-003.pdf"]
    after = files_in(out_dir)
    assert after["print-batch-001.pdf"] == first["print-batch-001.pdf"]  # not rewritten
    numbers = [
        row["notice_number"]
        for name in sorted(after)
        if name.endswith(".csv")
        for row in read_manifest(out_dir / name)
    ]
    assert len(numbers) == len(set(numbers)) == 6  # each mail piece printed exactly once
    with unit_of_work(settings.db_url) as session:
        assert len(session.scalars(select(PrintBatch)).all()) == 3


def test_files_written_side_by_side_when_one_fails_the_rerun_numbers_after_them(
    kofu_env, tmp_path, monkeypatch
):
    """The flow writes a batch's files side by side (plan_print_files, then print_file per
    file on the task runner). When the second of three fails and the first and third are
    recorded, the rerun prints the second's pieces into file 4: no recorded file is ever
    rewritten, and every piece is printed once."""
    from kofu.models import PrintBatch
    from kofu.models.db import unit_of_work
    from kofu.tasks.printing.records import plan_print_files, print_file

    settings = configure(tmp_path, monkeypatch, max_sheets=3)
    seed_night(settings)
    plans = plan_print_files(settings, BATCH)
    assert [(p.part, p.parts, len(p.pieces)) for p in plans] == [(1, 3, 2), (2, 3, 2), (3, 3, 2)]
    out_dir = settings.print_dir / BATCH
    (out_dir / "print-batch-002.pdf").mkdir(parents=True)
    print_file(settings, plans[2], ISSUED)
    with pytest.raises(OSError):
        print_file(settings, plans[1], ISSUED)
    print_file(settings, plans[0], ISSUED)
    written = files_in(out_dir)

    (again,) = plan_print_files(settings, BATCH)
    assert (again.part, again.parts, again.pieces) == (4, 4, plans[1].pieces)
    result = print_file(settings, again, ISSUED)
    assert result.pdf_path.name == "print-batch-004.pdf"
    after = files_in(out_dir)
    for name in ("print-batch-001.pdf", "print-batch-003.pdf"):
        assert after[name] == written[name]  # not rewritten
    numbers = [
        row["notice_number"]
        for name in sorted(after)
        if name.endswith(".csv")
        for row in read_manifest(out_dir / name)
    ]
    assert len(numbers) == len(set(numbers)) == 6
    assert plan_print_files(settings, BATCH) == []
    with unit_of_work(settings.db_url) as session:
        assert len(session.scalars(select(PrintBatch)).all()) == 3


def test_a_notice_whose_data_changed_is_merged_from_its_own_pdf(kofu_env, tmp_path, monkeypatch):
    """The register moved a resident after the notice was made: the batch prints the notice
    as made (its own PDF), not a redrawn one with the new address."""
    from kofu.models import Resident
    from kofu.models.db import unit_of_work

    settings = configure(tmp_path, monkeypatch)
    seed_night(settings)
    with unit_of_work(settings.db_url, write=True) as session:
        moved = session.scalars(select(Resident).where(Resident.family_name == "濱田")).one()
        moved.address = "見本市北町9丁目9番9号"
        session.commit()
    (result,) = print_night(settings)
    assert (result.drawn, result.merged) == (4, 2)  # the moved resident's notice and the letter
    text = "".join(page_texts(PdfReader(result.pdf_path)))
    assert "見本市中央1丁目5番1号" in text and "北町" not in text


def test_encryption_needs_a_password_before_anything_is_written(kofu_env, tmp_path, monkeypatch):

    settings = configure(tmp_path, monkeypatch, encrypt=True)
    seed_night(settings)
    monkeypatch.delenv("KOFU_PRINT_PASSWORD", raising=False)
    with pytest.raises(UserError, match="KOFU_PRINT_PASSWORD is not set"):
        print_night(get_settings())
    monkeypatch.setenv("KOFU_PRINT_PASSWORD", "short")
    with pytest.raises(UserError, match="at least 12 characters"):
        print_night(get_settings())
    assert not settings.print_dir.exists()

    monkeypatch.setenv("KOFU_PRINT_PASSWORD", PASSWORD)
    (result,) = print_night(get_settings())
    assert PdfReader(result.pdf_path).is_encrypted
    with pytest.raises(FileNotDecryptedError):
        PdfReader(result.pdf_path).pages[0].extract_text()
    texts = page_texts(PdfReader(result.pdf_path, password=PASSWORD))
    assert len(texts) == 7 and "交付通知書5通" in texts[0]
    # The manifest stays readable: it carries numbers and postal codes only.
    assert len(read_manifest(result.manifest_path)) == 6


def test_cli_refuses_to_start_a_night_without_the_password(tmp_path):
    from tests.e2e.test_cli import assert_one_line_error, kofu

    config = tmp_path / "municipality.toml"
    config.write_text(
        SAMPLE_CONFIG.read_text(encoding="utf-8").replace("encrypt = false", "encrypt = true"),
        encoding="utf-8",
    )
    result = kofu(
        "nightly",
        env={"KOFU_SECRET_KEY": TEST_KEY, "KOFU_CONFIG": str(config)},
        tmp_path=tmp_path,
    )
    assert_one_line_error(result, "KOFU_PRINT_PASSWORD is not set")
    assert not (tmp_path / "var" / "print").exists()
