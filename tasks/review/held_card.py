"""A person's decision on a card held for a name change in the register (the sweep held it:
tasks/lifecycle/records.py, review stage ``lifecycle``).

- ``--resident CODE`` (the card's own resident) or ``--accept``: the card stands. The new
  name is the resident's; the card goes back where it was held from, and the notice's
  addressee digests take the register's name, so the sweep does not hold it again. The
  name on the card itself is changed at the counter at the handover (記載事項変更).
- ``--reject REASON``: the card is due for destruction, with that reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kofu.base.clock import JST
from kofu.models import (
    Application,
    ApplicationState,
    Card,
    Resident,
    ReviewItem,
    ReviewStatus,
    transition,
)
from kofu.models.notices import current_notice
from kofu.tasks.notices.addressee import addressee_digests
from kofu.tasks.review.core import ReviewRefused

S = ApplicationState
# What a person may give for a held card that must not be handed over.
HOLD_REJECTIONS = ("identity-not-confirmed", "withdrawn-by-applicant")


def resolve_held_card(
    session: Session,
    app: Application,
    items: list[ReviewItem],
    *,
    resident_code: str | None,
    reject_reason: str | None,
    now: datetime,
) -> tuple[ApplicationState, str]:
    """The state the card goes to and its resident's code. The caller records the decision."""
    resident = session.get_one(Resident, app.resident_id)
    card = session.scalar(select(Card).where(Card.application_pk == app.id))
    assert card is not None, "a held card has its card row"
    if reject_reason is not None:
        if reject_reason not in HOLD_REJECTIONS:
            raise ReviewRefused(
                f"--reject for a held card must be one of {', '.join(HOLD_REJECTIONS)}",
                "unknown-reason",
            )
        target = S.DESTRUCTION_DUE
        card.destruction_due_on = now.astimezone(JST).date()
        card.destruction_reason = reject_reason
    else:
        if resident_code is not None and resident_code != resident.resident_code:
            raise ReviewRefused(
                f"the held card is resident {resident.resident_code}'s: name them with"
                " --resident, or --reject",
                "other-resident",
            )
        target = S(card.held_from or S.MAILED.value)
        notice = current_notice(session, app.id)
        if notice is not None:
            notice.name_digest, notice.address_digest = addressee_digests(resident)
    card.hold_until = card.hold_kind = card.held_from = card.held_on = None
    card.hold_reason = None
    transition(app, target)
    for item in items:
        item.status, item.resolution, item.resolved_at = ReviewStatus.RESOLVED, target.value, now
    return target, resident.resident_code
