"""next_state as a table: (stored state, result) → new state and the alerts it implies."""

from __future__ import annotations

import dataclasses

import pytest

from healthcheck.policy import AlertPolicy
from healthcheck.probe import CheckResult
from healthcheck.state import MAX_PENDING_TRANSITIONS, Alert, TargetState, cert_thresholds, next_state

POLICY = AlertPolicy(failure_threshold=3, success_threshold=2, remind_every_minutes=0)
OK = CheckResult("api", "https://api.example/", True, 12, status=200)
FAIL = CheckResult("api", "https://api.example/", False, 12, status=503, error="status 503", failures=("status 503",))
T0, T1, T2 = "2026-11-27T18:00:00Z", "2026-11-27T18:01:00Z", "2026-11-27T18:02:00Z"


def kinds(state: TargetState | None) -> list[str]:
    return [alert.kind for alert in state.pending] if state else []


@pytest.mark.parametrize(
    ("state", "result", "expected"),
    [
        (TargetState(), OK, None),
        (TargetState("DOWN", T0, last_event=T0), FAIL, None),
        (TargetState(failures=1, streak_start=T0, last_event=T0), OK, TargetState(last_event=T1)),
        (TargetState(), FAIL, TargetState(failures=1, streak_start=T1, last_event=T1)),
        (TargetState(last_event=T1), FAIL, None),  # duplicate
        (TargetState(last_event=T2), FAIL, None),  # late
        (TargetState(), CheckResult("api", "u", False, 0, inconclusive=True), None),
        (TargetState(), CheckResult("api", "u", False, 0, maintenance=True), None),
    ],
    ids=["steady-up", "steady-down", "blip-cleared", "first-failure", "duplicate", "late", "inconclusive", "maint"],
)
def test_transitions(state: TargetState, result: CheckResult, expected: TargetState | None) -> None:
    assert next_state(state, result, POLICY, 14, T1) == expected


def test_down_at_the_threshold_since_the_first_failure() -> None:
    state = TargetState(failures=2, streak_start=T0, last_event=T1)
    new = next_state(state, FAIL, POLICY, 14, T2)
    assert new is not None
    assert (new.state, new.since, new.failures, new.reminded_at) == ("DOWN", T0, 0, T2)
    assert new.pending == (Alert("DOWN", "api", "https://api.example/", T2, T0, ("status 503",)),)


def test_up_after_the_success_threshold_with_the_downtime() -> None:
    state = TargetState("DOWN", T0, successes=1, streak_start=T1, last_event=T1)
    new = next_state(state, OK, POLICY, 14, T2)
    assert new is not None
    assert (new.state, new.since, kinds(new)) == ("UP", T1, ["RECOVERED"])
    assert new.pending[0].down_for_s == 60


def test_a_failure_while_recovering_starts_the_count_again() -> None:
    state = TargetState("DOWN", T0, successes=1, streak_start=T1, last_event=T1)
    assert next_state(state, FAIL, POLICY, 14, T2) == TargetState("DOWN", T0, last_event=T2)


@pytest.mark.parametrize(
    ("cert_min_days", "expected"), [(14, (14, 7, 3, 1)), (30, (30, 14, 7, 3, 1)), (5, (5, 3, 1)), (1, (1,))]
)
def test_cert_thresholds(cert_min_days: int, expected: tuple[int, ...]) -> None:
    assert cert_thresholds(cert_min_days) == expected


@pytest.mark.parametrize(
    ("warned", "days", "alert", "now_warned"),
    [
        (None, 20, False, None),
        (None, 9, True, 14),
        (14, 9, False, 14),
        (14, 7, True, 7),
        (1, 0, False, 1),
        (3, 30, False, None),
    ],
    ids=["plenty", "crosses-14", "already-14", "crosses-7", "expired-already-1", "renewed"],
)
def test_certificate_warnings(warned: int | None, days: int, alert: bool, now_warned: int | None) -> None:
    state = TargetState(cert_warned=warned, last_event=T0)
    new = next_state(state, CheckResult("api", "u", True, 1, cert_days_left=days), POLICY, 14, T1) or state
    assert (kinds(new) == ["CERTIFICATE"], new.cert_warned) == (alert, now_warned)


def minute(n: int) -> str:
    return f"2026-11-27T{18 + n // 60:02d}:{n % 60:02d}:00Z"


def test_a_reminder_is_dropped_while_its_down_is_still_unsent() -> None:
    down = Alert("DOWN", "api", "u", T0, T0)
    state = TargetState("DOWN", T0, last_event=T0, reminded_at=T0, pending=(down,))
    new = next_state(state, FAIL, AlertPolicy(remind_every_minutes=5), 14, minute(5))
    assert new is not None
    assert new.pending == (down,)  # the DOWN kept, the redundant STILL DOWN not added
    assert new.reminded_at == minute(5)


def test_only_the_latest_reminder_is_kept_and_never_instead_of_a_transition() -> None:
    policy = AlertPolicy(failure_threshold=1, success_threshold=1, remind_every_minutes=5)
    state = TargetState("DOWN", T0, last_event=T0, reminded_at=T0, pending=(Alert("RECOVERED", "api", "u", T0, T0),))
    state = dataclasses.replace(state, pending=(*state.pending, Alert("STILL DOWN", "api", "u", T0, "earlier")))
    for n in range(5, 60, 5):  # an hour of reminders while nothing is sent
        state = next_state(state, FAIL, policy, 14, minute(n)) or state
    assert [(alert.kind, alert.at) for alert in state.pending] == [("RECOVERED", T0), ("STILL DOWN", minute(55))]


def test_only_the_latest_certificate_warning_is_kept() -> None:
    state = TargetState(last_event=T0)
    for n, days in enumerate((13, 6, 2), start=1):
        result = CheckResult("api", "u", True, 1, cert_days_left=days)
        state = next_state(state, result, POLICY, 14, minute(n)) or state
    assert [(alert.kind, alert.cert_days_left) for alert in state.pending] == [("CERTIFICATE", 2)]


def test_a_long_flapping_outage_keeps_the_first_down_and_the_last_word() -> None:
    policy = AlertPolicy(failure_threshold=1, success_threshold=1)
    state = TargetState()
    for n in range(100):  # 50 flaps, nothing sent
        state = next_state(state, FAIL if n % 2 == 0 else OK, policy, 14, minute(n)) or state
    transitions = [(alert.kind, alert.at) for alert in state.pending]
    assert len(transitions) == MAX_PENDING_TRANSITIONS
    assert transitions[0] == ("DOWN", minute(0))
    assert transitions[-1] == ("RECOVERED", minute(99))
    assert all(kind == ("DOWN", "RECOVERED")[index % 2] for index, (kind, _) in enumerate(transitions))
