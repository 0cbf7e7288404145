import random

import pytest
from sqlalchemy import select

from kofu.base.errors import UserError
from kofu.models import Resident
from kofu.models.db import unit_of_work
from kofu.tasks.register.core import REGISTER_COLUMNS, RegisterRowError, read_register
from kofu.tasks.register.records import upsert_residents
from tests.helpers import database_bytes, valid_number

KEY = b"k" * 32
ROW = {
    "resident_code": "12345678901",
    "individual_number": "983205673214",
    "family_name": "佐藤",
    "given_name": "太郎",
    "family_name_kana": "サトウ",
    "given_name_kana": "タロウ",
    "birth_date": "1980-04-01",
    "sex": "1",
    "postal_code": "999-0011",
    "address": "見本市中央1丁目2番3号",
    "status": "resident",
    "status_date": "",
}


def write_csv(path, rows):
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=REGISTER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_upserts_and_stores_only_the_keyed_hash(kofu_env, tmp_path):
    path = write_csv(
        tmp_path / "r.csv", [ROW, {**ROW, "resident_code": "12345678902", "individual_number": ""}]
    )
    for expected in ((2, 0), (0, 2)):
        with unit_of_work(kofu_env.db_url, write=True) as session:
            result = upsert_residents(session, read_register(path, KEY))
            session.commit()
        assert (result.inserted, result.updated) == expected
    # The database's bytes: the SQLite files, or a data dump on PostgreSQL.
    raw = database_bytes(kofu_env.data_dir)
    assert b"983205673214" not in raw
    with unit_of_work(kofu_env.db_url) as session:
        residents = session.scalars(select(Resident).order_by(Resident.resident_code)).all()
    assert residents[0].individual_number_hmac and residents[1].individual_number_hmac is None
    assert residents[0].address_key == "中央1-2-3"


def test_a_bad_row_imports_nothing_and_names_the_line_not_the_data(kofu_env, tmp_path):
    bad = {**ROW, "resident_code": "12345678903", "individual_number": "983205673215"}
    path = write_csv(tmp_path / "r.csv", [ROW, bad])
    with pytest.raises(UserError) as err:
        list(read_register(path, KEY))
    assert "line 3" in str(err.value) and "983205673215" not in str(err.value)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("resident_code,family_name\n1,x\n", encoding="utf-8")
    with pytest.raises(UserError, match="missing column"):
        read_register(path, KEY)


def register_rows(n: int, start: int = 0) -> list[dict]:
    """n valid, distinct register rows (resident codes start, start + 1, ...)."""
    rng = random.Random(start)
    return [
        {
            **ROW,
            "resident_code": f"{i:011d}",
            "individual_number": valid_number(rng),
            "birth_date": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
            "address": f"見本市中央{1 + i % 9}丁目{i % 50 + 1}番{i % 20 + 1}号",
        }
        for i in range(start, start + n)
    ]


def import_file(url, path) -> tuple[int, int]:
    """As ``kofu residents import`` does: stream the rows in, commit once at the end."""
    with unit_of_work(url, write=True) as session:
        result = upsert_residents(session, read_register(path, KEY))
        session.commit()
    return result.inserted, result.updated


def table(url) -> list[tuple]:
    with unit_of_work(url) as session:
        return [tuple(r) for r in session.execute(select(Resident.__table__).order_by("id"))]


def by_code(url) -> dict[str, Resident]:
    with unit_of_work(url) as session:
        return {r.resident_code: r for r in session.scalars(select(Resident))}


def test_a_reimport_writes_changed_rows_and_counts_new_and_existing(kofu_env, tmp_path):
    first = register_rows(3)
    assert import_file(kofu_env.db_url, write_csv(tmp_path / "1.csv", first)) == (3, 0)
    before = by_code(kofu_env.db_url)
    moved = {**first[1], "address": "見本市北町9丁目8番7号", "status": "moved_out"}
    moved["status_date"] = "2026-10-01"
    numbered = {**first[2], "individual_number": ""}
    second = [first[0], moved, numbered, *register_rows(2, start=10)]
    assert import_file(kofu_env.db_url, write_csv(tmp_path / "2.csv", second)) == (2, 3)

    after = by_code(kofu_env.db_url)
    assert len(after) == 5
    assert after[first[0]["resident_code"]].address == first[0]["address"]
    changed = after[moved["resident_code"]]
    assert (changed.address, changed.address_key) == ("見本市北町9丁目8番7号", "北町9-8-7")
    assert changed.status.value == "moved_out" and str(changed.status_date) == "2026-10-01"
    assert before[numbered["resident_code"]].individual_number_hmac is not None
    assert after[numbered["resident_code"]].individual_number_hmac is None
    # Updated in place: same primary keys, so applications keep pointing at their resident.
    assert all(after[code].id == r.id for code, r in before.items())


def test_updated_at_moves_only_for_rows_that_changed(kofu_env, tmp_path):
    rows = register_rows(2)
    import_file(kofu_env.db_url, write_csv(tmp_path / "1.csv", rows))
    before = by_code(kofu_env.db_url)
    changed = {**rows[1], "given_name": "次郎"}
    import_file(kofu_env.db_url, write_csv(tmp_path / "2.csv", [rows[0], changed]))
    after = by_code(kofu_env.db_url)
    same, moved = rows[0]["resident_code"], rows[1]["resident_code"]
    assert after[same].updated_at == before[same].updated_at
    assert after[moved].updated_at > before[moved].updated_at
    assert after[moved].given_name == "次郎"


