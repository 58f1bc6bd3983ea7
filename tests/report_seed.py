"""Seeded histories for the report tests: runs written with the function's own ``ResultStore.run``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from healthcheck.check.probe import CheckResult
from healthcheck.history.record_store import ResultStore, roster_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)


def at(minute: int, second: int = 0) -> str:
    """12:00 plus ``minute`` minutes (and seconds) on the seeding day, in the records' format."""
    moment = datetime(2026, 11, 27, 12, tzinfo=UTC) + timedelta(minutes=minute, seconds=second)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ok(name: str, ms: int) -> CheckResult:
    return CheckResult(name, "https://example.test/", True, ms, 200)


def failed(name: str, ms: int, status: int | None = None, error: str = "connection refused") -> CheckResult:
    return CheckResult(name, "https://example.test/", False, ms, status, error)


def seed(
    client: DynamoDBClient,
    table: str,
    history: Iterable[tuple[str, CheckResult]],
    *,
    shard: str = "1",
    region: str = "us-east-1",
) -> int:
    """Write each (event time, result) as the function does: one run of ``shard`` per event time; returns how many.

    A run is written whole, so one event time of one shard is seeded by one call (a second would replace it).
    """
    runs: dict[str, list[CheckResult]] = {}
    for timestamp, result in history:
        runs.setdefault(timestamp, []).append(result)
    store = ResultStore(client, table)
    for timestamp, results in runs.items():
        roster = roster_of([(result.name, result.url) for result in results])
        writer = store.run(
            shard=shard, region=region, timestamp=timestamp, roster=roster, deadline=time.monotonic() + 60
        )
        for result in results:
            writer.record(result)
        writer.finish()
    return sum(len(results) for results in runs.values())
