"""The invocation event: the EventBridge "Scheduled Event", a Scheduler input, or a manual one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from .exceptions import InvalidEventError
from .text import show

__all__ = ["DEFAULT_SHARD", "Invocation", "format_timestamp", "parse_event"]

# The share of the targets a run checks when its event names none (a manual invoke, TARGETS, make run).
DEFAULT_SHARD: Final = "default"
# A shard names DynamoDB keys (run#<shard>): short, and no character that could end the key's part.
_SHARD: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True, slots=True)
class Invocation:
    """``targets`` is None when the event names none (use the configured ones).

    ``shard`` names the share of the targets this event's schedule carries (infra's
    ``chunk_targets``): each shard's runs are recorded and summarised together.
    """

    timestamp: str
    targets: list[object] | None
    shard: str = DEFAULT_SHARD


def format_timestamp(moment: datetime) -> str:
    """The record key's form: ISO 8601 UTC to the second with ``Z``, so a retried event rewrites the same key.

    Formatted by hand: ``strftime("%Y")`` does not pad years before 1000 on Linux.
    """
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def _timestamp(value: object, now: datetime) -> str:
    if value is None:
        return format_timestamp(now)
    if not isinstance(value, str):
        raise InvalidEventError(f"event 'time' must be an ISO 8601 string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidEventError(f"event 'time' {show(value)} is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # EventBridge and Scheduler times are UTC
    try:
        return format_timestamp(moment)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-01:00 is in the year 10000 in UTC
        raise InvalidEventError(f"event 'time' {show(value)} is outside the years 1-9999 in UTC") from exc


def parse_event(event: object, now: datetime) -> Invocation:
    if not isinstance(event, dict):
        raise InvalidEventError(f"the event must be a JSON object, got {type(event).__name__}")
    targets = event.get("targets")
    if targets is not None and not isinstance(targets, list):
        raise InvalidEventError(f"event 'targets' must be a list of targets, got {type(targets).__name__}")
    return Invocation(timestamp=_timestamp(event.get("time"), now), targets=targets, shard=_shard(event.get("shard")))


def _shard(value: object) -> str:
    if value is None:
        return DEFAULT_SHARD
    if not isinstance(value, str) or not _SHARD.fullmatch(value):
        raise InvalidEventError(f"event 'shard' must be 1-64 letters, digits, '.', '_' or '-', got {show(value)}")
    return value
