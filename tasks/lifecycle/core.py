"""The card's clocks after the notice, and what the night's sweep does to one card: values in,
a decision out (docs/daily-work.md, "After the notice"). No Prefect, no database.

- The pickup deadline (交付期限) runs from the mailing, ``[notice] pickup_days``, and is never
  earlier than the date printed on the notice.
- A card not picked up by its deadline gets one reminder (再通知) with a new deadline
  (``reminder_pickup_days``); ``destruction_after_days`` after the reminder it is due for
  destruction.
- A hold stops the clock: when a staff hold ends, every deadline still ahead moves by the
  days held.
- The register decides a return, and any card whose resident is no longer eligible is held,
  then due for destruction; a name change is held for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from kofu.base.settings import LifecycleSettings

# The application states this core reads, by value (the core imports no kofu.models).
NOTICE_GENERATED, MAILED, RETURNED, REMINDED = "notice_generated", "mailed", "returned", "reminded"
ON_HOLD, DESTRUCTION_DUE = "on_hold", "destruction_due"
STAFF, REGISTER = "staff", "register"


class Step(StrEnum):
    NOTHING = "nothing"
    REMIND = "remind"  # deadline passed: the one reminder
    BACK_TO_CLOCK = "back-to-clock"  # returned, same address, already reminded: its clock runs
    REISSUE = "reissue"  # returned, moved within the city: a new notice to the new address
    DESTRUCTION_DUE = "destruction-due"
    HOLD_FOR_REGISTER = "hold-for-register"  # no longer eligible: held, then destruction
    HOLD_FOR_NAME = "hold-for-name"  # the register's name changed: a person decides
    RELEASE_HOLD = "release-hold"  # a staff hold ended: back to the clock


# Each step as staff read it (the sweep's artifact, `kofu lifecycle`, `kofu nightly`).
STEP_WORDS = {
    "remind": "reminders (再通知) to print",
    "back-to-clock": "returned after their reminder: the reminder's clock runs on",
    "reissue": "moved within the city: a new notice to the new address",
    "destruction-due": "due for destruction",
    "hold-for-register": "held: the resident is no longer eligible in the register",
    "hold-for-name": "held for review: the register's name changed",
    "release-hold": "staff holds ended: back to the clock",
    "failed": "could not be moved (the run's log names each): left as they were",
    "failed-chunks": "chunks failed after their retries: their cards wait for the next night",
}


@dataclass(frozen=True)
class CardClock:
    """One card as the sweep sees it."""

    state: str
    printed_deadline: date
    mailed_on: date | None = None
    deadline: date | None = None
    reminded_on: date | None = None
    reminder_deadline: date | None = None
    hold_until: date | None = None
    hold_kind: str | None = None
    held_from: str | None = None
    held_on: date | None = None


@dataclass(frozen=True)
class RegisterNow:
    """The resident in the register tonight, against the notice: still eligible, and is
    the name and the address the same as the notice was sent to (None: not known)."""

    eligible: bool
    status: str = "resident"
    same_name: bool | None = True
    same_address: bool | None = True


@dataclass(frozen=True)
class Decision:
    step: Step
    reason: str | None = None


NOTHING = Decision(Step.NOTHING)


def mailing_deadline(printed: date, mailed_on: date, pickup_days: int) -> date:
    """The deadline from the mailing, never earlier than the one the resident reads."""
    return max(printed, mailed_on + timedelta(days=pickup_days))


def reminder_dates(reminded_on: date, rules: LifecycleSettings) -> tuple[date, date]:
    """The reminder's printed deadline, and the day after which the card is due for
    destruction."""
    return (
        reminded_on + timedelta(days=rules.reminder_pickup_days),
        reminded_on + timedelta(days=rules.destruction_after_days),
    )


def decide(card: CardClock, register: RegisterNow, as_of: date) -> Decision:
    """What tonight's sweep does to one card: one step at a time (a card the sweep moves is
    looked at again the next night)."""
    if card.state == DESTRUCTION_DUE:
        return NOTHING  # waits for a person's confirmation, or a handover
    if card.state == ON_HOLD:
        return _held(card, register, as_of)
    if not register.eligible:
        return Decision(Step.HOLD_FOR_REGISTER, f"resident-{register.status.replace('_', '-')}")
    if register.same_name is False:
        return Decision(Step.HOLD_FOR_NAME, "register-name-changed")
    if card.state == RETURNED:
        return _returned(card, register)
    if card.state == MAILED and card.deadline is not None and as_of > card.deadline:
        return Decision(Step.REMIND, "not-collected")
    if card.state == REMINDED and card.reminder_deadline and as_of > card.reminder_deadline:
        return Decision(Step.DESTRUCTION_DUE, "not-collected")
    return NOTHING


def _held(card: CardClock, register: RegisterNow, as_of: date) -> Decision:
    if card.hold_kind == REGISTER:
        # Held for the register: no longer eligible goes on to destruction; a name change
        # waits for a person (the review queue).
        if not register.eligible:
            return Decision(Step.DESTRUCTION_DUE, f"resident-{register.status.replace('_', '-')}")
        return NOTHING
    if not register.eligible:
        return Decision(Step.DESTRUCTION_DUE, f"resident-{register.status.replace('_', '-')}")
    if card.hold_until is not None and as_of > card.hold_until:
        return Decision(Step.RELEASE_HOLD)
    return NOTHING


def _returned(card: CardClock, register: RegisterNow) -> Decision:
    if register.same_address is False:
        return Decision(Step.REISSUE, "moved-within-city")
    if card.reminded_on is not None:
        return Decision(Step.BACK_TO_CLOCK)
    return Decision(Step.REMIND, "returned-same-address")


def released(card: CardClock, as_of: date) -> CardClock:
    """The card after its staff hold ended: back in the state it came from, with every
    deadline still ahead of the hold moved on by the days held."""
    held_days = (as_of - card.held_on).days if card.held_on is not None else 0
    shift = timedelta(days=max(held_days, 0))

    def moved(day: date | None) -> date | None:
        return day + shift if day is not None and card.held_on and day >= card.held_on else day

    return replace(
        card,
        state=card.held_from or MAILED,
        deadline=moved(card.deadline),
        reminder_deadline=moved(card.reminder_deadline),
        hold_until=None,
        hold_kind=None,
        held_from=None,
        held_on=None,
    )
