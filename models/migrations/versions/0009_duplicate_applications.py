"""one resident, one card in progress: applications by resident, void notices

Matching looks up a resident's other applications still in progress for every match, so
applications.resident_id gets an index. A notice whose application was withdrawn (the
resident applied twice; a person let the other application stand) is marked void.
The new application state `withdrawn` needs no change: states are stored as strings.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index("ix_applications_resident_id", ["resident_id"], unique=False)
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("voided_at")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_resident_id")
