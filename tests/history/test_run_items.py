"""The results table's layout: a run item per shard and run, a failure item per check that did not pass, rosters.

Written by the handler and the store, read back through ``history.reader`` from the embedded DynamoDB.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck.check.probe import CheckResult, Probe
from healthcheck.config import Settings
from healthcheck.exceptions import RecordsNotWrittenError
from healthcheck.handler import check_and_record
from healthcheck.history import record_store
from healthcheck.history.item_size import item_bytes
from healthcheck.history.layout import Entry, Roster, split_roster
from healthcheck.history.reader import Check
from healthcheck.history.record_store import ResultStore, roster_of, run_item
from tests.conftest import dynamodb_client
from tests.dynamodb_proxy import dynamodb_proxy
from tests.records import all_checks, latest_checks
from tests.servers import FaultServer, closed_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

TS = "2026-12-07T03:00:00Z"


def _items(dynamodb: DynamoDBClient, table: str) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=table)["Items"]


def _kinds(dynamodb: DynamoDBClient, table: str) -> list[str]:
    return sorted(item["Id"]["S"] for item in _items(dynamodb, table))


@pytest.fixture(autouse=True)
def _fresh_process() -> None:
    """Each test as a new execution environment: no roster known to be stored yet."""
    record_store._stored_rosters.clear()


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (CheckResult("a", "u", True, 123, 200, cert_days_left=45), "200,123,45"),
        (CheckResult("a", "u", True, 87, 204), "204,87"),
        (CheckResult("a", "u", False, 80, 503, error="status 503 not in [2xx]"), "503,80,,F"),
        (CheckResult("a", "u", False, 10000, error="timed out after 10 s"), ",10000,,F"),
        (CheckResult("a", "u", False, 3, error="refused", inconclusive=True), ",3,,FI"),
        (CheckResult("a", "u", False, 3, 500, error="500", maintenance=True), "500,3,,FM"),
        (CheckResult("a", "u", True, 9, 200, cert_days_left=-2, tls_verified=False), "200,9,-2,U"),
        (CheckResult("a", "u", True, 0), ",0"),
    ],
    ids=["https-pass", "http-pass", "failed", "timeout", "inconclusive", "maintenance", "tls-off", "no-status"],
)
def test_an_entry_is_the_checks_figures_and_flags(result: CheckResult, text: str) -> None:
    entry = Entry.of(result)
    assert entry.encode() == text
    assert Entry.decode(text) == entry


@pytest.mark.parametrize("text", ["200,1,2,F,x", "200,abc", "200,1,,Z", "200,1,,FF", "2e3,1"])
def test_an_entry_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a check entry|not a whole number|flags"):
        Entry.decode(text)


def _run(
    dynamodb: DynamoDBClient,
    table: str,
    probe: Probe,
    targets: list[object],
    *,
    at: str = TS,
    shard: str | None = None,
    region: str = "us-east-1",
    retention_days: int | None = None,
) -> dict[str, object]:
    event: dict[str, object] = {"time": at}
    if shard is not None:
        event["shard"] = shard
    with contextlib.redirect_stdout(io.StringIO()):
        return check_and_record(
            event,
            None,
            settings=Settings(table, targets, region=region, retention_days=retention_days),
            probe=probe,
            store=ResultStore(dynamodb, table),
            now=datetime.fromisoformat(at),
        )


def test_a_run_is_one_item_and_one_more_per_check_that_did_not_pass(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    targets: list[object] = [
        {"name": "up", "url": f"{http_server.base_url}/ok"},
        {"name": "down", "url": f"{http_server.base_url}/status/503"},
        {"name": "refused", "url": f"http://127.0.0.1:{closed_port()}/"},
        {"name": "bad", "url": "ftp://files.example/"},
    ]
    _run(dynamodb, table, probe, targets, shard="7", retention_days=30)
    assert _kinds(dynamodb, table) == ["check#bad", "check#down", "check#refused", "roster", "run#7"]
    [run] = [item for item in _items(dynamodb, table) if item["Id"]["S"] == "run#7"]
    assert run["Timestamp"] == {"S": f"{TS}#us-east-1"}
    assert run["ExpiresAt"] == {"N": str(1796612400 + 30 * 86400)}  # the event time plus 30 days
    entries = run["Checks"]["S"].split(";")
    assert entries[0].startswith("200,")  # the checkable targets first, in their order; the invalid one last
    assert (entries[1][:4], entries[1][-3:]) == ("503,", ",,F")
    assert (entries[2][:1], entries[2][-3:]) == (",", ",,F")
    assert entries[3] == ",0,,F"
    checks = latest_checks(dynamodb, table)
    assert list(checks) == ["bad", "down", "refused", "up"]
    up, down, refused, bad = checks["up"], checks["down"], checks["refused"], checks["bad"]
    assert (up.success, up.status, up.error, up.region) == (True, 200, None, "us-east-1")
    assert up.url == f"{http_server.base_url}/ok"
    assert (down.success, down.status, down.error) == (False, 503, "status 503 not in [2xx]")
    assert (refused.status, refused.error) == (None, "connection refused")
    assert (bad.error or "").startswith("invalid target: 'url' 'ftp://files.example/'")


def test_every_field_of_a_check_reads_back_as_the_run_recorded_it(dynamodb: DynamoDBClient, table: str) -> None:
    results = [
        CheckResult("https", "https://a.test/", True, 123, 200, cert_days_left=45),
        CheckResult("insecure", "https://b.test/", True, 9, 200, cert_days_left=-2, tls_verified=False),
        CheckResult(
            "slow", "https://c.test/", False, 812, 200, failures=("duration 812 ms > 500 ms", "body lacks 'UP'")
        ),
        CheckResult("ours", "https://d.test/", False, 5000, error="no network", inconclusive=True),
        CheckResult("window", "https://e.test/", False, 4, 500, error="status 500 not in [2xx]", maintenance=True),
    ]
    roster = roster_of([(result.name, result.url) for result in results])
    writer = ResultStore(dynamodb, table).run(
        shard="1", region="eu-west-1", timestamp=TS, roster=roster, deadline=time.monotonic() + 30
    )
    for result in results:
        writer.record(result)
    writer.finish()
    read = latest_checks(dynamodb, table)
    for result in results:
        assert read[result.name] == Check(
            target=result.name,
            time=TS,
            success=result.success,
            duration_ms=result.duration_ms,
            status=result.status,
            error=result.error,
            failures=result.failures,
            inconclusive=result.inconclusive,
            maintenance=result.maintenance,
            cert_days_left=result.cert_days_left,
            tls_verified=result.tls_verified,
            url=result.url,
            region="eu-west-1",
        ), result.name


def test_a_healthy_check_costs_about_11_bytes_of_its_runs_item() -> None:
    """100 healthy HTTPS targets: one item of under 2 KB (2 write units), instead of 100 items of 1 unit each."""
    results = [CheckResult(f"t{i}", "u", True, 100 + i * 7, 200, cert_days_left=60 + i % 30) for i in range(100)]
    roster = roster_of([(result.name, f"https://t{i}.example.com/") for i, result in enumerate(results)])
    item = run_item("1", TS, "us-east-1", roster, [Entry.of(result) for result in results], retention_days=90)
    size = item_bytes(item)
    per_check = len(item["Checks"]["S"].encode()) / 100
    print(f"\nrun item of 100 healthy checks: {size} bytes, {per_check:.1f} bytes a check")
    assert per_check <= 11
    assert math.ceil(size / 1024) == 2


def test_a_retried_event_rewrites_the_same_items(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    targets: list[object] = [
        {"name": "up", "url": f"{http_server.base_url}/ok"},
        {"name": "down", "url": f"{http_server.base_url}/status/500"},
    ]
    _run(dynamodb, table, probe, targets)
    first = _kinds(dynamodb, table)
    _run(dynamodb, table, probe, targets)
    assert _kinds(dynamodb, table) == first == ["check#down", "roster", "run#default"]
    assert [check.target for check in all_checks(dynamodb, table)] == ["down", "up"]


def test_a_failure_that_passed_on_the_retry_is_not_read_as_a_failure(dynamodb: DynamoDBClient, table: str) -> None:
    """The run item is the truth: a failure item left by the event's first attempt is not a check of its own."""
    roster = roster_of([("api", "https://api.test/")])
    store = ResultStore(dynamodb, table)
    for success in (False, True):
        writer = store.run(shard="1", region="us-east-1", timestamp=TS, roster=roster, deadline=time.monotonic() + 30)
        writer.record(CheckResult("api", "https://api.test/", success, 5, 200 if success else 503))
        writer.finish()
    assert "check#api" in _kinds(dynamodb, table)
    [check] = all_checks(dynamodb, table)
    assert (check.success, check.status, check.error) == (True, 200, None)


