"""Write units per run, billed by DynamoDB's rules from what each call wrote (tests/write_units.py).

The issue's bound: at most 8 write units per run for 100 healthy targets at one check a minute,
rollups included, averaged over an hour (it was 101.7). These tests hold the figure the README gives,
so a change that writes more per run fails here, counted in items and bytes, never in time.
"""

from __future__ import annotations

import itertools
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from healthcheck.check.probe import CheckResult
from healthcheck.history import record_store, rollup_store
from healthcheck.history.record_store import ResultStore, roster_of
from healthcheck.history.rollup_store import RollupStore
from localdev.dynamodb import create_rollup_table
from tests.write_units import WriteMeter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()
REGION = "us-east-1"
# What the README says a run of 100 healthy targets costs in steady state, rollups included (measured 2.17:
# 2 for the run item, 10 an hour for the hour item, 7 KB, and the shard item, 2 KB).
STEADY_UNITS_PER_RUN = 2.2


@pytest.fixture
def rollups(dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str) -> RollupStore:
    name = f"rollups-w-{next(_numbers)}"
    create_rollup_table(dynamodb_endpoint, name)
    record_store._stored_rosters.clear()
    rollup_store._known.clear()
    return RollupStore(dynamodb, name, table)


def _results(names: list[str], rng: random.Random) -> list[CheckResult]:
    """Healthy HTTPS checks as real sites answer: 40-900 ms, certificates with weeks left."""
    return [
        CheckResult(name, f"https://{name}.example.com/health", True, rng.randint(40, 900), 200, cert_days_left=61)
        for name in names
    ]


def _run(
    store: ResultStore, rollups: RollupStore, shard: str, names: list[str], moment: datetime, rng: random.Random
) -> None:
    """One run as the handler makes it: the run's records, then the shard's rollups."""
    deadline = time.monotonic() + 60
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    roster = roster_of([(name, f"https://{name}.example.com/health") for name in names])
    writer = store.run(shard=shard, region=REGION, timestamp=stamp, roster=roster, deadline=deadline, retention_days=90)
    for result in _results(names, rng):
        writer.record(result)
    writer.finish()
    rollups.flush(shard, REGION, names, moment, deadline)


@pytest.mark.slow
def test_100_healthy_targets_at_one_minute_cost_about_2_write_units_a_run(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    names = [f"target-{number:03d}" for number in range(100)]
    store = ResultStore(dynamodb, table)
    rng = random.Random(16)
    start = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
    meter = WriteMeter(dynamodb)
    per_run: list[int] = []
    for minute in range(3 * 60):  # 22:00 to 00:59: an hour closes every hour, and a day at 00:50
        before = meter.total
        _run(store, rollups, "1", names, start + timedelta(minutes=minute), rng)
        per_run.append(meter.total - before)
    hour = per_run[60:120]  # 23:00-23:59, its 23:50 run summarising 22:00: a steady hour
    steady = sum(hour) / len(hour)
    day_close = per_run[170] - 2  # 00:50: 23:00's hour item and the day's item and names
    print(
        f"\nwrite units per run: {steady:.2f} in a steady hour (run items {min(hour)} each, the hour's rollup "
        f"{max(hour) - min(hour)}); a day's close {day_close} more, {steady + day_close / 1440:.3f} a run averaged; "
        f"{dict(meter.units)} {dict(meter.items)}"
    )
    assert min(hour) == 2  # the run item: 100 entries, about 1.2 KB
    assert steady <= STEADY_UNITS_PER_RUN
    assert steady + day_close / 1440 <= STEADY_UNITS_PER_RUN + 0.02
    # The first run also stores the roster (once per process) and lists the shard's targets.
    assert per_run[0] <= 2 + 12


def test_a_healthy_run_writes_one_item_and_a_failing_one_an_item_per_failure(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    names = [f"t{number}" for number in range(100)]
    store = ResultStore(dynamodb, table)
    _run(store, rollups, "1", names, datetime(2026, 12, 6, 22, 0, tzinfo=UTC), random.Random(1))  # roster etc.
    meter = WriteMeter(dynamodb)
    _run(store, rollups, "1", names, datetime(2026, 12, 6, 22, 1, tzinfo=UTC), random.Random(1))
    assert (meter.items[table], meter.units[table]) == (1, 2)
    assert meter.units[rollups.table_name] == 0  # no hour closed: nothing
    deadline = time.monotonic() + 60
    roster = roster_of([(name, f"https://{name}.example.com/health") for name in names])
    writer = store.run(shard="1", region=REGION, timestamp="2026-12-06T22:02:00Z", roster=roster, deadline=deadline)
    for number, result in enumerate(_results(names, random.Random(1))):
        failed = number < 10
        writer.record(
            CheckResult(result.name, result.url, not failed, 10000, error="timed out after 10 s") if failed else result
        )
    writer.finish()
    assert (meter.items[table], meter.units[table]) == (1 + 11, 2 + 2 + 10)  # a failure item is under 1 KB
