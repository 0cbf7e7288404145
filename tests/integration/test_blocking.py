"""find_candidates against a real register file: each blocking key finds the resident the
others miss, through the indexes the migrations build."""

import re
from datetime import date

import pytest

from kofu.base.mynumber import keyed_hash
from kofu.models import ApplicationState as S
from kofu.models.db import unit_of_work
from kofu.tasks.matching.core import Applicant, decide_match, person_keys
from kofu.tasks.matching.records import find_candidates
from kofu.tasks.matching.scoring import ScoringRules
from kofu.tasks.register.core import read_register
from kofu.tasks.register.records import upsert_residents
from tests.helpers import ON_POSTGRES
from tests.integration.test_register import ROW, write_csv

KEY = b"k" * 32
TARO = {**ROW, "individual_number": ""}
# Born the same day in another street: a stranger the birth-date key always brings.
STRANGER = {
    **TARO,
    "resident_code": "12345678909",
    "family_name": "田中",
    "given_name": "健一",
    "family_name_kana": "タナカ",
    "given_name_kana": "ケンイチ",
    "postal_code": "999-0033",
    "address": "見本市南町9丁目9番9号",
}


@pytest.fixture
def register(kofu_env, tmp_path):
    path = write_csv(tmp_path / "register.csv", [TARO, STRANGER])
    with unit_of_work(kofu_env.db_url, write=True) as session:
        upsert_residents(session, read_register(path, KEY))
        session.commit()
    return kofu_env.db_url


def found(db_url, wide=False, **typed) -> tuple[list[str], Applicant]:
    fields = {
        "family": "佐藤",
        "given": "太郎",
        "family_kana": "サトウ",
        "given_kana": "タロウ",
        "birth_date": date(1980, 4, 1),
        "sex": "1",
        "postal_code": "999-0011",
        "address": "見本市中央1丁目2番3号",
        **typed,
    }
    applicant = Applicant(person_keys(**fields), None)
    with unit_of_work(db_url) as session:
        _, candidates = find_candidates(session, applicant, wide)
    return [c.resident_code for c in candidates], applicant


def test_the_birth_date_brings_everyone_born_that_day(register):
    codes, _ = found(register, family="鈴木", family_kana="スズキ", address="見本市北町1-1-1")
    assert codes == [TARO["resident_code"], STRANGER["resident_code"]]


def test_a_birth_date_slip_is_found_by_the_name(register):
    codes, _ = found(register, birth_date=date(1980, 4, 11), address="見本市北町1-1-1")
    assert codes == [TARO["resident_code"]]


def test_a_name_written_the_wrong_way_round_is_found(register):
    codes, _ = found(
        register,
        family="太郎",
        given="佐藤",
        family_kana="タロウ",
        given_kana="サトウ",
        birth_date=date(1980, 4, 11),
        postal_code="999-0099",
        address="見本市北町1-1-1",
    )
    assert codes == [TARO["resident_code"]]


def test_a_household_member_is_found_by_the_street(register):
    # Name, reading and birth date all typed wrong; only the street is right.
    codes, _ = found(
        register,
        family="佐籐",
        given="大郎",
        family_kana="サドウ",
        given_kana="ダロウ",
        birth_date=date(1980, 4, 11),
        postal_code="999-0099",
    )
    assert codes == [TARO["resident_code"]]


def test_the_wide_search_finds_a_move_nearby_by_postal_code_and_one_reading(register):
    # Moved within the postal area, given name in another kanji and reading, birth date slip.
    for typed in (
        {"given": "大郎", "given_kana": "ダイロウ"},
        {"family": "斉藤", "family_kana": "サイトウ"},
    ):
        moved = dict(birth_date=date(1980, 4, 11), address="見本市中央5丁目5番5号", **typed)
        assert found(register, **moved)[0] == [], typed
        assert found(register, wide=True, **moved)[0] == [TARO["resident_code"]], typed


def test_nothing_in_common_finds_nobody(register):
    codes, applicant = found(
        register,
        family="山本",
        given="花子",
        family_kana="ヤマモト",
        given_kana="ハナコ",
        birth_date=date(1990, 1, 1),
        postal_code="999-0099",
        address="見本市北町1-1-1",
    )
    assert codes == []
    d = decide_match(applicant, [], [], ScoringRules())
    assert d.state == S.NO_MATCH