def test_a_failure_item_of_another_attempt_gives_its_reasons_never_whether_the_check_counted(
    dynamodb: DynamoDBClient, table: str
) -> None:
    """A double delivery can leave the run item of one attempt and the failure item of the other."""
    roster = roster_of([("api", "https://api.test/")])
    store = ResultStore(dynamodb, table)
    attempts = [
        CheckResult("api", "https://api.test/", False, 10000, error="timed out after 10 s"),  # counted
        CheckResult("api", "https://api.test/", False, 3, error="connect failed", inconclusive=True),  # not counted
    ]
    items = []
    for result in attempts:
        writer = store.run(shard="1", region="us-east-1", timestamp=TS, roster=roster, deadline=time.monotonic() + 30)
        writer.record(result)
        writer.finish()
        items.append({item["Id"]["S"]: item for item in _items(dynamodb, table)})
    # The first attempt's run item, the second's failure item.
    dynamodb.put_item(TableName=table, Item=items[0]["run#1"])
    [check] = all_checks(dynamodb, table)
    assert (check.inconclusive, check.duration_ms, check.counted) == (False, 10000, True)
    assert check.error == "connect failed"  # the reasons are the failure item's: the only ones stored


def _calls(dynamodb: DynamoDBClient) -> list[str]:
    made: list[str] = []
    for operation in ("GetItem", "PutItem"):
        dynamodb.meta.events.register(
            f"provide-client-params.dynamodb.{operation}", lambda operation=operation, **_: made.append(operation)
        )
    return made


