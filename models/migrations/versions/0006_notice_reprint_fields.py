"""notice date and content fingerprint, so the print batch can redraw each notice

The print batch draws all its notices on one canvas, sharing one font subset, instead of
merging one PDF (and one ~45 KB font subset) per notice. It rebuilds each notice's content
from the notice date and checks it against the fingerprint of what the notice's PDF shows.
Notices made before this revision keep both empty and are merged from their own PDF.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("content_digest")
        batch_op.drop_column("issued_on")
