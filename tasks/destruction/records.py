"""The destruction list (廃棄) in the database: the cards due for destruction drawn into a
list for the ledger check (台帳照合), as a PDF checklist and a CSV, and a list confirmed
once a person has destroyed the cards on it.

- At most one list is open. Drawing again when the cards due are the ones on the open list
  gives that list back; otherwise the open list is superseded and a new one drawn.
- A card on an open list can still be handed over (tasks/handover/records.py): the list
  is then superseded, and the next draw (tonight's sweep, or `kofu destruction list`)
  leaves the card out.
- Confirming a list that is not the open one, or whose cards changed, is refused: a person
  must tick the list that is on the table, never one the database has moved past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.atomic import write_bytes_atomic
from kofu.base.errors import UserError
from kofu.base.settings import Settings
from kofu.models import (
    Application,
    ApplicationState,
    Card,
    DestructionList,
    DestructionListItem,
    Resident,
    transition,
)
from kofu.models.notices import latest_notice
from kofu.tasks.audit.records import record as audit_record
from kofu.tasks.destruction.core import Checklist, ChecklistRow, checklist_csv

OPEN, SUPERSEDED, CONFIRMED = "open", "superseded", "confirmed"


@dataclass(frozen=True)
class Drawn:
    list_id: int
    cards: int
    new: bool  # False: the open list already held exactly these cards
    pdf_path: Path
    csv_path: Path


def open_list(session: Session) -> DestructionList | None:
    return session.scalar(
        select(DestructionList)
        .where(DestructionList.status == OPEN)
        .order_by(DestructionList.id.desc())
        .limit(1)
    )


def supersede_lists_with(session: Session, application_pk: int) -> None:
    """A card left the cards due (handed over): any open list holding it is superseded."""
    lists = session.scalars(
        select(DestructionList)
        .join(DestructionListItem, DestructionListItem.list_id == DestructionList.id)
        .where(DestructionList.status == OPEN, DestructionListItem.application_pk == application_pk)
    )
    for drawn in lists:
        drawn.status = SUPERSEDED


def _due(session: Session) -> list[tuple[Application, Card, Resident | None]]:
    return [
        (app, card, resident)
        for app, card, resident in session.execute(
            select(Application, Card, Resident)
            .join(Card, Card.application_pk == Application.id)
            .outerjoin(Resident, Resident.id == Application.resident_id)
            .where(Application.state == ApplicationState.DESTRUCTION_DUE)
            .order_by(Card.destruction_due_on, Application.id)
        ).tuples()
    ]


def draw_list(
    session: Session, settings: Settings, as_of: date, font: str, *, actor: str
) -> Drawn | None:
    """The cards due as an open list, drawn anew only when they changed; None when no card is
    due (an open list is then superseded). The caller commits."""
    due = _due(session)
    current = open_list(session)
    if current is not None:
        on_it = set(
            session.scalars(
                select(DestructionListItem.application_pk).where(
                    DestructionListItem.list_id == current.id
                )
            )
        )
        if on_it == {app.id for app, _, _ in due} and current.pdf_path and current.csv_path:
            return Drawn(
                current.id, len(on_it), False, Path(current.pdf_path), Path(current.csv_path)
            )
        current.status = SUPERSEDED
    if not due:
        return None
    drawn = DestructionList(as_of=as_of, status=OPEN, drawn_by=actor)
    session.add(drawn)
    session.flush()
    rows = []
    for position, (app, card, resident) in enumerate(due, start=1):
        reason = card.destruction_reason or "not-collected"
        due_on = card.destruction_due_on or as_of
        session.add(
            DestructionListItem(
                list_id=drawn.id,
                application_pk=app.id,
                reason=reason,
                due_on=due_on,
                position=position,
            )
        )
        rows.append(_row(session, position, app, resident, reason, due_on))
    checklist = Checklist(
        list_id=drawn.id,
        as_of=as_of,
        municipality=settings.municipality.name,
        drawn_by=actor,
        rows=tuple(rows),
    )
    out_dir = settings.destruction_dir
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pdf_path = out_dir / f"destruction-list-{drawn.id:05d}.pdf"
    csv_path = out_dir / f"destruction-list-{drawn.id:05d}.csv"
    from kofu.tasks.destruction.pdf import write_checklist

    write_checklist(checklist, font, pdf_path)
    write_bytes_atomic(csv_path, checklist_csv(checklist).encode("utf-8"))
    drawn.pdf_path, drawn.csv_path = str(pdf_path), str(csv_path)
    audit_record(
        session,
        "destruction-list-drawn",
        actor=actor,
        detail={"list_id": drawn.id, "cards": len(rows), "as_of": as_of.isoformat()},
    )
    return Drawn(drawn.id, len(rows), True, pdf_path, csv_path)


def _row(
    session: Session,
    position: int,
    app: Application,
    resident: Resident | None,
    reason: str,
    due_on: date,
) -> ChecklistRow:
    who = resident if resident is not None else app
    notice = latest_notice(session, app.id)
    return ChecklistRow(
        position=position,
        notice_number=notice.notice_number if notice is not None else "-",
        application_id=app.application_id,
        family_name=who.family_name or "",
        given_name=who.given_name or "",
        family_name_kana=who.family_name_kana or "",
        given_name_kana=who.given_name_kana or "",
        birth_date=who.birth_date,
        reason=reason,
        due_on=due_on,
    )


def list_items(session: Session, list_id: int) -> list[DestructionListItem]:
    return list(
        session.scalars(
            select(DestructionListItem)
            .where(DestructionListItem.list_id == list_id)
            .order_by(DestructionListItem.position)
        )
    )


def confirm_list(
    session: Session, list_id: int, on: date, *, actor: str, os_user: str | None = None
) -> int:
    """Record the cards of open list ``list_id`` destroyed on ``on``: the number recorded. A
    UserError says why not (nothing is written then). The caller commits."""
    drawn = session.get(DestructionList, list_id)
    if drawn is None:
        raise UserError(
            f"no destruction list {list_id}: `kofu destruction list` shows the open one"
        )
    if drawn.status == CONFIRMED:
        raise UserError(f"destruction list {list_id} was confirmed already")
    if drawn.status != OPEN:
        newer = open_list(session)
        then = f": the open list is {newer.id}" if newer else ""
        raise UserError(
            f"destruction list {list_id} is out of date (a card on it changed){then};"
            " draw it again with `kofu destruction list` and check the new one"
        )
    items = list_items(session, list_id)
    for item in items:
        app = session.get_one(Application, item.application_pk)
        if app.state is not ApplicationState.DESTRUCTION_DUE:
            raise UserError(
                f"destruction list {list_id} is out of date: application {app.application_id}"
                f" is {app.state.value}; draw it again with `kofu destruction list`"
            )
    for item in items:
        app = session.get_one(Application, item.application_pk)
        transition(app, ApplicationState.DESTROYED)
        card = session.scalar(select(Card).where(Card.application_pk == app.id))
        assert card is not None
        card.destroyed_on = on
    drawn.status = CONFIRMED
    drawn.confirmed_by = actor
    drawn.confirmed_at = datetime.now(UTC)
    audit_record(
        session,
        "destruction-confirmed",
        actor=actor,
        os_user=os_user,
        detail={"list_id": list_id, "cards": len(items), "on": on.isoformat()},
    )
    return len(items)


def list_rows(session: Session, list_id: int) -> list[dict]:
    """A list's cards for `kofu destruction list`: ids, reason and day only (the names are
    on the checklist, which is what a person checks against the ledger)."""
    rows = []
    for item in list_items(session, list_id):
        app = session.get_one(Application, item.application_pk)
        notice = latest_notice(session, app.id)
        rows.append(
            {
                "position": item.position,
                "notice_number": notice.notice_number if notice is not None else None,
                "application_id": app.application_id,
                "reason": item.reason,
                "due_on": item.due_on.isoformat(),
                "state": app.state.value,
            }
        )
    return rows
