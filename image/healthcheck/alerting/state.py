"""Debounced per-target state: a pure ``next_state`` from the stored state and one check's result.

Raw results flap; state does not. UP→DOWN takes ``failure_threshold``
failures in a row, DOWN→UP ``success_threshold`` successes. A target with no
stored state is UP (as in Gatus and Route 53): it is announced only once it
has failed enough times, never merely for being new.

``next_state`` returns None when nothing worth storing changed, which is how
the steady state (UP and passing, or DOWN and failing between reminders)
costs no write. Alerts it implies are added to ``pending``: they are stored
with the state, in the same conditional write, and cleared only once sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from ..check.probe import CheckResult
from ..event import format_timestamp
from .policy import AlertPolicy

__all__ = [
    "CERT_THRESHOLDS",
    "Alert",
    "AlertKind",
    "TargetState",
    "cert_thresholds",
    "moves_clean",
    "next_state",
    "parse_time",
]

AlertKind = Literal["DOWN", "RECOVERED", "STILL DOWN", "CERTIFICATE", "PARTIAL", "DEGRADED"]
CERT_THRESHOLDS: Final = (14, 7, 3, 1)
# Pending transitions (DOWN, RECOVERED) kept through an SNS outage. Each
# flap needs at least two runs, so this is over half an hour of flapping at
# one run a minute; beyond it the oldest flap after the first DOWN is
# dropped whole (its RECOVERED and the DOWN after it), so the first and the
# latest transitions always go out and the item stays far below 400 KB.
MAX_PENDING_TRANSITIONS: Final = 32
MAX_REASONS: Final = 5
TRANSITIONS: Final[frozenset[str]] = frozenset({"DOWN", "RECOVERED"})
# Two readings of one certificate, each "event time + whole days left", differ by under a
# day (days are rounded down) plus the run's lag: further apart, they are two certificates.
SAME_CERT_WITHIN: Final = timedelta(days=2)


def parse_time(timestamp: str) -> datetime:
    """An event time (``2026-11-27T18:00:00Z``) as an aware datetime."""
    return datetime.fromisoformat(timestamp)


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing to tell people, stored until sent. ``at`` is the event time that raised it."""

    kind: AlertKind
    target: str
    url: str
    at: str
    since: str
    reasons: tuple[str, ...] = ()
    down_for_s: int | None = None
    """RECOVERED: from the first failure to the first success."""
    cert_days_left: int | None = None
    maybe_sent: bool = False
    """A publish of it got no answer (SNS may have delivered it): sent once more, marked as resent, then dropped."""
    regions: tuple[str, ...] = ()
    """Several regions only: the regions that saw it fail (DOWN, PARTIAL, STILL DOWN)."""


@dataclass(frozen=True, slots=True)
class TargetState:
    state: Literal["UP", "DOWN", "PARTIAL"] = "UP"
    """PARTIAL only with several regions: some, fewer than the quorum, see it fail (alerting/regions.py)."""
    since: str | None = None
    """When the current state began: the first failure (DOWN) or first success (UP) of its streak."""
    failures: int = 0
    """Consecutive failures while UP (DOWN needs none counted)."""
    successes: int = 0
    """Consecutive successes while DOWN."""
    streak_start: str | None = None
    """Event time of the first result of the current failing (UP) or passing (DOWN) streak."""
    last_event: str | None = None
    """The last event time applied; an event no newer never moves this target."""
    reminded_at: str | None = None
    cert_warned: int | None = None
    """The smallest certificate threshold already warned of; None before any warning."""
    pending: tuple[Alert, ...] = ()
    claimed_by: str | None = None
    """The run publishing ``pending`` now (see alerting/track.py); state moves never change the claim."""
    claim_expires: int | None = None
    """Epoch seconds after which the claim is void (the claiming run's write deadline)."""
    failing: tuple[str, ...] = ()
    """Several regions only: the regions whose latest vote on the target is a FAIL, sorted."""
    cert_expiry: str | None = None
    """When the certificate last warned of as a new one expires (event time + its days left, to within a day).

    A reading of a certificate that expires later is a renewal that runs short in
    turn; one with plenty of days left (say another backend's, mid-renewal) is no
    reason to warn of the short one again. None on items from before it was kept.
    """

    @property
    def clean(self) -> bool:
        """Whether a passing check leaves this state as it is and there is nothing to send.

        UP with no streak counted, nothing pending, and no certificate warning a
        renewal would reset (one from before expiry dates were kept). A clean item
        is like no item: a run reads it only for a result that ``moves_clean``.
        The state table's sparse index holds every item that is not clean (alerting/state_store.py).
        """
        return (
            self.state == "UP"
            and self.failures == 0
            and self.successes == 0
            and self.streak_start is None
            and not self.pending
            and not self.failing
            and (self.cert_warned is None or self.cert_expiry is not None)
        )

    def stale(self, at: str) -> bool:
        """Whether an event at ``at`` is a duplicate or arrived out of order (fixed-width ISO text sorts as time)."""
        return self.last_event is not None and at <= self.last_event


