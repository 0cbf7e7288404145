"""The bad-input corpus: every kind of broken input in one delivery, beside good applications.

One delivery mixes each broken input with a few good applications; a second delivery brings
an application id the first one already took in. Both go through the real nightly flow (real
SQLite, the embedded Prefect server, real images), once, in a module fixture. Each broken
input must end in its own clear state and reason code, and the good applications must still
get their notice. The register is imported through the real CLI, and a register with one bad
row in the middle must be refused whole with one line naming the row.

``CASES`` is the corpus at a glance: id, how the input is broken, the state it must end in
(an application state, or ``REJECTED`` for a line that could not become an application and
is a row of ``rejected_lines``) and its reason codes.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import FONT_CACHE, TEST_KEY
from tests.helpers import application_line, compact_text, db_env, db_url_for, portrait_jpeg

REJECTED = "rejected-line"
SQL_FAMILY = "'; DROP TABLE applications; --"
SQL_GIVEN = '"%_'
# 鈴木's number (44444444444 has check digit 0) with a wrong check digit: a typing mistake.
BAD_CHECK_DIGIT = "444444444447"
MAX_PHOTO_BYTES = 7 * 1024 * 1024  # PhotoRules.max_bytes, the DOMAIN.md hard rule
# The flow's today is Japan's calendar day; three days ahead is in the future anywhere.
FUTURE = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=3)


@dataclass(frozen=True)
class Person:
    """A resident in the register, and the application fields that match them."""

    resident_code: str
    number: str | None
    family: str
    given: str
    kana: tuple[str, str]
    birth: date
    address: str


def numbered(first_eleven: str) -> str:
    from kofu.base.mynumber import check_digit

    return first_eleven + str(check_digit(first_eleven))


PEOPLE = {
    "yamada": Person(
        "10000000001", numbered("11111111111"), "山田", "花子", ("ヤマダ", "ハナコ"), date(1975, 6, 1),
        "見本市中央1丁目2番3号",
    ),
    "kawaguchi": Person(
        "10000000002", None, "川口", "直子", ("カワグチ", "ナオコ"), date(1982, 3, 14),
        "見本市中央4丁目5番6号",
    ),
    "sql": Person(
        "10000000003", numbered("22222222222"), SQL_FAMILY, SQL_GIVEN, ("ドロップ", "テーブル"),
        date(1990, 12, 24), "見本市北町1丁目1番1号",
    ),
    "mori": Person(
        "10000000004", numbered("33333333333"), "森", "幸子", ("モリ", "サチコ"), date(1968, 9, 30),
        "見本市南町7丁目8番9号",
    ),
    "suzuki": Person(
        "10000000005", numbered("44444444444"), "鈴木", "一郎", ("スズキ", "イチロウ"),
        date(1959, 2, 11), "見本市西町2丁目3番4号",
    ),
    "kato": Person(
        "10000000006", numbered("66666666666"), "加藤", "恵", ("カトウ", "メグミ"),
        date(1993, 7, 7), "見本市東町3丁目3番3号",
    ),
}  # fmt: skip

# Individual numbers (valid check digits) typed where they do not belong: as typed, and as the
# digits that must be nowhere once the delivery is taken in.
NUMBER_IN_ADDRESS = numbered("55555555555")
NUMBER_IN_NAME = numbered("77777777777")
NUMBER_AS_ID = numbered("88888888888")
NUMBER_AS_INTEGER = numbered("99999999999")
STRAY_NUMBERS = (NUMBER_IN_ADDRESS, NUMBER_IN_NAME, NUMBER_AS_ID, NUMBER_AS_INTEGER)


def full_width_spaced(number: str) -> str:
    """1234 5678 9012 in full-width digits, as a phone's keyboard may type it."""
    wide = number.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    return " ".join([wide[:4], wide[4:8], wide[8:]])


def person_fields(key: str) -> dict:
    p = PEOPLE[key]
    return {
        "individual_number": p.number,
        "family_name": p.family,
        "given_name": p.given,
        "family_name_kana": p.kana[0],
        "given_name_kana": p.kana[1],
        "birth_date": p.birth.isoformat(),
        "sex": "2",
        "postal_code": "999-0011",
        "address": p.address,
    }


# A line is built by a function of ``app``: ``app(**overrides)`` gives the case's own
# application (its id, its photo path, otherwise the helpers' sample applicant, who is in no
# register) as a dict; a function may instead return the raw bytes of the line.
Line = Callable[[Callable[..., dict]], dict | bytes]


@dataclass(frozen=True)
class Case:
    id: str
    broken: str
    state: str
    codes: tuple[str, ...]
    line: Line
    photo: str | None = None  # what lies at photos/<id>.jpg: a key of make_photo
    delivery: int = 1


