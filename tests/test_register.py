import pytest
from sqlalchemy import select

from kofu.db import unit_of_work
from kofu.errors import UserError
from models import Resident
from tasks.register import REGISTER_COLUMNS, read_register, upsert_residents

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
    raw = (kofu_env.data_dir / "kofu.sqlite3").read_bytes()
    assert b"983205673214" not in raw
    with unit_of_work(kofu_env.db_url) as session:
        residents = session.scalars(select(Resident).order_by(Resident.resident_code)).all()
    assert residents[0].individual_number_hmac and residents[1].individual_number_hmac is None
    assert residents[0].address_key == "中央1-2-3"


def test_a_bad_row_imports_nothing_and_names_the_line_not_the_data(kofu_env, tmp_path):
    bad = {**ROW, "resident_code": "12345678903", "individual_number": "983205673215"}
    path = write_csv(tmp_path / "r.csv", [ROW, bad])
    with pytest.raises(UserError) as err:
        read_register(path, KEY)
    assert "line 3" in str(err.value) and "983205673215" not in str(err.value)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("resident_code,family_name\n1,x\n", encoding="utf-8")
    with pytest.raises(UserError, match="missing column"):
        read_register(path, KEY)
