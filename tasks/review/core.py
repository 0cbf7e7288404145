"""A review decision's pure part: its kind, and the checks a decision must pass before
anything is looked up (tasks/review/records.py takes the decision). A decision that cannot
be taken raises ReviewRefused; its ``code`` says why, for the audit trail."""

from __future__ import annotations

from typing import Protocol

from kofu.base.errors import UserError
from kofu.base.text import RESIDENT_CODE
from kofu.tasks.photos.problems import PROBLEMS


class _Named(Protocol):
    application_id: str
    batch_id: str


class ReviewRefused(UserError):
    """The decision was not taken. ``code`` (kebab-case) says why; ``application_id`` and
    ``batch_id`` are set when the id named an application."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.application_id: str | None = None
        self.batch_id: str | None = None

    def about(self, app: _Named) -> ReviewRefused:
        # Plain strings: the session that loaded ``app`` is rolled back before they are used.
        self.application_id, self.batch_id = app.application_id, app.batch_id
        return self


def decision_kind(resident_code: str | None, reject_reason: str | None, accept: bool) -> str:
    if resident_code is not None:
        return "resident"
    return "accept" if accept else "reject"


def photo_decision(resident_code: str | None, reject_reason: str | None, accept: bool) -> str:
    """The state a photo review's decision leads to: ``photo_ok`` or ``photo_rejected``."""
    if resident_code is not None:
        raise ReviewRefused(
            "this review is about the photo: use --accept or --reject CODE", "wrong-decision"
        )
    if accept:
        return "photo_ok"
    assert reject_reason is not None
    if reject_reason not in PROBLEMS:
        # The resident's letter explains each code, so only known photo codes will do.
        known = ", ".join(sorted(PROBLEMS))
        raise ReviewRefused(f"--reject for a photo takes one of: {known}", "unknown-reason")
    return "photo_rejected"


def check_match_decision(resident_code: str | None, accept: bool) -> None:
    """A matching review is decided by a resident code or a reason, never by --accept. The
    reason is checked against MATCH_REJECTIONS (tasks/review/records.py)."""
    if accept:
        raise ReviewRefused(
            "this review is about matching: use --resident CODE or --reject REASON",
            "wrong-decision",
        )
    if resident_code is not None and not RESIDENT_CODE.fullmatch(resident_code):
        # Not echoed: 12 digits here would be an individual number typed in the wrong place.
        raise ReviewRefused(
            "--resident takes the 11-digit resident code (住民票コード)", "bad-resident-code"
        )
