"""The scale benchmark's meter bills each call as DynamoDB's capacity rules say: the cost table rests on it.

Calls go through the real proxy in front of the embedded DynamoDB, from a real boto3 client.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bench.scale_meter import Meter, MeterServer, Upstream
from localdev.dynamodb import LOCAL_AWS_ENV, local_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_names = itertools.count()


@pytest.fixture(scope="module")
def meter_server(dynamodb_endpoint: str) -> Iterator[MeterServer]:
    server = MeterServer(Meter(Upstream(dynamodb_endpoint)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def metered(meter_server: MeterServer, dynamodb_endpoint: str) -> tuple[DynamoDBClient, str, Meter]:
    """A fresh table with a sparse index on ``Watch``, a client billed under the table's name, and the meter."""
    name = f"metered-{next(_names)}"
    local_client("dynamodb", dynamodb_endpoint).create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "Id", "AttributeType": "S"},
            {"AttributeName": "Watch", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "Watch",
                "KeySchema": [{"AttributeName": "Watch", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{meter_server.server_address[1]}/shard/{name}",
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    return client, name, meter_server.meter


def _item(key: str, size: int, **extra: Any) -> dict[str, Any]:
    """An item of exactly ``size`` billed bytes: Id (2 + len) and Pad (3 + len), plus ``extra``."""
    base = len("Id") + len(key) + len("Pad") + sum(len(k) + len(v["S"]) for k, v in extra.items())
    return {"Id": {"S": key}, "Pad": {"S": "p" * (size - base)}, **extra}


def _bill(meter: Meter, table: str) -> tuple[float, float]:
    bill = meter.snapshot(table)[table]
    return float(bill["write"]), float(bill["read"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first", "second", "units"),
    [
        (100, None, 1),
        (1024, None, 1),
        (1025, None, 2),
        (1536, 512, 2 + 2),  # an overwrite is billed at the larger of the item before and after
        (512, 3000, 1 + 3),
    ],
    ids=["small", "one-kb", "just-over-one-kb", "overwrite-smaller", "overwrite-larger"],
)
def test_a_put_costs_a_unit_per_kb_of_the_larger_item(
    metered: tuple[DynamoDBClient, str, Meter], first: int, second: int | None, units: int
) -> None:
    client, table, meter = metered
    client.put_item(TableName=table, Item=_item("a", first))
    if second is not None:
        client.put_item(TableName=table, Item=_item("a", second))
    assert _bill(meter, table) == (units, 0)


def test_a_failed_condition_still_costs_the_item_it_read(metered: tuple[DynamoDBClient, str, Meter]) -> None:
    client, table, meter = metered
    client.put_item(TableName=table, Item=_item("a", 2500))
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        client.put_item(TableName=table, Item=_item("a", 10), ConditionExpression="attribute_not_exists(Id)")
    assert _bill(meter, table) == (3 + 3, 0)


def test_a_batch_write_costs_each_item_and_a_delete_the_item_it_removed(
    metered: tuple[DynamoDBClient, str, Meter],
) -> None:
    client, table, meter = metered
    writes: list[Any] = [{"PutRequest": {"Item": _item(f"k{i}", 1500)}} for i in range(25)]
    client.batch_write_item(RequestItems={table: writes})
    client.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": {"Id": {"S": "k0"}}}}]})
    assert _bill(meter, table) == (25 * 2 + 2, 0)


def test_a_sparse_index_costs_a_write_only_for_items_that_carry_its_key(
    metered: tuple[DynamoDBClient, str, Meter],
) -> None:
    client, table, meter = metered
    client.put_item(TableName=table, Item=_item("clean", 200))  # not in the index
    client.put_item(TableName=table, Item=_item("watched", 200, Watch={"S": "1"}))  # table and index
    client.update_item(TableName=table, Key={"Id": {"S": "watched"}}, UpdateExpression="REMOVE Watch")  # leaves it
    client.update_item(  # a new index key: out of one entry, into another
        TableName=table,
        Key={"Id": {"S": "clean"}},
        UpdateExpression="SET Watch = :w",
        ExpressionAttributeValues={":w": {"S": "2"}},
    )
    assert _bill(meter, table) == (1 + 2 + 2 + 2, 0)


def test_reads_cost_half_a_unit_per_4_kb_or_a_unit_when_consistent(metered: tuple[DynamoDBClient, str, Meter]) -> None:
    client, table, meter = metered
    for i in range(3):
        client.put_item(TableName=table, Item=_item(f"q{i}", 3000, Watch={"S": "w"}))
    written, _ = _bill(meter, table)
    client.get_item(TableName=table, Key={"Id": {"S": "q0"}})  # 3 KB: 0.5
    client.get_item(TableName=table, Key={"Id": {"S": "q0"}}, ConsistentRead=True)  # 1
    client.get_item(TableName=table, Key={"Id": {"S": "none"}})  # not found: 0.5
    keys = [{"Id": {"S": "q1"}}, {"Id": {"S": "q2"}}, {"Id": {"S": "gone"}}]
    client.batch_get_item(RequestItems={table: {"Keys": keys}})  # 0.5 each, the missing one too
    client.query(  # one page of 9 KB together: 3 blocks of 4 KB, half a unit each
        TableName=table,
        IndexName="Watch",
        KeyConditionExpression="Watch = :w",
        ExpressionAttributeValues={":w": {"S": "w"}},
    )
    assert _bill(meter, table) == (written, 0.5 + 1 + 0.5 + 1.5 + 1.5)
