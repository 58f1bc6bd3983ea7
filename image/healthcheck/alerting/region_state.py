"""A target's stored state moved by the decision of several regions, and the alerts that implies. Pure.

``regions.decide`` says what the regions' votes make of a target; this applies it to
the state item as stored: DOWN when a quorum fails (from UP or PARTIAL), RECOVERED
when a quorum passes again (to UP, or to PARTIAL while some regions still fail),
PARTIAL (paged only with ``alertOnPartial``), reminders while DOWN, and the
certificate warnings of this region's own reading, as with one region. A held
decision (fewer than the quorum voting) moves nothing but the failing regions.
"""

from __future__ import annotations

import dataclasses

from ..check.probe import CheckResult
from .policy import AlertPolicy
from .regions import Decision
from .state import Alert, TargetState, _check_certificate, _coalesce, _reasons, _seconds_between

__all__ = ["next_region_state"]


def next_region_state(
    state: TargetState,
    decision: Decision,
    failing: tuple[str, ...],
    result: CheckResult,
    policy: AlertPolicy,
    cert_min_days: int,
    at: str,
    *,
    alert_on_partial: bool = False,
) -> TargetState | None:
    """The state after the regions' ``decision`` at ``at``, or None when there is nothing to write.

    ``failing``: the regions whose latest vote is a FAIL (kept on the item, so every region's run
    reads it while any region sees the target fail). An event older than the last applied moves
    nothing; one at the same time may (each region's run of that time decides again, with more votes).
    """
    if state.last_event is not None and at < state.last_event:
        return None
    if result.maintenance:
        return None
    alerts: list[Alert] = []
    moved = dataclasses.replace(state, failing=failing)
    reasons = _reasons(result) if not result.success else ()
    if not decision.held:
        old, new = state.state, decision.state
        moved = dataclasses.replace(moved, state=new, since=decision.since)
        if new == "DOWN" and old != "DOWN":
            assert decision.since is not None
            alerts.append(Alert("DOWN", result.name, result.url, at, decision.since, reasons, regions=decision.failing))
            moved = dataclasses.replace(moved, reminded_at=at)
        elif old == "DOWN" and new != "DOWN":
            assert state.since is not None
            assert decision.recovered_at is not None
            down_for = _seconds_between(state.since, decision.recovered_at)
            alerts.append(Alert("RECOVERED", result.name, result.url, at, state.since, down_for_s=down_for))
            moved = dataclasses.replace(moved, reminded_at=None)
        elif new == "DOWN":
            moved = dataclasses.replace(moved, since=state.since)
            remind = policy.remind_every_minutes
            last = state.reminded_at or state.since or at
            if remind and _seconds_between(last, at) >= remind * 60:
                assert state.since is not None
                reminder = Alert("STILL DOWN", result.name, result.url, at, state.since, reasons, regions=failing)
                alerts.append(reminder)
                moved = dataclasses.replace(moved, reminded_at=at)
        if new == "PARTIAL" and old == "UP" and alert_on_partial:
            assert decision.since is not None
            alerts.append(
                Alert("PARTIAL", result.name, result.url, at, decision.since, reasons, regions=decision.failing)
            )
    moved, cert_alerts = _check_certificate(moved, result, cert_min_days, at)
    alerts += [dataclasses.replace(alert, at=at, since=at) for alert in cert_alerts]
    if dataclasses.replace(moved, last_event=state.last_event) == state:
        return None
    last_event = at if state.last_event is None or at > state.last_event else state.last_event
    return dataclasses.replace(moved, last_event=last_event, pending=_coalesce(moved.pending, alerts))
