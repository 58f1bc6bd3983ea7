"""Write units a client's ``UpdateItem`` calls on one table would be billed, its global secondary indexes included.

moto answers ``ReturnConsumedCapacity`` with a flat figure (0.5 for any
``UpdateItem``, below DynamoDB's least of 1), and none for the indexes, so the
bill is worked out here from the item before and after each call, read with a
client of its own, by DynamoDB's rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes):
the table is billed a unit per 1 KB of the larger of the two (at least 1, a
refused conditional write included); an index with ``ALL`` projected, a unit
per 1 KB of the item it puts or updates, and of the one it deletes: one write
when the item enters, stays in or leaves the index, two (a delete and a put)
when its index key changes, none when it is in the index neither before nor
after, or the write was refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from healthcheck.history.item_size import item_bytes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["WriteMeter"]

KB = 1024


def _units(item: dict[str, Any] | None) -> int:
    return 0 if item is None else max(1, -(-item_bytes(item) // KB))


class WriteMeter:
    """Counts from now on the write units of ``client``'s ``UpdateItem`` calls on ``table`` and its index on ``key``."""

    def __init__(self, client: DynamoDBClient, reader: DynamoDBClient, table: str, key: str) -> None:
        self.table, self.key, self._reader = table, key, reader
        self.calls = 0
        self.table_units = 0
        self.index_units = 0
        events = client.meta.events
        events.register("provide-client-params.dynamodb.UpdateItem", self._before)
        events.register("after-call.dynamodb.UpdateItem", self._after)

    def _item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        found = self._reader.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        return found.get("Item")

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: object) -> None:
        if params["TableName"] == self.table:
            context["metered_key"] = params["Key"]
            context["metered_before"] = self._item(params["Key"])

    def _after(self, http_response: Any, context: dict[str, Any], **_: object) -> None:
        if "metered_key" not in context:
            return
        before = context["metered_before"]
        written = http_response.status_code == 200
        after = self._item(context["metered_key"]) if written else before
        self.calls += 1
        self.table_units += max(1, _units(before), _units(after))
        if not written:
            return
        old = before.get(self.key) if before else None
        new = after.get(self.key) if after else None
        if old is not None and new is not None and old == new:
            self.index_units += _units(after)
        else:
            self.index_units += (_units(before) if old is not None else 0) + (_units(after) if new is not None else 0)