def test_a_roster_is_written_once_and_read_once_per_process(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    made = _calls(dynamodb)
    targets: list[object] = [{"name": "up", "url": f"{http_server.base_url}/ok"}]
    for minute in range(3):
        _run(dynamodb, table, probe, targets, at=f"2026-12-07T03:0{minute}:00Z")
    assert made == ["GetItem", "PutItem"]  # the first run of the process; the others know it is there
    record_store._stored_rosters.clear()  # a new execution environment
    _run(dynamodb, table, probe, targets, at="2026-12-07T03:05:00Z")
    assert made == ["GetItem", "PutItem", "GetItem"]  # read, found: no write (a refused one is billed too)
    _run(
        dynamodb,
        table,
        probe,
        [*targets, {"name": "new", "url": f"{http_server.base_url}/ok"}],
        at="2026-12-07T03:06:00Z",
    )
    assert made[-2:] == ["GetItem", "PutItem"]  # a new target list, a new roster
    [roster, _newer] = sorted(
        (item for item in _items(dynamodb, table) if item["Id"]["S"] == "roster"), key=lambda item: item["First"]["S"]
    )
    assert roster["First"] == {"S": "2026-12-07T03:00:00Z"}
    assert len(all_checks(dynamodb, table)) == 6


def test_a_roster_not_written_fails_the_run_and_the_events_retry_completes_it(
    http_server: FaultServer, probe: Probe, dynamodb_endpoint: str, table: str
) -> None:
    targets: list[object] = [{"name": "up", "url": f"{http_server.base_url}/ok"}]
    with dynamodb_proxy(dynamodb_endpoint) as proxy:
        proxy.fault("DynamoDB_20120810.PutItem", kind="deny")
        client = dynamodb_client(proxy.endpoint)
        with pytest.raises(RecordsNotWrittenError, match=r"^the roster was not written to .*AccessDenied"):
            _run(client, table, probe, targets)
        assert _kinds(client, table) == ["run#default"]  # written all the same
        assert all_checks(client, table) == []  # not readable without its roster...
        _run(client, table, probe, targets)  # ... until the event's retry stores it
        [check] = all_checks(client, table)
    assert (check.target, check.success) == ("up", True)


def test_a_run_too_big_for_one_item_is_written_in_parts(
    dynamodb: DynamoDBClient, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a hand-made event could hold thousands of targets; each part is a shard of its own, read as one."""
    monkeypatch.setattr("healthcheck.history.layout.MAX_PART_ENTRIES", 3)
    names = [f"t{i}" for i in range(7)]
    roster = roster_of([(name, f"https://{name}.test/") for name in names])
    assert [shard for shard, _ in split_roster("big", roster)] == ["big", "big~2", "big~3"]
    writer = ResultStore(dynamodb, table).run(
        shard="big", region="us-east-1", timestamp=TS, roster=roster, deadline=time.monotonic() + 30
    )
    for name in names:
        writer.record(CheckResult(name, f"https://{name}.test/", name != "t5", 10, 200 if name != "t5" else 500))
    writer.finish()
    assert [item for item in _kinds(dynamodb, table) if item.startswith("run#")] == [
        "run#big",
        "run#big~2",
        "run#big~3",
    ]
    read = latest_checks(dynamodb, table)
    assert sorted(read) == names
    assert read["t5"].status == 500


def test_a_roster_splits_by_size_too() -> None:
    long = "x" * 200_000
    parts = split_roster("1", Roster((("a", long), ("b", long), ("c", "short"))))
    assert [(shard, piece.names) for shard, piece in parts] == [("1", ("a",)), ("1~2", ("b", "c"))]


def test_a_check_whose_run_ended_early_has_no_entry_and_the_others_keep_theirs(
    dynamodb: DynamoDBClient, table: str
) -> None:
    roster = roster_of([("a", "https://a.test/"), ("b", "https://b.test/"), ("c", "https://c.test/")])
    writer = ResultStore(dynamodb, table).run(
        shard="1", region="us-east-1", timestamp=TS, roster=roster, deadline=time.monotonic() + 30
    )
    writer.record(CheckResult("a", "https://a.test/", True, 10, 200))
    writer.record(CheckResult("c", "https://c.test/", True, 30, 200))
    writer.finish()
    [run] = [item for item in _items(dynamodb, table) if item["Id"]["S"] == "run#1"]
    assert run["Checks"] == {"S": "200,10;,,,-;200,30"}
    assert [check.target for check in all_checks(dynamodb, table)] == ["a", "c"]


def test_an_unreadable_entry_costs_that_check_only(dynamodb: DynamoDBClient, table: str) -> None:
    roster = roster_of([("a", "https://a.test/"), ("b", "https://b.test/"), ("c", "https://c.test/")])
    ResultStore(dynamodb, table).store_roster("1", roster, TS, time.monotonic() + 30)
    item = run_item("1", TS, "us-east-1", roster, [Entry.of(CheckResult("x", "u", True, 5, 200))] * 3)
    item["Checks"] = {"S": "200,5;hand-edited;200,7"}
    dynamodb.put_item(TableName=table, Item=item)
    assert [(check.target, check.duration_ms) for check in all_checks(dynamodb, table)] == [("a", 5), ("c", 7)]


def test_a_result_outside_the_roster_is_still_recorded_in_full(
    dynamodb: DynamoDBClient, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    writer = ResultStore(dynamodb, table).run(
        shard="1", region="us-east-1", timestamp=TS, roster=roster_of([("a", "u")]), deadline=time.monotonic() + 30
    )
    writer.record(CheckResult("stray", "https://s.test/", True, 5, 200))
    writer.finish()
    assert "check#stray" in _kinds(dynamodb, table)
    assert "a result of stray, which is not in the run's roster" in caplog.text
