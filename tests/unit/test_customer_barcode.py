import io
import random

import pypdfium2 as pdfium
import pytest
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdf_canvas

from kofu.tasks.notices.customer_barcode import (
    ASCENDER,
    BAR_COUNT,
    DESCENDER,
    LONG,
    TIMING,
    address_number,
    bars,
    draw,
    encode,
    geometry,
)

VALUES = {str(d): d for d in range(10)} | {"-": 10} | {f"CC{n}": 10 + n for n in range(1, 9)}


# Japan Post 郵便番号・バーコードマニュアル p17-p20 and its test table, plus worked
# examples from barcode vendors' manuals (Jive, GrapeCity, Hitachi) that follow it.
@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("緑町3丁目30-8 郵便ビル403号", "3-30-8-403"),
        ("台東5-6-3 ABCビル10F", "5-6-3-10"),
        ("東3丁目-20-5 郵便・A&bコーポB604号", "3-20-5B604"),
        ("1丁目3番2号 郵便プラザ503室", "1-3-2-503"),
        ("秋田県大仙市堀見内 南田茂木 添60-1", "60-1"),
        # 六 before 条 is part of the town name, not a number (補足ルール 1)
        ("北海道札幌市東区北六条東4丁目 郵便センター6号館", "4-6"),
        ("山梨県韮崎市龍岡町下條南割 韮崎400", "400"),
        ("6丁目7-14 ABCビル2F", "6-7-14-2"),
        ("29丁目1524-23 第2郵便ハウス501", "29-1524-23-2-501"),
        ("3丁目80-25 J1ビル2-B", "3-80-25J1-2B"),
        ("名古屋市中区大須一丁目二十五番二十八号", "1-25-28"),
        ("紫波郡矢巾町 大字煙山 第3地割14番地2", "3-14-2"),
        ("出口 6-7 LプラザB 106", "6-7LB106"),
        ("百一番地の三号", "101-3"),
        ("見本市中央1丁目2番3号 さくらハイツ203", "1-2-3-203"),
        ("見本市中央一丁目2番3号 見本ハイツ101号室", "1-2-3-101"),
        ("見本市桜台１丁目２－３　メゾン桜台Ａ棟２０５", "1-2-3A205"),
        ("若葉4丁目10番地の2", "4-10-2"),
        ("本町", ""),
    ],
)
def test_address_number_follows_the_manual(address, expected):
    assert address_number(address) == expected


def test_town_name_with_a_numeral_is_cut_off_when_given():
    assert address_number("三ノ輪一丁目5番2号") == "3-1-5-2"
    assert address_number("三ノ輪一丁目5番2号", town="三ノ輪") == "1-5-2"
    assert encode("1100011", "三ノ輪一丁目5番2号", town="三ノ輪")[8:13] == list("1-5-2")


def test_check_digit_of_the_domain_example():
    # DOMAIN.md and manual p17: 1000013 + 1-3-2-503 + 4 × CC4 -> check digit 9.
    chars = encode("1000013", "1丁目3番2号 郵便プラザ503室")
    assert chars == ["STC", *"10000131-3-2-503", "CC4", "CC4", "CC4", "CC4", "9", "SPC"]


@pytest.mark.parametrize(
    ("postal_code", "address", "check"),
    [
        # Results of Japan Post's quality inspection of printed barcodes (1998), read as
        # 27301023-20-5B604dd0 and 014011360-1dddddddddh (d = CC4, h = CC8).
        ("273-0102", "東3丁目-20-5 郵便・A&bコーポB604号", "0"),
        ("014-0113", "堀見内 南田茂木 添60-1", "CC8"),
        # A hobbyist's decoding of a real barcode: 100001411011103214141414141415.
        ("100-0014", "永田町1丁目11-32", "CC5"),
    ],
)
def test_check_digits_of_published_barcodes(postal_code, address, check):
    assert encode(postal_code, address)[-2] == check


def test_letter_takes_a_control_code_and_a_digit():
    assert encode("2730102", "B604")[8:12] == ["CC1", "1", "6", "0"]
    assert encode("1000013", "K1")[8:10] == ["CC2", "0"]
    assert encode("1000013", "T1")[8:10] == ["CC2", "9"]
    assert encode("1000013", "Z1")[8:10] == ["CC3", "5"]


