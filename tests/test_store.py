"""Records in DynamoDB: the schema, batching, backoff on unprocessed items, failures that raise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from healthcheck.exceptions import RecordsNotWrittenError
from healthcheck.probe import CheckResult
from healthcheck.store import CLIENT_CONFIG, ResultStore, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TS = "2015-10-08T16:53:06Z"


def _items(n: int) -> list[Any]:
    return [to_item(CheckResult(f"t{i}", f"https://t{i}.example/", True, i, status=200), TS) for i in range(n)]


def test_item_schema_for_a_response_and_for_a_failure() -> None:
    up = to_item(CheckResult("site", "https://site.example/", True, 123, status=200), TS)
    assert up == {
        "Id": {"S": "site"},
        "Timestamp": {"S": TS},
        "Url": {"S": "https://site.example/"},
        "Success": {"BOOL": True},
        "Duration": {"N": "123"},
        "Status": {"N": "200"},
    }
    down = to_item(CheckResult("site", "https://site.example/", False, 5, error="connection refused"), TS)
    assert "Status" not in down
    assert down["Error"] == {"S": "connection refused"}


def test_records_land_in_the_table_in_batches_of_25(dynamodb: DynamoDBClient, table: str) -> None:
    sizes: list[int] = []

    def count(params: dict[str, Any], **_: object) -> None:
        sizes.append(len(params["RequestItems"][table]))

    dynamodb.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", count)
    assert ResultStore(dynamodb, table).write(_items(60)) == 60
    assert sorted(sizes) == [10, 25, 25]
    items = dynamodb.scan(TableName=table)["Items"]
    assert len(items) == 60
    assert dynamodb.get_item(TableName=table, Key={"Id": {"S": "t7"}, "Timestamp": {"S": TS}})["Item"]["Duration"] == {
        "N": "7"
    }


def _stubbed() -> tuple[DynamoDBClient, Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def _request(items: list[Any]) -> dict[str, Any]:
    return {"RequestItems": {"results": [{"PutRequest": {"Item": item}} for item in items]}}


def test_batches_of_25() -> None:
    client, stub = _stubbed()
    items = _items(60)
    for chunk in (items[:25], items[25:50], items[50:]):
        stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(chunk))
    with stub:
        assert ResultStore(client, "results", parallel_batches=1).write(items) == 60
    stub.assert_no_pending_responses()


def test_unprocessed_items_are_retried_with_growing_backoff() -> None:
    client, stub = _stubbed()
    items = _items(3)
    left = _request(items[1:])["RequestItems"]
    stub.add_response("batch_write_item", {"UnprocessedItems": left}, _request(items))
    stub.add_response("batch_write_item", {"UnprocessedItems": left}, _request(items[1:]))
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(items[1:]))
    sleeps: list[float] = []
    with stub:
        assert ResultStore(client, "results", base_delay_s=0.1, sleep=sleeps.append).write(items) == 3
    stub.assert_no_pending_responses()
    assert len(sleeps) == 2
    assert 0.1 <= sleeps[0] <= 0.2 <= sleeps[1] <= 0.4


def test_items_still_unprocessed_after_all_attempts_raise() -> None:
    client, stub = _stubbed()
    items = _items(2)
    for _ in range(3):
        stub.add_response("batch_write_item", {"UnprocessedItems": _request(items)["RequestItems"]}, _request(items))
    with stub, pytest.raises(RecordsNotWrittenError, match="2 of 2 records were not written to results") as raised:
        ResultStore(client, "results", max_attempts=3, sleep=lambda _: None).write(items)
    assert raised.value.unwritten == 2


def test_a_failed_batch_does_not_stop_the_next() -> None:
    client, stub = _stubbed()
    items = _items(30)
    stub.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", "slow down")
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(items[25:]))
    with stub, pytest.raises(RecordsNotWrittenError, match=r"25 of 30 records.*slow down"):
        ResultStore(client, "results", parallel_batches=1).write(items)
    stub.assert_no_pending_responses()


def test_missing_table_raises_a_named_error(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(
        RecordsNotWrittenError, match=r"1 of 1 records were not written to no-such-table.*ResourceNotFound"
    ):
        ResultStore(dynamodb, "no-such-table").write(_items(1))


def test_client_retries_are_explicitly_standard() -> None:
    options = vars(CLIENT_CONFIG)  # botocore sets Config's options as dynamic attributes
    assert options["retries"] == {"mode": "standard", "total_max_attempts": 5}
    assert (options["connect_timeout"], options["read_timeout"]) == (3, 10)
