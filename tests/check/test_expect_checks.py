"""Expectations end to end: real loopback servers, the real probe and runner, records in the embedded DynamoDB."""

from __future__ import annotations

import datetime
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import pytest
import trustme

from healthcheck.check.expectations import parse_expect
from healthcheck.check.probe import MAX_BODY_BYTES, CheckResult, Probe
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from tests.conftest import server_context
from tests.lambda_context import LambdaContext
from tests.records import Check, latest_checks
from tests.servers import FaultServer, closed_port, running

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

EVENT_TIME = "2026-11-27T18:00:00Z"
NOW = datetime.datetime(2026, 11, 27, 18, 0, 0, tzinfo=datetime.UTC)


def body_url(server: FaultServer, text: str = "", **query: str) -> str:
    return f"{server.base_url}/body?{urlencode({'text': text, **query}, quote_via=quote)}"


def check(probe: Probe, url: str, expect: dict[str, Any] | None = None, timeout: float = 5.0) -> CheckResult:
    target = Target(name="t", url=url, timeout=timeout, expect=parse_expect(expect))
    [result] = run_checks([target], probe, run_deadline=time.monotonic() + 60)
    return result


HEALTH = json.dumps({"status": "UP", "checks": {"db": "ok"}, "nodes": [{"name": "a"}, {"name": "b"}]})


@pytest.mark.parametrize(
    ("path", "expect", "failures"),
    [
        ("/status/503", None, ("status 503 not in [2xx]",)),
        ("/status/503", {"status": [200, "500-503"]}, ()),
        ("/slow?ms=300", {"maxDurationMs": 100}, None),  # the measured duration is in the line: checked below
        ("body:" + HEALTH, {"bodyContains": ["UP", "db"], "bodyRegex": r"\"status\":\s*\"UP\""}, ()),
        ("body:all DOWN", {"bodyContains": "UP"}, ("body lacks 'UP'",)),
        ("body:all DOWN", {"bodyRegex": "^UP$"}, ("body does not match /^UP$/",)),
        ("body:" + HEALTH, {"json": {"status": "UP", "checks.db": "ok", "nodes.1.name": "b"}}, ()),
        ("body:" + HEALTH, {"json": {"status": "DOWN"}}, ("json status is 'UP', expected 'DOWN'",)),
        ("body:" + HEALTH, {"json": {"checks.cache": "ok"}}, ("json checks.cache missing",)),
        ("body:<html>UP</html>", {"json": {"status": "UP"}}, ("body is not JSON",)),
        ("body:" + HEALTH, {"json": {"nodes": [{"name": "a"}, {"name": "b"}], "checks": {"db": "ok"}}}, ()),
        (
            "body:" + HEALTH,
            {"json": {"nodes": [{"name": "a"}]}},
            ("json nodes is [{'name': 'a'}, {'name': 'b'}], expected [{'name': 'a'}]",),
        ),
        ("body:" + HEALTH, {"json": {"checks": {}}}, ("json checks is {'db': 'ok'}, expected {}",)),
    ],
    ids=[
        "status-default",
        "status-listed",
        "duration",
        "body-contains-and-regex",
        "body-lacks",
        "regex-fails",
        "json-nested-and-array",
        "json-differs",
        "json-missing",
        "json-not-json",
        "json-array-and-object-equal",
        "json-array-differs",
        "json-object-differs",
    ],
)
def test_each_expectation_through_the_probe(
    http_server: FaultServer,
    probe: Probe,
    path: str,
    expect: dict[str, Any] | None,
    failures: tuple[str, ...] | None,
) -> None:
    url = body_url(http_server, path.removeprefix("body:")) if path.startswith("body:") else http_server.base_url + path
    result = check(probe, url, expect)
    if failures is None:  # the slow route: the line carries what was measured
        assert result.failures == (f"duration {result.duration_ms} ms > 100 ms",)
        assert result.duration_ms >= 300
    else:
        assert result.failures == failures
    assert result.success is (not result.failures)
    assert result.error == (result.failures[0] if result.failures else None)