def test_short_address_number_is_padded_with_cc4():
    chars = encode("1000013", "")
    assert chars[8:21] == ["CC4"] * 13
    assert len(chars) == 23


def test_long_address_number_is_cut_after_20_characters():
    # p20 example 1: the 20th character is a hyphen and stays.
    chars = encode("064-0804", "29丁目1524-23 第2郵便ハウス501")
    assert "".join(chars[1:21]) == "064080429-1524-23-2-"


def test_letter_cut_at_the_20th_character_keeps_its_control_code():
    # p20 example 2: 91000673-80-25 CC1 9 1-2 CC1 (B = CC1 1, its digit falls off).
    chars = encode("910-0067", "3丁目80-25 J1ビル2-B")
    assert chars[1:21] == [*"91000673-80-25", "CC1", "9", "1", "-", "2", "CC1"]


def test_postal_code_must_have_seven_digits():
    with pytest.raises(ValueError):
        encode("12-345", "1-2-3")


def generated_addresses(count: int, seed: int = 19) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    kanji = "〇一二三四五六七八九"
    buildings = ["さくらハイツ", "コーポ中央", "メゾンABC", "グリーンハイツ", "第2ビル"]
    pairs = []
    for i in range(count):
        postal = f"{rng.randint(0, 999):03d}-{rng.randint(0, 9999):04d}"
        chome, ban, go = rng.randint(1, 9), rng.randint(1, 40), rng.randint(1, 30)
        form = i % 5
        if form == 0:
            street = f"{kanji[chome]}丁目{ban}番{go}号"
        elif form == 1:
            street = f"{chome}-{ban}-{go}"
        elif form == 2:
            street = f"{ban}番地の{go}"
        elif form == 3:
            street = f"{chome}丁目{ban}-{go} {rng.choice('ABCKTZ')}棟"
        else:
            street = f"{chome}丁目{ban}番{go}号 {rng.choice(buildings)}{rng.randint(101, 999)}"
        pairs.append((postal, f"見本市中央{street}"))
    return pairs


@pytest.mark.parametrize(("postal_code", "address"), generated_addresses(200))
def test_every_barcode_sums_to_a_multiple_of_19(postal_code, address):
    chars = encode(postal_code, address)
    assert chars[0] == "STC" and chars[-1] == "SPC" and len(chars) == 23
    assert sum(VALUES[c] for c in chars[1:-1]) % 19 == 0
    assert len(bars(postal_code, address)) == BAR_COUNT


# --- Cross-check with zint (JAPANPOST), an independent encoder ---

CROSS_CHECK = [
    ("100-0013", "霞が関1丁目3番2号 郵便プラザ503室"),
    ("263-0023", "緑町3丁目30-8 郵便ビル403号"),
    ("110-0016", "台東5-6-3 ABCビル10F"),
    ("273-0102", "東3丁目-20-5 郵便・A&bコーポB604号"),
    ("014-0113", "添60-1"),
    ("317-0055", "宮田町6丁目7-14 ABCビル2F"),
    ("064-0804", "南四条西29丁目1524-23 第2郵便ハウス501"),  # cut at 20
    ("999-0013", "見本市桜台1丁目2番3号 さくらハイツ203"),
    ("623-0011", "出口 6-7 LプラザB 106"),
    ("460-0011", "大須一丁目二十五番二十八号"),
    ("999-9999", "W1-X2-Y3"),
    ("000-0000", "1"),
    *generated_addresses(20, seed=7),
]


