import json
import os
import random
import re
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kofu.models import Application, ApplicationState, RejectedLine
from kofu.models.db import unit_of_work
from kofu.tasks.intake.core import (
    MAX_CHARS,
    MAX_LINE_BYTES,
    ParsedApplication,
    RejectedDeliveryLine,
    parse_line,
    read_delivery_lines,
)
from kofu.tasks.intake.records import take_in_delivery
from kofu.tasks.intake.scrub import scrub_delivery, scrubbed_pieces
from tests.helpers import aid, application_line, jpeg_bytes, write_delivery

TODAY = date(2026, 11, 26)
KEY = b"k" * 32


def parse(folder: Path, raw: bytes):
    return parse_line(1, raw, folder, KEY, TODAY)


def encode(line: dict) -> bytes:
    import json

    return json.dumps(line, ensure_ascii=False).encode()


def test_good_line_is_parsed_and_number_only_hashed(tmp_path):
    item = parse(tmp_path, encode(application_line()))
    assert isinstance(item, ParsedApplication) and item.valid and item.reasons == []
    assert "983205673214" not in repr(item.fields)
    assert len(item.fields["individual_number_hmac"]) == 64


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed-json"),
        (b"\xff\xfe{}", "not-utf8"),
        (b"[1, 2]", "not-an-object"),
        (b'{"application_id": "12a"}', "bad-application-id"),
        (b'{"family_name": "x"}', "bad-application-id"),
        (b'{"application_id": "1", "pad": "' + b"x" * 70_000 + b'"}', "line-too-long"),
    ],
)
def test_unreadable_lines_are_rejected_with_a_reason(tmp_path, raw, reason):
    assert parse(tmp_path, raw) == RejectedDeliveryLine(1, reason)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"birth_date": None}, "missing-field"),
        ({"birth_date": "2023-02-30"}, "bad-birth-date"),
        ({"birth_date": "2099-01-01"}, "bad-birth-date"),
        ({"postal_code": "12-345"}, "bad-postal-code"),
        ({"channel": "fax"}, "bad-channel"),
        ({"sex": "3"}, "bad-sex"),
        ({"submitted_at": "2026-11-25 21:04"}, "bad-submitted-at"),
        ({"individual_number": "12345"}, "bad-individual-number"),
        ({"family_name": "佐\x00藤"}, "bad-name"),
        ({"photo": "../../etc/passwd"}, "photo-path-outside-delivery"),
        ({"photo": "/etc/passwd"}, "photo-path-outside-delivery"),
        ({"extra": "x"}, "unexpected-field"),
    ],
)
def test_contract_breaches_make_the_application_invalid(tmp_path, overrides, reason):
    item = parse(tmp_path, encode(application_line(**overrides)))
    assert isinstance(item, ParsedApplication)
    assert not item.valid and reason in item.reasons


def test_symlink_out_of_the_delivery_is_refused(tmp_path):
    folder = tmp_path / "delivery"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "link.jpg").symlink_to("/etc/hostname")
    item = parse(folder, encode(application_line(photo="photos/link.jpg")))
    assert "photo-path-outside-delivery" in item.reasons


def test_a_bad_check_digit_is_kept_as_a_reason_and_the_number_dropped(tmp_path):
    """A typing mistake on an optional field: the application stays valid and goes on to
    matching without the number, which is neither stored nor hashed."""
    item = parse(tmp_path, encode(application_line(individual_number="983205673215")))
    assert item.valid and item.reasons == ["individual-number-check-digit"]
    assert "individual_number_hmac" not in item.fields
    assert "983205673215" not in repr(item)
    # With a real break of the contract beside it, the application is invalid for both.
    both = parse(
        tmp_path,
        encode(application_line(individual_number="983205673215", birth_date="1980-02-30")),
    )
    assert not both.valid
    assert both.reasons == ["individual-number-check-digit", "bad-birth-date"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # Valid JSON that Python's json refuses with RecursionError / ValueError: both
        # used to escape parse_line and stop the whole intake.
        (b'{"application_id": "1", "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "malformed-json"),
        (b'{"application_id": "1", "sex": 1' + b"0" * 5_000 + b"}", "malformed-json"),
        ('{"application_id": "١٢٣"}'.encode(), "bad-application-id"),  # not ASCII digits
    ],
)
def test_json_python_cannot_take_is_rejected_not_raised(tmp_path, raw, reason):
    assert parse(tmp_path, raw) == RejectedDeliveryLine(1, reason)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        # Present but null or not text: each used to pass as if the field were fine.
        ({"birth_date": None}, "bad-birth-date"),
        ({"photo": 123}, "bad-photo-path"),
        ({"channel": ["pc"]}, "bad-channel"),
        ({"postal_code": 9990011}, "bad-postal-code"),
        ({"submitted_at": 0}, "bad-submitted-at"),
        ({"sex": True}, "bad-sex"),  # True == 1 in Python
        ({"sex": 1.0}, "bad-sex"),
        ({"birth_date": "19800401"}, "bad-birth-date"),  # fromisoformat takes it
        ({"birth_date": "1980-W14-2"}, "bad-birth-date"),
        ({"postal_code": "９９９-００１１"}, "bad-postal-code"),
        ({"given_name": "太\x85郎"}, "bad-name"),  # a C1 control
        ({"family_name": "佐" * 101}, "bad-name"),  # the column holds 100
        ({"address": "見" * 301}, "bad-address"),  # the column holds 300
    ],
)
def test_fields_of_the_wrong_kind_make_the_application_invalid(tmp_path, overrides, reason):
    line = {**application_line(), **overrides}  # keeps a None as JSON null
    item = parse(tmp_path, encode(line))
    assert isinstance(item, ParsedApplication)
    assert not item.valid and item.reasons == [reason]


