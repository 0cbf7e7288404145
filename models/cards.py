"""After the notice: each card's life until its handover or its destruction (docs/daily-work.md,
"After the notice"), the reminders (再通知) and the destruction lists (廃棄).

The application's state says where the card is (models/states.py); these tables hold the
dates and reasons that go with it. No personal data beyond what the application already
holds: a hold's reason is staff's text, checked like a name (no individual number, no
control characters) before it is stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kofu.models.base import Base, utcnow
from kofu.models.types import TZDateTime


class Card(Base):
    """One application's card from its mailing on. Dates are Japan calendar dates."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    # The notice went to the post office (`kofu mail`); the deadline (交付期限) runs from it.
    mailed_on: Mapped[date | None] = mapped_column(Date)
    # The deadline as it stands: from the mailing, later by the days a hold stopped the clock.
    deadline: Mapped[date | None] = mapped_column(Date)
    returned_on: Mapped[date | None] = mapped_column(Date)
    return_reason: Mapped[str | None] = mapped_column(String(32))
    reminded_on: Mapped[date | None] = mapped_column(Date)
    # After this day with no pickup the card is due for destruction.
    reminder_deadline: Mapped[date | None] = mapped_column(Date)
    # A hold: until when, why, staff's or the register's, and the state it came from.
    hold_until: Mapped[date | None] = mapped_column(Date)
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    hold_kind: Mapped[str | None] = mapped_column(String(16))
    held_from: Mapped[str | None] = mapped_column(String(32))
    held_on: Mapped[date | None] = mapped_column(Date)
    picked_up_on: Mapped[date | None] = mapped_column(Date)
    destruction_due_on: Mapped[date | None] = mapped_column(Date)
    destruction_reason: Mapped[str | None] = mapped_column(String(64))
    destroyed_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """再通知: the one reminder a card gets, printed in the next print batch of its delivery."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique: one reminder per card, whatever reruns happen.
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    letter_number: Mapped[str] = mapped_column(String(32), unique=True)
    # The notice it reminds of: the one the resident brings to the counter.
    notice_number: Mapped[str] = mapped_column(String(32))
    pdf_path: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(8), index=True)
    deadline: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batches.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class DestructionList(Base):
    """A list of cards due for destruction, drawn for the ledger check (台帳照合).

    open: drawn, waiting for a person's confirmation; superseded: a card on it changed (a
    handover) or a newer list was drawn; confirmed: the cards on it are recorded destroyed.
    """

    __tablename__ = "destruction_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    pdf_path: Mapped[str | None] = mapped_column(Text)
    csv_path: Mapped[str | None] = mapped_column(Text)
    drawn_by: Mapped[str] = mapped_column(String(64))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class DestructionListItem(Base):
    __tablename__ = "destruction_list_items"
    __table_args__ = (UniqueConstraint("list_id", "application_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("destruction_lists.id"), index=True)
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    reason: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer)
