"""Write units a client's calls would be billed by DynamoDB, worked out from what each call wrote.

moto does not bill; DynamoDB's rules do (on demand, standard tables): a write
costs one unit per started KB of the item, ``BatchWriteItem`` per item in it;
``UpdateItem`` and a conditional write that is refused are billed by the
larger of the item before and after. The sizes come from
``history/item_size.py``. The item before an ``UpdateItem`` or a conditional
``PutItem`` is read by a client of its own, so the reads being counted elsewhere
(``tests/read_units.py``) are not disturbed.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import boto3

from healthcheck.history.item_size import item_bytes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["WriteMeter", "write_units"]

KB = 1024


def write_units(item: dict[str, Any] | None) -> int:
    """Units one write of ``item`` costs: one per started KB (a missing item: nothing)."""
    return 0 if not item else max(1, -(-item_bytes(item) // KB))


class WriteMeter:
    """Counts the write units of every write ``client`` makes from now on, per table."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.units: defaultdict[str, int] = defaultdict(int)
        self.items: defaultdict[str, int] = defaultdict(int)
        """Items written (a batch counts each of its items)."""
        self._peek = boto3.client(
            "dynamodb",
            endpoint_url=client.meta.endpoint_url,
            region_name=client.meta.region_name,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        self._before = threading.local()  # each thread's call in flight: the writer's threads write at once
        events = client.meta.events
        events.register("provide-client-params.dynamodb.BatchWriteItem", self._batch)
        for operation in ("PutItem", "UpdateItem", "DeleteItem"):
            events.register(f"provide-client-params.dynamodb.{operation}", self._remember)
            events.register(f"after-call.dynamodb.{operation}", self._single)

    def _batch(self, params: dict[str, Any], **_: object) -> None:
        # Billed as sent: what DynamoDB leaves unprocessed is sent (and billed) again by the caller.
        for table, requests in params["RequestItems"].items():
            for request in requests:
                self.units[table] += write_units(request.get("PutRequest", {}).get("Item"))
                self.items[table] += 1

    def _key(self, params: dict[str, Any]) -> dict[str, Any]:
        if "Key" in params:
            return dict(params["Key"])
        item = params["Item"]
        return {name: item[name] for name in ("Id", "Timestamp", "Day") if name in item}

    def _remember(self, params: dict[str, Any], **_: object) -> None:
        before = self._peek.get_item(TableName=params["TableName"], Key=self._key(params), ConsistentRead=True)
        self._before.call = (params["TableName"], self._key(params), before.get("Item"))

    def _single(self, http_response: object, parsed: dict[str, Any], **_: object) -> None:
        table, key, before = self._before.call
        after = self._peek.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        # The larger of the item before and after: a refused conditional write is billed too.
        self.units[table] += max(write_units(before), write_units(after), 1)
        self.items[table] += 1

    @property
    def total(self) -> int:
        return sum(self.units.values())