def zint_bars(data: str) -> list[str]:
    """zint's bars for already extracted data (postal code + address number)."""
    zint = pytest.importorskip("zint")
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.JAPANPOST
    symbol.encode(data)
    # Three module rows (top band, middle band, bottom band); a bar every second column,
    # bits least significant first within each byte.
    rows = symbol.encoded_data.tolist()

    def ink(row: int, column: int) -> bool:
        return bool(rows[row][column // 8] >> (column % 8) & 1)

    assert symbol.rows == 3
    kinds = {(True, True): LONG, (True, False): ASCENDER, (False, True): DESCENDER}
    result = []
    for column in range(0, symbol.width, 2):
        assert ink(1, column)  # every bar crosses the middle band
        result.append(kinds.get((ink(0, column), ink(2, column)), TIMING))
    return result


def zint_data(postal_code: str, number: str) -> str:
    """The data zint accepts: at most 20 symbol characters, a letter counting two."""
    data, used = postal_code.replace("-", ""), 7
    for ch in number:
        size = 2 if ch.isalpha() else 1
        if used + size > 20:
            assert used == 20, "a letter straddles the cut: zint cannot express it"
            break
        data, used = data + ch, used + size
    return data


@pytest.mark.parametrize(("postal_code", "address"), CROSS_CHECK)
def test_bars_agree_with_zint(postal_code, address):
    pytest.importorskip("zint")
    expected = zint_bars(zint_data(postal_code, address_number(address)))
    assert bars(postal_code, address) == expected


def test_start_and_stop_codes():
    drawn = bars("1000013", "1-3-2-503")
    assert drawn[:2] == [LONG, DESCENDER]
    assert drawn[-2:] == [DESCENDER, LONG]


# --- Geometry and drawing ---


def test_geometry_scales_with_point_size():
    base = geometry(10)
    assert (base.long_mm, base.timing_mm, base.pitch_mm, base.bar_width_mm) == pytest.approx(
        (3.6, 1.2, 1.2, 0.6)
    )
    assert base.width_mm == pytest.approx(79.8)
    assert geometry(8).long_mm == pytest.approx(2.88)
    assert geometry(11.5).pitch_mm == pytest.approx(1.38)
    for size in (7.9, 11.6):
        with pytest.raises(ValueError):
            geometry(size)


def drawn_bars(point_size: float, pixels_per_mm: float = 24):
    """Draw a barcode into a PDF, rasterise it and measure each bar's top and bottom."""
    expected = bars("2730102", "東3丁目-20-5 郵便・A&bコーポB604号")
    buffer = io.BytesIO()
    page = pdf_canvas.Canvas(buffer, pagesize=(110 * mm, 12 * mm))
    draw(page, 10, 4, expected, point_size=point_size)
    page.save()
    image = (
        pdfium.PdfDocument(buffer.getvalue())[0]
        .render(scale=pixels_per_mm * 25.4 / 72)
        .to_pil()
        .convert("L")
    )
    pixels = image.load()
    width, height = image.size
    dark_columns = [x for x in range(width) if any(pixels[x, y] < 128 for y in range(height))]
    runs: list[list[int]] = []
    for x in dark_columns:
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    spans = []
    for run in runs:
        x = run[len(run) // 2]
        dark = [y for y in range(height) if pixels[x, y] < 128]
        spans.append((min(dark), max(dark) + 1))  # top, bottom in pixels (y grows down)
    return expected, spans, pixels_per_mm


@pytest.mark.parametrize("point_size", [8.0, 10.0, 11.5])
def test_drawn_barcode_reads_back(point_size):
    expected, spans, pixels_per_mm = drawn_bars(point_size)
    assert len(spans) == BAR_COUNT
    heights = {kind: [] for kind in (LONG, ASCENDER, DESCENDER, TIMING)}
    for kind, (top, bottom) in zip(expected, spans, strict=True):
        heights[kind].append(bottom - top)
    long_px = sum(heights[LONG]) / len(heights[LONG])
    timing_px = sum(heights[TIMING]) / len(heights[TIMING])
    assert long_px / timing_px == pytest.approx(3, rel=0.05)
    assert long_px / pixels_per_mm == pytest.approx(3.6 * point_size / 10, abs=0.1)
    # Read the kinds back from where each bar starts and ends.
    symbol_top = min(top for top, _ in spans)
    symbol_bottom = max(bottom for _, bottom in spans)
    reads = []
    for top, bottom in spans:
        reaches_top = top - symbol_top < timing_px / 2
        reaches_bottom = symbol_bottom - bottom < timing_px / 2
        reads.append(
            {(True, True): LONG, (True, False): ASCENDER, (False, True): DESCENDER}.get(
                (reaches_top, reaches_bottom), TIMING
            )
        )
    assert reads == expected
