"""The report's figures, as pure functions of stored checks: uptime, percentiles, incidents, sparkline.

Incidents are the DOWN periods of the state rules (``state.next_state``)
replayed over the records with the stack's alert policy, so the report
names the same outages, with the same start and end, as the alerts did;
one failed check below the failure threshold is not an incident.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..alerting.policy import AlertPolicy
from ..alerting.state import TargetState, next_state, parse_time
from ..check.probe import CheckResult
from .reader import Check

__all__ = ["Figures", "Incident", "figures", "percentile", "replay", "sparkline"]

BLOCKS: Final = "▁▂▃▄▅▆▇█"
SPARK_WIDTH: Final = 24


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least ``p``% of the values at or below it.

    Always a latency that was measured (never interpolated); None for no values.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Figures:
    checks: int
    """Every record in the window."""
    maintenance: int
    """Left out of uptime: checked inside a maintenance window."""
    inconclusive: int
    """Left out of uptime: the failure was the monitor's (outside maintenance)."""
    failures: int
    """Counted checks that failed."""
    uptime_pct: float | None
    """Passed / counted checks * 100; None when no check counted."""
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    last_failure_at: str | None
    last_failure_reasons: tuple[str, ...]

    @property
    def counted(self) -> int:
        return self.checks - self.maintenance - self.inconclusive


def figures(checks: Sequence[Check]) -> Figures:
    """Figures of one target's checks (oldest first).

    Latency percentiles are over counted checks that got a response (a
    ``Status``): a refused connection's 0 ms or a timeout's limit is not a
    response time.
    """
    maintenance = sum(1 for check in checks if check.maintenance)
    inconclusive = sum(1 for check in checks if check.inconclusive and not check.maintenance)
    counted = [check for check in checks if check.counted]
    failed = [check for check in counted if not check.success]
    latencies = [check.duration_ms for check in counted if check.status is not None]
    last = failed[-1] if failed else None
    return Figures(
        checks=len(checks),
        maintenance=maintenance,
        inconclusive=inconclusive,
        failures=len(failed),
        uptime_pct=100 * (len(counted) - len(failed)) / len(counted) if counted else None,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        last_failure_at=last.timestamp if last else None,
        last_failure_reasons=last.reasons if last else (),
    )


@dataclass(frozen=True, slots=True)
class Incident:
    """A DOWN period: from the first failure of the streak that took the target down to the first success of
    the streak that brought it back (None: still down)."""

    target: str
    start: str
    end: str | None
    first_reason: str

    def duration_s(self, now: str) -> int:
        return max(0, round((parse_time(self.end or now) - parse_time(self.start)).total_seconds()))


def replay(
    name: str, checks: Sequence[Check], policy: AlertPolicy, initial: TargetState | None = None
) -> tuple[TargetState, list[Incident]]:
    """The state after ``checks`` and the DOWN periods they went through, by the function's own state rules.

    ``initial`` is the state before the first check (UP by default; DOWN when
    the state table shows an outage that began before the window).
    """
    state = initial or TargetState()
    found: list[Incident] = []
    opened: Incident | None = None
    if state.state == "DOWN" and state.since is not None:
        opened = Incident(name, state.since, None, "")
    first_reason = ""  # of the current failing streak
    for check in checks:
        if check.counted and not check.success:
            reason = check.reasons[0] if check.reasons else ""
            if state.state == "UP" and not state.failures:
                first_reason = reason
            elif opened is not None and not opened.first_reason:
                # Down since before the window: its first reason in the window is the one shown.
                opened = Incident(name, opened.start, None, reason)
        result = CheckResult(
            name,
            "",
            check.success,
            check.duration_ms,
            check.status,
            failures=check.reasons if not check.success else (),
            inconclusive=check.inconclusive,
            maintenance=check.maintenance,
        )
        moved = next_state(state, result, policy, 0, check.timestamp)
        if moved is None:
            continue
        if state.state == "UP" and moved.state == "DOWN":
            assert moved.since is not None
            opened = Incident(name, moved.since, None, first_reason)
        elif state.state == "DOWN" and moved.state == "UP" and opened is not None:
            found.append(Incident(name, opened.start, moved.since, opened.first_reason))
            opened = None
        state = moved
    if opened is not None:
        found.append(opened)
    return state, found


def _seconds(timestamp: str) -> float:
    return parse_time(timestamp).timestamp()


def sparkline(checks: Sequence[Check], start: str, end: str, width: int = SPARK_WIDTH) -> str:
    """Median response time per slice of the window, as Unicode blocks (low ▁ to high █); a blank: no response."""
    first, last = _seconds(start), _seconds(end)
    span = max(last - first, 1.0)
    buckets: list[list[int]] = [[] for _ in range(width)]
    for check in checks:
        if check.counted and check.status is not None:
            index = min(width - 1, max(0, int((_seconds(check.timestamp) - first) / span * width)))
            buckets[index].append(check.duration_ms)
    medians = [percentile(bucket, 50) for bucket in buckets]
    present = [value for value in medians if value is not None]
    if not present:
        return " " * width
    low, high = min(present), max(present)
    top = len(BLOCKS) - 1
    return "".join(
        " " if value is None else BLOCKS[0 if high == low else round((value - low) / (high - low) * top)]
        for value in medians
    )
