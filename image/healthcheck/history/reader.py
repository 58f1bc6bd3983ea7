"""Reading check records back: a ``Query`` by ``Id`` and time range, page by page, never a ``Scan``.

The results table grows by one item per target per run; a ``Scan`` would read
every target's whole history to report on one hour of one. A ``Query`` reads
only the items in the window asked for, and pages on ``LastEvaluatedKey``
(DynamoDB returns at most 1 MB per call).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..alerting.state import TargetState
from ..alerting.state_store import from_item as state_from_item
from ..alerting.state_store import is_shard_key
from .record_store import HASH_KEY, RANGE_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["Check", "check_from_item", "read_checks", "read_states"]

# Only what the report uses: a record's Url is up to 8 KB and not needed here.
# "Timestamp" is a DynamoDB reserved word, hence the placeholders.
PROJECTION: Final = "#t, Success, #d, #s, #e, Failures, Inconclusive, Maintenance"
PROJECTION_NAMES: Final = {"#t": RANGE_KEY, "#d": "Duration", "#s": "Status", "#e": "Error"}


@dataclass(frozen=True, slots=True)
class Check:
    """One stored check, as the report needs it."""

    timestamp: str
    success: bool
    duration_ms: int
    status: int | None = None
    reasons: tuple[str, ...] = ()
    """The unmet expectations (``Failures``), else the ``Error``; empty for a success."""
    inconclusive: bool = False
    maintenance: bool = False

    @property
    def counted(self) -> bool:
        """Whether the check counts towards uptime: not in maintenance, not inconclusive."""
        return not (self.inconclusive or self.maintenance)


def check_from_item(item: dict[str, Any]) -> Check:
    failures = tuple(str(entry["S"]) for entry in item.get("Failures", {}).get("L", []))
    error = item.get("Error", {}).get("S")
    status = item.get("Status", {}).get("N")
    return Check(
        timestamp=str(item[RANGE_KEY]["S"]),
        success=bool(item["Success"]["BOOL"]),
        duration_ms=int(float(item["Duration"]["N"])),
        status=int(status) if status is not None else None,
        reasons=failures or ((str(error),) if error else ()),
        inconclusive=bool(item.get("Inconclusive", {}).get("BOOL", False)),
        maintenance=bool(item.get("Maintenance", {}).get("BOOL", False)),
    )


def read_checks(
    client: DynamoDBClient,
    table: str,
    name: str,
    start: str,
    end: str,
    *,
    on_page: Callable[[int], None] = lambda count: None,
    page_size: int | None = None,
) -> list[Check]:
    """The checks of target ``name`` with ``start <= Timestamp <= end``, oldest first.

    ``on_page`` gets the number of items of each page as it arrives (for a
    progress bar). ``page_size`` caps the items per call (DynamoDB's ``Limit``);
    without it each call returns up to 1 MB.
    """
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#id = :id AND #t BETWEEN :start AND :end",
        "ProjectionExpression": PROJECTION,
        "ExpressionAttributeNames": {**PROJECTION_NAMES, "#id": HASH_KEY},
        "ExpressionAttributeValues": {":id": {"S": name}, ":start": {"S": start}, ":end": {"S": end}},
    }
    if page_size is not None:
        request["Limit"] = page_size
    checks: list[Check] = []
    while True:
        response = client.query(**request)
        items = response.get("Items", [])
        checks += [check_from_item(item) for item in items]
        on_page(len(items))
        last = response.get("LastEvaluatedKey")
        if not last:
            return checks
        request["ExclusiveStartKey"] = last


def read_states(client: DynamoDBClient, table: str) -> dict[str, TargetState]:
    """Every target's stored state. A ``Scan``, of the state table only: one small item per target."""
    states: dict[str, TargetState] = {}
    request: dict[str, Any] = {"TableName": table}
    while True:
        response = client.scan(**request)
        for item in response.get("Items", []):
            if not is_shard_key(str(item[HASH_KEY]["S"])):  # each shard's own item is no target
                states[str(item[HASH_KEY]["S"])] = state_from_item(item)
        last = response.get("LastEvaluatedKey")
        if not last:
            return states
        request["ExclusiveStartKey"] = last
