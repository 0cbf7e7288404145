"""The migrations build exactly the schema the models describe, on SQLite and (with
KOFU_TEST_DATABASE_URL) on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from kofu.models import Base
from kofu.models.db import upgrade_schema
from tests.helpers import db_url_for


def test_migrations_match_the_models(tmp_path):
    url = db_url_for(tmp_path)
    upgrade_schema(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_the_reading_parts_are_filled_in_for_residents_imported_before_them(tmp_path):
    """Migration 0004 adds each reading part's key and fills it in for existing rows."""
    from alembic import command
    from sqlalchemy import text

    from kofu.models.db import alembic_config
    from kofu.tasks.matching.normalize import kana_key

    url = db_url_for(tmp_path)
    command.upgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO residents (resident_code, family_name, given_name, family_name_kana,"
                " given_name_kana, birth_date, sex, postal_code, address, status, name_key,"
                " kana_key, address_key, updated_at) VALUES ('00000000001', '佐藤', '太郎',"
                " 'サトー', 'たろう', '1980-04-01', '1', '999-0011', '見本市中央1-2-3',"
                " 'resident', '佐藤太郎', 'サトウタロウ', '中央1-2-3', '2026-01-01 00:00:00')"
            )
        )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT family_kana_key, given_kana_key FROM residents")).one()
    engine.dispose()
    assert tuple(row) == (kana_key("サトウ", ""), kana_key("", "タロウ"))