def test_a_bad_row_late_in_a_big_file_leaves_the_register_as_it_was(kofu_env, tmp_path):
    # More rows than one slice, so earlier slices are written before the bad row is read.
    rows = register_rows(12_000)
    import_file(kofu_env.db_url, write_csv(tmp_path / "1.csv", rows))
    before = table(kofu_env.db_url)
    changed = [{**row, "given_name": "次郎"} for row in rows]
    bad = {**ROW, "resident_code": "99999999999", "postal_code": "9990011"}
    path = write_csv(tmp_path / "2.csv", [*changed, *register_rows(3_000, start=20_000), bad])
    with pytest.raises(RegisterRowError, match="register line 15002: postal_code"):
        import_file(kofu_env.db_url, path)
    assert table(kofu_env.db_url) == before


def test_a_resident_code_twice_imports_nothing(kofu_env, tmp_path):
    rows = register_rows(6_000)
    path = write_csv(tmp_path / "r.csv", [*rows, {**rows[0], "given_name": "次郎"}])
    with pytest.raises(RegisterRowError, match="register line 6002: resident_code appears"):
        import_file(kofu_env.db_url, path)
    assert table(kofu_env.db_url) == []


def test_file_errors_keep_their_one_line_messages(tmp_path):
    # A missing file fails at once, so the CLI stops before it opens the database.
    with pytest.raises(UserError, match="register file not found"):
        read_register(tmp_path / "nope.csv", KEY)
    # Bad bytes far into the file surface while the rows stream, with the same message.
    path = write_csv(tmp_path / "r.csv", register_rows(1_000))
    path.write_bytes(path.read_bytes() + b"\xff\xfe\n")
    rows = read_register(path, KEY)
    with pytest.raises(UserError, match="not UTF-8 text"):
        list(rows)
    # A folder is a one-line error too, not an unexpected IsADirectoryError.
    with pytest.raises(UserError, match="cannot read the register file"):
        read_register(tmp_path, KEY)


def _raw_register(path, *lines: bytes):
    header = ",".join(REGISTER_COLUMNS).encode()
    path.write_bytes(b"\n".join([header, *lines]) + b"\n")
    return path


def _raw_row(**over) -> bytes:
    return ",".join({**ROW, **over}[c] for c in REGISTER_COLUMNS).encode()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # A row saved as Shift_JIS among UTF-8 rows: named by its line.
        (_raw_row(resident_code="12345678902").replace("佐藤".encode(), "佐藤".encode("cp932")),
         "register line 4: not UTF-8 text (saved as Shift_JIS?)"),
        # A comma in the address without quotes: every field after it shifts.
        (_raw_row(resident_code="12345678902", address="見本市中央1丁目,2番3号"),
         "register line 4: more fields than the header"),
        (_raw_row(resident_code="12345678902").rsplit(b",", 2)[0],
         "register line 4: fewer fields than the header"),
        (_raw_row(resident_code="１２３４５６７８９０２"),
         "register line 4: resident_code must be 11 digits"),
    ],
)  # fmt: skip
def test_a_bad_row_is_named_by_its_line_in_the_file(tmp_path, bad, message):
    # A blank line before it: the line number is the file's, as an editor shows it.
    path = _raw_register(tmp_path / "r.csv", _raw_row(), b"", bad, _raw_row(resident_code="1" * 11))
    with pytest.raises(RegisterRowError) as err:
        list(read_register(path, KEY))
    assert str(err.value) == f"{message}; nothing was imported"
    assert "佐藤" not in str(err.value) and "983205673214" not in str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("family_name", "長" * 101, "family_name is longer than 100 characters"),
        ("address", "見本市中央1丁目" + "1" * 300, "address is longer than 300 characters"),
        # 99 characters, each three once normalised: the key would not fit its column.
        ("family_name", "㍿" * 99, "family_name and given_name too long once normalised"),
    ],
)
def test_a_value_longer_than_its_column_imports_nothing(kofu_env, tmp_path, field, value, words):
    """PostgreSQL would refuse the row mid-import (SQLite would keep it): refused by name on
    both, before anything is written."""
    rows = register_rows(2)
    path = write_csv(tmp_path / "r.csv", [rows[0], {**rows[1], field: value}])
    with pytest.raises(RegisterRowError, match=f"register line 3: {words}"):
        import_file(kofu_env.db_url, path)
    assert table(kofu_env.db_url) == []


def test_a_database_error_quotes_no_personal_data(kofu_env, tmp_path):
    """A statement that fails (here a resident code inserted twice) is reported without its
    parameters: the message may end up in a log or in Prefect's record of the run."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from kofu.models.base import utcnow

    secret = {**ROW, "family_name": "秘密", "address": "見本市秘密町1丁目2番3号"}
    (row,) = read_register(write_csv(tmp_path / "r.csv", [secret]), KEY)
    row["updated_at"] = utcnow()
    with unit_of_work(kofu_env.db_url, write=True) as session:
        session.execute(insert(Resident.__table__), [row])
        with pytest.raises(IntegrityError) as err:
            session.execute(insert(Resident.__table__), [row])
    assert "秘密" not in str(err.value), err.value


def test_the_pure_readers_limits_are_the_tables():
    """kofu.tasks.register.core writes out the residents table's column lengths and
    statuses (a pure core names no model): they must be the table's."""
    from kofu.models import ResidentStatus
    from kofu.tasks.register.core import MAX_CHARS, STATUSES

    assert {
        c.name: c.type.length
        for c in Resident.__table__.columns
        if getattr(c.type, "length", None) is not None
    } == MAX_CHARS
    assert set(STATUSES) == set(ResidentStatus)