def test_the_longest_texts_are_the_columns_lengths():
    """The pure core cannot read the table: its limits are written out, and must be the
    columns' lengths, or a long name fails the intake on PostgreSQL instead."""
    columns = {name: Application.__table__.c[name].type.length for name in MAX_CHARS}
    assert columns == MAX_CHARS


def test_sex_as_a_number_is_fine(tmp_path):
    item = parse(tmp_path, encode(application_line(sex=2)))
    assert item.valid and item.fields["sex"] == "2"


def test_a_lone_surrogate_makes_the_field_invalid_not_the_database_fail(tmp_path):
    raw = json.dumps(application_line(family_name="\ud800")).encode()  # ASCII, with \ud800
    assert parse(tmp_path, raw).reasons == ["bad-name"]


def test_photo_paths_that_are_no_photo_file(tmp_path):
    folder = tmp_path / "delivery"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "loop.jpg").symlink_to("loop.jpg")
    os.mkfifo(folder / "photos" / "pipe.jpg")
    for path in ("photos/loop.jpg", "photos", ".", "photos/pipe.jpg", "a" * 300 + ".jpg"):
        item = parse(folder, encode(application_line(photo=path)))
        assert item.reasons == ["bad-photo-path"], path
    # Not there yet is fine: the photo stage queues it until it arrives.
    assert parse(folder, encode(application_line(photo="photos/later.jpg"))).valid


def test_a_long_line_is_cut_without_being_held_and_the_lines_after_it_count(tmp_path):
    path = tmp_path / "applications.jsonl"
    with path.open("wb") as fh:
        fh.write(b"first\n" + b"x" * 10_000_000 + b"\n\nlast\n")
    tracemalloc.start()
    try:
        lines = list(read_delivery_lines(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [n for n, _ in lines] == [1, 2, 4]
    assert len(lines[1][1]) == MAX_LINE_BYTES + 1 and lines[2][1] == b"last\n"
    assert peak < 1_000_000
    assert parse(tmp_path, lines[1][1]) == RejectedDeliveryLine(1, "line-too-long")


def _scrub_whole(data: bytes) -> tuple[bytes, int]:
    """The plain definition: one substitution over the whole text."""
    pattern = re.compile(
        r"(?<![0-9０-９])[0-9０-９]{4}[ -]?[0-9０-９]{4}[ -]?[0-9０-９]{4}(?![0-9０-９])"
    )
    text, count = pattern.subn("", data.decode("utf-8", errors="surrogateescape"))
    return text.encode("utf-8", errors="surrogateescape"), count


def test_scrubbing_in_pieces_equals_scrubbing_the_whole_file():
    rng = random.Random(7)
    alphabet = [*"0123456789", "０", "９", " ", "-", "x", "あ", "\n", "\udcff", "\udcef"]
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(300)))
        data = text.encode("utf-8", errors="surrogateescape")
        size = rng.choice([1, 2, 3, 5, 16, 64, 1 << 20])
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        pieces = list(scrubbed_pieces(chunks))
        got = b"".join(p for p, _ in pieces), sum(n for _, n in pieces)
        assert got == _scrub_whole(data), (text, size)


