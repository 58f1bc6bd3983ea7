"""An event far behind the function's clock is recorded but moves no state: a stale time is not "since"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from healthcheck.handler import MAX_EVENT_BEHIND
from infra.monitor import MAX_EVENT_AGE_S
from tests.alerting_harness import Monitor
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

from healthcheck.check.probe import Probe

CLOCK = datetime.fromisoformat("2026-11-27T18:00:00+00:00")


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def monitor(dynamodb_endpoint: str, dynamodb: DynamoDBClient, probe: Probe) -> Monitor:
    return Monitor.create(dynamodb_endpoint, dynamodb, probe)


def test_a_retried_event_is_always_within_the_bound() -> None:
    # Scheduler retries delivery for up to MAX_EVENT_AGE_S after the scheduled time (the
    # schedule's retry policy), then Lambda keeps the event in its asynchronous queue, retries
    # included, for up to MAX_EVENT_AGE_S more (the function's event invoke config).
    assert timedelta(seconds=2 * MAX_EVENT_AGE_S) < MAX_EVENT_BEHIND


@pytest.mark.parametrize(
    ("behind", "moves"),
    [
        (timedelta(minutes=29, seconds=59), True),
        (timedelta(minutes=59), True),
        (timedelta(hours=1, minutes=1), False),
        (CLOCK - datetime.fromisoformat("2015-10-08T16:53:06+00:00"), False),
    ],
    ids=["retried-by-scheduler-then-lambda", "just-within-an-hour", "an-hour-and-a-minute", "the-2015-sample-event"],
)
def test_an_event_older_than_any_retry_is_recorded_but_moves_no_state(
    monitor: Monitor,
    http_server: FaultServer,
    caplog: pytest.LogCaptureFixture,
    behind: timedelta,
    moves: bool,
) -> None:
    targets: list[object] = [{"name": "api", "url": f"{http_server.base_url}/status/503", "failureThreshold": 1}]
    at = _time(CLOCK - behind)
    assert monitor.run(at, targets, now=CLOCK) is None
    assert [record.time for record in monitor.records("api")] == [at]
    state = monitor.state("api")
    if moves:
        assert state is not None
        assert (state["State"], state["Since"]) == ({"S": "DOWN"}, {"S": at})
        assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    else:
        assert state is None
        assert monitor.alerts() == []
        assert f"event time {at} is {behind} behind the function's clock (2026-11-27T18:00:00Z)" in caplog.text
