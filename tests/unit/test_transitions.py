"""An application's state changes in one place: kofu.models.transition, which refuses a move
the states' table does not allow. Every other module goes through it; this reads the source
of every module (no import) and fails on an assignment to ``.state`` anywhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kofu.models.states import ALLOWED_TRANSITIONS, ApplicationState, IllegalTransition

REPO = Path(__file__).resolve().parents[2]
# The folders kofu installs from (setup.py); models/ holds the one function allowed to.
SOURCES = ("kofu", "flows", "tasks")


# Objects whose ``state`` is a report of an outcome, not an application's: a review
# decision (tasks/review/records.py) says which state the application went to.
NOT_APPLICATIONS = frozenset({"decision"})


def _is_state(target: ast.expr) -> bool:
    if not (isinstance(target, ast.Attribute) and target.attr == "state"):
        return False
    return not (isinstance(target.value, ast.Name) and target.value.id in NOT_APPLICATIONS)


def _state_assignments(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            parts = target.elts if isinstance(target, ast.Tuple) else [target]
            lines += [t.lineno for t in parts if _is_state(t)]
    return lines


def test_only_the_transition_function_sets_an_application_state():
    found = {
        str(path.relative_to(REPO)): lines
        for folder in SOURCES
        for path in sorted((REPO / folder).rglob("*.py"))
        if (lines := _state_assignments(path))
    }
    assert found == {}, f"state set outside kofu.models.transition: {found}"


def test_the_scan_sees_a_plain_and_a_tuple_assignment(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("app.state = 1\nother.state, other.method = 2, None\nx.states = 3\n")
    assert _state_assignments(source) == [1, 2]


def test_transition_moves_an_allowed_step_and_refuses_any_other():
    from types import SimpleNamespace

    from kofu.models.applications import transition

    app = SimpleNamespace(state=ApplicationState.RECEIVED, reasons=["a"])
    transition(app, ApplicationState.PHOTO_REJECTED, ["head-cut-off"])
    assert (app.state, app.reasons) == (ApplicationState.PHOTO_REJECTED, ["a", "head-cut-off"])
    assert ApplicationState.NOTICE_GENERATED not in ALLOWED_TRANSITIONS.get(app.state, ())
    with pytest.raises(IllegalTransition):
        transition(app, ApplicationState.NOTICE_GENERATED)
    assert app.state == ApplicationState.PHOTO_REJECTED