def test_scrubbing_a_delivery_with_a_10_mb_line_streams_it(tmp_path):
    number = "983205673214"
    body = f'{{"individual_number": "{number}"}}\n'.encode()
    before = body + b'{"a": "' + b"x" * 10_000_000 + number.encode() + b'"}\n' + body
    (tmp_path / "applications.jsonl").write_bytes(before)
    tracemalloc.start()
    try:
        assert scrub_delivery(tmp_path / "applications.jsonl", MAX_LINE_BYTES) == 3
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    after = (tmp_path / "applications.jsonl").read_bytes()
    assert number.encode() not in after and after.count(b"\n") == 3
    # The number's own field becomes null; inside the long line, its digits go.
    quoted = f'"{number}"'.encode()
    assert after == before.replace(quoted, b"null").replace(number.encode(), b"")
    assert peak < 8_000_000


def test_taking_in_the_same_delivery_twice_adds_nothing(kofu_env, tmp_path):
    lines = [
        application_line(application_id=aid(1001), photo="photos/1.jpg"),
        application_line(application_id=aid(1002), photo="photos/2.jpg", birth_date="1999-13-01"),
        b"garbage",
        application_line(application_id=aid(1001), photo="photos/1.jpg"),  # duplicate inside
    ]
    folder = write_delivery(tmp_path / "2026-11-26", lines, {"photos/1.jpg": jpeg_bytes()})
    for attempt in range(2):
        with unit_of_work(kofu_env.db_url, write=True) as session:
            result = take_in_delivery(session, folder, "2026-11-26", KEY, TODAY)
            session.commit()
        if attempt == 0:
            assert (result.received, result.invalid, result.rejected_lines) == (1, 1, 2)
        else:
            assert (result.received, result.invalid, result.rejected_lines) == (0, 0, 0)
            assert result.already_known == 4
    with unit_of_work(kofu_env.db_url) as session:
        states = dict(session.execute(select(Application.application_id, Application.state)).all())
        reasons = sorted(session.scalars(select(RejectedLine.reason)))
        assert session.scalar(select(func.count()).select_from(Application)) == 2
    assert states == {aid(1001): ApplicationState.RECEIVED, aid(1002): ApplicationState.INVALID}
    assert reasons == ["duplicate-application-id", "malformed-json"]


def test_a_folder_without_a_delivery_is_a_clear_error(kofu_env, tmp_path):
    from kofu.base.errors import UserError

    with (
        unit_of_work(kofu_env.db_url, write=True) as session,
        pytest.raises(UserError, match="no applications.jsonl"),
    ):
        take_in_delivery(session, tmp_path, "x", KEY, TODAY)


def test_a_batch_id_longer_than_its_column_is_refused_before_anything_is_stored(kofu_env, tmp_path):
    """PostgreSQL would refuse the row (SQLite would store it): one clear error on both."""
    from kofu.base.errors import UserError
    from kofu.models import Batch

    folder = write_delivery(tmp_path / ("b" * 65), [application_line()], {})
    with (
        unit_of_work(kofu_env.db_url, write=True) as session,
        pytest.raises(UserError, match="65 characters long; at most 64"),
    ):
        take_in_delivery(session, folder, folder.name, KEY, TODAY)
    with unit_of_work(kofu_env.db_url) as session:
        assert session.scalars(select(Batch)).all() == []
    with unit_of_work(kofu_env.db_url, write=True) as session:  # 64 is fine
        assert take_in_delivery(session, folder, "b" * 64, KEY, TODAY).received == 1
        session.commit()


def test_once_taken_in_the_delivery_keeps_no_individual_number(kofu_env, tmp_path):
    from kofu.tasks.intake.records import take_in

    app_id = "12345678901234567890123"  # 23 digits: not a number to blank
    lines = [
        application_line(application_id=app_id, photo="photos/1.jpg"),
        application_line(application_id=aid(1002), individual_number="１２３４５６７８９０１８"),
        b'{"application_id": aid(1003), "individual_number": "9832 0567 3214", broken',
        b"\xff\xfe not utf-8 983205673214",
    ]
    folder = write_delivery(tmp_path / "2026-11-26", lines, {"photos/1.jpg": jpeg_bytes()})
    before = (folder / "applications.jsonl").read_bytes()
    result = take_in(kofu_env, folder, "2026-11-26", TODAY)
    assert result.numbers_scrubbed == 4
    after = (folder / "applications.jsonl").read_bytes()
    for number in (b"983205673214", b"9832 0567 3214", "１２３４５６７８９０１８".encode()):
        assert number in before and number not in after
    assert after.count(b"\n") == before.count(b"\n") and b"\xff\xfe not utf-8" in after
    assert app_id.encode() in after and b'"individual_number": null' in after
    # Taken in again: every line is known, nothing is added or changed.
    again = take_in(kofu_env, folder, "2026-11-26", TODAY)
    assert (again.received, again.invalid, again.rejected_lines) == (0, 0, 0)
    assert again.already_known == 4 and again.numbers_scrubbed == 0
