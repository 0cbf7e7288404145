"""Pickup notices (交付通知書) and the merged print batches they go out in."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kofu.models.base import Base, utcnow
from kofu.models.types import TZDateTime


class PrintBatch(Base):
    __tablename__ = "print_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    pdf_path: Mapped[str] = mapped_column(Text, unique=True)
    manifest_path: Mapped[str] = mapped_column(Text)
    page_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class Notice(Base):
    __tablename__ = "notices"
    # At most one current notice per application: a rerun never makes a second one. A
    # returned notice whose resident moved within the city is void (``void_reason``
    # "reissued") and the application gets a new notice to the new address (migration 0012).
    __table_args__ = (
        Index(
            "uq_notices_current_application",
            "application_pk",
            unique=True,
            sqlite_where=text("voided_at IS NULL"),
            postgresql_where=text("voided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    notice_number: Mapped[str] = mapped_column(String(32), unique=True)
    pdf_path: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(8), index=True)
    pickup_deadline: Mapped[date] = mapped_column(Date)
    # The print batch draws the notice again on one canvas with the other notices (one shared
    # font subset instead of one per page). It rebuilds the content from the notice date and
    # checks the rebuilt content against this fingerprint of what the notice's own PDF shows.
    # Both are empty for notices made before migration 0006: those are merged from their PDF.
    issued_on: Mapped[date | None] = mapped_column(Date)
    content_digest: Mapped[str | None] = mapped_column(String(64))
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batches.id"))
    # Set when its application was withdrawn (the resident applied twice and a person let
    # the other application stand): a void notice never prints again and is never current.
    voided_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # Why: "withdrawn" (the other application stood) or "reissued" (a new notice replaced it).
    void_reason: Mapped[str | None] = mapped_column(String(32))
    # SHA-256 of the name and of the address the notice went to (tasks/notices/core.py
    # ``addressee_digests``): the sweep compares them with the register tonight, to tell a
    # move within the city (a return is reissued) from a name change (a person decides).
    # Empty for notices made before migration 0012: "not known".
    name_digest: Mapped[str | None] = mapped_column(String(64))
    address_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


class RefusalLetter(Base):
    """再申請のお願い: the letter telling a resident why the photo was refused."""

    __tablename__ = "refusal_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique: one letter per refused application, whatever reruns happen.
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    letter_number: Mapped[str] = mapped_column(String(32), unique=True)
    pdf_path: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(8), index=True)
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batches.id"))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


def latest_notice(session: Session, application_pk: int) -> Notice | None:
    """The application's notice as it stands: the current one, or else the last one made
    (void: withdrawn, or reissued and not yet replaced)."""
    return session.scalar(
        select(Notice)
        .where(Notice.application_pk == application_pk)
        .order_by(Notice.voided_at.is_not(None), Notice.id.desc())
        .limit(1)
    )


def current_notice(session: Session, application_pk: int) -> Notice | None:
    """The application's current notice: the one not void (at most one: the partial unique
    index uq_notices_current_application)."""
    return session.scalar(
        select(Notice).where(Notice.application_pk == application_pk, Notice.voided_at.is_(None))
    )
