"""visit windows

One assigned counter visit (date and time band) per application; bookings count against a
band's capacity across nights.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visit_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_pk", sa.Integer(), nullable=False),
        sa.Column("counter", sa.String(length=200), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("band_start", sa.Time(), nullable=False),
        sa.Column("band_end", sa.Time(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_pk"],
            ["applications.id"],
            name=op.f("fk_visit_windows_application_pk_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_windows")),
        sa.UniqueConstraint("application_pk", name=op.f("uq_visit_windows_application_pk")),
    )
    with op.batch_alter_table("visit_windows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visit_windows_band", ["counter", "visit_date", "band_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_windows_band")
    op.drop_table("visit_windows")