def test_headers_of_the_final_response_are_checked(http_server: FaultServer, probe: Probe) -> None:
    final = body_url(http_server, "ok", **{"h-X-Version": "build 42", "h-Cache-Control": "no-store"})
    redirected = f"{http_server.base_url}/redirect-to?url={quote(final, safe='')}"
    ok = check(probe, redirected, {"headers": {"x-version": "42", "Cache-Control": "no-store"}})
    assert (ok.success, ok.failures) == (True, ())
    bad = check(probe, redirected, {"headers": {"X-Version": "43", "X-Missing": "any"}})
    assert bad.failures == ("header X-Version is 'build 42', expected to contain '43'", "header X-Missing missing")


def test_a_gzipped_body_is_judged_decoded(http_server: FaultServer, probe: Probe) -> None:
    url = body_url(http_server, HEALTH, gzip="1")
    assert check(probe, url, {"json": {"status": "UP"}, "bodyContains": "checks"}).failures == ()
    assert check(probe, url, {"bodyContains": "DOWN"}).failures == ("body lacks 'DOWN'",)


def test_only_the_first_mib_of_a_body_is_read_and_judged(http_server: FaultServer, probe: Probe) -> None:
    # "UP" just inside the cap is found; just past it, it is not, and the server is not read to its end.
    inside = f"{http_server.base_url}/big?size={MAX_BODY_BYTES - 2}&tail=UP"
    assert check(probe, inside, {"bodyContains": "UP"}).failures == ()
    before = http_server.counters.body_bytes_sent
    past = f"{http_server.base_url}/big?size={MAX_BODY_BYTES}&tail=UP"
    assert check(probe, past, {"bodyContains": "UP"}).failures == ("body lacks 'UP'",)
    huge = f"{http_server.base_url}/big?size={256 * MAX_BODY_BYTES}"
    result = check(probe, huge, {"json": {"status": "UP"}})
    assert result.failures == ("body is not JSON (it goes on past the first 1 MiB, which is all that is read)",)
    # The 256 MiB body was left unread: the server only filled the socket buffers.
    assert http_server.counters.body_bytes_sent - before < 64 * MAX_BODY_BYTES


def test_a_catastrophic_pattern_on_a_real_body_still_gives_its_answer(http_server: FaultServer, probe: Probe) -> None:
    result = check(probe, body_url(http_server, "a" * 50_000 + "!"), {"bodyRegex": "(a+)+$"}, timeout=5)
    assert result.failures == ("body does not match /(a+)+$/",)


def test_a_transport_error_is_the_one_failure(probe: Probe) -> None:
    result = check(probe, f"http://127.0.0.1:{closed_port()}/", {"bodyContains": "UP"})
    assert (result.error, result.failures, result.status) == ("connection refused", ("connection refused",), None)


# --- certificates --------------------------------------------------------------------------------


def _in_days(days: float) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)


@pytest.mark.parametrize(("lifetime", "days_left"), [(9.9, 9), (0.9, 0), (400.2, 400)], ids=["9", "hours", "400"])
def test_https_checks_report_the_whole_days_the_certificate_has_left(
    ca: trustme.CA, probe: Probe, lifetime: float, days_left: int
) -> None:
    with running(server_context(ca, "127.0.0.1", not_after=_in_days(lifetime))) as server:
        result = check(probe, f"{server.base_url}/ok")
    # Whole days, rounded down: 9.9 days left is 9. A short certificate is a warning
    # for the alerts, never a failure of the check.
    assert (result.success, result.cert_days_left) == (True, days_left)


def test_the_final_hop_decides_the_certificate_and_http_has_none(
    ca: trustme.CA, probe: Probe, http_server: FaultServer
) -> None:
    with running(server_context(ca, "127.0.0.1", not_after=_in_days(3.5))) as server:
        to_https = check(probe, f"{http_server.base_url}/redirect-to?url={server.base_url}/ok")
        to_http = check(probe, f"{server.base_url}/redirect-to?url={http_server.base_url}/ok")
    assert (to_https.success, to_https.cert_days_left) == (True, 3)
    assert (to_http.success, to_http.cert_days_left) == (True, None)


