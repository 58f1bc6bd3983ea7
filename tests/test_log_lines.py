"""The JSON lines a run writes to stdout, and the deadlines it keeps: exact, because both are contracts."""

from __future__ import annotations

import io

import pytest

from healthcheck.budget import Deadlines
from healthcheck.check.probe import CheckResult
from healthcheck.check.targets import InvalidTarget
from healthcheck.log_lines import Report, Summary


def test_each_event_is_one_compact_json_line_with_the_request_id() -> None:
    stream = io.StringIO()
    report = Report("2026-01-01T00:00:00Z", "req-1", stream=stream)
    report.check(CheckResult("up", "https://u.example/", True, 12, status=200))
    report.unrecorded(InvalidTarget("up", "https://v.example/", "duplicate name 'up'", recordable=False))
    report.summary(Summary("2026-01-01T00:00:00Z", checked=1, succeeded=1, failed=0, invalid=1))
    assert stream.getvalue().splitlines() == [
        (
            '{"type":"check","id":"up","timestamp":"2026-01-01T00:00:00Z","url":"https://u.example/","success":true,'
            '"durationMs":12,"status":200,"error":null,"requestId":"req-1"}'
        ),
        (
            '{"type":"invalid-target","id":"up","timestamp":"2026-01-01T00:00:00Z","url":"https://v.example/",'
            '"error":"invalid target: duplicate name \'up\'","requestId":"req-1"}'
        ),
        (
            '{"type":"summary","timestamp":"2026-01-01T00:00:00Z","checked":1,"succeeded":1,"failed":0,"invalid":1,'
            '"requestId":"req-1"}'
        ),
    ]


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
