"""Records in DynamoDB: the schema, batching, retries until the deadline, and failures that raise."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from healthcheck.check.probe import CheckResult
from healthcheck.exceptions import RecordsNotWrittenError
from healthcheck.history.record_store import ResultStore, to_item
from healthcheck.retrying import CLIENT_CONFIG
from tests.conftest import dynamodb_client
from tests.dynamodb_proxy import DynamoDBProxy, dynamodb_proxy
from tests.servers import closed_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TS = "2015-10-08T16:53:06Z"


def _items(n: int) -> list[Any]:
    return [to_item(CheckResult(f"t{i}", f"https://t{i}.example/", True, i, status=200), TS) for i in range(n)]


def _soon(seconds: float = 30) -> float:
    return time.monotonic() + seconds


def _count(dynamodb: DynamoDBClient, table: str) -> int:
    return len(dynamodb.scan(TableName=table)["Items"])


def test_item_schema_for_a_response_and_for_a_failure() -> None:
    up = to_item(CheckResult("site", "https://site.example/", True, 123, status=200), TS, region="eu-west-1")
    assert up == {
        "Id": {"S": "check#site"},
        "Timestamp": {"S": f"{TS}#eu-west-1"},
        "Url": {"S": "https://site.example/"},
        "Success": {"BOOL": True},
        "Duration": {"N": "123"},
        "Status": {"N": "200"},
    }
    down = to_item(CheckResult("site", "https://site.example/", False, 5, error="connection refused"), TS)
    assert "Status" not in down
    assert down["Error"] == {"S": "connection refused"}


def test_the_longest_url_a_target_may_have_is_recorded_whole() -> None:
    # Targets accept 2048 characters (up to 8 KiB of UTF-8); the record keeps all of it, not the 1 KiB an error gets.
    url = "https://site.example/?q=" + "é" * (2048 - 24)
    assert len(url.encode()) > 4000
    assert to_item(CheckResult("site", url, True, 5, status=200), TS)["Url"] == {"S": url}


def test_every_string_in_an_item_is_storable_whatever_the_result_holds() -> None:
    # A lone surrogate (valid in JSON and Python, not in UTF-8) and a 1 MB error text.
    result = CheckResult("site", "https://site.example/\ud800", False, 5, error="internal error: " + "x" * 1_000_000)
    item = to_item(result, TS)
    error, url = item["Error"]["S"], item["Url"]["S"]
    assert len(error.encode()) <= 1024
    assert error.startswith("internal error: xxx")
    assert error.endswith("…")
    assert url == "https://site.example/\ufffd"


def test_records_land_in_the_table_in_batches_of_25(dynamodb: DynamoDBClient, table: str) -> None:
    sizes: list[int] = []

    def count(params: dict[str, Any], **_: object) -> None:
        sizes.append(len(params["RequestItems"][table]))

    dynamodb.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", count)
    assert ResultStore(dynamodb, table).write(_items(60), _soon()) == 60
    assert sorted(sizes) == [10, 25, 25]
    assert _count(dynamodb, table) == 60
    key = {"Id": {"S": "check#t7"}, "Timestamp": {"S": f"{TS}#local"}}
    assert dynamodb.get_item(TableName=table, Key=key)["Item"]["Duration"] == {"N": "7"}


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
        assert ResultStore(client, "results", parallel_batches=1).write(items, _soon()) == 60
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
        assert ResultStore(client, "results", base_delay_s=0.1, sleep=sleeps.append).write(items, _soon()) == 3
    stub.assert_no_pending_responses()
    # 0.1 s doubled per attempt, jittered into the upper half: 0.1-0.2 s, then 0.2-0.4 s.
    assert len(sleeps) == 2
    assert 0.1 <= sleeps[0] <= 0.2 <= sleeps[1] <= 0.4


def test_throttling_backoff_is_capped_and_jittered() -> None:
    client, stub = _stubbed()
    items = _items(1)
    for _ in range(12):
        stub.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", "slow down", 400)
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(items))
    sleeps: list[float] = []
    with stub:
        store = ResultStore(client, "results", base_delay_s=0.05, max_delay_s=2.0, sleep=sleeps.append)
        assert store.write(items, _soon(600)) == 1
    assert len(sleeps) == 12
    assert max(sleeps) <= 2.0  # never more than the cap, however many attempts
    capped = sleeps[6:]  # 0.05 * 2**6 = 3.2 s: capped at 2 s from here on
    assert all(1.0 <= delay <= 2.0 for delay in capped), capped
    assert len(set(capped)) > 1, "parallel batches must not retry in step"


@pytest.mark.slow
def test_throttling_is_retried_until_every_record_is_stored(dynamodb_endpoint: str, table: str) -> None:
    # 40 throttled calls in a row: botocore alone gives up after 5 attempts.
    with dynamodb_proxy(dynamodb_endpoint) as proxy:
        proxy.throttle_next = 40
        store = ResultStore(dynamodb_client(proxy.endpoint), table, base_delay_s=0.005, max_delay_s=0.05)
        assert store.write(_items(100), _soon()) == 100
        assert proxy.calls >= 44  # 40 throttled, then at least the 4 batches
    assert _count(dynamodb_client(dynamodb_endpoint), table) == 100


@pytest.mark.slow
def test_throttling_past_the_deadline_fails_loudly(
    dynamodb_endpoint: str, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    with dynamodb_proxy(dynamodb_endpoint) as proxy:
        proxy.throttle_next = 10**6
        store = ResultStore(dynamodb_client(proxy.endpoint), table, base_delay_s=0.01, max_delay_s=0.05)
        started = time.monotonic()
        with pytest.raises(RecordsNotWrittenError, match=r"30 of 30 records .*ProvisionedThroughputExceeded"):
            store.write(_items(30), started + 1.0)
        assert time.monotonic() - started < 1.5
    assert "30 of 30 records were not written" in caplog.text


@pytest.fixture
def black_hole(dynamodb_endpoint: str) -> Iterator[DynamoDBProxy]:
    """A DynamoDB that accepts every connection and request, and never answers."""
    with dynamodb_proxy(dynamodb_endpoint) as proxy:
        proxy.black_hole = True
        yield proxy


@pytest.mark.slow
def test_a_dynamodb_that_never_answers_fails_the_writes_at_the_deadline(black_hole: DynamoDBProxy, table: str) -> None:
    store = ResultStore(dynamodb_client(black_hole.endpoint), table)
    started = time.monotonic()
    with pytest.raises(RecordsNotWrittenError, match=r"30 of 30 records .*: no answer before the deadline"):
        store.write(_items(30), started + 1.5)
    # The client would wait 5 s per call; the writer stops waiting at the deadline.
    assert time.monotonic() - started < 2.0


def test_connection_failures_are_retried_then_raised_as_unwritten_records(table: str) -> None:
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    store = ResultStore(
        dynamodb_client(f"http://127.0.0.1:{closed_port()}"), table, base_delay_s=0.01, max_delay_s=0.05, sleep=sleep
    )
    with pytest.raises(RecordsNotWrittenError, match=r"2 of 2 records .*Could not connect"):
        store.write(_items(2), _soon(0.5))
    assert sleeps  # retried: a refused connection may be a DynamoDB endpoint restarting


def test_a_batch_refused_as_invalid_is_split_so_only_the_bad_record_is_lost(
    dynamodb: DynamoDBClient, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    items = _items(25)
    items[17]["Id"] = {"S": ""}  # DynamoDB refuses an empty key, and with it the whole batch
    with pytest.raises(RecordsNotWrittenError, match=r"^1 of 25 records were rejected by DynamoDB as invalid$"):
        ResultStore(dynamodb, table).write(items, _soon())
    assert _count(dynamodb, table) == 24
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors[0].startswith(
        "DynamoDB rejected the record of  at 2015-10-08T16:53:06Z#local, which is lost: "
        "An error occurred (ValidationException) when calling the BatchWriteItem operation"
    )


def test_a_table_whose_schema_refuses_every_record_fails_loudly(dynamodb: DynamoDBClient) -> None:
    dynamodb.create_table(
        TableName="wrong-key",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(
        RecordsNotWrittenError, match=r"^3 of 3 records were rejected by DynamoDB as invalid$"
    ) as raised:
        ResultStore(dynamodb, "wrong-key").write(_items(3), _soon())
    assert raised.value.unwritten == 3


def test_each_half_of_a_split_batch_is_still_retried_while_throttled() -> None:
    client, stub = _stubbed()
    items = _items(2)
    stub.add_client_error("batch_write_item", "ValidationException", "one item is bad", 400)
    for half in (items[:1], items[1:]):
        unprocessed = _request(half)["RequestItems"]
        stub.add_response("batch_write_item", {"UnprocessedItems": unprocessed}, _request(half))
        stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(half))
    with stub:
        assert ResultStore(client, "results", sleep=lambda _: None).write(items, _soon()) == 2
    stub.assert_no_pending_responses()


def test_a_failed_batch_does_not_stop_the_next(caplog: pytest.LogCaptureFixture) -> None:
    client, stub = _stubbed()
    items = _items(30)
    stub.add_client_error("batch_write_item", "AccessDeniedException", "not allowed", 400)
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(items[25:]))
    with stub, pytest.raises(RecordsNotWrittenError, match=r"25 of 30 records.*not allowed") as raised:
        ResultStore(client, "results", parallel_batches=1).write(items, _soon())
    stub.assert_no_pending_responses()  # not retried: no later attempt could be allowed
    assert raised.value.unwritten == 25
    assert (
        "writing 25 records to results failed: "
        "An error occurred (AccessDeniedException) when calling the BatchWriteItem operation: not allowed"
    ) in [record.getMessage() for record in caplog.records]


def test_missing_table_raises_a_named_error(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(
        RecordsNotWrittenError, match=r"1 of 1 records were not written to no-such-table.*ResourceNotFound"
    ):
        ResultStore(dynamodb, "no-such-table").write(_items(1), _soon())


def test_the_client_leaves_retries_to_the_store_and_waits_5_s_at_most() -> None:
    options = vars(CLIENT_CONFIG)  # botocore sets Config's options as dynamic attributes
    assert options["retries"] == {"mode": "standard", "total_max_attempts": 1}
    assert (options["connect_timeout"], options["read_timeout"]) == (2, 5)


@pytest.mark.parametrize("status", [500, 503], ids=str)
def test_an_unknown_error_code_is_retried_when_its_status_is_5xx(status: int) -> None:
    client, stub = _stubbed()
    items = _items(1)
    stub.add_client_error("batch_write_item", "SomeNewFault", "try later", status)
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, _request(items))
    with stub:
        assert ResultStore(client, "results", sleep=lambda _: None).write(items, _soon()) == 1
    stub.assert_no_pending_responses()


def test_an_unknown_error_code_below_500_is_not_retried() -> None:
    client, stub = _stubbed()
    stub.add_client_error("batch_write_item", "SomeNewFault", "refused", 499)
    with stub, pytest.raises(RecordsNotWrittenError, match=r"^1 of 1 records were not written to results: .*refused$"):
        ResultStore(client, "results", sleep=lambda _: None).write(_items(1), _soon())


def test_failures_cert_days_and_flags_are_stored_only_when_they_say_something() -> None:
    result = CheckResult(
        "api",
        "https://api.example/",
        False,
        812,
        status=503,
        failures=("status 503 not in [2xx]", "duration 812 ms > 500 ms"),
        cert_days_left=9,
        inconclusive=True,
        maintenance=True,
    )
    item = to_item(result, TS)
    assert item["Error"] == {"S": "status 503 not in [2xx]"}
    assert item["Failures"] == {"L": [{"S": "status 503 not in [2xx]"}, {"S": "duration 812 ms > 500 ms"}]}
    assert (item["CertDaysLeft"], item["Inconclusive"], item["Maintenance"]) == (
        {"N": "9"},
        {"BOOL": True},
        {"BOOL": True},
    )
    up = to_item(CheckResult("api", "https://api.example/", True, 5, status=200, cert_days_left=0), TS)
    assert up["CertDaysLeft"] == {"N": "0"}
    assert not {"Failures", "Inconclusive", "Maintenance", "ExpiresAt", "Error"} & set(up)


def test_failures_are_bounded_in_count_and_size() -> None:
    lines = tuple(f"json k{i} is " + "x" * 100_000 for i in range(40))
    item = to_item(CheckResult("api", "https://api.example/", False, 1, failures=lines), TS)
    stored = [entry["S"] for entry in item["Failures"]["L"]]
    assert len(stored) == 32
    assert stored[-1] == "and 9 more"
    assert all(len(line.encode()) <= 512 and line.startswith("json k") for line in stored[:-1])
    assert len(str(item).encode()) < 20_000


@pytest.mark.parametrize(("days", "expires"), [(1, 1444409586), (90, 1444409586 + 89 * 86400)])
def test_expires_at_is_the_event_time_plus_the_retention(days: int, expires: int) -> None:
    # TS is 2015-10-08T16:53:06Z = 1444323186; a retried event gets the same ExpiresAt.
    item = to_item(CheckResult("api", "https://api.example/", True, 1), TS, retention_days=days)
    assert item["ExpiresAt"] == {"N": str(expires)}


# --- the writer at the deadline, fast: a retry that outlives the invocation --------------------


def test_a_batch_still_retrying_at_the_deadline_is_reported_with_its_error_and_left_behind() -> None:
    # The first batch is throttled, then its back-off outlasts the deadline; the
    # second waits its turn behind it (one batch at a time). The writer must stop
    # waiting at the deadline, count both batches, and say what it was up against.
    client = dynamodb_client(f"http://127.0.0.1:{closed_port()}")  # nothing past the stub reaches a network
    stub = Stubber(client)
    stub.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", "slow down", 400)
    calls: list[object] = []
    client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", lambda **_: calls.append(1))
    release, sleeping, woke = threading.Event(), threading.Event(), threading.Event()

    def stuck(_: float) -> None:
        sleeping.set()
        release.wait(timeout=3)
        woke.set()

    store = ResultStore(client, "results", max_delay_s=0.01, sleep=stuck, parallel_batches=1)
    with stub:
        try:
            with pytest.raises(RecordsNotWrittenError) as raised:
                store.write(_items(30), _soon(0.3))
            still_sleeping = sleeping.is_set() and not woke.is_set()
            calls_at_the_deadline = len(calls)
        finally:
            release.set()
    assert str(raised.value) == (
        "30 of 30 records were not written to results: still retrying at the deadline: An error occurred "
        "(ProvisionedThroughputExceededException) when calling the BatchWriteItem operation: slow down"
    )
    assert raised.value.unwritten == 30
    assert still_sleeping  # returned at the deadline, not when the stuck batch ended
    assert calls_at_the_deadline == 1  # the second batch never started: one batch at a time, as configured


def test_a_batch_with_no_answer_at_the_deadline_says_so(black_hole: DynamoDBProxy, table: str) -> None:
    # The fast twin of the slow black-hole test: the call itself never returns.
    store = ResultStore(dynamodb_client(black_hole.endpoint), table)
    with pytest.raises(RecordsNotWrittenError) as raised:
        store.write(_items(3), _soon(0.3))
    assert str(raised.value) == f"3 of 3 records were not written to {table}: no answer before the deadline"


def test_records_still_unprocessed_at_the_deadline_say_the_table_is_throttling() -> None:
    client, stub = _stubbed()
    items = _items(1)
    stub.add_response("batch_write_item", {"UnprocessedItems": _request(items)["RequestItems"]}, _request(items))
    with stub, pytest.raises(RecordsNotWrittenError) as raised:
        # The first back-off (10 s, at least 5 s with jitter) would end past the deadline: give up now.
        # (Not the default 0.05 s against a 0.02 s deadline: a loaded machine took longer than that to call.)
        ResultStore(client, "results", base_delay_s=10, max_delay_s=10, sleep=lambda _: None).write(items, _soon(4))
    assert str(raised.value) == (
        "1 of 1 records were not written to results: 1 records left unprocessed (the table is throttling writes)"
    )


def test_a_client_fault_no_retry_can_cure_is_not_retried() -> None:
    # Missing credentials (a Lambda role gone) fail the same way on every attempt.
    client = dynamodb_client(f"http://127.0.0.1:{closed_port()}")
    calls: list[object] = []

    def no_credentials(**_: object) -> None:
        calls.append(1)
        raise NoCredentialsError

    client.meta.events.register("before-send.dynamodb.BatchWriteItem", no_credentials)
    with pytest.raises(RecordsNotWrittenError) as raised:
        ResultStore(client, "results", sleep=lambda _: None).write(_items(2), _soon())
    assert str(raised.value) == "2 of 2 records were not written to results: Unable to locate credentials"
    assert len(calls) == 1
