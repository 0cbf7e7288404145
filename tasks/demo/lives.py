"""The demo's two months after the notice: which card lives which life, and what each life
should end in. Values only; tasks/demo/lifecycle.py plays them on the database and
flows/demo.py runs the sweeps between.

Day 0 is the night of the notices. The days are chosen so that two months show every
kind of life with the default settings (a 90-day pickup deadline, 90 days from a reminder
to destruction): a reminder comes from a return at the same address, a destruction from
a register change, not from a deadline passing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

MAILED = 1  # the notices go to the post office
REGISTER_CHANGES = 9  # moves, a death and a name change reach the register
RETURNS = 10  # returned envelopes are scanned
FIRST_SWEEP = 11  # the sweep decides: reissues, reminders, holds, the destruction list
REISSUE_MAILED = 12  # the reissued notices go out
HOLD = 20  # a resident in hospital: held until HOLD_UNTIL
HOLD_UNTIL = 50
DESTROYED = 31  # the destruction list checked against the ledger and confirmed
LAST_SWEEP = 60  # two months on: the hold has ended
DAYS = 60

# Lives that need a card each, in this order; the rest are picked up or still waiting.
SPECIAL = (
    "moved-within-city",  # returned; a new notice to the new address; picked up with it
    "moved-within-city",
    "returned-same-address",  # returned; reminded; picked up after the reminder
    "returned-unknown-address",  # returned; reminded; still waiting
    "moved-out",  # the register: moved out; the card destroyed
    "deceased",
    "name-changed",  # the register's name changed: held for a person
    "held",  # held by staff, then back to the clock
)
PICKED_UP_SHARE = 0.6  # of the other cards, picked up within the two months


@dataclass(frozen=True)
class Life:
    application_id: str
    notice_number: str
    resident_code: str
    kind: str  # a SPECIAL kind, "picked-up" or "waiting"
    pickup_day: int | None = None  # the day of the handover, None for none

    @property
    def expected_state(self) -> str:
        return {
            "moved-within-city": "picked_up",
            "returned-same-address": "picked_up",
            "returned-unknown-address": "reminded",
            "moved-out": "destroyed",
            "deceased": "destroyed",
            "name-changed": "on_hold",
            "held": "mailed",
            "picked-up": "picked_up",
            "waiting": "mailed",
        }[self.kind]


def plan_lives(cards: list[tuple[str, str, str]]) -> list[Life]:
    """``cards``: (application id, notice number, resident code) of each notice of the
    night, in the batch's order. The same cards always get the same lives."""
    lives = []
    ordinary = max(len(cards) - len(SPECIAL), 0)
    picked = round(ordinary * PICKED_UP_SHARE)
    for n, (app_id, number, code) in enumerate(cards):
        if n < len(SPECIAL):
            kind = SPECIAL[n]
            day = {"moved-within-city": 30, "returned-same-address": 40}.get(kind)
        else:
            k = n - len(SPECIAL)
            kind = "picked-up" if k < picked else "waiting"
            # Spread over the weeks after the mailing, as residents come to the counter.
            day = 3 + (k * 7) % 50 if kind == "picked-up" else None
        lives.append(Life(app_id, number, code, kind, day))
    return lives


def on(day0: date, day: int) -> date:
    return day0 + timedelta(days=day)