def test_a_number_that_finds_one_resident_reads_no_blocking_keys(kofu_env, tmp_path):
    """Tier 1 decides on the one resident the number finds, so the blocking keys are not read
    for it; a number the register does not hold falls back to them."""
    numbered = {**TARO, "individual_number": ROW["individual_number"]}
    path = write_csv(tmp_path / "register.csv", [numbered, STRANGER])
    with unit_of_work(kofu_env.db_url, write=True) as session:
        upsert_residents(session, read_register(path, KEY))
        session.commit()
    _, typed = found(kofu_env.db_url)
    known = Applicant(typed.keys, keyed_hash(ROW["individual_number"], KEY))
    unknown = Applicant(typed.keys, keyed_hash("123456789018", KEY))
    with unit_of_work(kofu_env.db_url) as session:
        by_number, candidates = find_candidates(session, known)
        assert [c.resident_code for c in by_number] == [TARO["resident_code"]]
        assert candidates == []
        decision = decide_match(known, by_number, candidates, ScoringRules())
        assert (decision.state, decision.method) == (S.MATCHED, "individual-number")

        by_number, candidates = find_candidates(session, unknown)
        assert by_number == []
        assert [c.resident_code for c in candidates] == [
            TARO["resident_code"],
            STRANGER["resident_code"],
        ]


def test_the_blocking_statement_runs_on_the_indexes(register, kofu_env):
    """The union statement find_candidates sends, as sent, through EXPLAIN QUERY PLAN: each
    key is looked up through an index, and no part scans the register."""
    import sqlite3

    from sqlalchemy import Engine, event

    sent: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "UNION" in statement:
            sent.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        found(register, wide=True, family="鈴木", family_kana="スズキ")
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    assert len(sent) == 1
    statement, parameters = sent[0]
    if ON_POSTGRES:
        _assert_postgres_plan_uses_indexes(kofu_env.db_url, statement, parameters)
        return
    with sqlite3.connect(kofu_env.data_dir / "kofu.sqlite3") as db:
        plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert not [s for s in searches if s.startswith("SCAN residents")], plan
    indexes = {m for step in searches for m in re.findall(r"INDEX (\w+)", step)}
    assert {
        "ix_residents_birth_date",
        "ix_residents_name_key",
        "ix_residents_kana_key",
        "ix_residents_address_key",
        "ix_residents_postal_family_kana",
        "ix_residents_postal_given_kana",
    } <= indexes, plan


def _assert_postgres_plan_uses_indexes(db_url: str, statement: str, parameters) -> None:
    """PostgreSQL's EXPLAIN of the statement as sent. On a two-row table the planner rightly
    prefers to read the table; with sequential scans priced out (enable_seqscan = off) the
    plan shows whether each branch of the union can be answered from an index, which is what
    the register of a million needs. Which of several fitting indexes it takes depends on
    statistics two rows do not have, so the index names are not checked, only that every
    branch's lookup runs on an index whose condition holds the branch's key."""
    from kofu.models.db import get_engine

    raw = get_engine(db_url).raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN {statement}", parameters)
        plan = [row[0] for row in cursor.fetchall()]
    finally:
        raw.rollback()
        raw.close()
    text = "\n".join(plan)
    assert "Seq Scan" not in text, text
    # One index lookup per blocking key (six branches), plus the join back to the rows.
    index_scan = r"Index Scan using \w+ on residents|Bitmap Index Scan on (ix|pk)_residents"
    lookups = [line for line in plan if re.search(index_scan, line)]
    assert len(lookups) >= 7, text
    conditions = " ".join(line for line in plan if "Index Cond" in line)
    for key in ("birth_date", "name_key", "kana_key", "address_key", "postal_code"):
        assert key in conditions, (key, text)


def test_the_pure_decision_names_the_models_states_and_statuses():
    """kofu.tasks.matching.core carries states and register statuses as string values: they
    are ApplicationState's and ResidentStatus's, and every status but resident has a reason."""
    from kofu.models import ResidentStatus
    from kofu.tasks.matching import core

    assert {core.MATCHED, core.NEEDS_REVIEW, core.NO_MATCH, core.INELIGIBLE} <= set(S)
    assert {core.RESIDENT, *core.STATUS_REASONS} == set(ResidentStatus)
    assert core.RESIDENT == ResidentStatus.RESIDENT
