"""What a results table holds, read back the way every reader of records does: ``history.reader``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from healthcheck.history.reader import Check, checks

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["Check", "all_checks", "latest_checks"]

EVER = ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")


def all_checks(client: DynamoDBClient, table: str) -> list[Check]:
    """Every check stored, in order of time (then region, then target)."""
    return list(checks(client, table, since=EVER[0], until=EVER[1]))


def latest_checks(client: DynamoDBClient, table: str) -> dict[str, Check]:
    """Each target's newest check, by name."""
    return {check.target: check for check in all_checks(client, table)}
