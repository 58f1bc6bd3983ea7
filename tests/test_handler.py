"""A whole run: real servers checked, records in the embedded DynamoDB, JSON lines on stdout."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

import healthcheck.handler as entrypoint
from healthcheck.check.probe import Probe
from healthcheck.config import Settings
from healthcheck.exceptions import ConfigError, InvalidEventError, RecordsNotWrittenError
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from tests.conftest import dynamodb_client
from tests.dynamodb_proxy import dynamodb_proxy
from tests.lambda_context import LambdaContext
from tests.records import Check, all_checks, latest_checks
from tests.servers import FaultServer, closed_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOW = datetime(2026, 11, 27, 18, 0, 0, tzinfo=UTC)


@pytest.fixture
def event(repo_root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((repo_root / "events" / "eventbridge.json").read_text())
    return loaded


def _targets(server: FaultServer) -> list[object]:
    return [
        {"name": "up", "url": f"{server.base_url}/ok"},
        {"name": "down", "url": f"{server.base_url}/status/500", "timeout": 2},
        {"name": "refused", "url": f"http://127.0.0.1:{closed_port()}/"},
    ]


def _run(
    event: object, probe: Probe, dynamodb: DynamoDBClient, table: str, targets: list[object] | None
) -> dict[str, object]:
    return check_and_record(
        event, None, settings=Settings(table, targets), probe=probe, store=ResultStore(dynamodb, table), now=NOW
    )


def _records(dynamodb: DynamoDBClient, table: str) -> dict[str, Check]:
    return latest_checks(dynamodb, table)


def test_scheduled_event_checks_configured_targets_and_records_each(
    event: dict[str, Any], http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    summary = _run(event, probe, dynamodb, table, _targets(http_server))
    assert summary == {"timestamp": "2015-10-08T16:53:06Z", "checked": 3, "succeeded": 1, "failed": 2, "invalid": 0}
    records = _records(dynamodb, table)
    assert set(records) == {"up", "down", "refused"}
    assert {r.time for r in records.values()} == {"2015-10-08T16:53:06Z"}
    assert (records["up"].success, records["up"].status) == (True, 200)
    assert records["down"].status == 500
    assert records["down"].error == "status 500 not in [2xx]"
    assert records["refused"].error == "connection refused"
    assert records["refused"].status is None


def test_event_targets_replace_the_configured_ones(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    event = {"time": "2026-01-01T00:00:00Z", "targets": [{"name": "only", "url": f"{http_server.base_url}/ok"}]}
    _run(event, probe, dynamodb, table, _targets(http_server))
    assert set(_records(dynamodb, table)) == {"only"}


def test_same_event_twice_writes_the_same_keys(
    event: dict[str, Any], http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    targets = _targets(http_server)
    _run(event, probe, dynamodb, table, targets)
    keys = sorted((item["Id"]["S"], item["Timestamp"]["S"]) for item in dynamodb.scan(TableName=table)["Items"])
    _run(event, probe, dynamodb, table, targets)
    assert sorted((item["Id"]["S"], item["Timestamp"]["S"]) for item in dynamodb.scan(TableName=table)["Items"]) == keys
    assert len(all_checks(dynamodb, table)) == 3


def test_invalid_target_is_recorded_and_costs_the_others_nothing(
    event: dict[str, Any], http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    targets: list[object] = [
        {"name": "bad-scheme", "url": "ftp://files.example/"},
        {"name": "up", "url": f"{http_server.base_url}/ok"},
        {"name": "up", "url": f"{http_server.base_url}/status/500"},
    ]
    summary = _run(event, probe, dynamodb, table, targets)
    assert summary["invalid"] == 2
    records = _records(dynamodb, table)
    assert set(records) == {"bad-scheme", "up"}
    assert (records["bad-scheme"].error or "").startswith("invalid target: 'url' 'ftp://files.example/'")
    assert (records["bad-scheme"].success, records["bad-scheme"].duration_ms) == (False, 0)
    assert records["up"].success is True  # not overwritten by the duplicate


def test_a_duplicate_is_logged_as_an_invalid_target_but_never_recorded(
    event: dict[str, Any],
    http_server: FaultServer,
    probe: Probe,
    dynamodb: DynamoDBClient,
    table: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    targets: list[object] = [
        {"name": "up", "url": f"{http_server.base_url}/ok"},
        {"name": "up", "url": f"{http_server.base_url}/status/500"},
    ]
    _run(event, probe, dynamodb, table, targets)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line for line in lines if line["type"] == "invalid-target"] == [
        {
            "type": "invalid-target",
            "id": "up",
            "timestamp": "2015-10-08T16:53:06Z",
            "url": f"{http_server.base_url}/status/500",
            "error": "invalid target: duplicate name 'up' (first used by targets[0])",
        }
    ]


@pytest.mark.parametrize(
    ("log_checks", "logged"),
    [("failures", {"down", "refused"}), ("all", {"up", "down", "refused"})],
    ids=["failures-by-default", "all"],
)
def test_each_failed_check_is_logged_as_a_json_line_and_every_check_with_log_checks_all(
    log_checks: Literal["failures", "all"],
    logged: set[str],
    event: dict[str, Any],
    http_server: FaultServer,
    probe: Probe,
    dynamodb: DynamoDBClient,
    table: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    check_and_record(
        event,
        None,
        settings=Settings(table, _targets(http_server), log_checks=log_checks),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=NOW,
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    checks = {line["id"]: line for line in lines if line["type"] == "check"}
    assert set(checks) == logged
    assert checks["refused"]["error"] == "connection refused"
    assert [line["type"] for line in lines[-2:]] == ["summary", "metrics"]  # the run's EMF metrics come last


def test_dynamodb_failure_raises_after_every_result_was_logged_the_passing_ones_too(
    event: dict[str, Any],
    http_server: FaultServer,
    probe: Probe,
    dynamodb: DynamoDBClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(RecordsNotWrittenError, match="records were not written to missing-table"):
        _run(event, probe, dynamodb, "missing-table", _targets(http_server))
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["id"] for line in logged if line["type"] == "check"} == {"up", "down", "refused"}


@pytest.mark.parametrize(
    ("bad_event", "error", "message"),
    [
        (["not", "an", "object"], InvalidEventError, "must be a JSON object"),
        ({"targets": "https://a.example/"}, InvalidEventError, "'targets' must be a list"),
        ({"time": "soon"}, InvalidEventError, "'time' 'soon'"),
    ],
    ids=["not-object", "targets-string", "bad-time"],
)
def test_bad_event_fails_before_anything_is_written(
    bad_event: object,
    error: type[Exception],
    message: str,
    http_server: FaultServer,
    probe: Probe,
    dynamodb: DynamoDBClient,
    table: str,
) -> None:
    with pytest.raises(error, match=message):
        _run(bad_event, probe, dynamodb, table, _targets(http_server))
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_no_targets_anywhere_is_a_config_error(probe: Probe, dynamodb: DynamoDBClient, table: str) -> None:
    with pytest.raises(ConfigError, match=r"^no targets: set TARGETS to a JSON list or pass 'targets' in the event$"):
        _run({}, probe, dynamodb, table, None)


@pytest.mark.slow
def test_a_run_ends_before_the_lambda_timeout_and_still_writes(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # 4 s left and a target allowed 10 s: the check is cut so there is time to write.
    targets: list[object] = [{"name": "slow", "url": f"{http_server.base_url}/drip-body", "timeout": 10}]
    started = time.monotonic()
    check_and_record(
        {"time": "2026-01-01T00:00:00Z"},
        LambdaContext(4),
        settings=Settings(table, targets),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=NOW,
    )
    assert time.monotonic() - started < 4
    [record] = all_checks(dynamodb, table)
    # A quarter of the time left (here about 1 s) is kept for writing. The cut is
    # the run's doing, not the target's: inconclusive, so it never counts against it.
    assert re.fullmatch(
        r"not checked in full: the invocation ran out of time after (2\.9\d*|3) s \(the target's timeout is 10 s\)",
        record.error or "",
    ), record.error
    assert record.inconclusive is True
    assert record.duration_ms < 3100
    assert all(json.loads(line)["requestId"] == "req-1" for line in capsys.readouterr().out.splitlines())


@pytest.mark.slow
def test_failures_of_fast_targets_are_stored_while_slow_ones_still_run(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    # 25 fast failures fill a batch: it is written at once, not after the slow check.
    targets: list[object] = [{"name": f"fast-{i}", "url": f"{http_server.base_url}/status/500"} for i in range(25)]
    targets.append({"name": "slow", "url": f"{http_server.base_url}/slow?ms=2000"})
    run = threading.Thread(target=_run, args=({"time": "2026-01-01T00:00:00Z"}, probe, dynamodb, table, targets))
    run.start()
    stored_during_run = 0
    while run.is_alive() and stored_during_run < 25:
        items = dynamodb.scan(TableName=table)["Items"]
        stored_during_run = sum(item["Id"]["S"].startswith("check#") for item in items)
        time.sleep(0.05)
    run.join()
    assert stored_during_run == 25
    # Then the run item, holding all 26 checks, and the roster.
    assert len(dynamodb.scan(TableName=table)["Items"]) == 27
    assert len(all_checks(dynamodb, table)) == 26


def test_an_invalid_target_with_an_oversized_name_costs_no_other_record(
    event: dict[str, Any], http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    targets: list[object] = [
        {"name": "n" * 3000, "url": "https://x.example/"},
        {"name": "up", "url": f"{http_server.base_url}/ok"},
    ]
    _run(event, probe, dynamodb, table, targets)
    records = _records(dynamodb, table)
    assert set(records) == {"https://x.example/", "up"}
    assert (records["https://x.example/"].error or "").startswith("invalid target: 'name' is longer than 1024 bytes")


@pytest.mark.slow
def test_a_dynamodb_that_never_answers_fails_the_invocation_before_lambda_ends_it(
    http_server: FaultServer, probe: Probe, dynamodb_endpoint: str, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    targets: list[object] = [{"name": f"t{i}", "url": f"{http_server.base_url}/ok"} for i in range(30)]
    with dynamodb_proxy(dynamodb_endpoint) as proxy:
        proxy.black_hole = True
        started = time.monotonic()
        with pytest.raises(RecordsNotWrittenError, match=r"^1 of 1 records were not written.*the roster was not"):
            check_and_record(
                {"time": "2026-01-01T00:00:00Z"},
                LambdaContext(3),
                settings=Settings(table, targets),
                probe=probe,
                store=ResultStore(dynamodb_client(proxy.endpoint), table),
                now=NOW,
            )
        # Lambda would end the invocation at 3 s; the handler's own error comes first.
        assert time.monotonic() - started < 3.0
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len([line for line in logged if line["type"] == "check"]) == 30


def test_the_lambda_entrypoint_runs_on_its_environment_and_the_time_it_is_called(
    http_server: FaultServer,
    dynamodb: DynamoDBClient,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The module's client is built for AWS at import; point it at the embedded DynamoDB.
    monkeypatch.setattr(entrypoint, "_dynamodb", dynamodb)
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.setenv("TARGETS", json.dumps([{"name": "up", "url": f"{http_server.base_url}/ok"}]))
    before = datetime.now(UTC).replace(microsecond=0)
    summary = entrypoint.handler({}, LambdaContext(30))
    after = datetime.now(UTC)
    assert summary["checked"] == summary["succeeded"] == 1
    [record] = all_checks(dynamodb, table)
    assert (record.target, record.region) == ("up", "us-east-1")  # the function's own AWS_REGION
    assert before <= datetime.fromisoformat(record.time) <= after
    assert {json.loads(line)["requestId"] for line in capsys.readouterr().out.splitlines()} == {"req-1"}