def cert_thresholds(cert_min_days: int) -> tuple[int, ...]:
    """``certMinDays`` first, then the fixed 14, 7, 3, 1 below it."""
    return (cert_min_days, *(days for days in CERT_THRESHOLDS if days < cert_min_days))


def _cert_level(days_left: int, cert_min_days: int) -> int | None:
    """The smallest threshold ``days_left`` has crossed, or None while there are more days than the first."""
    crossed = [days for days in cert_thresholds(cert_min_days) if days_left <= days]
    return min(crossed) if crossed else None


def moves_clean(result: CheckResult, cert_min_days: int) -> bool:
    """Whether ``result`` can move a clean state, or no state: a failure, or a certificate inside its thresholds.

    Any other result (a pass, an inconclusive or maintenance result) leaves every
    clean state as it is: ``next_state`` returns None for it.
    """
    if result.inconclusive or result.maintenance:
        return False
    if not result.success:
        return True
    days = result.cert_days_left
    return days is not None and _cert_level(days, cert_min_days) is not None


def _reasons(result: CheckResult) -> tuple[str, ...]:
    reasons = result.failures or ((result.error,) if result.error else ())
    return reasons[:MAX_REASONS]


def _seconds_between(start: str, end: str) -> int:
    return max(0, round((parse_time(end) - parse_time(start)).total_seconds()))


def _check_health(
    state: TargetState, result: CheckResult, policy: AlertPolicy, at: str
) -> tuple[TargetState, list[Alert]]:
    alerts: list[Alert] = []
    if state.state == "UP":
        if result.success:
            return dataclasses.replace(state, failures=0, streak_start=None), alerts
        streak_start = state.streak_start if state.failures else at
        failures = state.failures + 1
        if failures < policy.failure_threshold:
            return dataclasses.replace(state, failures=failures, streak_start=streak_start), alerts
        assert streak_start is not None
        alerts.append(Alert("DOWN", result.name, result.url, at, streak_start, _reasons(result)))
        down = dataclasses.replace(
            state, state="DOWN", since=streak_start, failures=0, successes=0, streak_start=None, reminded_at=at
        )
        return down, alerts
    # DOWN
    if not result.success:
        state = dataclasses.replace(state, successes=0, streak_start=None)
        remind = policy.remind_every_minutes
        last = state.reminded_at or state.since or at
        if remind and _seconds_between(last, at) >= remind * 60:
            assert state.since is not None
            alerts.append(Alert("STILL DOWN", result.name, result.url, at, state.since, _reasons(result)))
            state = dataclasses.replace(state, reminded_at=at)
        return state, alerts
    streak_start = state.streak_start if state.successes else at
    successes = state.successes + 1
    if successes < policy.success_threshold:
        return dataclasses.replace(state, successes=successes, streak_start=streak_start), alerts
    assert streak_start is not None
    assert state.since is not None
    down_for = _seconds_between(state.since, streak_start)
    alerts.append(Alert("RECOVERED", result.name, result.url, at, state.since, down_for_s=down_for))
    up = dataclasses.replace(
        state, state="UP", since=streak_start, failures=0, successes=0, streak_start=None, reminded_at=None
    )
    return up, alerts


