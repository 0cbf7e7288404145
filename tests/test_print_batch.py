import csv
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from tasks.notice_pdf import CounterInfo, NoticeContent, write_notice_pdf
from tasks.print_batch import PrintItem, merge_print_batch


def write_notice(directory: Path, font_name: str, notice_number: str, postal_code: str) -> Path:
    content = NoticeContent(
        municipality="見本市",
        issuer_title="見本市長",
        notice_number=notice_number,
        issued_on=date(2026, 11, 26),
        pickup_deadline=date(2027, 2, 24),
        family_name="見本",
        given_name="花子",
        family_name_kana="ミホン",
        given_name_kana="ハナコ",
        postal_code=postal_code,
        address="見本市中央一丁目2番3号",
        counter=CounterInfo("見本市役所 市民課", "見本市中央1丁目1番1号", "0120-000-000", "平日"),
        birth_date=date(1990, 1, 1),
    )
    path = directory / f"{notice_number}.pdf"
    write_notice_pdf(content, font_name, path)
    return path


@pytest.fixture
def three_items(tmp_path: Path, font_name: str) -> list[PrintItem]:
    notices = tmp_path / "notices"
    notices.mkdir()
    given = [
        ("2026-00000001", "300-0001"),
        ("2026-00000002", "100-0002"),
        ("2026-00000003", "2000001"),  # digits only still sorts by the number
    ]
    return [PrintItem(n, pc, write_notice(notices, font_name, n, pc)) for n, pc in given]


def page_texts(pdf: Path) -> list[str]:
    return [re.sub(r"\s+", "", page.extract_text()) for page in PdfReader(pdf).pages]


def test_batch_is_in_postal_code_order(tmp_path: Path, three_items: list[PrintItem]):
    out = tmp_path / "batch-0001.pdf"
    manifest = tmp_path / "batch-0001.csv"
    result = merge_print_batch(three_items, out, manifest)

    assert result.pdf_path == out
    assert result.manifest_path == manifest
    assert result.page_count == 3
    texts = page_texts(out)
    assert len(texts) == 3
    expected = [
        ("2026-00000002", "100-0002"),
        ("2026-00000003", "2000001"),
        ("2026-00000001", "300-0001"),
    ]
    for text, (number, postal) in zip(texts, expected, strict=True):
        assert number in text
        assert f"〒{postal}" in text

    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["notice_number", "batch_file", "page", "postal_code"]
    assert [(r["notice_number"], r["postal_code"]) for r in rows] == expected
    assert [r["page"] for r in rows] == ["1", "2", "3"]
    assert {r["batch_file"] for r in rows} == {"batch-0001.pdf"}
    for row in rows:
        assert row["notice_number"] in texts[int(row["page"]) - 1]

    reader = PdfReader(out)
    outline = reader.outline
    assert [item.title for item in outline] == [n for n, _ in expected]
    assert [reader.get_destination_page_number(item) for item in outline] == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "batch-0001.csv",
        "batch-0001.pdf",
        "notices",
    ]


def test_fonts_stay_embedded_after_merge(tmp_path: Path, three_items: list[PrintItem]):
    out = tmp_path / "batch.pdf"
    merge_print_batch(three_items, out, tmp_path / "batch.csv")
    for page in PdfReader(out).pages:
        for ref in page["/Resources"]["/Font"].values():
            assert "/FontFile2" in ref.get_object()["/FontDescriptor"].get_object()


def test_manifest_has_no_names_or_addresses(tmp_path: Path, three_items: list[PrintItem]):
    manifest = tmp_path / "batch.csv"
    merge_print_batch(three_items, tmp_path / "batch.pdf", manifest)
    text = manifest.read_text(encoding="utf-8")
    assert "見本" not in text and "花子" not in text


def test_empty_batch_is_refused(tmp_path: Path):
    with pytest.raises(ValueError):
        merge_print_batch([], tmp_path / "batch.pdf", tmp_path / "batch.csv")
    assert list(tmp_path.iterdir()) == []


def test_duplicate_notice_is_refused(tmp_path: Path, three_items: list[PrintItem]):
    with pytest.raises(ValueError, match="duplicate"):
        merge_print_batch(
            [*three_items, three_items[0]], tmp_path / "batch.pdf", tmp_path / "batch.csv"
        )