def _compact(obj: dict | list) -> bytes:
    return json.dumps(obj).encode()  # \u escapes: a lone surrogate survives as text


CASES: list[Case] = [
    # --- good applications: they must go all the way -------------------------------------
    Case("good-with-number", "none: a resident, with a valid individual number",
         "notice_generated", (), lambda app: app(**person_fields("yamada")), "good"),
    Case("good-without-number", "none: a resident, without an individual number",
         "notice_generated", (), lambda app: app(**person_fields("kawaguchi")), "good"),
    # DESIGN.md: names are strings "as typed"; only control characters break the contract
    # (tasks/intake/core.py). So SQL metacharacters go through and are stored as they came.
    Case("sql-metacharacters-in-name", f"family name {SQL_FAMILY}, given name {SQL_GIVEN}",
         "notice_generated", (), lambda app: app(**person_fields("sql")), "good"),
    # --- photos ---------------------------------------------------------------------------
    Case("photo-truncated", "a JPEG cut off after two thirds of its bytes",
         "photo_rejected", ("photo-corrupt",), lambda app: app(), "truncated"),
    Case("photo-zero-bytes", "an empty photo file", "photo_rejected", ("photo-empty",),
         lambda app: app(), "empty"),
    Case("photo-enormous", "a JPEG padded to 8 MB (limit 7 MB)", "photo_rejected",
         ("photo-file-too-large",), lambda app: app(), "enormous"),
    Case("photo-png-named-jpg", "a PNG saved as .jpg", "photo_rejected",
         ("photo-not-jpeg",), lambda app: app(), "png"),
    Case("photo-png-bomb", "a 67-byte PNG declaring 30000 x 30000 pixels, named .jpg",
         "photo_rejected", ("photo-not-jpeg",), lambda app: app(), "png-bomb"),
    Case("photo-jpeg-bomb", "a JPEG whose header declares 30000 x 30000 pixels",
         "photo_rejected", ("photo-too-large-pixels",), lambda app: app(), "jpeg-bomb"),
    # --- photo paths: a good photo lies outside, so following the path would pass ---------
    Case("photo-path-dotdot", "photo ../outside/good.jpg", "invalid",
         ("photo-path-outside-delivery",), lambda app: app(photo="../outside/good.jpg")),
    Case("photo-path-absolute", "photo /…/outside/good.jpg", "invalid",
         ("photo-path-outside-delivery",), lambda app: app(photo=str(OUTSIDE_PHOTO))),
    Case("photo-symlink-out", "photos/<id>.jpg is a symlink to a good photo outside",
         "invalid", ("photo-path-outside-delivery",), lambda app: app(), "symlink-out"),
    Case("photo-symlink-loop", "photos/<id>.jpg is a symlink to itself", "invalid",
         ("bad-photo-path",), lambda app: app(), "symlink-loop"),
    Case("photo-path-is-folder", "photo names the photos/ folder", "invalid",
         ("bad-photo-path",), lambda app: app(photo="photos")),
    Case("photo-path-not-text", "photo is a number, not a path", "invalid",
         ("bad-photo-path",), lambda app: app(photo=123)),
    # --- lines that cannot become an application --------------------------------------
    Case("line-not-json", "half a JSON object (a cut-off upload)", REJECTED,
         ("malformed-json",), lambda app: _compact(app())[:90]),
    Case("line-not-utf8", "the line saved as Shift_JIS", REJECTED, ("not-utf8",),
         lambda app: json.dumps(app(), ensure_ascii=False).encode("cp932")),
    Case("line-10-mb", "one line of 10 MB (an address of 10 million x)", REJECTED,
         ("line-too-long",), lambda app: _compact(app(address="x" * 10_000_000))),
    Case("line-nested-deep", "valid JSON nested 20,000 arrays deep (under 64 KB)", REJECTED,
         ("malformed-json",),
         lambda app: _compact(app(family_name=None))[:-1]
         + b', "family_name": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
    Case("line-huge-integer", "valid JSON with an integer of 5,000 digits", REJECTED,
         ("malformed-json",),
         lambda app: _compact(app(sex=None))[:-1] + b', "sex": 1' + b"0" * 5_000 + b"}"),
    Case("line-not-an-object", "a JSON array", REJECTED, ("not-an-object",),
         lambda app: _compact([app()])),
    Case("line-without-id", "no application_id", REJECTED, ("bad-application-id",),
         lambda app: app(application_id=None)),
    # --- fields -----------------------------------------------------------------------
    Case("missing-field", "no birth_date", "invalid", ("missing-field",),
         lambda app: app(birth_date=None)),
    Case("extra-field", "an extra field 'note'", "invalid", ("unexpected-field",),
         lambda app: app(note="x")),
    Case("null-field", "birth_date is null", "invalid", ("bad-birth-date",),
         lambda app: {**app(), "birth_date": None}),
    Case("sex-true", "sex is true (which Python takes for 1)", "invalid", ("bad-sex",),
         lambda app: app(sex=True)),
    Case("birth-date-future", f"born {FUTURE}, in three days", "invalid",
         ("bad-birth-date",), lambda app: app(birth_date=FUTURE.isoformat())),
    Case("birth-date-impossible", "born 2026-02-30", "invalid", ("bad-birth-date",),
         lambda app: app(birth_date="2026-02-30")),
    Case("birth-date-not-dashed", "born 19800401 (ISO basic, not YYYY-MM-DD)", "invalid",
         ("bad-birth-date",), lambda app: app(birth_date="19800401")),
    # --- names ------------------------------------------------------------------------
    Case("name-nul", "a NUL inside the family name", "invalid", ("bad-name",),
         lambda app: app(family_name="佐\x00藤")),
    Case("name-escape", "an ANSI escape in the given name", "invalid", ("bad-name",),
         lambda app: app(given_name="\x1b[2J太郎")),
    Case("name-c1-control", "a C1 control (U+0085) inside the kana", "invalid",
         ("bad-name",), lambda app: app(family_name_kana="サ\x85トウ")),
    Case("name-lone-surrogate", r"the family name is '\ud800' (a lone surrogate)", "invalid",
         ("bad-name",), lambda app: _compact(app(family_name="\ud800"))),
    Case("name-too-long", "a family name of 101 characters (column: 100)", "invalid",
         ("bad-name",), lambda app: app(family_name="佐" * 101)),
    Case("name-right-to-left", "a right-to-left override (U+202E) in the given name",
         "invalid", ("bad-name",), lambda app: app(given_name="太\u202e郎")),
    Case("name-zero-width", "a zero-width space (U+200B) in the family name", "invalid",
         ("bad-name",), lambda app: app(family_name="佐\u200b藤")),
    Case("address-too-long", "an address of 301 characters (column: 300)", "invalid",
         ("bad-address",), lambda app: app(address="町" * 301)),
    # --- times the database cannot hold, or no submission can have -----------------------
    Case("submitted-after-year-9999-utc", "submitted 9999-12-31T23:59:59-09:00 (year 10000 in UTC)",
         "invalid", ("bad-submitted-at",),
         lambda app: app(submitted_at="9999-12-31T23:59:59-09:00")),
    Case("submitted-in-year-1", "submitted 0001-01-01T00:00:00+14:00 (year 0 in UTC)",
         "invalid", ("bad-submitted-at",),
         lambda app: app(submitted_at="0001-01-01T00:00:00+14:00")),
    Case("submitted-before-online-applications", "submitted 2015-10-04, before they opened",
         "invalid", ("bad-submitted-at",),
         lambda app: app(submitted_at="2015-10-04T12:00:00+09:00")),
    Case("submitted-in-the-future", f"submitted {FUTURE}, in three days", "invalid",
         ("bad-submitted-at",), lambda app: app(submitted_at=f"{FUTURE}T09:00:00+09:00")),
    Case("submitted-without-offset", "submitted 2026-11-25T21:04:11 (no offset)", "invalid",
         ("bad-submitted-at",), lambda app: app(submitted_at="2026-11-25T21:04:11")),
    # --- individual numbers where they do not belong: refused, never stored ---------------
    Case("number-in-address", "the address ends with an individual number, full-width, spaced",
         "invalid", ("individual-number-in-field",),
         lambda app: app(address="見本市中央1丁目2番3号 " + full_width_spaced(NUMBER_IN_ADDRESS))),
    Case("number-as-given-name", "the given name is an individual number, hyphenated",
         "invalid", ("individual-number-in-field",),
         lambda app: app(given_name="-".join([NUMBER_IN_NAME[:4], NUMBER_IN_NAME[4:8],
                                              NUMBER_IN_NAME[8:]]))),
    Case("number-as-integer", "the individual number as a JSON integer, not a string",
         "invalid", ("bad-individual-number",),
         lambda app: app(individual_number=int(NUMBER_AS_INTEGER))),
    Case("number-as-application-id", "the application id is a valid individual number",
         REJECTED, ("bad-application-id",), lambda app: app(application_id=NUMBER_AS_ID)),
    Case("application-id-22-digits", "an application id of 22 digits (J-LIS: 23)", REJECTED,
         ("bad-application-id",), lambda app: app(application_id="2" * 22)),
    Case("blank-individual-number", "the individual number is \"\" (a blanked delivery)",
         "notice_generated", (),
         lambda app: app(**{**person_fields("kato"), "individual_number": ""}), "good"),
    # --- identifiers --------------------------------------------------------------------
    # DESIGN.md: a wrong check digit is a typing mistake on an optional field. The reason is
    # kept and the resident is matched without the number (by name, birth date and street).
    Case("individual-number-check-digit", f"individual number {BAD_CHECK_DIGIT}",
         "notice_generated", ("individual-number-check-digit",),
         lambda app: app(**{**person_fields("suzuki"), "individual_number": BAD_CHECK_DIGIT}),
         "good"),
    Case("duplicate-id-in-delivery", "the id of good-with-number again, on a later line",
         REJECTED, ("duplicate-application-id",),
         lambda app: app(**person_fields("yamada"), application_id=APP_ID["good-with-number"]),
         "good"),
    # --- the second delivery ------------------------------------------------------------
    Case("duplicate-id-across-deliveries", "the id of good-without-number, a night later",
         REJECTED, ("duplicate-application-id",),
         lambda app: app(**person_fields("kawaguchi"),
                         application_id=APP_ID["good-without-number"]),
         "good", delivery=2),
    Case("good-in-second-delivery", "none: a resident, in the second delivery",
         "notice_generated", (), lambda app: app(**person_fields("mori")), "good",
         delivery=2),
]  # fmt: skip

# 23 digits, as J-LIS ids are; the position in the table makes each one unique.
APP_ID = {c.id: f"2026112600000000000{i:04d}" for i, c in enumerate(CASES)}
GOOD = [c.id for c in CASES if c.state == "notice_generated"]
OUTSIDE_PHOTO = Path()  # set by the fixture: a good photo outside every delivery


def declare_png_size(width: int, height: int) -> bytes:
    """A 1 x 1 PNG whose header (IHDR, CRC fixed up) declares ``width`` x ``height``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (1, 1)).save(buf, "PNG")
    png = buf.getvalue()
    at = png.index(b"IHDR")
    ihdr = b"IHDR" + struct.pack(">II", width, height) + png[at + 12 : at + 17]
    return png[:at] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[at + 21 :]


def declare_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    sof = data.index(b"\xff\xc0")  # the frame header: precision, height, width
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def make_photo(kind: str, path: Path, good: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "symlink-out":
        path.symlink_to(OUTSIDE_PHOTO)
        return
    if kind == "symlink-loop":
        path.symlink_to(path.name)
        return
    make: dict[str, Callable[[], bytes]] = {
        "good": lambda: good,
        "truncated": lambda: good[: len(good) * 2 // 3],
        "empty": lambda: b"",
        "enormous": lambda: good + b"\0" * (8 * 1024 * 1024),
        "png": lambda: png_of(good),
        "png-bomb": lambda: declare_png_size(30_000, 30_000),
        "jpeg-bomb": lambda: declare_jpeg_size(good, 30_000, 30_000),
    }
    path.write_bytes(make[kind]())


def png_of(jpeg: bytes) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buf, "PNG")
    return buf.getvalue()


def write_delivery(folder: Path, cases: list[Case]) -> dict[str, int]:
    """The delivery's applications.jsonl and photos; the line number of each case."""
    (folder / "photos").mkdir(parents=True)
    line_no = {}
    with (folder / "applications.jsonl").open("wb") as fh:
        # The first delivery starts with a UTF-8 byte order mark, as some editors write one:
        # its first line (good-with-number) must still get its notice.
        if cases[0].delivery == 1:
            fh.write(b"\xef\xbb\xbf")
        for n, case in enumerate(cases, start=1):
            photo = f"photos/{APP_ID[case.id]}.jpg"

            def app(_id=APP_ID[case.id], _photo=photo, **over) -> dict:
                return application_line(**{"application_id": _id, "photo": _photo, **over})

            line = case.line(app)
            fh.write((line if isinstance(line, bytes) else _compact(line)) + b"\n")
            if case.photo:
                make_photo(case.photo, folder / photo, portrait_jpeg(1))
            line_no[case.id] = n
    return line_no


def register_csv(path: Path, people: list[Person]) -> Path:
    from kofu.tasks.demo.register import RegisterRow, write_register_csv

    rows = [
        RegisterRow(
            resident_code=p.resident_code,
            individual_number=p.number,
            family_name=p.family,
            given_name=p.given,
            family_name_kana=p.kana[0],
            given_name_kana=p.kana[1],
            birth_date=p.birth,
            sex="2",
            postal_code="999-0011",
            address=p.address,
            status="resident",
            status_date=None,
        )
        for p in people
    ]
    write_register_csv(rows, path)
    return path


def start_kofu(*args: str, env: dict) -> subprocess.Popen:
    """The real CLI in its own process, started now; ``finish`` waits for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "kofu.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Import the register with the CLI, then run the nightly flow on both deliveries."""
    global OUTSIDE_PHOTO
    root = tmp_path_factory.mktemp("bad-input")
    data = root / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOFU_DATA_DIR", str(data))
        mp.setenv("KOFU_SECRET_KEY", TEST_KEY)
        for name, value in db_env(data).items():
            mp.setenv(name, value)
        FONT_CACHE.mkdir(exist_ok=True)
        (data / "fonts").mkdir(parents=True)
        for cached in FONT_CACHE.iterdir():
            (data / "fonts" / cached.name).symlink_to(cached)
        env = {**os.environ}
        register = register_csv(root / "register.csv", [*PEOPLE.values()])
        importing = start_kofu("residents", "import", str(register), env=env)

        OUTSIDE_PHOTO = root / "outside" / "good.jpg"
        OUTSIDE_PHOTO.parent.mkdir()
        OUTSIDE_PHOTO.write_bytes(portrait_jpeg(1))
        first = root / "2026-11-26"  # ../outside/good.jpg from here is OUTSIDE_PHOTO
        second = root / "2026-11-27"
        lines = {
            **write_delivery(first, [c for c in CASES if c.delivery == 1]),
            **write_delivery(second, [c for c in CASES if c.delivery == 2]),
        }

        imported = finish(importing)
        assert imported.returncode == 0, imported.stderr

        from kofu.base.settings import get_settings
        from kofu.flows.nightly import nightly

        logs = _Records()
        prefect_logger = logging.getLogger("prefect")
        prefect_logger.addHandler(logs)
        try:
            results = [nightly(inbox=str(first)), nightly(inbox=str(second))]
        finally:
            prefect_logger.removeHandler(logs)
        yield {
            "settings": get_settings(),
            "env": env,
            "root": root,
            "folders": {1: first, 2: second},
            "lines": lines,
            "results": results,
            "logs": logs.records,
        }


def outcomes(settings, batch_id: str) -> dict[str, dict]:
    from kofu.models.db import unit_of_work
    from kofu.tasks.reports.records import export_outcomes

    with unit_of_work(settings.db_url) as session:
        return {o["application_id"]: o for o in export_outcomes(session, batch_id)}


def rejected_lines(settings, batch_id: str) -> dict[int, str]:
    from kofu.models import RejectedLine
    from kofu.models.db import unit_of_work

    with unit_of_work(settings.db_url) as session:
        rows = session.execute(
            select(RejectedLine.line_no, RejectedLine.reason).where(
                RejectedLine.batch_id == batch_id
            )
        )
        return dict(rows.all())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_broken_input_ends_in_its_state_with_its_code(run, case):
    batch_id = run["folders"][case.delivery].name
    line_no = run["lines"][case.id]
    if case.state == REJECTED:
        assert rejected_lines(run["settings"], batch_id).get(line_no) == case.codes[0]
        return
    got = outcomes(run["settings"], batch_id).get(APP_ID[case.id])
    assert got is not None, f"line {line_no} made no application"
    assert (got["state"], tuple(got["reasons"])) == (case.state, case.codes)
    assert ("notice_pdf" in got) == (case.state == "notice_generated")
    # A refused photo's export names its refusal letter's file.
    assert ("letter_pdf" in got) == (case.state == "photo_rejected")
    if case.state == "photo_rejected":
        assert Path(got["letter_pdf"]).is_file() and got["letter_number"]


def test_every_line_is_accounted_for_and_nothing_else(run):
    """Each delivery holds exactly the applications and rejected lines of its cases: no
    duplicate made a row, no line vanished, and no technical failure was queued."""
    settings = run["settings"]
    for delivery, folder in run["folders"].items():
        cases = [c for c in CASES if c.delivery == delivery]
        expected_apps = {APP_ID[c.id]: c.state for c in cases if c.state != REJECTED}
        expected_rejected = {run["lines"][c.id]: c.codes[0] for c in cases if c.state == REJECTED}
        got = outcomes(settings, folder.name)
        assert {a: o["state"] for a, o in got.items()} == expected_apps
        assert rejected_lines(settings, folder.name) == expected_rejected
    for result in run["results"]:
        assert (result["failure_queue"], result["review_queue"]) == (0, 0)
    intake = run["results"][0]["this_run"]["intake"]
    first = [c for c in CASES if c.delivery == 1]
    assert intake["lines_read"] == len(first)
    assert intake["received"] == sum(c.state not in (REJECTED, "invalid") for c in first)
    assert intake["invalid"] == sum(c.state == "invalid" for c in first)
    assert intake["rejected_lines"] == sum(c.state == REJECTED for c in first)


def test_good_applications_got_their_notice_and_names_are_stored_verbatim(run):
    from kofu.models import Application, Notice
    from kofu.models.db import unit_of_work

    settings = run["settings"]
    with unit_of_work(settings.db_url) as session:
        rows = session.execute(
            select(Application.application_id, Notice.pdf_path).join(
                Notice, Notice.application_pk == Application.id
            )
        ).all()
        stored = session.execute(
            select(Application.family_name, Application.given_name).where(
                Application.application_id == APP_ID["sql-metacharacters-in-name"]
            )
        ).one()
        # The table survived the metacharacters, with every row in it.
        applications = session.scalar(select(func.count()).select_from(Application))
    assert sorted(a for a, _ in rows) == sorted(APP_ID[c] for c in GOOD)
    assert tuple(stored) == (SQL_FAMILY, SQL_GIVEN)
    assert applications == sum(c.state != REJECTED for c in CASES)
    pdf = dict(rows)[APP_ID["sql-metacharacters-in-name"]]
    text = compact_text(Path(pdf).read_bytes())
    assert "".join((SQL_FAMILY + SQL_GIVEN).split()) in text


def test_an_id_taken_in_on_an_earlier_night_adds_no_row_and_no_notice(run):
    from kofu.models import Application, Notice
    from kofu.models.db import unit_of_work

    app_id = APP_ID["good-without-number"]
    with unit_of_work(run["settings"].db_url) as session:
        rows = session.execute(
            select(Application.batch_id, Application.state).where(
                Application.application_id == app_id
            )
        ).all()
        notices = session.scalar(
            select(func.count())
            .select_from(Notice)
            .join(Application, Notice.application_pk == Application.id)
            .where(Application.application_id == app_id)
        )
    assert [(b, s.value) for b, s in rows] == [(run["folders"][1].name, "notice_generated")]
    assert notices == 1
    second = run["results"][1]["this_run"]["intake"]
    assert (second["received"], second["rejected_lines"]) == (1, 1)


def test_photos_refused_on_size_or_header_were_never_decoded(run):
    """Decoding leaves measures behind (face, exposure…); the size limit leaves only the
    byte count, read no further than one byte past the limit."""
    from kofu.models import Application
    from kofu.models.db import unit_of_work

    with unit_of_work(run["settings"].db_url) as session:
        measures = dict(
            session.execute(select(Application.application_id, Application.photo_measures)).all()
        )
    assert measures[APP_ID["photo-enormous"]] == {"bytes": MAX_PHOTO_BYTES + 1}
    assert set(measures[APP_ID["photo-png-bomb"]]) == {"bytes"}
    assert set(measures[APP_ID["photo-jpeg-bomb"]]) == {"bytes"}
    assert "face_count" in measures[APP_ID["good-with-number"]]  # a decoded photo has them


def test_the_symlinked_photo_was_not_followed(run):
    """It was refused at intake, before any stage could open it; the photo it leads to
    would have passed every check."""
    link = run["folders"][1] / "photos" / f"{APP_ID['photo-symlink-out']}.jpg"
    assert link.is_symlink() and link.resolve() == OUTSIDE_PHOTO
    from kofu.models import Application
    from kofu.models.db import unit_of_work

    with unit_of_work(run["settings"].db_url) as session:
        app = session.scalars(
            select(Application).where(Application.application_id == APP_ID["photo-symlink-out"])
        ).one()
    assert (app.photo, app.photo_measures) == (None, None)


def test_the_number_with_a_bad_check_digit_is_nowhere(run):
    """Nor the numbers typed into other fields: not in the database (nor its WAL), the
    notices, letters or print batches, the delivery once taken in, or the run's logs."""
    settings = run["settings"]
    plain = [BAD_CHECK_DIGIT, *STRAY_NUMBERS]
    needles = [
        *(n.encode() for n in plain),
        *(n.encode("utf-16-le") for n in plain),
        full_width_spaced(NUMBER_IN_ADDRESS).encode(),
    ]
    searched = 0
    for path in [*settings.data_dir.rglob("*"), *run["folders"][1].rglob("*.jsonl")]:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if path.suffix == ".pdf":
                data += compact_text(data).encode()
            assert not any(n in data for n in needles), f"{path} holds the number"
            searched += 1
    assert searched >= 5
    for record in run["logs"]:
        assert not any(n in record.getMessage() for n in plain)


def test_the_runs_logged_no_traceback_and_no_error(run):
    logs = run["logs"]
    assert any("intake 2026-11-26" in r.getMessage() for r in logs)  # the capture works
    assert not [r.getMessage() for r in logs if r.exc_info or r.levelno >= logging.ERROR]
    assert not [r for r in logs if "Traceback" in r.getMessage()]


# --- the register: one bad row in the middle refuses the whole file ---------------------

BAD_ROWS = {
    # how the row is broken: the words the one-line error must start with
    "impossible-birth-date": "birth_date/status_date must be YYYY-MM-DD",
    "shift-jis-name": "not UTF-8 text",
    "unquoted-comma": "more fields than the header",
    "wrong-check-digit": "individual_number is not 12 digits with a valid check digit",
    "control-characters-in-name": "family_name holds a control or invisible format character",
    "right-to-left-in-address": "address holds a control or invisible format character",
    "number-in-address": "address holds an individual number",
}


def bad_register(path: Path, kind: str) -> tuple[Path, int]:
    """Rows that would add two residents and change two, with the bad row between them
    (line 4 of the file). Returns the path and the bad row's line."""
    from kofu.tasks.register.core import REGISTER_COLUMNS

    def row(p: Person, **over) -> list[str]:
        values = {
            "resident_code": p.resident_code,
            "individual_number": p.number or "",
            "family_name": p.family,
            "given_name": p.given,
            "family_name_kana": p.kana[0],
            "given_name_kana": p.kana[1],
            "birth_date": p.birth.isoformat(),
            "sex": "2",
            "postal_code": "999-0011",
            "address": p.address,
            "status": "resident",
            "status_date": "",
            **over,
        }
        return [values[c] for c in REGISTER_COLUMNS]

    new = Person("10000000100", None, "新井", "一郎", ("アライ", "イチロウ"), date(2000, 1, 2), "見本市東町1丁目1番1号")  # fmt: skip
    bad = {
        "impossible-birth-date": row(new, resident_code="10000000101", birth_date="1980-02-30"),
        "shift-jis-name": row(new, resident_code="10000000101"),
        "unquoted-comma": row(new, resident_code="10000000101"),
        "wrong-check-digit": row(new, resident_code="10000000101", individual_number=BAD_CHECK_DIGIT),
        "control-characters-in-name": row(new, resident_code="10000000101", family_name="新\x1b\x07\x00井"),
        "right-to-left-in-address": row(new, resident_code="10000000101", address="見本市\u202e東町1丁目"),
        "number-in-address": row(new, resident_code="10000000101", address="見本市東町 " + NUMBER_IN_ADDRESS),
    }[kind]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REGISTER_COLUMNS)
    writer.writerow(row(PEOPLE["yamada"], address="見本市西町2丁目2番2号", status="moved_out",
                        status_date="2026-10-01"))  # fmt: skip
    writer.writerow(row(new))
    writer.writerow(bad)
    writer.writerow(row(PEOPLE["mori"], status="deceased", status_date="2026-10-02"))
    writer.writerow(row(new, resident_code="10000000102"))
    data = out.getvalue().encode("utf-8")
    line = ",".join(bad).encode("utf-8")
    assert data.count(line) == 1
    if kind == "shift-jis-name":  # one row saved from another program
        data = data.replace(line, line.replace("新井".encode(), "新井".encode("cp932")))
    if kind == "unquoted-comma":  # a comma inside the address, without quotes
        data = data.replace(line, line.replace("東町1丁目".encode(), "東町1丁目,".encode()))
    path.write_bytes(data)
    return path, 4