def _check_certificate(
    state: TargetState, result: CheckResult, cert_min_days: int, at: str
) -> tuple[TargetState, list[Alert]]:
    """One warning per threshold a certificate crosses, told apart by its expiry, not by the last reading.

    Two certificates behind one name (a load balancer mid-renewal) alternate
    between short and renewed: a renewed reading resets nothing, so the short
    one is not warned of again every other run, and the steady state writes nothing.
    """
    days = result.cert_days_left
    if days is None:
        return state, []
    level = _cert_level(days, cert_min_days)
    if level is None:
        if state.cert_warned is not None and state.cert_expiry is None:
            # An item from before expiry dates were kept: reset on a renewal, as it then did.
            return dataclasses.replace(state, cert_warned=None), []
        return state, []
    expiry = parse_time(at) + timedelta(days=days)
    renewal = state.cert_expiry is not None and expiry - parse_time(state.cert_expiry) > SAME_CERT_WITHIN
    alert = Alert("CERTIFICATE", result.name, result.url, "", "", cert_days_left=days)
    if state.cert_warned is None or renewal:
        # A certificate not warned of yet: a first shortfall, or a renewal that runs short in turn.
        return dataclasses.replace(state, cert_warned=level, cert_expiry=format_timestamp(expiry)), [alert]
    if level >= state.cert_warned:
        return state, []
    # The same certificate (or an older one still served) crossed a lower threshold.
    known = state.cert_expiry or format_timestamp(expiry)
    return dataclasses.replace(state, cert_warned=level, cert_expiry=known), [alert]


def _coalesce(pending: tuple[Alert, ...], new: list[Alert]) -> tuple[Alert, ...]:
    """``pending`` plus ``new``, without redundant alerts; transitions are never dropped for reminders.

    A reminder while the DOWN of its episode is still unsent says nothing
    more; of reminders and certificate warnings only the latest is kept.
    """
    merged = list(pending)
    for alert in new:
        if alert.kind == "STILL DOWN" and any(
            kept.kind == "DOWN" and kept.since == alert.since and kept.target == alert.target for kept in merged
        ):
            continue
        if alert.kind in ("STILL DOWN", "CERTIFICATE"):
            merged = [kept for kept in merged if not (kept.kind == alert.kind and kept.target == alert.target)]
        merged.append(alert)
    transitions = [index for index, alert in enumerate(merged) if alert.kind in TRANSITIONS]
    while len(transitions) > MAX_PENDING_TRANSITIONS:
        # Transitions alternate: dropping the 2nd and 3rd keeps the first DOWN and the last word.
        drop = {transitions[1], transitions[2]}
        merged = [alert for index, alert in enumerate(merged) if index not in drop]
        transitions = [index for index, alert in enumerate(merged) if alert.kind in TRANSITIONS]
    return tuple(merged)


def next_state(
    state: TargetState, result: CheckResult, policy: AlertPolicy, cert_min_days: int, at: str
) -> TargetState | None:
    """The state after ``result`` of the event at ``at``, or None when there is nothing to write.

    Stale events, inconclusive results and results inside a maintenance
    window never move state, and raise no alert.
    """
    if state.stale(at) or result.inconclusive or result.maintenance:
        return None
    # Left by several regions (a stack that went back to one): PARTIAL was never paged, so it is UP with no
    # streak here, and its failing regions go; DOWN stays DOWN. The write below clears both.
    one_region = dataclasses.replace(state, failing=())
    if state.state == "PARTIAL":
        one_region = dataclasses.replace(one_region, state="UP", failures=0, streak_start=None)
    moved, alerts = _check_health(one_region, result, policy, at)
    moved, cert_alerts = _check_certificate(moved, result, cert_min_days, at)
    alerts += [dataclasses.replace(alert, at=at, since=at) for alert in cert_alerts]
    unchanged = dataclasses.replace(moved, last_event=state.last_event) == state
    if unchanged:
        return None
    pending = _coalesce(moved.pending, alerts)
    return dataclasses.replace(moved, last_event=at, pending=pending)
