"""The report's figures, as pure functions of stored checks: uptime, percentiles, incidents, sparkline.

Incidents are the DOWN periods of the state rules (``state.next_state``)
replayed over the records with the stack's alert policy, so the report
names the same outages, with the same start and end, as the alerts did;
one failed check below the failure threshold is not an incident.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..alerting.policy import AlertPolicy
from ..alerting.state import TargetState, next_state, parse_time
from ..check.probe import CheckResult
from .reader import Check

__all__ = ["Figures", "Incident", "Replay", "Sparkline", "Tally", "figures", "percentile", "sparkline"]

BLOCKS: Final = "▁▂▃▄▅▆▇█"
SPARK_WIDTH: Final = 24


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least ``p``% of the values at or below it.

    Always a latency that was measured (never interpolated); None for no values.
    """
    return _ranked(sorted(values), p)


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


class Tally:
    """One target's figures, from its checks added one at a time (oldest first): no list of checks is kept.

    A report reads every target of a shard at once, so a 90-day report of 100
    targets at one check a minute streams 13 million checks: each target keeps
    only counts and its latencies (4 bytes each).
    """

    def __init__(self) -> None:
        self.checks = self.maintenance = self.inconclusive = self.counted = self.failed = 0
        self.latencies = array("l")
        self.last_failure: Check | None = None

    def add(self, check: Check) -> None:
        self.checks += 1
        if check.maintenance:
            self.maintenance += 1
        elif check.inconclusive:
            self.inconclusive += 1
        if not check.counted:
            return
        self.counted += 1
        if not check.success:
            self.failed += 1
            self.last_failure = check
        if check.status is not None:
            self.latencies.append(check.duration_ms)

    def figures(self) -> Figures:
        """Latency percentiles are over counted checks that got a response (a ``Status``): a refused
        connection's 0 ms or a timeout's limit is not a response time."""
        last = self.last_failure
        latencies = sorted(self.latencies)
        return Figures(
            checks=self.checks,
            maintenance=self.maintenance,
            inconclusive=self.inconclusive,
            failures=self.failed,
            uptime_pct=100 * (self.counted - self.failed) / self.counted if self.counted else None,
            p50_ms=_ranked(latencies, 50),
            p95_ms=_ranked(latencies, 95),
            p99_ms=_ranked(latencies, 99),
            last_failure_at=last.time if last else None,
            last_failure_reasons=last.reasons if last else (),
        )


def _ranked(ordered: Sequence[int], p: float) -> int | None:
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def figures(checks: Sequence[Check]) -> Figures:
    """Figures of one target's checks (oldest first)."""
    tally = Tally()
    for check in checks:
        tally.add(check)
    return tally.figures()


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


class Replay:
    """The function's own state rules run over one target's checks, added one at a time (oldest first).

    ``initial`` is the state before the first check (UP by default; DOWN when
    the state table shows an outage that began before the window).
    """

    def __init__(self, name: str, policy: AlertPolicy, initial: TargetState | None = None) -> None:
        self.name = name
        self.policy = policy
        self.state = initial or TargetState()
        self.found: list[Incident] = []
        self._opened: Incident | None = None
        if self.state.state == "DOWN" and self.state.since is not None:
            self._opened = Incident(name, self.state.since, None, "")
        self._first_reason = ""  # of the current failing streak

    def add(self, check: Check) -> None:
        state, name = self.state, self.name
        if check.counted and not check.success:
            reason = check.reasons[0] if check.reasons else ""
            if state.state == "UP" and not state.failures:
                self._first_reason = reason
            elif self._opened is not None and not self._opened.first_reason:
                # Down since before the window: its first reason in the window is the one shown.
                self._opened = Incident(name, self._opened.start, None, reason)
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
        moved = next_state(state, result, self.policy, 0, check.time)
        if moved is None:
            return
        if state.state == "UP" and moved.state == "DOWN":
            assert moved.since is not None
            self._opened = Incident(name, moved.since, None, self._first_reason)
        elif state.state == "DOWN" and moved.state == "UP" and self._opened is not None:
            self.found.append(Incident(name, self._opened.start, moved.since, self._opened.first_reason))
            self._opened = None
        self.state = moved

    def incidents(self) -> list[Incident]:
        """The DOWN periods so far, the one still open last."""
        return [*self.found, *([self._opened] if self._opened is not None else [])]


def _seconds(timestamp: str) -> float:
    return parse_time(timestamp).timestamp()


class Sparkline:
    """Median response time per slice of a window, from checks added one at a time."""

    def __init__(self, start: str, end: str, width: int = SPARK_WIDTH) -> None:
        self._first = _seconds(start)
        self._span = max(_seconds(end) - self._first, 1.0)
        self._slices = [array("l") for _ in range(width)]

    def add(self, check: Check) -> None:
        if check.counted and check.status is not None:
            width = len(self._slices)
            index = min(width - 1, max(0, int((_seconds(check.time) - self._first) / self._span * width)))
            self._slices[index].append(check.duration_ms)

    def text(self) -> str:
        """Unicode blocks, low ▁ to high █; a blank: no response in that slice."""
        medians = [_ranked(sorted(values), 50) for values in self._slices]
        present = [value for value in medians if value is not None]
        if not present:
            return " " * len(self._slices)
        low, high = min(present), max(present)
        top = len(BLOCKS) - 1
        return "".join(
            " " if value is None else BLOCKS[0 if high == low else round((value - low) / (high - low) * top)]
            for value in medians
        )


def sparkline(checks: Sequence[Check], start: str, end: str, width: int = SPARK_WIDTH) -> str:
    """Median response time per slice of the window, as Unicode blocks (low ▁ to high █); a blank: no response."""
    line = Sparkline(start, end, width)
    for check in checks:
        line.add(check)
    return line.text()