def test_an_expired_certificate_stays_a_tls_failure(ca: trustme.CA, probe: Probe) -> None:
    with running(server_context(ca, "127.0.0.1", not_after=_in_days(-1))) as server:
        result = check(probe, f"{server.base_url}/ok")
    assert result.failures == ("TLS error: certificate verify failed: certificate has expired",)
    assert result.cert_days_left is None


# --- through the handler into DynamoDB -----------------------------------------------------------


def _records(dynamodb: DynamoDBClient, table: str) -> dict[str, Check]:
    return latest_checks(dynamodb, table)


def _expiries(dynamodb: DynamoDBClient, table: str) -> dict[str, str | None]:
    """Each stored item's ``ExpiresAt``, by key (rosters never expire: they are left out)."""
    return {
        item["Id"]["S"]: item.get("ExpiresAt", {}).get("N")
        for item in dynamodb.scan(TableName=table)["Items"]
        if item["Id"]["S"] != "roster"
    }


def test_records_carry_failures_cert_days_and_expiry(
    ca: trustme.CA, http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    with running(server_context(ca, "127.0.0.1", not_after=_in_days(9.9))) as tls_server:
        targets: list[object] = [
            {"name": "up", "url": f"{tls_server.base_url}/ok", "expect": {"maxDurationMs": 5000}},
            {
                "name": "down",
                "url": body_url(http_server, HEALTH.replace("UP", "DOWN"), status="503"),
                "expect": {"json": {"status": "UP"}, "bodyContains": "UP"},
            },
            {"name": "refused", "url": f"http://127.0.0.1:{closed_port()}/"},
            {"name": "bad", "url": "https://bad.example/", "expect": {"bodyRegex": "(?<=x)y"}},
        ]
        check_and_record(
            {"time": EVENT_TIME},
            None,
            settings=Settings(table, targets, retention_days=90),
            probe=probe,
            store=ResultStore(dynamodb, table),
            now=NOW,
        )
    records = _records(dynamodb, table)
    expires = str(int(NOW.timestamp()) + 90 * 86400)
    # The run item and each failure item expire together.
    assert _expiries(dynamodb, table) == dict.fromkeys(
        ["run#default", "check#down", "check#refused", "check#bad"], expires
    )
    up, down, refused, bad = records["up"], records["down"], records["refused"], records["bad"]
    assert (up.success, up.cert_days_left) == (True, 9)
    assert up.failures == ()
    assert up.error is None
    assert down.failures == ("status 503 not in [2xx]", "body lacks 'UP'", "json status is 'DOWN', expected 'UP'")
    assert down.error == "status 503 not in [2xx]"
    assert down.cert_days_left is None
    assert refused.failures == ("connection refused",)
    assert (bad.error or "").startswith("invalid target: 'expect.bodyRegex' '(?<=x)y' is not a pattern RE2 accepts")
    for record in records.values():
        assert not record.inconclusive
        assert not record.maintenance


def test_without_retention_records_never_expire(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    check_and_record(
        {"time": EVENT_TIME},
        None,
        settings=Settings(table, [{"name": "up", "url": f"{http_server.base_url}/ok"}]),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=NOW,
    )
    assert _expiries(dynamodb, table) == {"run#default": None}


@pytest.mark.slow
def test_a_target_the_run_had_no_time_for_is_recorded_inconclusive(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    # One check at a time and 2 s left: the first target's drip is cut short by
    # the run (10 s allowed), the second never starts: both are our doing.
    targets: list[object] = [
        {"name": f"drip-{i}", "url": f"{http_server.base_url}/drip-headers", "timeout": 10} for i in range(2)
    ]
    check_and_record(
        {"time": EVENT_TIME},
        LambdaContext(2),
        settings=Settings(table, targets, max_concurrency=1),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=NOW,
    )
    records = _records(dynamodb, table)
    assert (records["drip-0"].error or "").startswith("not checked in full: the invocation ran out of time after")
    assert records["drip-0"].inconclusive is True
    assert (records["drip-1"].error or "").startswith("not checked: the invocation ran out of time")
    assert records["drip-1"].inconclusive is True
