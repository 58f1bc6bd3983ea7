"""Read units a client's calls would be billed by DynamoDB, counted from what each call returned.

moto answers ``ReturnConsumedCapacity`` with a flat 1.0 per ``Query`` whatever
it read, so the bill is worked out here from the items each response holds,
by DynamoDB's rules: a ``Query`` page costs half a unit per 4 KB of its items
together (rounded up, half a unit when empty); ``BatchGetItem`` half a
unit per 4 KB of each item, and half a unit for each key found missing
(eventually consistent).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from healthcheck.history.item_size import BLOCK_BYTES, item_bytes, page_bytes, read_units

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["ReadMeter"]


def _item_units(item: dict[str, Any]) -> float:
    return read_units(max(1, -(-item_bytes(item) // BLOCK_BYTES)) * BLOCK_BYTES)


class ReadMeter:
    """Counts the read units of every read ``client`` makes from now on, per table."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.units: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)
        events = client.meta.events
        events.register("provide-client-params.dynamodb.Query", self._remember)
        events.register("provide-client-params.dynamodb.BatchGetItem", self._remember_keys)
        events.register("after-call.dynamodb.Query", self._query)
        events.register("after-call.dynamodb.BatchGetItem", self._batch)
        self._table = ""
        self._keys: dict[str, int] = {}

    def _remember(self, params: dict[str, Any], **_: object) -> None:
        self._table = str(params["TableName"])

    def _remember_keys(self, params: dict[str, Any], **_: object) -> None:
        self._keys = {table: len(request["Keys"]) for table, request in params["RequestItems"].items()}

    def _query(self, parsed: dict[str, Any], **_: object) -> None:
        self.calls[self._table] += 1
        self.units[self._table] += read_units(page_bytes(parsed.get("Items", [])))

    def _batch(self, parsed: dict[str, Any], **_: object) -> None:
        responses = parsed.get("Responses", {})
        unprocessed = parsed.get("UnprocessedKeys", {})
        for table, asked in self._keys.items():
            items = responses.get(table, [])
            missing = asked - len(items) - len(unprocessed.get(table, {}).get("Keys", []))
            self.calls[table] += 1
            self.units[table] += sum(_item_units(item) for item in items) + 0.5 * missing

    @property
    def total(self) -> float:
        return sum(self.units.values())
