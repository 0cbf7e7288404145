"""Application states and the transitions allowed between them (DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum


class ApplicationState(StrEnum):
    RECEIVED = "received"
    PHOTO_OK = "photo_ok"
    MATCHED = "matched"
    NOTICE_GENERATED = "notice_generated"
    MAILED = "mailed"
    PICKED_UP = "picked_up"
    RETURNED = "returned"
    EXPIRED = "expired"
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
    S.NOTICE_GENERATED: frozenset({S.MAILED, S.WITHDRAWN}),
    S.MAILED: frozenset({S.PICKED_UP, S.RETURNED, S.EXPIRED, S.WITHDRAWN}),
    S.RETURNED: frozenset({S.WITHDRAWN}),
    S.EXPIRED: frozenset({S.WITHDRAWN}),
}

FINAL_OUTCOMES = frozenset({S.INVALID, S.PHOTO_REJECTED, S.NO_MATCH, S.INELIGIBLE, S.WITHDRAWN})


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
    PRINT = "print"


# The state an application waits in for each stage; a failed application keeps it, so
# running the stage again picks it up. Print works on the whole batch (no one state).
STAGE_INPUT: dict[Stage, ApplicationState | None] = {
    Stage.PHOTOS: S.RECEIVED,
    Stage.LETTERS: S.PHOTO_REJECTED,
    Stage.MATCHING: S.PHOTO_OK,
    Stage.VISITS: S.MATCHED,
    Stage.NOTICES: S.MATCHED,
    Stage.PRINT: None,
}
