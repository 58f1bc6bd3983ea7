"""Splits the targets across schedules so no input-size limit caps their number.

Scheduler delivers each schedule's ``input`` as the Lambda event. Its limit is
256 KB (the Scheduler API's Target.Input); a run also has to fit its Lambda
timeout. So each schedule carries at most ``MAX_TARGETS`` targets (one wave of
the function's default 128 concurrent checks) in at most ``MAX_INPUT_CHARS``.
"""

from __future__ import annotations

import json

from healthcheck.check.targets import Target

__all__ = ["MAX_INPUT_CHARS", "MAX_TARGETS", "SCHEDULED_TIME", "chunk_targets", "schedule_input"]

MAX_TARGETS = 100
# Below 256 KB with room to spare: JSON escapes may grow a name, and the
# template variable is replaced after we measure.
MAX_INPUT_CHARS = 192 * 1024
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_input(targets: list[Target] | tuple[Target, ...], shard: str = "1") -> str:
    """The event one schedule delivers: its scheduled time, its shard's name and its share of the targets."""
    event = {"time": SCHEDULED_TIME, "shard": shard, "targets": [t.to_json() for t in targets]}
    return json.dumps(event, separators=(",", ":"))


def chunk_targets(targets: tuple[Target, ...]) -> list[tuple[Target, ...]]:
    """Consecutive groups, each within MAX_TARGETS and MAX_INPUT_CHARS once rendered (chunk i as shard "i+1")."""

    def empty() -> int:
        return len(schedule_input([], shard=str(len(chunks) + 1)))

    chunks: list[tuple[Target, ...]] = []
    current: list[Target] = []
    size = empty()
    for target in targets:
        # Each target adds its JSON and, after the first, a comma.
        grows = len(json.dumps(target.to_json(), separators=(",", ":"))) + (1 if current else 0)
        if current and (len(current) == MAX_TARGETS or size + grows > MAX_INPUT_CHARS):
            chunks.append(tuple(current))
            current, size = [], empty()
            grows -= 1
        current.append(target)
        size += grows
    if current:
        chunks.append(tuple(current))
    return chunks
