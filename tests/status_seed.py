"""90 days of history for 3 targets, seeded into the embedded DynamoDB, with its figures worked out by hand.

Every hour has 12 checks (a 5-minute schedule). Closed hours are written as
rollup day items (what the runs' hourly flush writes); the last two hours as
raw records, which the page summarises itself, as it does before a flush.

- ``api``: every check passes, 80 ms.
- ``web``: two days ago, 10:00-13:00, every check failed ("status 503 not in [2xx]"): 36
  failures, that day's uptime 252/288 = 87.50%. Its state is UP again.
- ``docs``: five days ago, 03:00-04:00, every check failed inside a maintenance
  window: not counted, so 100% every day; its state is UP.

States and incidents come as the monitor makes them: every check is replayed
through ``next_state`` with the default policy (DOWN at the 3rd failure, UP at
the 2nd success), the final state stored, and each DOWN and RECOVERED alert
recorded by ``RollupStore.record_transitions``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from healthcheck.alerting.policy import DEFAULT_POLICY
from healthcheck.alerting.state import TRANSITIONS, Alert, TargetState, next_state
from healthcheck.alerting.state_store import to_item as state_item
from healthcheck.check.probe import CheckResult
from healthcheck.history.record_store import ResultStore, to_item
from healthcheck.history.rollup_store import RollupStore
from healthcheck.history.rollups import summarise

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CHECKS_PER_HOUR = 12
NAMES = ("api", "web", "docs")


@dataclass(frozen=True, slots=True)
class Seeded:
    now: datetime
    first_hour: datetime
    incident_start: datetime
    maintenance_hour: datetime

    def hours_since(self, start: datetime) -> int:
        """Hours seeded from ``start`` (an hour boundary) up to and including the current hour."""
        current = self.now.replace(minute=0, second=0, microsecond=0)
        return int((current - max(start, self.first_hour)) / timedelta(hours=1)) + 1


def _results(name: str, hour: datetime, seeded: Seeded) -> list[CheckResult]:
    failing = name == "web" and seeded.incident_start <= hour < seeded.incident_start + timedelta(hours=3)
    maintenance = name == "docs" and hour == seeded.maintenance_hour
    if failing:
        return [
            CheckResult(name, f"https://{name}.test/", False, 2000, status=503, error="status 503 not in [2xx]")
        ] * 12
    if maintenance:
        return [CheckResult(name, f"https://{name}.test/", False, 0, error="refused", maintenance=True)] * 12
    return [CheckResult(name, f"https://{name}.test/", True, 80, status=200)] * CHECKS_PER_HOUR


def _stamp(hour: datetime, index: int) -> str:
    return (hour + timedelta(minutes=5 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(client: DynamoDBClient, results_table: str, rollup_table: str, state_table: str, now: datetime) -> Seeded:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    current = now.replace(minute=0, second=0, microsecond=0)
    seeded = Seeded(
        now=now,
        first_hour=today - timedelta(days=89),
        incident_start=today - timedelta(days=2) + timedelta(hours=10),
        maintenance_hour=today - timedelta(days=5) + timedelta(hours=3),
    )
    raw: list[dict[str, Any]] = []
    transitions: list[Alert] = []
    for name in NAMES:
        days: dict[str, dict[str, Any]] = {}
        state = TargetState()
        hour = seeded.first_hour
        while hour <= current:
            results = _results(name, hour, seeded)
            # The current hour's checks so far only; the page reads them raw.
            count = len(results) if hour < current else now.minute // 5 + 1
            items = [to_item(result, _stamp(hour, index)) for index, result in enumerate(results[:count])]
            for index, result in enumerate(results[:count]):
                moved = next_state(state, result, DEFAULT_POLICY, 0, _stamp(hour, index))
                if moved is not None:
                    transitions += [alert for alert in moved.pending if alert.kind in TRANSITIONS]
                    state = replace(moved, pending=())  # sent, as a run clears them
            if hour >= current - timedelta(hours=1):
                raw += items
            else:
                day = hour.strftime("%Y-%m-%d")
                item = days.setdefault(day, {"Id": {"S": name}, "Day": {"S": day}})
                item[f"H{hour.hour:02d}"] = summarise(items).to_attribute()
            hour += timedelta(hours=1)
        for item in days.values():
            client.put_item(TableName=rollup_table, Item=item)
        if state != TargetState():
            client.put_item(TableName=state_table, Item=state_item(name, state))
    deadline = time.monotonic() + 60
    ResultStore(client, results_table).write(raw, deadline)
    RollupStore(client, rollup_table, results_table).record_transitions(transitions, deadline)
    return seeded
