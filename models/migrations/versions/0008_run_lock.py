"""the run lock dies with its process: the lease row no longer expires

One run at a time is now held by an OS file lock (SQLite) or a session advisory lock
(PostgreSQL), freed the moment the holding process dies. The run_leases row stays only as
the record of who holds the lock, for the refusal message, so its expiry goes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_leases", schema=None) as batch_op:
        batch_op.drop_column("expires_at")


def downgrade() -> None:
    # A record written without an expiry gets one that has passed: 0007's code takes it over.
    with op.batch_alter_table("run_leases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "expires_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text("'1970-01-01 00:00:00'"),
            )
        )
