from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kofu.db import unit_of_work
from models import Application, ApplicationState, RejectedLine
from tasks.intake import ParsedApplication, RejectedDeliveryLine, parse_line, take_in_delivery
from tests.helpers import application_line, jpeg_bytes, write_delivery

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


def test_bad_check_digit_is_a_note_not_invalid(tmp_path):
    item = parse(tmp_path, encode(application_line(individual_number="983205673215")))
    assert item.valid and item.reasons == ["individual-number-check-digit"]
    assert "individual_number_hmac" not in item.fields


def test_taking_in_the_same_delivery_twice_adds_nothing(kofu_env, tmp_path):
    lines = [
        application_line(application_id="1001", photo="photos/1.jpg"),
        application_line(application_id="1002", photo="photos/2.jpg", birth_date="1999-13-01"),
        b"garbage",
        application_line(application_id="1001", photo="photos/1.jpg"),  # duplicate inside
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
    assert states == {"1001": ApplicationState.RECEIVED, "1002": ApplicationState.INVALID}
    assert reasons == ["duplicate-application-id", "malformed-json"]


def test_a_folder_without_a_delivery_is_a_clear_error(kofu_env, tmp_path):
    from kofu.errors import UserError

    with (
        unit_of_work(kofu_env.db_url, write=True) as session,
        pytest.raises(UserError, match="no applications.jsonl"),
    ):
        take_in_delivery(session, tmp_path, "x", KEY, TODAY)


def test_once_taken_in_the_delivery_keeps_no_individual_number(kofu_env, tmp_path):
    from tasks.intake import take_in

    app_id = "12345678901234567890123"  # 23 digits: not a number to blank
    lines = [
        application_line(application_id=app_id, photo="photos/1.jpg"),
        application_line(application_id="1002", individual_number="１２３４５６７８９０１８"),
        b'{"application_id": "1003", "individual_number": "9832 0567 3214", broken',
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
    assert app_id.encode() in after and b'"individual_number": ""' in after
    # Taken in again: every line is known, nothing is added or changed.
    again = take_in(kofu_env, folder, "2026-11-26", TODAY)
    assert (again.received, again.invalid, again.rejected_lines) == (0, 0, 0)
    assert again.already_known == 4 and again.numbers_scrubbed == 0
