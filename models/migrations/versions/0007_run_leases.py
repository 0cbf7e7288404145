"""run leases: one pipeline run at a time

A nightly run or a rerun holds the "pipeline" lease while it writes, and renews it from a
heartbeat. A second run is refused while the lease is live; a lease left by a killed run
expires and is reported when the next run takes it over.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("run_leases")
