"""The card's clocks after the notice (tasks/lifecycle/core.py): deadlines from the mailing,
the one reminder, destruction after it, holds that stop the clock, and returns decided by
the register."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kofu.base.settings import LifecycleSettings
from kofu.tasks.lifecycle.core import (
    CardClock,
    RegisterNow,
    Step,
    decide,
    mailing_deadline,
    released,
    reminder_dates,
)

RULES = LifecycleSettings(reminder_pickup_days=30, destruction_after_days=90)
HERE = RegisterNow(eligible=True)
PRINTED = date(2027, 3, 1)


def mailed(on: date, **kw) -> CardClock:
    return CardClock(
        "mailed", PRINTED, mailed_on=on, deadline=mailing_deadline(PRINTED, on, 90), **kw
    )


def test_the_deadline_runs_from_the_mailing_and_never_before_the_printed_one():
    assert mailing_deadline(PRINTED, date(2026, 12, 10), 90) == date(2027, 3, 10)
    # Mailed early (the printed date is later): the printed date stands.
    assert mailing_deadline(PRINTED, date(2026, 11, 1), 90) == PRINTED


def test_no_reminder_on_the_deadline_itself_one_the_day_after():
    card = mailed(date(2026, 12, 10))
    assert decide(card, HERE, card.deadline).step is Step.NOTHING
    after = decide(card, HERE, card.deadline + timedelta(days=1))
    assert (after.step, after.reason) == (Step.REMIND, "not-collected")


def test_destruction_is_due_the_day_after_the_reminder_time_runs_out():
    reminded_on = date(2027, 3, 11)
    pickup, destroy_after = reminder_dates(reminded_on, RULES)
    assert (pickup, destroy_after) == (date(2027, 4, 10), date(2027, 6, 9))
    card = CardClock("reminded", PRINTED, reminded_on=reminded_on, reminder_deadline=destroy_after)
    assert decide(card, HERE, destroy_after).step is Step.NOTHING
    assert decide(card, HERE, destroy_after + timedelta(days=1)).step is Step.DESTRUCTION_DUE


@pytest.mark.parametrize("status", ["moved_out", "deceased", "removed"])
def test_a_resident_no_longer_eligible_holds_the_card_then_destruction(status):
    gone = RegisterNow(eligible=False, status=status)
    first = decide(mailed(date(2026, 12, 10)), gone, date(2026, 12, 20))
    assert first.step is Step.HOLD_FOR_REGISTER
    assert first.reason == f"resident-{status.replace('_', '-')}"
    held = CardClock("on_hold", PRINTED, hold_kind="register", held_from="mailed")
    assert decide(held, gone, date(2026, 12, 21)).step is Step.DESTRUCTION_DUE


def test_a_name_change_waits_for_a_person():
    renamed = RegisterNow(eligible=True, same_name=False)
    assert decide(mailed(date(2026, 12, 10)), renamed, date(2026, 12, 20)).step is (
        Step.HOLD_FOR_NAME
    )
    held = CardClock("on_hold", PRINTED, hold_kind="register", held_from="mailed")
    assert decide(held, renamed, date(2027, 12, 1)).step is Step.NOTHING  # however long


def test_a_return_is_decided_by_the_register():
    returned = CardClock("returned", PRINTED, mailed_on=date(2026, 12, 10))
    moved = RegisterNow(eligible=True, same_address=False)
    assert decide(returned, moved, date(2026, 12, 20)).step is Step.REISSUE
    assert decide(returned, HERE, date(2026, 12, 20)).step is Step.REMIND
    reminded_before = CardClock("returned", PRINTED, reminded_on=date(2027, 3, 11))
    assert decide(reminded_before, HERE, date(2027, 3, 20)).step is Step.BACK_TO_CLOCK
    gone = RegisterNow(eligible=False, status="moved_out")
    assert decide(returned, gone, date(2026, 12, 20)).step is Step.HOLD_FOR_REGISTER


def test_a_staff_hold_stops_the_clock_for_the_days_held():
    card = mailed(date(2026, 12, 10))  # deadline 2027-03-10
    held = CardClock(
        "on_hold",
        PRINTED,
        mailed_on=card.mailed_on,
        deadline=card.deadline,
        hold_until=date(2027, 2, 28),
        hold_kind="staff",
        held_from="mailed",
        held_on=date(2027, 1, 1),
    )
    assert decide(held, HERE, date(2027, 3, 20)).step is Step.RELEASE_HOLD
    assert decide(held, HERE, date(2027, 2, 28)).step is Step.NOTHING  # the last day held
    back = released(held, date(2027, 3, 1))
    assert back.state == "mailed" and back.hold_kind is None
    assert back.deadline == date(2027, 3, 10) + timedelta(days=59)  # 1 Jan .. 1 Mar
    # No reminder while held, however late; after the release, the moved deadline counts.
    assert decide(held, HERE, date(2027, 2, 1)).step is Step.NOTHING
    assert decide(back, HERE, date(2027, 3, 20)).step is Step.NOTHING
    assert decide(back, HERE, back.deadline + timedelta(days=1)).step is Step.REMIND


def test_a_card_due_for_destruction_waits_for_a_person():
    due = CardClock("destruction_due", PRINTED)
    gone = RegisterNow(eligible=False, status="deceased")
    assert decide(due, gone, date(2028, 1, 1)).step is Step.NOTHING
