"""90 days of history for 3 targets in 2 shards, seeded into the embedded DynamoDB, with its figures worked out by hand.

Every hour has 12 checks (a 5-minute schedule). ``api`` and ``web`` are shard 1's, ``docs``
shard 2's. Closed hours are written as the runs' rollups leave them: a day item per shard for
each closed day, an hour item per shard for each of the last three days' hours, and each shard's
``shards`` item (how far it is summarised, which targets it held); the last two hours as run items,
written by the function's own writer, which the page reads raw, as it does before a flush.

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
from healthcheck.history.reader import Check
from healthcheck.history.record_store import ResultStore, roster_of
from healthcheck.history.rollup_store import KEEP_DAYS, RollupStore
from healthcheck.history.rollups import HourSummary, merge, summarise

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CHECKS_PER_HOUR = 12
NAMES = ("api", "web", "docs")
SHARDS = {"1": ("api", "web"), "2": ("docs",)}
REGION = "us-east-1"


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
        return [CheckResult(name, f"https://{name}.test/", False, 2000, 503, error="status 503 not in [2xx]")] * 12
    if maintenance:
        return [CheckResult(name, f"https://{name}.test/", False, 0, error="refused", maintenance=True)] * 12
    return [CheckResult(name, f"https://{name}.test/", True, 80, 200)] * CHECKS_PER_HOUR


def _stamp(hour: datetime, index: int) -> str:
    return (hour + timedelta(minutes=5 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check(result: CheckResult, stamp: str) -> Check:
    return Check(
        result.name,
        stamp,
        result.success,
        result.duration_ms,
        result.status,
        result.error,
        result.failures,
        result.inconclusive,
        result.maintenance,
    )


def _rollup(item_id: str, day: str, summaries: dict[str, HourSummary], moment: datetime) -> dict[str, Any]:
    return {
        "Id": {"S": item_id},
        "Day": {"S": day},
        "Targets": {"M": {name: summary.to_attribute() for name, summary in summaries.items()}},
        "ExpiresAt": {"N": str(int((moment + timedelta(days=KEEP_DAYS)).timestamp()))},
    }


def seed(client: DynamoDBClient, results_table: str, rollup_table: str, state_table: str, now: datetime) -> Seeded:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    current = now.replace(minute=0, second=0, microsecond=0)
    seeded = Seeded(
        now=now,
        first_hour=today - timedelta(days=89),
        incident_start=today - timedelta(days=2) + timedelta(hours=10),
        maintenance_hour=today - timedelta(days=5) + timedelta(hours=3),
    )
    summarised = current - timedelta(hours=2)  # the shards' latest summarised hour; the two after it are raw
    transitions: list[Alert] = []
    raw: dict[str, dict[str, list[CheckResult]]] = {shard: {} for shard in SHARDS}
    for shard, names in SHARDS.items():
        hours: dict[datetime, dict[str, HourSummary]] = {}
        for name in names:
            state = TargetState()
            hour = seeded.first_hour
            while hour <= current:
                results = _results(name, hour, seeded)
                # The current hour's checks so far only; the page reads them raw.
                count = len(results) if hour < current else now.minute // 5 + 1
                for index, result in enumerate(results[:count]):
                    moved = next_state(state, result, DEFAULT_POLICY, 0, _stamp(hour, index))
                    if moved is not None:
                        transitions += [alert for alert in moved.pending if alert.kind in TRANSITIONS]
                        state = replace(moved, pending=())  # sent, as a run clears them
                if hour > summarised:
                    for index, result in enumerate(results[:count]):
                        raw[shard].setdefault(_stamp(hour, index), []).append(result)
                else:
                    checks = [_check(result, _stamp(hour, index)) for index, result in enumerate(results[:count])]
                    hours.setdefault(hour, {})[name] = summarise(checks)
                hour += timedelta(hours=1)
            if state != TargetState():
                client.put_item(TableName=state_table, Item=state_item(name, state))
        region_id = f"{shard}#{REGION}"
        days: dict[datetime, dict[str, list[HourSummary]]] = {}
        for hour, summaries in sorted(hours.items()):
            if hour >= today - timedelta(days=3):
                client.put_item(
                    TableName=rollup_table,
                    Item=_rollup(f"hour#{region_id}", hour.strftime("%Y-%m-%dT%H"), summaries, hour),
                )
            for name, summary in summaries.items():
                days.setdefault(hour.replace(hour=0), {}).setdefault(name, []).append(summary)
        for day, parts in days.items():
            if day + timedelta(hours=23) <= summarised:
                merged = {name: merge(summaries) for name, summaries in parts.items()}
                client.put_item(
                    TableName=rollup_table, Item=_rollup(f"day#{region_id}", day.strftime("%Y-%m-%d"), merged, day)
                )
        client.put_item(
            TableName=rollup_table,
            Item={
                "Id": {"S": "shards"},
                "Day": {"S": region_id},
                "Hour": {"S": summarised.strftime("%Y-%m-%dT%H")},
                "Names": {"M": {name: {"S": today.strftime("%Y-%m-%d")} for name in names}},
                "Version": {"N": "1"},
            },
        )
    store = ResultStore(client, results_table)
    for shard, runs in raw.items():
        for stamp, results in sorted(runs.items()):
            roster = roster_of([(result.name, result.url) for result in results])
            writer = store.run(
                shard=shard, region=REGION, timestamp=stamp, roster=roster, deadline=time.monotonic() + 60
            )
            for result in results:
                writer.record(result)
            writer.finish()
    RollupStore(client, rollup_table, results_table).record_transitions(transitions, time.monotonic() + 60)
    return seeded
