"""after the notice: cards, reminders, destruction lists; a reissued notice

A card's life after its notice (issue 19): the mailing, returns, the reminder, holds, the
handover and the destruction list. A returned notice whose resident moved within the city
is reissued: the old notice becomes void and the application gets a new one, so "one
notice per application" becomes "one current notice per application" (a partial unique
index over the notices that are not void). A notice keeps digests of the name and the
address it went to, so the sweep can tell a move from a name change in the register.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CURRENT = sa.text("voided_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("void_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("name_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("address_digest", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_notices_application_pk", type_="unique")
        batch_op.create_index("ix_notices_application_pk", ["application_pk"], unique=False)
    op.execute("UPDATE notices SET void_reason = 'withdrawn' WHERE voided_at IS NOT NULL")
    op.create_index(
        "uq_notices_current_application",
        "notices",
        ["application_pk"],
        unique=True,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )

    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_pk", sa.Integer(), nullable=False),
        sa.Column("mailed_on", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("return_reason", sa.String(length=32), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("reminder_deadline", sa.Date(), nullable=True),
        sa.Column("hold_until", sa.Date(), nullable=True),
        sa.Column("hold_reason", sa.String(length=200), nullable=True),
        sa.Column("hold_kind", sa.String(length=16), nullable=True),
        sa.Column("held_from", sa.String(length=32), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("picked_up_on", sa.Date(), nullable=True),
        sa.Column("destruction_due_on", sa.Date(), nullable=True),
        sa.Column("destruction_reason", sa.String(length=64), nullable=True),
        sa.Column("destroyed_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_pk"], ["applications.id"], name="fk_cards_application_pk_applications"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cards"),
        sa.UniqueConstraint("application_pk", name="uq_cards_application_pk"),
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_pk", sa.Integer(), nullable=False),
        sa.Column("letter_number", sa.String(length=32), nullable=False),
        sa.Column("notice_number", sa.String(length=32), nullable=False),
        sa.Column("pdf_path", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.String(length=8), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("print_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_pk"],
            ["applications.id"],
            name="fk_reminders_application_pk_applications",
        ),
        sa.ForeignKeyConstraint(
            ["print_batch_id"],
            ["print_batches.id"],
            name="fk_reminders_print_batch_id_print_batches",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reminders"),
        sa.UniqueConstraint("application_pk", name="uq_reminders_application_pk"),
        sa.UniqueConstraint("letter_number", name="uq_reminders_letter_number"),
    )
    op.create_index("ix_reminders_postal_code", "reminders", ["postal_code"])
    op.create_table(
        "destruction_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pdf_path", sa.Text(), nullable=True),
        sa.Column("csv_path", sa.Text(), nullable=True),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_destruction_lists"),
    )
    op.create_index("ix_destruction_lists_status", "destruction_lists", ["status"])
    op.create_table(
        "destruction_list_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("application_pk", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["destruction_lists.id"],
            name="fk_destruction_list_items_list_id_destruction_lists",
        ),
        sa.ForeignKeyConstraint(
            ["application_pk"],
            ["applications.id"],
            name="fk_destruction_list_items_application_pk_applications",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_destruction_list_items"),
        sa.UniqueConstraint(
            "list_id", "application_pk", name="uq_destruction_list_items_list_id"
        ),
    )
    op.create_index(
        "ix_destruction_list_items_list_id", "destruction_list_items", ["list_id"]
    )


def downgrade() -> None:
    op.drop_table("destruction_list_items")
    op.drop_table("destruction_lists")
    op.drop_table("reminders")
    op.drop_table("cards")
    op.drop_index("uq_notices_current_application", table_name="notices")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_application_pk")
        batch_op.create_unique_constraint("uq_notices_application_pk", ["application_pk"])
        batch_op.drop_column("address_digest")
        batch_op.drop_column("name_digest")
        batch_op.drop_column("void_reason")
