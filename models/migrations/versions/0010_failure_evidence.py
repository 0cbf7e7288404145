"""failure-queue evidence: what failed, without personal data

A failure-queue item names what failed, so a person can fix it: the photo's path inside
the delivery and whether it is there, the file an OSError names, its errno code.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("failure_queue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("failure_queue", schema=None) as batch_op:
        batch_op.drop_column("evidence")
