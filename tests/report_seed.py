"""Seeded histories for the report tests: records written with the function's own ``store.to_item``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from healthcheck.check.probe import CheckResult
from healthcheck.history.record_store import to_item

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


def seed(client: DynamoDBClient, table: str, history: Iterable[tuple[str, CheckResult]]) -> int:
    """Write each (event time, result) as the function does; returns how many."""
    items = [to_item(result, timestamp) for timestamp, result in history]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table: batch})  # type: ignore[dict-item]
    return len(items)
