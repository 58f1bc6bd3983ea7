"""The JSON lines a run writes to stdout, and the deadlines it keeps: exact, because both are contracts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from healthcheck.alerting.state import Alert
from healthcheck.budget import Deadlines
from healthcheck.check.probe import CheckResult, Probe
from healthcheck.check.targets import InvalidTarget
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from healthcheck.log_lines import Report, Summary
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def test_each_event_is_one_compact_json_line_with_the_request_id() -> None:
    stream = io.StringIO()
    report = Report("2026-01-01T00:00:00Z", "req-1", stream=stream)
    report.check(CheckResult("up", "https://u.example/", True, 12, status=200))  # passed: no line of its own
    report.check(CheckResult("down", "https://d.example/", False, 80, status=503, error="status 503 not in [2xx]"))
    report.unrecorded(InvalidTarget("up", "https://v.example/", "duplicate name 'up'", recordable=False))
    report.transition(Alert("DOWN", "down", "https://d.example/", "2026-01-01T00:00:00Z", "2025-12-31T23:58:00Z"))
    report.summary(Summary("2026-01-01T00:00:00Z", checked=2, succeeded=1, failed=1, invalid=1))
    assert stream.getvalue().splitlines() == [
        (
            '{"type":"check","id":"down","timestamp":"2026-01-01T00:00:00Z","url":"https://d.example/",'
            '"success":false,"durationMs":80,"status":503,"error":"status 503 not in [2xx]","requestId":"req-1"}'
        ),
        (
            '{"type":"invalid-target","id":"up","timestamp":"2026-01-01T00:00:00Z","url":"https://v.example/",'
            '"error":"invalid target: duplicate name \'up\'","requestId":"req-1"}'
        ),
        (
            '{"type":"state","id":"down","timestamp":"2026-01-01T00:00:00Z","state":"DOWN",'
            '"since":"2025-12-31T23:58:00Z","requestId":"req-1"}'
        ),
        (
            '{"type":"summary","timestamp":"2026-01-01T00:00:00Z","checked":2,"succeeded":1,"failed":1,"invalid":1,'
            '"requestId":"req-1"}'
        ),
    ]


PASSED = CheckResult("up", "https://u.example/", True, 12, status=200)
FAILED = CheckResult("down", "https://d.example/", False, 80, status=503, error="status 503 not in [2xx]")
TIMED_OUT = CheckResult("slow", "https://s.example/", False, 10000, error="timed out after 10 s")
INCONCLUSIVE = CheckResult("far", "https://f.example/", False, 0, error="connection refused", inconclusive=True)
IN_MAINTENANCE = CheckResult("m", "https://m.example/", False, 5, status=502, error="status 502", maintenance=True)
UNVERIFIED = CheckResult("self-signed", "https://x.example/", True, 9, status=200, tls_verified=False)


@pytest.mark.parametrize(
    ("result", "every_check", "logged"),
    [
        (PASSED, False, False),
        (UNVERIFIED, False, False),
        (FAILED, False, True),
        (TIMED_OUT, False, True),
        (INCONCLUSIVE, False, True),
        (IN_MAINTENANCE, False, True),
        (PASSED, True, True),
        (FAILED, True, True),
    ],
    ids=[
        "passed-no-line",
        "passed-unverified-no-line",
        "failed",
        "timed-out",
        "inconclusive",
        "failed-in-maintenance",
        "passed-with-logChecks-all",
        "failed-with-logChecks-all",
    ],
)
def test_a_check_gets_a_line_when_it_did_not_pass_or_every_check_is_asked_for(
    result: CheckResult, every_check: bool, logged: bool
) -> None:
    stream = io.StringIO()
    Report("2026-01-01T00:00:00Z", stream=stream, every_check=every_check).check(result)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["type"], line["id"], line["success"]) for line in lines] == (
        [("check", result.name, result.success)] if logged else []
    )


def test_passing_checks_held_back_are_logged_once_when_asked() -> None:
    # The handler asks when their records could not be stored: then the log must hold every result.
    stream = io.StringIO()
    report = Report("2026-01-01T00:00:00Z", stream=stream)
    for result in (PASSED, FAILED, UNVERIFIED):
        report.check(result)
    report.log_passing_checks()
    report.log_passing_checks()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["id"] for line in lines] == ["down", "up", "self-signed"]
    assert lines[2]["tlsVerified"] is False


@pytest.mark.parametrize(
    ("alert", "line"),
    [
        (
            Alert("DOWN", "api", "https://a.example/", "2026-01-01T00:03:00Z", "2026-01-01T00:01:00Z"),
            {"type": "state", "id": "api", "state": "DOWN", "since": "2026-01-01T00:01:00Z"},
        ),
        (
            Alert(
                "RECOVERED", "api", "https://a.example/", "2026-01-01T00:09:00Z", "2026-01-01T00:08:00Z", down_for_s=420
            ),
            {"type": "state", "id": "api", "state": "UP", "since": "2026-01-01T00:08:00Z", "downForS": 420},
        ),
    ],
    ids=["down", "recovered"],
)
def test_a_state_change_is_one_line(alert: Alert, line: dict[str, object]) -> None:
    stream = io.StringIO()
    Report("2026-01-01T00:09:00Z", stream=stream).transition(alert)
    assert json.loads(stream.getvalue()) == {**line, "timestamp": "2026-01-01T00:09:00Z"}


class _Context:
    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.mark.parametrize(
    ("remaining_ms", "checks", "writes"),
    [
        (120_000, 100 + 120 - 10, 100 + 120 - 1),
        (4_000, 100 + 4 - 1, 100 + 4 - 0.2),
        (None, 100 + 900 - 10, 100 + 900 - 1),
    ],
    ids=["long-run-keeps-10-s-then-1-s", "short-run-keeps-a-quarter-then-a-twentieth", "local-run-has-900-s"],
)
def test_checks_end_10_s_and_writes_1_s_before_lambda_would_end_the_run(
    remaining_ms: int | None, checks: float, writes: float
) -> None:
    context = _Context(remaining_ms) if remaining_ms is not None else None
    deadlines = Deadlines.for_invocation(context, start=100.0)
    assert (deadlines.checks, deadlines.writes) == pytest.approx((checks, writes))


class _Invocation:
    """Lambda's context: a request id as long as Lambda's (36 characters, in every line) and the time left."""

    aws_request_id = "8f507cfc-0000-4697-b07a-ac58fc914c95"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_a_healthy_run_logs_at_most_10_bytes_per_check(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 16's aim: one summary and the metrics line per run, nothing per healthy check (214 bytes each before).
    targets: list[object] = [{"name": f"site-{i:03}", "url": f"{http_server.base_url}/ok?n={i}"} for i in range(100)]
    summary = check_and_record(
        {"time": "2026-01-01T00:00:00Z", "shard": "1"},
        _Invocation(),
        settings=Settings(table, targets),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC),
    )
    assert summary["succeeded"] == 100
    logged = capsys.readouterr().out
    assert [json.loads(line)["type"] for line in logged.splitlines()] == ["summary", "metrics"]
    assert len(logged.encode()) <= 10 * 100
