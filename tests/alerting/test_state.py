"""next_state as a table: (stored state, result) → new state and the alerts it implies."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.state import (
    MAX_PENDING_TRANSITIONS,
    Alert,
    TargetState,
    cert_thresholds,
    moves_clean,
    next_state,
)
from healthcheck.check.probe import CheckResult

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
    return (datetime(2026, 11, 27, 18, tzinfo=UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cert(days: int) -> CheckResult:
    return CheckResult("api", "u", True, 1, status=200, cert_days_left=days)


def run(state: TargetState, readings: Iterable[tuple[int, CheckResult]], policy: AlertPolicy = POLICY) -> Sent:
    """Each (minute, result) in turn, with whatever it raises sent at once: the alerts, and the writes made."""
    sent = Sent(state)
    for n, result in readings:
        new = next_state(sent.state, result, policy, 14, minute(n))
        if new is not None:
            sent.writes += 1
            sent.alerts += [(alert.kind, alert.since, alert.cert_days_left) for alert in new.pending]
            sent.state = dataclasses.replace(new, pending=())
    return sent


@dataclasses.dataclass
class Sent:
    state: TargetState
    alerts: list[tuple[str, str, int | None]] = dataclasses.field(default_factory=list)
    writes: int = 0


def test_two_certificates_behind_one_name_are_warned_of_once_per_threshold() -> None:
    # A load balancer mid-renewal: the old certificate (10 days left) and the renewed one (80) alternate.
    sent = run(TargetState(), ((n, cert(10 if n % 2 == 0 else 80)) for n in range(20)))
    assert sent.alerts == [("CERTIFICATE", minute(0), 10)]
    assert sent.writes == 1  # the steady alternation writes nothing
    # The old certificate is still served when it crosses the next threshold: that is warned of, once.
    later = run(sent.state, ((n, cert(6 if n % 2 == 0 else 80)) for n in range(4 * 1440, 4 * 1440 + 20)))
    assert later.alerts == [("CERTIFICATE", minute(4 * 1440), 6)]


def test_a_renewed_certificate_that_runs_short_in_turn_is_warned_of_again() -> None:
    day = 1440
    sent = run(TargetState(), [(0, cert(10)), (1, cert(6)), (2 * day, cert(90)), (78 * day, cert(13))])
    assert [(kind, days) for kind, _since, days in sent.alerts] == [
        ("CERTIFICATE", 10),
        ("CERTIFICATE", 6),
        ("CERTIFICATE", 13),
    ]


def test_an_item_from_before_expiry_dates_were_kept_still_resets_on_a_renewal() -> None:
    sent = run(TargetState(cert_warned=7, last_event=T0), [(1, cert(90)), (80 * 1440, cert(12))])
    assert [(kind, days) for kind, _since, days in sent.alerts] == [("CERTIFICATE", 12)]


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


def test_one_certificate_read_every_hour_is_warned_of_once_per_threshold_only() -> None:
    # Its expiry is fixed: the reading's whole days left fall by one a day (rounded down).
    expires = datetime(2026, 12, 7, 18, 30, tzinfo=UTC)
    readings = []
    for hour in range(0, 10 * 24, 1):
        moment = datetime(2026, 11, 27, 18, tzinfo=UTC) + timedelta(hours=hour)
        readings.append((hour * 60, cert((expires - moment).days)))
    sent = run(TargetState(), readings)
    assert [days for _kind, _since, days in sent.alerts] == [10, 7, 3, 1]
    assert sent.writes == 4  # a warning is the only write


def test_an_older_certificate_served_again_is_not_a_new_one() -> None:
    # Warned of at 7 days; a backend still serving one that expires 3 days earlier (4 left: the same
    # threshold) is no renewal: only a certificate that expires later is a new one.
    sent = run(TargetState(), [(0, cert(7)), (1, cert(4)), (2, cert(7)), (3, cert(4))])
    assert [days for _kind, _since, days in sent.alerts] == [7]


def test_a_certificate_warning_is_kept_when_a_reminder_beside_it_is_dropped() -> None:
    down = Alert("DOWN", "api", "u", T0, T0, ("status 503",))
    state = TargetState("DOWN", T0, last_event=T0, reminded_at=T0, pending=(down,))
    failing = dataclasses.replace(FAIL, cert_days_left=9)
    new = next_state(state, failing, AlertPolicy(remind_every_minutes=5), 14, minute(5))
    assert new is not None
    assert [(alert.kind, alert.at, alert.since) for alert in new.pending] == [
        ("DOWN", T0, T0),
        ("CERTIFICATE", minute(5), minute(5)),  # its event time, for eventTime and the chat id
    ]


SEVEN = tuple(f"failure {n}" for n in range(7))


@pytest.mark.parametrize(
    ("state", "policy", "kind"),
    [
        (TargetState(failures=2, streak_start=T0, last_event=T0), POLICY, "DOWN"),
        (TargetState("DOWN", T0, last_event=T0, reminded_at=T0), AlertPolicy(remind_every_minutes=5), "STILL DOWN"),
    ],
    ids=["down", "reminder"],
)
def test_an_alert_lists_every_reason_up_to_five(state: TargetState, policy: AlertPolicy, kind: str) -> None:
    failing = dataclasses.replace(FAIL, failures=SEVEN)
    new = next_state(state, failing, policy, 14, minute(5))
    assert new is not None
    [alert] = new.pending
    assert (alert.kind, alert.reasons) == (kind, SEVEN[:5])
    error_only = dataclasses.replace(FAIL, failures=(), error="connection refused")
    [alert] = (next_state(state, error_only, policy, 14, minute(5)) or state).pending
    assert alert.reasons == ("connection refused",)


# What a run may leave unread: a clean item (or none) while its target's result does not move_clean.
EXPIRY = "2026-12-30T18:00:00Z"
CLEAN = [
    TargetState(),
    TargetState(since=T0, last_event=T0),
    TargetState(since=T0, last_event=T0, cert_warned=14, cert_expiry=EXPIRY),
    TargetState(since=T0, last_event=T2),
]
NOT_CLEAN = [
    TargetState(failures=1, streak_start=T0, last_event=T0),
    TargetState("DOWN", T0, last_event=T0),
    TargetState("DOWN", T0, successes=1, streak_start=T0, last_event=T0),
    TargetState(since=T0, last_event=T0, pending=(Alert("RECOVERED", "api", "u", T0, T0),)),
    TargetState(last_event=T0, cert_warned=14),
]
RESULTS = [
    OK,
    dataclasses.replace(OK, cert_days_left=90),
    dataclasses.replace(OK, cert_days_left=9),
    dataclasses.replace(OK, cert_days_left=30),
    FAIL,
    dataclasses.replace(FAIL, inconclusive=True),
    dataclasses.replace(FAIL, maintenance=True),
    dataclasses.replace(OK, cert_days_left=9, maintenance=True),
]
RESULT_IDS = [
    "pass",
    "cert-90-days",
    "cert-9-days",
    "cert-30-days",
    "fail",
    "inconclusive",
    "maintenance",
    "cert-in-window",
]


@pytest.mark.parametrize("cert_min_days", [14, 45], ids=["cert-min-14", "cert-min-45"])
@pytest.mark.parametrize("result", RESULTS, ids=RESULT_IDS)
@pytest.mark.parametrize("state", CLEAN, ids=["none", "up-since", "cert-known", "duplicate-event"])
def test_a_clean_state_moves_only_for_a_result_that_moves_clean(
    state: TargetState, result: CheckResult, cert_min_days: int
) -> None:
    # A run leaves a clean item unread unless the result moves_clean: the state it then assumes (none) must
    # move exactly as the item would have, or not at all.
    assert state.clean
    moved = next_state(state, result, POLICY, cert_min_days, T1)
    if not moves_clean(result, cert_min_days):
        assert moved is None
    else:
        assert next_state(TargetState(), result, POLICY, cert_min_days, T1) is not None


@pytest.mark.parametrize(
    "state", NOT_CLEAN, ids=["failing", "down", "recovering", "alert-pending", "warned-before-expiry-was-kept"]
)
def test_a_state_a_pass_would_move_or_with_alerts_to_send_is_not_clean(state: TargetState) -> None:
    assert not state.clean
    moved = [next_state(state, result, POLICY, 14, T1) for result in (OK, dataclasses.replace(OK, cert_days_left=90))]
    assert state.pending or any(new is not None for new in moved)
