"""next_region_state as a table: (stored state, the regions' decision) → new state and the alerts it implies."""

from __future__ import annotations

import pytest

from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.region_state import next_region_state
from healthcheck.alerting.regions import Decision
from healthcheck.alerting.state import TargetState
from healthcheck.check.probe import CheckResult

POLICY = AlertPolicy(failure_threshold=2, success_threshold=2, remind_every_minutes=30)
FAIL = CheckResult("api", "https://api.example/", False, 5, status=503, error="status 503", failures=("status 503",))
OK = CheckResult("api", "https://api.example/", True, 5, status=200)
T0, T1, T2 = "2026-12-07T03:00:00Z", "2026-12-07T03:01:00Z", "2026-12-07T03:02:00Z"
LATER = "2026-12-07T03:40:00Z"
EU, AP = "eu-west-1", "ap-southeast-1"


def kinds(state: TargetState | None) -> list[tuple[str, tuple[str, ...]]]:
    return [(alert.kind, alert.regions) for alert in state.pending] if state else []


@pytest.mark.parametrize(
    ("state", "decision", "result", "partial", "at", "want_state", "want_alerts"),
    [
        (TargetState(), Decision("DOWN", T0, (AP, EU), (AP, EU, "us")), FAIL, False, T2, "DOWN", [("DOWN", (AP, EU))]),
        (TargetState(), Decision("PARTIAL", T0, (EU,), (AP, EU)), FAIL, False, T2, "PARTIAL", []),
        (TargetState(), Decision("PARTIAL", T0, (EU,), (AP, EU)), FAIL, True, T2, "PARTIAL", [("PARTIAL", (EU,))]),
        (
            TargetState("PARTIAL", T0, last_event=T1),
            Decision("DOWN", T0, (AP, EU), (AP, EU)),
            OK,
            True,
            T2,
            "DOWN",
            [("DOWN", (AP, EU))],
        ),
        (
            TargetState("DOWN", T0, last_event=T1, reminded_at=T1),
            Decision("UP", T2, (), (AP, EU), recovered_at=T2),
            OK,
            False,
            T2,
            "UP",
            [("RECOVERED", ())],
        ),
        (
            TargetState("DOWN", T0, last_event=T1, reminded_at=T1),
            Decision("PARTIAL", T1, (EU,), (AP, EU, "us"), recovered_at=T2),
            OK,
            True,
            T2,
            "PARTIAL",
            [("RECOVERED", ())],  # from DOWN, PARTIAL is a recovery, not a new partial page
        ),
        (
            TargetState("DOWN", T0, last_event=T1, reminded_at=T1, failing=(AP, EU)),
            Decision("DOWN", T0, (AP, EU), (AP, EU)),
            FAIL,
            False,
            LATER,
            "DOWN",
            [("STILL DOWN", (AP, EU))],
        ),
    ],
    ids=[
        "down",
        "partial-not-paged",
        "partial-paged",
        "partial-to-down",
        "recovered",
        "recovered-to-partial",
        "reminder",
    ],
)
def test_moves(
    state: TargetState,
    decision: Decision,
    result: CheckResult,
    partial: bool,
    at: str,
    want_state: str,
    want_alerts: list[tuple[str, tuple[str, ...]]],
) -> None:
    failing = decision.failing
    new = next_region_state(state, decision, failing, result, POLICY, 14, at, alert_on_partial=partial)
    assert new is not None
    assert (new.state, kinds(new)) == (want_state, want_alerts)
    assert new.last_event == at


def test_recovered_says_how_long_it_was_down_until_the_quorum_saw_it_up() -> None:
    state = TargetState("DOWN", T0, last_event=T2)
    new = next_region_state(state, Decision("UP", T1, (), ("a", "b"), recovered_at=T1), (), OK, POLICY, 14, T2)
    assert new is not None
    [recovered] = new.pending
    assert (recovered.since, recovered.down_for_s) == (T0, 60)


@pytest.mark.parametrize(
    ("state", "decision", "failing", "at"),
    [
        (TargetState("DOWN", T0, last_event=T1, reminded_at=T1), Decision("DOWN", T0, ("a", "b"), ("a", "b")), (), T1),
        (TargetState(last_event=T2), Decision("DOWN", T0, ("a", "b"), ("a", "b")), ("a", "b"), T1),  # older event
        (TargetState(), Decision("UP", None, (), ("a",), held=True), (), T1),
    ],
    ids=["same-again", "older-event", "held-nothing-failing"],
)
def test_nothing_to_write(state: TargetState, decision: Decision, failing: tuple[str, ...], at: str) -> None:
    assert next_region_state(state, decision, failing, FAIL, POLICY, 14, at) is None


def test_a_held_decision_still_marks_the_regions_failing() -> None:
    """Held, nothing moves, but the item names the failing region: every region's next run then reads it."""
    new = next_region_state(TargetState(), Decision("UP", None, (), ("a",), held=True), ("a",), FAIL, POLICY, 14, T1)
    assert new is not None
    assert (new.state, new.failing, new.pending, new.clean) == ("UP", ("a",), (), False)
