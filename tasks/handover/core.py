"""Whether a card may be handed over (交付) at the counter: values in, a refusal or None out.

``kofu pickup NOTICE_NUMBER`` hands a card over only when all of these hold (docs/daily-work.md,
"After the notice"): the notice presented is the application's current one (not void, not
reissued); the card is in a state it can be handed over from (its notice printed, mailed,
reminded, due for destruction but not yet destroyed, or held by staff: a staff hold only
stops the clock); it
was not handed over before; and the resident is still eligible in the register tonight. A
refusal says what to do, in one line, and goes into the audit trail like a handover.
"""

from __future__ import annotations

from dataclasses import dataclass

# Application states, by value (the core imports no kofu.models).
# A notice not recorded as mailed still reached the resident who brings it: a `kofu mail`
# forgotten must not turn them away.
HANDED_OVER_FROM = frozenset({"notice_generated", "mailed", "reminded", "destruction_due"})


@dataclass(frozen=True)
class PickupFacts:
    """The notice presented and its card, as recorded."""

    state: str
    notice_void: bool
    void_reason: str | None
    current_notice_number: str | None  # the application's current notice, if any
    presented: str
    resident_status: str | None  # None: the application has no resident
    hold_kind: str | None = None
    hold_until: str | None = None  # ISO date, for the message


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def refusal(facts: PickupFacts) -> Refusal | None:
    """Why the card must not be handed over, or None when it may."""
    if facts.state == "picked_up":
        return Refusal("already-picked-up", "the card was already handed over")
    if facts.notice_void:
        if facts.void_reason == "reissued":
            current = facts.current_notice_number
            new = f" by notice {current}" if current else " (a new notice is on its way)"
            return Refusal("notice-reissued", f"this notice was replaced{new}: ask for the new one")
        return Refusal("notice-void", "this notice is void: its application was withdrawn")
    if facts.current_notice_number not in (None, facts.presented):
        return Refusal("not-current-notice", "this is not the application's current notice")
    if facts.state == "destroyed":
        return Refusal("card-destroyed", "the card was destroyed")
    if facts.state == "returned":
        return Refusal(
            "notice-returned",
            "the notice came back undelivered; tonight's run decides (reminder or a new"
            " notice): see `kofu show`",
        )
    if facts.resident_status != "resident":
        status = (facts.resident_status or "not in the register").replace("_", " ")
        return Refusal("resident-not-eligible", f"the resident is no longer eligible ({status})")
    if facts.state == "on_hold":
        if facts.hold_kind == "staff":
            return None  # a staff hold stops the clock only: the resident came
        return Refusal(
            "card-on-hold", "the card is held for a register change: a person decides first"
        )
    if facts.state not in HANDED_OVER_FROM:
        return Refusal("no-card", f"no card to hand over (the application is {facts.state})")
    return None
