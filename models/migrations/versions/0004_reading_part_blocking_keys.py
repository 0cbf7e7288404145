"""reading part and street blocking keys

Each part's folded reading is stored apart, so that matching can block on the postal code
with the family or the given reading; the street key gets an index of its own. Existing
residents are filled in from their stored readings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 11:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BACKFILL_SLICE = 10_000


def upgrade() -> None:
    from kofu.tasks.matching.normalize import kana_key

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("family_kana_key", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("given_kana_key", sa.String(length=100), server_default="", nullable=False)
        )

    bind = op.get_bind()
    residents = sa.table(
        "residents",
        sa.column("id", sa.Integer),
        sa.column("family_name_kana", sa.String),
        sa.column("given_name_kana", sa.String),
        sa.column("family_kana_key", sa.String),
        sa.column("given_kana_key", sa.String),
    )
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(residents.c.id, residents.c.family_name_kana, residents.c.given_name_kana)
            .where(residents.c.id > last_id)
            .order_by(residents.c.id)
            .limit(_BACKFILL_SLICE)
        ).all()
        if not rows:
            break
        bind.execute(
            residents.update()
            .where(residents.c.id == sa.bindparam("pk"))
            .values(
                family_kana_key=sa.bindparam("fk"),
                given_kana_key=sa.bindparam("gk"),
            ),
            [{"pk": r.id, "fk": kana_key(r.family_name_kana, ""), "gk": kana_key("", r.given_name_kana)} for r in rows],
        )
        last_id = rows[-1].id

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index("ix_residents_address_key", ["address_key"], unique=False)
        batch_op.create_index(
            "ix_residents_postal_family_kana", ["postal_code", "family_kana_key"], unique=False
        )
        batch_op.create_index(
            "ix_residents_postal_given_kana", ["postal_code", "given_kana_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_postal_given_kana")
        batch_op.drop_index("ix_residents_postal_family_kana")
        batch_op.drop_index("ix_residents_address_key")
        batch_op.drop_column("given_kana_key")
        batch_op.drop_column("family_kana_key")
