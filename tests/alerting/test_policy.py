"""The alerting policy as users set it: stack-wide and per target, at the documented bounds, end to end."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from healthcheck.alerting.policy import PolicyValueError, parse_policy
from healthcheck.check.probe import Probe
from healthcheck.check.targets import parse_target
from healthcheck.config import Settings
from healthcheck.exceptions import ConfigError, InvalidTargetError
from infra.settings import SettingsError, StackSettings
from tests.alerting_harness import Monitor
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def at(minute: int) -> str:
    return (datetime(2026, 11, 27, 18, 0, tzinfo=UTC) + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def monitor(dynamodb_endpoint: str, dynamodb: DynamoDBClient, probe: Probe) -> Monitor:
    return Monitor.create(dynamodb_endpoint, dynamodb, probe)


@pytest.mark.parametrize(
    ("stack_wide", "own", "needed"),
    [(3, None, 3), (1, None, 1), (3, 1, 1), (1, 3, 3)],
    ids=["stack-wide-3", "stack-wide-1", "target-1-over-stack-wide-3", "target-3-over-stack-wide-1"],
)
def test_a_down_target_is_up_after_its_success_threshold(
    monitor: Monitor, http_server: FaultServer, stack_wide: int, own: int | None, needed: int
) -> None:
    # Through the function's environment (ALERTING) and the target's own field, as deployed:
    # the default, 2, is in none of these rows, so ignoring either setting fails one.
    environ = {"TABLE_NAME": "unused", "ALERTING": json.dumps({"failureThreshold": 1, "successThreshold": stack_wide})}
    monitor.alerting = Settings.from_environ(environ).alerting
    fields = {} if own is None else {"successThreshold": own}

    def target(path: str) -> list[object]:
        return [{"name": "api", "url": f"{http_server.base_url}{path}", **fields}]

    monitor.run(at(0), target("/status/503"))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    states = []
    for minute in range(1, needed + 1):
        monitor.run(at(minute), target("/ok"))
        state = monitor.state("api")
        assert state is not None
        states.append(state["State"]["S"])
    assert states == ["DOWN"] * (needed - 1) + ["UP"]
    assert [alert.subject for alert in monitor.alerts()] == ["RECOVERED: api"]


THRESHOLDS = ("failureThreshold", "successThreshold")


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        *((field, 100, True) for field in THRESHOLDS),
        *((field, 101, False) for field in THRESHOLDS),
        *((field, 1, True) for field in THRESHOLDS),
        *((field, 0, False) for field in THRESHOLDS),
        ("remindEveryMinutes", 10080, True),
        ("remindEveryMinutes", 10081, False),
        ("remindEveryMinutes", 5, True),
        ("remindEveryMinutes", 4, False),
        ("remindEveryMinutes", 0, True),
    ],
    ids=lambda value: str(value),
)
def test_the_documented_bounds_hold_everywhere_a_policy_is_set(field: str, value: int, accepted: bool) -> None:
    # The README's bounds: thresholds 1-100, reminders 0 (never) or 5-10080 minutes (a week).
    target = {"name": "api", "url": "https://api.example/"}
    surfaces: list[Callable[[], object]] = [
        lambda: parse_policy({field: value}),
        lambda: Settings.from_environ({"TABLE_NAME": "t", "ALERTING": json.dumps({field: value})}),
        lambda: StackSettings.from_values(targets=[target], alerting={field: value}),
        lambda: parse_target({**target, field: value}),
        lambda: StackSettings.from_values(targets=[{**target, field: value}]),
    ]
    errors = (PolicyValueError, ConfigError, SettingsError, InvalidTargetError)
    for surface in surfaces:
        if accepted:
            surface()
        else:
            with pytest.raises(errors, match=re.escape(f"'{field}' must be")):
                surface()
