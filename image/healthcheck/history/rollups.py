"""Summaries of checks over an hour or a day: counts and a fixed latency histogram (pure functions).

A status page must not read raw history, so each shard's checks are summarised
once per hour, and each day once more, into rollup items (``rollup_store``). The
histogram has fixed bucket bounds, so hours and days merge by adding counts,
and a percentile is read back as the upper bound of the bucket holding it
(an answer "at most N ms", exact to the bucket's width).

Uptime leaves out checks in a maintenance window and inconclusive ones (our
own connectivity was down): ``counted`` is what remains, ``failed`` the
counted checks that failed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..text import clip
from .reader import Check

__all__ = ["BUCKET_BOUNDS_MS", "HourSummary", "merge", "percentile", "summarise", "uptime"]

# Upper bounds (ms) of the latency buckets; the last bucket holds everything slower.
BUCKET_BOUNDS_MS: Final = (
    25,
    50,
    75,
    100,
    150,
    200,
    300,
    400,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    7500,
    10000,
    15000,
    30000,
    60000,
)
# Enough for our own reason texts; a page view reads every hour of 90 days, so each byte counts.
MAX_REASON_BYTES: Final = 100


@dataclass(frozen=True, slots=True)
class HourSummary:
    """The checks of one target in one period (an hour, or hours merged)."""

    checks: int = 0
    counted: int = 0
    """Checks neither in maintenance nor inconclusive: the ones uptime is computed from."""
    failed: int = 0
    """Counted checks that failed."""
    maintenance: int = 0
    inconclusive: int = 0
    duration_sum_ms: int = 0
    buckets: tuple[int, ...] = (0,) * (len(BUCKET_BOUNDS_MS) + 1)
    """Latencies of the counted checks that got a response (``Status``), as the report measures them."""
    first_reason: str | None = None
    """Why the period's first counted failure failed, clipped."""

    def to_attribute(self) -> dict[str, Any]:
        """One DynamoDB string, "checks,counted,failed,maintenance,inconclusive,sum|index:count,...|reason".

        A string, not a map: an hour costs about 20 bytes instead of 40-60, and
        a page view reads 91 day items per target, so item size is its price.
        """
        counts = ",".join(
            str(value)
            for value in (
                self.checks,
                self.counted,
                self.failed,
                self.maintenance,
                self.inconclusive,
                self.duration_sum_ms,
            )
        )
        buckets = ",".join(f"{index}:{count}" for index, count in enumerate(self.buckets) if count)
        reason = clip(self.first_reason, MAX_REASON_BYTES) if self.first_reason is not None else ""
        # The reason goes last: it may hold any character, "|" included.
        return {"S": f"{counts}|{buckets}|{reason}" if self.first_reason is not None else f"{counts}|{buckets}"}

    @classmethod
    def from_attribute(cls, attribute: Mapping[str, Any]) -> HourSummary:
        """Read back :meth:`to_attribute`'s string; ValueError if it is not one (figures that can't be)."""
        counts, buckets_text, *rest = str(attribute["S"]).split("|", 2)
        checks, counted, failed, maintenance, inconclusive, duration_sum = (_count(part) for part in counts.split(","))
        buckets = [0] * (len(BUCKET_BOUNDS_MS) + 1)
        for pair in filter(None, buckets_text.split(",")):
            index, count = (_count(part) for part in pair.split(":"))
            if index >= len(buckets):
                raise ValueError(f"no latency bucket {index}")
            buckets[index] = count
        if not failed <= counted <= checks or counted + maintenance + inconclusive != checks:
            raise ValueError(f"inconsistent counts {counts!r}")
        return cls(
            checks=checks,
            counted=counted,
            failed=failed,
            maintenance=maintenance,
            inconclusive=inconclusive,
            duration_sum_ms=duration_sum,
            buckets=tuple(buckets),
            first_reason=rest[0] if rest else None,
        )


def _count(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"not a count: {text[:20]!r}")
    return int(text)


def _bucket(duration_ms: int) -> int:
    return bisect.bisect_left(BUCKET_BOUNDS_MS, duration_ms)


def summarise(checks: Iterable[Check]) -> HourSummary:
    """Summarise checks, in time order. The reason is the first counted failure's, when it was read
    (checks decoded from a run item alone carry none: see ``reader.with_details``)."""
    total = counted = failed = maintenance = inconclusive = duration_sum = 0
    buckets = [0] * (len(BUCKET_BOUNDS_MS) + 1)
    reason: str | None = None
    first_failure = True
    for check in checks:
        total += 1
        if check.maintenance:
            maintenance += 1
            continue
        if check.inconclusive:
            inconclusive += 1
            continue
        counted += 1
        if check.status is not None:
            # Latency as the report measures it: counted checks that got a response. A refused
            # connection's 0 ms or a timeout's limit says nothing about how fast the site answers.
            duration_sum += check.duration_ms
            buckets[_bucket(check.duration_ms)] += 1
        if not check.success:
            failed += 1
            if first_failure:
                first_failure = False
                reason = check.reasons[0] if check.reasons else None
    return HourSummary(
        total, counted, failed, maintenance, inconclusive, duration_sum, tuple(buckets), _clip_reason(reason)
    )


def _clip_reason(reason: str | None) -> str | None:
    return clip(reason, MAX_REASON_BYTES) if reason is not None else None


def merge(summaries: Iterable[HourSummary]) -> HourSummary:
    """Summaries added together, in order (the first failure reason is the earliest one)."""
    parts = list(summaries)
    reasons = (part.first_reason for part in parts if part.first_reason is not None)
    return HourSummary(
        checks=sum(part.checks for part in parts),
        counted=sum(part.counted for part in parts),
        failed=sum(part.failed for part in parts),
        maintenance=sum(part.maintenance for part in parts),
        inconclusive=sum(part.inconclusive for part in parts),
        duration_sum_ms=sum(part.duration_sum_ms for part in parts),
        buckets=tuple(map(sum, zip(*(part.buckets for part in parts), strict=True)))
        if parts
        else HourSummary().buckets,
        first_reason=next(reasons, None),
    )


def uptime(summary: HourSummary) -> float | None:
    """Percent of counted checks that passed; None when nothing was counted."""
    if summary.counted == 0:
        return None
    return 100.0 * (summary.counted - summary.failed) / summary.counted


def percentile(summary: HourSummary, fraction: float) -> int | None:
    """The bucket bound (ms) at or under which ``fraction`` of the responses fell; None without any.

    The slowest bucket has no bound: a percentile landing there reads as the
    last bound (60 s), which is the longest a check can take anyway.
    """
    total = sum(summary.buckets)
    if total == 0:
        return None
    rank = max(1, -(-int(fraction * total * 1000) // 1000))  # ceil, without float noise for round fractions
    seen = 0
    for index, count in enumerate(summary.buckets):
        seen += count
        if seen >= rank:
            return BUCKET_BOUNDS_MS[min(index, len(BUCKET_BOUNDS_MS) - 1)]
    return BUCKET_BOUNDS_MS[-1]
