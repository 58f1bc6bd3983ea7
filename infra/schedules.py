"""Splits the targets across schedules (shards) so no input-size limit caps their number.

Scheduler delivers each schedule's ``input`` as the Lambda event. Its limit is
256 KB (the Scheduler API's Target.Input); a run also has to fit its Lambda
timeout. So each schedule carries at most ``MAX_TARGETS`` targets in at most
``MAX_INPUT_CHARS``. A run checks ``IN_FLIGHT`` of them at once, so a shard
larger than that may take several turns (:func:`waves`) if its targets hang:
the stack's settings hold the Lambda timeout to that.
"""

from __future__ import annotations

import json
import math

from healthcheck.check.targets import Target
from healthcheck.config import DEFAULT_MAX_CONCURRENCY

__all__ = [
    "IN_FLIGHT",
    "MAX_INPUT_CHARS",
    "MAX_TARGETS",
    "SCHEDULED_TIME",
    "chunk_targets",
    "schedule_input",
    "waves",
]

# Targets per schedule, chosen by measurement (bench/scale.py, README "Capacity").
MAX_TARGETS = 500
# The checks a run keeps going at once: the function's MAX_CONCURRENCY, which the stack leaves at its default.
IN_FLIGHT = DEFAULT_MAX_CONCURRENCY
# Below 256 KB with room to spare: JSON escapes may grow a name, and the
# template variable is replaced after we measure.
MAX_INPUT_CHARS = 192 * 1024
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_input(targets: list[Target] | tuple[Target, ...], shard: str = "1") -> str:
    """The event one schedule delivers: its scheduled time, its shard's name and its share of the targets."""
    event = {"time": SCHEDULED_TIME, "shard": shard, "targets": [t.to_json() for t in targets]}
    return json.dumps(event, separators=(",", ":"))


def waves(count: int) -> int:
    """Turns ``count`` targets take if every one hangs until its timeout: ``IN_FLIGHT`` at a time.

    A check starts as soon as one ends, so target k starts before floor(k / IN_FLIGHT)
    timeouts have passed: the run's slowest timeout times this bounds every check's end.
    """
    return max(1, math.ceil(count / IN_FLIGHT))


def chunk_targets(targets: tuple[Target, ...], *, max_targets: int = MAX_TARGETS) -> list[tuple[Target, ...]]:
    """Consecutive groups, each within ``max_targets`` and MAX_INPUT_CHARS once rendered (chunk i as shard "i+1").

    ``max_targets`` other than the stack's is for bench/scale.py, which measures shard sizes against each other.
    """

    def empty() -> int:
        return len(schedule_input([], shard=str(len(chunks) + 1)))

    chunks: list[tuple[Target, ...]] = []
    current: list[Target] = []
    size = empty()
    for target in targets:
        # Each target adds its JSON and, after the first, a comma.
        grows = len(json.dumps(target.to_json(), separators=(",", ":"))) + (1 if current else 0)
        if current and (len(current) == max_targets or size + grows > MAX_INPUT_CHARS):
            chunks.append(tuple(current))
            current, size = [], empty()
            grows -= 1
        current.append(target)
        size += grows
    if current:
        chunks.append(tuple(current))
    return chunks