def residents_table(settings) -> list[tuple]:
    from kofu.models import Resident
    from kofu.models.db import unit_of_work

    with unit_of_work(settings.db_url) as session:
        return [tuple(r) for r in session.execute(select(Resident.__table__).order_by("id"))]


def assert_refused(result: subprocess.CompletedProcess, line: int, words: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    errors = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"kofu: error: register line {line}: {words}"), errors[0]
    assert errors[0].endswith("nothing was imported")
    assert not any(n in result.stderr + result.stdout for n in (BAD_CHECK_DIGIT, *STRAY_NUMBERS))


@pytest.fixture(scope="module")
def refused(run, tmp_path_factory):
    """Each bad register imported with the CLI into the register the nightly runs used, and
    one into an empty database: all at once, each in its own process (each waits for the
    others' write transactions). The residents table before and after, and each result."""
    root = tmp_path_factory.mktemp("registers")
    before = residents_table(run["settings"])
    jobs = {}
    for kind in BAD_ROWS:
        path, line = bad_register(root / f"{kind}.csv", kind)
        jobs[kind] = start_kofu("residents", "import", str(path), env=run["env"]), line
    path, line = bad_register(root / "into-empty.csv", "impossible-birth-date")
    empty = {**run["env"], "KOFU_DATA_DIR": str(root / "var"), **db_env(root / "var")}
    jobs["into-empty"] = start_kofu("residents", "import", str(path), env=empty), line
    results = {kind: (finish(process), line) for kind, (process, line) in jobs.items()}
    return {
        "before": before,
        "after": residents_table(run["settings"]),
        "results": results,
        "empty_db": db_url_for(root / "var"),
    }


