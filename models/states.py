"""Application states and the transitions allowed between them (DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum


class ApplicationState(StrEnum):
    RECEIVED = "received"
    PHOTO_OK = "photo_ok"
    MATCHED = "matched"
    NOTICE_GENERATED = "notice_generated"
    # After the notice (docs/formats.md, "Application states"): the card's life until it is handed
    # over or destroyed (kofu.tasks.lifecycle).
    MAILED = "mailed"
    PICKED_UP = "picked_up"
    RETURNED = "returned"
    REMINDED = "reminded"
    ON_HOLD = "on_hold"
    DESTRUCTION_DUE = "destruction_due"
    DESTROYED = "destroyed"
    NEEDS_REVIEW = "needs_review"
    # Business outcomes: final answers about the application.
    INVALID = "invalid"
    PHOTO_REJECTED = "photo_rejected"
    NO_MATCH = "no_match"
    INELIGIBLE = "ineligible"
    # One resident, one card in progress: the application a person decided against when the
    # resident applied twice. Its notice, if any, is void; it stays for the audit trail.
    WITHDRAWN = "withdrawn"


S = ApplicationState

ALLOWED_TRANSITIONS: dict[ApplicationState, frozenset[ApplicationState]] = {
    S.RECEIVED: frozenset({S.PHOTO_OK, S.PHOTO_REJECTED, S.NEEDS_REVIEW}),
    S.PHOTO_OK: frozenset({S.MATCHED, S.NEEDS_REVIEW, S.NO_MATCH, S.INELIGIBLE}),
    # A person decides: a photo review ends in photo_ok or photo_rejected, a matching
    # review in matched, no_match or ineligible.
    S.NEEDS_REVIEW: frozenset(
        {S.PHOTO_OK, S.PHOTO_REJECTED, S.MATCHED, S.NO_MATCH, S.INELIGIBLE, S.WITHDRAWN}
    ),
    # Back to a person when a second application of the same resident turns up before the
    # notice is written (tasks/duplicates/records.py); withdrawn when a person lets the other stand.
    S.MATCHED: frozenset({S.NOTICE_GENERATED, S.NEEDS_REVIEW, S.WITHDRAWN}),
    # After the notice. A register change (moved out, died, removed) holds the card, then
    # puts it on the destruction list; a staff hold stops the clock until a date.
    # Handed over before its mailing was recorded: the resident holds the notice, so it
    # reached them (a `kofu mail` forgotten must not turn a resident away).
    S.NOTICE_GENERATED: frozenset({S.MAILED, S.PICKED_UP, S.ON_HOLD, S.WITHDRAWN}),
    S.MAILED: frozenset({S.PICKED_UP, S.RETURNED, S.REMINDED, S.ON_HOLD, S.WITHDRAWN}),
    # A return: the register decides. Moved within the city: back to matched, for a new
    # notice to the new address (the old one is void); no longer eligible: destruction;
    # same address: the one reminder.
    S.RETURNED: frozenset({S.MATCHED, S.REMINDED, S.DESTRUCTION_DUE, S.ON_HOLD, S.WITHDRAWN}),
    S.REMINDED: frozenset({S.PICKED_UP, S.RETURNED, S.DESTRUCTION_DUE, S.ON_HOLD, S.WITHDRAWN}),
    # A hold ends back where the card was, picked up (a staff hold only), or destruction.
    S.ON_HOLD: frozenset(
        {
            S.NOTICE_GENERATED,
            S.MAILED,
            S.RETURNED,
            S.REMINDED,
            S.PICKED_UP,
            S.DESTRUCTION_DUE,
            S.WITHDRAWN,
        }
    ),
    # Until a person confirms the destruction, the card can still be handed over.
    S.DESTRUCTION_DUE: frozenset({S.DESTROYED, S.PICKED_UP}),
}

FINAL_OUTCOMES = frozenset({S.INVALID, S.PHOTO_REJECTED, S.NO_MATCH, S.INELIGIBLE, S.WITHDRAWN})

# A card is in progress from the match until it is handed over or destroyed (or its
# application withdrawn): one resident has at most one (kofu.tasks.duplicates). A
# ``needs_review`` application counts only when a duplicate hold gave it its resident.
CARD_IN_PROGRESS = frozenset(
    {
        S.MATCHED,
        S.NOTICE_GENERATED,
        S.MAILED,
        S.RETURNED,
        S.REMINDED,
        S.ON_HOLD,
        S.DESTRUCTION_DUE,
        S.NEEDS_REVIEW,
    }
)
# The card's life after the notice: the states the lifecycle sweep and `kofu pickup` act on.
AFTER_NOTICE = frozenset(
    {S.NOTICE_GENERATED, S.MAILED, S.RETURNED, S.REMINDED, S.ON_HOLD, S.DESTRUCTION_DUE}
)


class IllegalTransition(Exception):
    def __init__(self, current: ApplicationState, target: ApplicationState) -> None:
        super().__init__(f"illegal transition {current} -> {target}")
        self.current = current
        self.target = target


def check_transition(current: ApplicationState, target: ApplicationState) -> None:
    if target not in ALLOWED_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)


class ResidentStatus(StrEnum):
    RESIDENT = "resident"
    MOVED_OUT = "moved_out"
    DECEASED = "deceased"
    REMOVED = "removed"


class FailureStatus(StrEnum):
    """A failure-queue item's life (tasks/queues/records.py).

    pending: waits for its next attempt time; the nightly run takes it then.
    retrying: a run is taking it through its stage again right now.
    dead: failed max_attempts times; only a person's ``kofu rerun`` takes it again.
    resolved: the application got through the stage.
    """

    PENDING = "pending"
    RETRYING = "retrying"
    DEAD = "dead"
    RESOLVED = "resolved"


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Stage(StrEnum):
    INTAKE = "intake"
    PHOTOS = "photos"
    MATCHING = "matching"
    # The batch's one ordered pass that books the visit windows (tasks/visits/records.py),
    # before the notices.
    VISITS = "visits"
    NOTICES = "notices"
    LETTERS = "letters"
    # After the notice: the night's sweep (tasks/lifecycle) and the reminder letters it
    # leaves (tasks/reminders).
    LIFECYCLE = "lifecycle"
    REMINDERS = "reminders"
    PRINT = "print"


# The state an application waits in for each stage; a failed application keeps it, so
# running the stage again picks it up. Print works on the whole batch (no one state).
STAGE_INPUT: dict[Stage, ApplicationState | None] = {
    Stage.PHOTOS: S.RECEIVED,
    Stage.LETTERS: S.PHOTO_REJECTED,
    Stage.MATCHING: S.PHOTO_OK,
    Stage.VISITS: S.MATCHED,
    Stage.NOTICES: S.MATCHED,
    Stage.LIFECYCLE: None,
    Stage.REMINDERS: S.REMINDED,
    Stage.PRINT: None,
}
