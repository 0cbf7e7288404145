"""Each refusal of `kofu pickup`, decided from the facts (tasks/handover/core.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kofu.tasks.handover.core import PickupFacts, refusal

OK = PickupFacts(
    state="mailed",
    notice_void=False,
    void_reason=None,
    current_notice_number="2026-00000001",
    presented="2026-00000001",
    resident_status="resident",
)


@pytest.mark.parametrize("state", ["notice_generated", "mailed", "reminded", "destruction_due"])
def test_a_card_waiting_for_its_resident_is_handed_over(state):
    assert refusal(replace(OK, state=state)) is None


def test_a_staff_hold_does_not_stop_a_handover_a_register_hold_does():
    assert refusal(replace(OK, state="on_hold", hold_kind="staff")) is None
    held = refusal(replace(OK, state="on_hold", hold_kind="register"))
    assert held is not None and held.code == "card-on-hold"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"state": "picked_up"}, "already-picked-up"),
        ({"notice_void": True, "void_reason": "withdrawn"}, "notice-void"),
        (
            {
                "notice_void": True,
                "void_reason": "reissued",
                "current_notice_number": "2026-00000001-2",
            },
            "notice-reissued",
        ),
        ({"current_notice_number": "2026-00000001-2"}, "not-current-notice"),
        ({"state": "destroyed"}, "card-destroyed"),
        ({"state": "returned"}, "notice-returned"),
        ({"resident_status": "moved_out"}, "resident-not-eligible"),
        ({"resident_status": "deceased"}, "resident-not-eligible"),
        ({"resident_status": None}, "resident-not-eligible"),
        ({"state": "matched"}, "no-card"),
        ({"state": "withdrawn"}, "no-card"),
    ],
)
def test_each_refusal_has_its_code_and_one_line(change, code):
    refused = refusal(replace(OK, **change))
    assert refused is not None and refused.code == code
    assert "\n" not in refused.message and refused.message


def test_a_void_notice_is_refused_even_for_an_eligible_resident_at_the_right_state():
    refused = refusal(replace(OK, state="reminded", notice_void=True, void_reason="withdrawn"))
    assert refused is not None and refused.code == "notice-void"