@pytest.mark.parametrize("kind", BAD_ROWS)
def test_a_register_with_a_bad_row_changes_nothing(refused, kind):
    """One line naming the row, exit 2; on the register the nightly run used, no resident
    added and none changed, though the rows before the bad one add two and change two."""
    result, line = refused["results"][kind]
    assert_refused(result, line, BAD_ROWS[kind])
    assert len(refused["before"]) == len(PEOPLE)
    assert refused["after"] == refused["before"]


def test_a_register_with_a_bad_row_adds_nothing_to_an_empty_one(refused):
    from kofu.models import Resident
    from kofu.models.db import unit_of_work

    result, line = refused["results"]["into-empty"]
    assert_refused(result, line, BAD_ROWS["impossible-birth-date"])
    with unit_of_work(refused["empty_db"]) as session:
        assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_a_blanked_delivery_taken_in_again_is_the_same_delivery_without_numbers(run, tmp_path):
    """Once taken in, the delivery holds no individual number, and every line is still what it
    was: taken in again into a new database, each good line is the same application without
    its number, each broken one broken in the same way (one that was broken only by a
    number is broken by it no more), and no line that was JSON is JSON no more."""
    from kofu.base.mynumber import individual_numbers_in
    from kofu.models import Application, ApplicationState, RejectedLine
    from kofu.models.db import unit_of_work, upgrade_schema
    from kofu.tasks.intake.core import DELIVERY_FILE
    from kofu.tasks.intake.records import take_in_delivery

    folder = run["folders"][1]
    cases = [c for c in CASES if c.delivery == 1]
    blanked = (folder / DELIVERY_FILE).read_bytes()
    assert not individual_numbers_in(blanked.decode("utf-8", errors="replace"))
    write_delivery(tmp_path / "original", cases)  # the same lines, as they came
    original = (tmp_path / "original" / DELIVERY_FILE).read_bytes()
    before, after = original.splitlines(), blanked.splitlines()
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert _is_json(old.removeprefix(b"\xef\xbb\xbf")) == _is_json(
            new.removeprefix(b"\xef\xbb\xbf")
        )

    (tmp_path / "var").mkdir()
    url = db_url_for(tmp_path / "var")
    upgrade_schema(url)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
    with unit_of_work(url, write=True) as session:
        take_in_delivery(session, folder, folder.name, TEST_KEY.encode(), today)
        session.commit()
    fields = ["submitted_at", "channel", "family_name", "given_name", "family_name_kana",
              "given_name_kana", "birth_date", "sex", "postal_code", "address", "photo"]  # fmt: skip

    def applications(db_url: str) -> dict[str, tuple]:
        columns = [getattr(Application, f) for f in fields]
        with unit_of_work(db_url) as session:
            rows = session.execute(
                select(Application.application_id, Application.state, Application.reasons,
                       Application.individual_number_hmac, *columns)
                .where(Application.batch_id == folder.name)
            )  # fmt: skip
            return {r[0]: tuple(r[1:]) for r in rows}

    first, again = applications(run["settings"].db_url), applications(url)
    with unit_of_work(url) as session:
        rejected = dict(session.execute(select(RejectedLine.line_no, RejectedLine.reason)).all())
    number_only = {"individual-number-in-field", "bad-individual-number"}
    for case in cases:
        if case.state == REJECTED:
            assert rejected.get(run["lines"][case.id]) == case.codes[0], case.id
            continue
        state, reasons, number_hmac, *values = again[APP_ID[case.id]]
        assert number_hmac is None, case.id
        if case.state == "invalid" and not set(case.codes) <= number_only:
            assert (state, reasons) == (ApplicationState.INVALID, list(case.codes)), case.id
        elif case.state != "invalid":
            assert state == ApplicationState.RECEIVED, case.id
            assert values == list(first[APP_ID[case.id]][3:]), case.id
        else:  # broken only by the number, which is gone: a name that was only a number
            # is empty now (bad-name), an address keeps the rest of its text
            assert not set(reasons) & number_only, (case.id, reasons)


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True
