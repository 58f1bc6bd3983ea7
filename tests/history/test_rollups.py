"""Rollups: hourly summaries against hand-computed figures, and the write bound against the embedded DynamoDB."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck.check.probe import CheckResult, Probe
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history import record_store, rollup_store
from healthcheck.history.reader import Check
from healthcheck.history.record_store import ResultStore, roster_of
from healthcheck.history.rollup_store import RollupStore, StoredIncident, closed_hours, summaries_of
from healthcheck.history.rollups import HourSummary, merge, percentile, summarise, uptime
from localdev.dynamodb import create_rollup_table
from tests.records import all_checks
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()


def record(
    success: bool, duration: int, *, maintenance: bool = False, inconclusive: bool = False, answered: bool = True
) -> Check:
    """A check as the reader gives it back: a failure is an HTTP 500, or with ``answered=False`` a refusal."""
    status = (200 if success else 500) if answered else None
    error = None if success else ("HTTP 500" if answered else "connection refused")
    return Check(
        "t",
        "2026-11-28T04:00:00Z",
        success,
        duration,
        status=status,
        error=error,
        maintenance=maintenance,
        inconclusive=inconclusive,
    )


def test_uptime_leaves_out_maintenance_and_inconclusive_checks() -> None:
    records = [
        record(True, 10),
        record(False, 20),
        record(False, 30, maintenance=True),
        record(False, 40, inconclusive=True),
        record(True, 50),
        record(True, 60),
        record(False, 0, answered=False),
        record(False, 30000, inconclusive=True, answered=False),
    ]
    summary = summarise(records)
    assert (summary.checks, summary.counted, summary.failed) == (8, 5, 2)
    assert (summary.maintenance, summary.inconclusive) == (1, 2)
    assert uptime(summary) == 60.0
    assert summary.first_reason == "HTTP 500"
    # Latency as the report measures it: counted checks that got a response, so not the maintenance
    # check, the inconclusive ones, nor the refusal's 0 ms.
    assert summary.duration_sum_ms == 10 + 20 + 50 + 60
    assert sum(summary.buckets) == 4
    assert percentile(summary, 0.5) == 25


@pytest.mark.parametrize(
    ("durations", "fraction", "expected"),
    [
        ([10] * 50 + [120] * 45 + [900] * 5, 0.50, 25),
        ([10] * 50 + [120] * 45 + [900] * 5, 0.95, 150),
        ([10] * 50 + [120] * 45 + [900] * 5, 0.99, 1000),
        ([70000], 0.5, 60000),
        ([], 0.5, None),
    ],
    ids=["p50", "p95", "p99", "slower-than-every-bound", "no-checks"],
)
def test_percentile_is_the_bound_of_the_bucket_holding_it(
    durations: list[int], fraction: float, expected: int | None
) -> None:
    assert percentile(summarise(record(True, ms) for ms in durations), fraction) == expected


def test_a_summary_survives_its_dynamodb_form_and_merges_by_adding() -> None:
    one = summarise([record(False, 120), record(True, 30)])
    two = summarise([record(True, 3000)])
    assert one.to_attribute() == {"S": "2,2,1,0,0,150|1:1,4:1|HTTP 500"}
    assert HourSummary.from_attribute(one.to_attribute()) == one
    assert HourSummary.from_attribute(two.to_attribute()) == two  # no reason
    odd = HourSummary(checks=1, counted=1, failed=1, first_reason="a|b|")
    assert HourSummary.from_attribute(odd.to_attribute()) == odd
    both = merge([one, two])
    assert (both.checks, both.failed, both.first_reason) == (3, 1, "HTTP 500")
    assert percentile(both, 1.0) == 3000
    assert uptime(HourSummary()) is None


def test_closed_hours_wait_out_the_grace_period() -> None:
    # An event may be delivered 15 + 15 minutes late (Scheduler's and Lambda's maximum event ages)
    # and run for 15 minutes: 03:00-04:00 is not closed until 04:50.
    at = datetime(2026, 11, 28, 4, 49, 59, tzinfo=UTC)
    assert closed_hours(at)[0] == datetime(2026, 11, 28, 2, tzinfo=UTC)
    assert closed_hours(at + timedelta(seconds=1))[0] == datetime(2026, 11, 28, 3, tzinfo=UTC)
    assert closed_hours(at) == [datetime(2026, 11, 28, 2 - back, tzinfo=UTC) for back in range(3)]


@pytest.fixture
def rollups(dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str) -> RollupStore:
    name = f"rollups-{next(_numbers)}"
    create_rollup_table(dynamodb_endpoint, name)
    # Each test as a fresh process: nothing known of rosters or shards yet.
    record_store._stored_rosters.clear()
    rollup_store._known.clear()
    return RollupStore(dynamodb, name, table)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(
    dynamodb: DynamoDBClient, table: str, results: list[CheckResult], moment: datetime, shard: str = "1"
) -> None:
    """One run's records, as the handler writes them."""
    roster = roster_of([(result.name, result.url) for result in results])
    writer = ResultStore(dynamodb, table).run(
        shard=shard, region="us-east-1", timestamp=_stamp(moment), roster=roster, deadline=time.monotonic() + 60
    )
    for result in results:
        writer.record(result)
    writer.finish()


def _run(
    dynamodb: DynamoDBClient,
    table: str,
    rollups: RollupStore,
    results: list[CheckResult],
    moment: datetime,
    shard: str = "1",
) -> int:
    """One run: its records, then its shard's rollups (as the handler does); the rollup items written."""
    _write(dynamodb, table, results, moment, shard)
    return rollups.flush(shard, "us-east-1", [result.name for result in results], moment, time.monotonic() + 60)


def _hours(rollups: RollupStore, name: str, first: str, last: str, shard: str = "1") -> dict[datetime, HourSummary]:
    """Each hour's summary of ``name`` from its shard's hour items."""
    found = rollups.hours(
        shard,
        "us-east-1",
        datetime.fromisoformat(first + "+00:00"),
        datetime.fromisoformat(last + "+00:00"),
        time.monotonic() + 10,
    )
    return {hour: summaries[name] for hour, summaries in found.items() if name in summaries}


def test_a_shard_costs_an_item_per_hour_whatever_its_targets(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    start = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    writes = 0
    # Every minute for three hours, as a rate(1 minute) schedule runs; target b fails at 02:30.
    for minute in range(180):
        down = minute == 90
        results = [
            CheckResult("a", "https://a.test/", True, 100, 200),
            CheckResult("b", "https://b.test/", not down, 200, 503 if down else 200, error="refused" if down else None),
        ]
        writes += _run(dynamodb, table, rollups, results, start + timedelta(minutes=minute))
    # 01:00 and 02:00 close (03:00 waits for 04:50): one item each, every target in it.
    assert writes == rollups.calls["PutItem"] == 2
    # Reads: the shard's item when an hour is due (four: 23:00, 00:00, 01:00, 02:00), the hour before a failing
    # one, and the failure's own item for its reason; one Query of each hour's runs, and of the day before's
    # hours as it closes (the first run summarises up to its 23:00).
    assert rollups.calls["GetItem"] == 4 + 2
    assert rollups.calls["Query"] == 4 + 1
    hours = _hours(rollups, "b", "2026-11-28T00", "2026-11-28T03")
    assert sorted(hours) == [start, start + timedelta(hours=1)]
    failing = hours[start + timedelta(hours=1)]
    assert (failing.checks, failing.failed, failing.first_reason) == (60, 1, "refused")
    assert hours[start].failed == 0
    # A retried event writes nothing again.
    assert rollups.flush("1", "us-east-1", ["a", "b"], start + timedelta(minutes=179), time.monotonic() + 60) == 0


@pytest.mark.parametrize("every_hours", [6, 24, 24 * 7, 24 * 30], ids=["6-hourly", "daily", "weekly", "monthly"])
def test_every_hour_holding_checks_is_summarised_whatever_the_schedule(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore, every_hours: int
) -> None:
    """The next run may come days after an hour closes: the hour is summarised then, not lost to the page."""
    runs = [datetime(2026, 9, 1, 0, 0, tzinfo=UTC) + timedelta(hours=every_hours * n) for n in range(4)]
    writes = 0
    for index, moment in enumerate(runs):
        failing = index == 1
        result = CheckResult(
            "api",
            "https://api.test/",
            not failing,
            100,
            503 if failing else 200,
            error="status 503" if failing else None,
        )
        writes += _run(dynamodb, table, rollups, [result], moment)
    hours = _hours(rollups, "api", "2026-08-01T00", "2026-12-31T23")
    # Every run's hour but the last (it closes after that run) holds its one check.
    assert {hour: summary.checks for hour, summary in hours.items()} == dict.fromkeys(runs[:-1], 1)
    assert (hours[runs[1]].failed, hours[runs[1]].first_reason) == (1, "status 503")
    # Per run, the hours checked since the last run, and each day they close (its 23:00 closed by the last run).
    closed = [run.replace(hour=0) for run in runs[:-1] if run.replace(hour=23) <= closed_hours(runs[-1])[0]]
    days = rollups.days("1", "us-east-1", runs[0], runs[-1], time.monotonic() + 10)
    assert {day: summaries["api"].checks for day, summaries in days.items()} == dict.fromkeys(closed, 1)
    assert writes == rollups.calls["PutItem"] == 3 + len(closed)


def test_a_business_hours_schedule_summarises_its_last_hour_the_next_morning(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """cron(*/10 6-22 ? * * *): the 22:xx checks close at 23:50, and no run comes until 06:00."""
    day = datetime(2026, 11, 28, tzinfo=UTC)
    for moment in (
        day + timedelta(days=d, hours=h, minutes=m) for d in (0, 1) for h in range(6, 23) for m in range(0, 60, 10)
    ):
        _run(dynamodb, table, rollups, [CheckResult("api", "https://api.test/", True, 100, 200)], moment)
    hours = _hours(rollups, "api", "2026-11-28T00", "2026-11-29T23")
    checked = {hour: summary.checks for hour, summary in hours.items()}
    # All of the first day, 22:00 included; the second day's 22:00 waits for the next morning's first run.
    expected = [day + timedelta(hours=h) for h in range(6, 23)] + [
        day + timedelta(days=1, hours=h) for h in range(6, 22)
    ]
    assert checked == dict.fromkeys(expected, 6)
    [first_day] = rollups.days("1", "us-east-1", day, day, time.monotonic() + 10).values()
    assert (first_day["api"].checks, first_day["api"].counted) == (17 * 6, 17 * 6)


@pytest.mark.parametrize("limit", [5, 30], ids=["hour-over-the-limit", "hours-per-run"])
def test_rollups_stalled_for_hours_are_caught_up_a_bounded_read_at_a_time(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Each run reads at most MAX_RUNS run items; an hour it cuts short waits for the next run."""
    monkeypatch.setattr("healthcheck.history.rollup_store.MAX_RUNS", limit)
    start = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    # The rollups had been written up to 22:00 the day before; then runs failed to write any for hours.
    rollups.flush("1", "us-east-1", ["api"], start, time.monotonic() + 60)
    for minute in range(0, 10 * 60, 5):  # 10 hours, 12 checks each; one failure at 02:05
        result = CheckResult("api", "https://api.test/", minute != 125, 100, 200 if minute != 125 else 500)
        _write(dynamodb, table, [result], start + timedelta(minutes=minute))
    now = start + timedelta(hours=10, minutes=50)
    runs = 0
    while rollups.flush("1", "us-east-1", ["api"], now, time.monotonic() + 60):
        runs += 1
        rollup_store._known.clear()  # each a new run that has not caught up
        assert runs <= 12
    assert runs > 1
    hours = _hours(rollups, "api", "2026-11-28T00", "2026-11-28T23")
    assert {hour: summary.checks for hour, summary in hours.items()} == {
        start + timedelta(hours=h): 12 for h in range(10)
    }
    assert hours[start + timedelta(hours=2)].failed == 1


def _handler_run(
    moment: datetime, probe: Probe, dynamodb: DynamoDBClient, table: str, url: str, rollups: RollupStore
) -> None:
    check_and_record(
        {"time": _stamp(moment), "shard": "7"},
        None,
        settings=Settings(table, [{"name": "site", "url": url}], region="us-east-1"),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=moment,
        rollups=rollups,
    )


def test_runs_summarise_the_last_closed_hour_through_the_handler(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    first = datetime(2026, 11, 28, 9, 50, tzinfo=UTC)
    for minutes in (0, 5, 15, 55):  # 09:50, 09:55, then 10:05, 10:45 (09:00 not closed yet), and 10:50 closes it
        _handler_run(first + timedelta(minutes=minutes), probe, dynamodb, table, f"{http_server.base_url}/ok", rollups)
    assert datetime(2026, 11, 28, 9, tzinfo=UTC) not in _hours(rollups, "site", "2026-11-28T00", "2026-11-28T23", "7")
    _handler_run(first + timedelta(minutes=60), probe, dynamodb, table, f"{http_server.base_url}/status/503", rollups)
    nine = _hours(rollups, "site", "2026-11-28T00", "2026-11-28T23", "7")[datetime(2026, 11, 28, 9, tzinfo=UTC)]
    assert (nine.checks, nine.failed) == (2, 0)  # the 10:xx checks belong to the next hour
    [(pair, head)] = rollups.shards(time.monotonic() + 10).items()
    assert pair == ("7", "us-east-1")
    assert (head.hour, dict(head.names)) == (datetime(2026, 11, 28, 9, tzinfo=UTC), {"site": "2026-11-28"})


def test_a_missing_rollups_table_costs_the_run_nothing(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    broken = RollupStore(dynamodb, "no-such-table", table)
    moment = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    _handler_run(moment, probe, dynamodb, table, f"{http_server.base_url}/ok", broken)
    assert [check.success for check in all_checks(dynamodb, table)] == [True]
    assert "rollups of shard 7 not brought up to date (the next run tries again)" in caplog.text


def test_an_event_stamped_ahead_of_the_clock_closes_no_hour_still_to_come(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """A manual invoke with a time hours ahead must not summarise hours whose checks are still to come."""
    now = datetime(2026, 11, 28, 9, 20, tzinfo=UTC)
    check_and_record(
        {"time": _stamp(now + timedelta(hours=3))},
        None,
        settings=Settings(table, [{"name": "site", "url": f"{http_server.base_url}/ok"}], region="us-east-1"),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=now,
        rollups=rollups,
    )
    [head] = rollups.shards(time.monotonic() + 10).values()
    assert head.hour == datetime(2026, 11, 28, 7, tzinfo=UTC)  # 08:00 closes at 09:50 by the function's clock


@pytest.mark.parametrize(
    "text",
    [
        "12,12,0,0,0",  # cut short
        "12,12,0,0,0,960|99:1",  # no such bucket
        "12,12,0,0,0,-5|",  # a negative count
        "12,13,0,0,0,960|",  # more counted than checked
        "12,12,13,0,0,960|",  # more failed than counted
        "x|y|z",
    ],
)
def test_an_unreadable_summary_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a count|no latency bucket|inconsistent counts|not enough values"):
        HourSummary.from_attribute({"S": text})


def test_one_unreadable_summary_costs_that_target_only(caplog: pytest.LogCaptureFixture) -> None:
    good = summarise([record(True, 80)]).to_attribute()
    item: dict[str, Any] = {
        "Id": {"S": "hour#1#us-east-1"},
        "Day": {"S": "2026-11-28T04"},
        "Targets": {"M": {"a": good, "b": {"S": "12,12,0,0,0"}, "c": {"N": "1"}, "d": good}},
    }
    assert sorted(summaries_of(item)) == ["a", "d"]
    assert "rollup 2026-11-28T04 of b unreadable, skipped" in caplog.text


def test_an_hour_closes_only_after_its_latest_records_can_land() -> None:
    """Scheduler's and Lambda's maximum event ages, then the longest run: no record of a closed hour is to come."""
    from healthcheck.history.rollup_store import GRACE
    from infra.monitor import MAX_EVENT_AGE_S

    longest_run_s = 900  # Lambda's maximum timeout, the stack's timeout's upper bound
    assert timedelta(seconds=MAX_EVENT_AGE_S * 2 + longest_run_s) <= GRACE


def test_a_long_outage_names_its_reason_once(dynamodb: DynamoDBClient, table: str, rollups: RollupStore) -> None:
    """Only an outage's first hour keeps its reason: the page shows no other, and every byte is read per view."""
    from healthcheck.alerting.state import TargetState
    from healthcheck.page.data import ShownTarget, TargetReads, build

    start = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    reads: list[str] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: reads.append(params["Key"]["Id"]["S"])
    )
    rollups.flush("1", "us-east-1", ["x"], start, time.monotonic() + 60)  # caught up to 23:00 the day before
    for index in range(36):  # 01:00 to 03:55, every check failing
        failure = CheckResult("x", "https://x.test/", False, 90, 503, error="status 503 not in [2xx]")
        _write(dynamodb, table, [failure], start + timedelta(minutes=5 * index))
    # 00:00 to 02:00 in one run; 03:00 in the next, which reads 02:00 back from the table.
    rollup_store._known.clear()
    assert rollups.flush("1", "us-east-1", ["x"], datetime(2026, 11, 28, 3, 50, tzinfo=UTC), time.monotonic() + 60) == 2
    assert rollups.flush("1", "us-east-1", ["x"], datetime(2026, 11, 28, 4, 50, tzinfo=UTC), time.monotonic() + 60) == 1
    hours = _hours(rollups, "x", "2026-11-28T00", "2026-11-28T23")
    assert [hours[start + timedelta(hours=h)].first_reason for h in range(3)] == ["status 503 not in [2xx]", None, None]
    assert [hours[start + timedelta(hours=h)].failed for h in range(3)] == [12, 12, 12]
    assert reads.count("check#x") == 1  # the reason is read once, for the outage's first hour
    # An outage whose DOWN was never recorded as an incident (it began before this version) takes its first
    # hour's reason: the state's DOWN since says when it began.
    target_reads = TargetReads(hours=hours, state=TargetState("DOWN", since="2026-11-28T01:00:00Z"))
    [incident] = (
        build([ShownTarget("x", "x")], {"x": target_reads}, datetime(2026, 11, 28, 5, tzinfo=UTC)).targets[0].incidents
    )
    assert (incident.start, incident.ongoing, incident.reason) == (
        "2026-11-28T01:00:00Z",
        True,
        "status 503 not in [2xx]",
    )


def test_an_hours_first_failure_keeps_counting_whichever_attempts_failure_item_landed(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """A double delivery left the run item of one attempt (a counted failure) and the failure item of the other."""
    start = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    rollups.flush("1", "us-east-1", ["x"], start, time.monotonic() + 60)  # caught up to 00:00
    counted = CheckResult("x", "https://x.test/", False, 10000, error="timed out after 10 s")
    _write(dynamodb, table, [counted], start + timedelta(minutes=5))
    run_item = dynamodb.get_item(
        TableName=table, Key={"Id": {"S": "run#1"}, "Timestamp": {"S": "2026-11-28T01:05:00Z#us-east-1"}}
    )
    inconclusive = CheckResult("x", "https://x.test/", False, 3, error="connect failed", inconclusive=True)
    _write(dynamodb, table, [inconclusive], start + timedelta(minutes=5))
    dynamodb.put_item(TableName=table, Item=run_item["Item"])
    rollup_store._known.clear()
    rollups.flush("1", "us-east-1", ["x"], datetime(2026, 11, 28, 2, 50, tzinfo=UTC), time.monotonic() + 60)
    hour = _hours(rollups, "x", "2026-11-28T00", "2026-11-28T23")[start]
    assert (hour.counted, hour.failed, hour.inconclusive, hour.first_reason) == (1, 1, 0, "connect failed")


def test_a_day_closes_into_one_item_and_the_shards_names_say_when_each_was_last_seen(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    start = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    for minute in range(0, 3 * 60, 10):  # 22:00 to 00:50: the 27th closes at 00:50
        moment = start + timedelta(minutes=minute)
        results = [CheckResult("a", "https://a.test/", True, 100, 200)]
        if moment.hour == 22:  # b leaves the shard at 23:00 (the target list changed)
            results.append(CheckResult("b", "https://b.test/", minute != 10, 120, 200 if minute != 10 else 500))
        _run(dynamodb, table, rollups, results, moment)
    [day] = rollups.days("1", "us-east-1", start, start, time.monotonic() + 10).values()
    assert (day["a"].checks, day["b"].checks, day["b"].failed) == (12, 6, 1)
    [head] = rollups.shards(time.monotonic() + 10).values()
    assert dict(head.names) == {"a": "2026-11-27", "b": "2026-11-27"}
    assert head.hour == datetime(2026, 11, 27, 23, tzinfo=UTC)


def test_a_new_target_is_listed_at_its_first_run_and_the_list_is_read_once_an_hour(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """A page finds a new target's shard at once; a run reads the shard's item only when its list or hour moved."""
    moment = datetime(2026, 11, 28, 10, 55, tzinfo=UTC)
    _run(dynamodb, table, rollups, [CheckResult("a", "https://a.test/", True, 1, 200)], moment)
    calls = dict(rollups.calls)
    _run(dynamodb, table, rollups, [CheckResult("a", "https://a.test/", True, 1, 200)], moment + timedelta(minutes=1))
    assert rollups.calls == calls  # nothing to do: nothing read, nothing written
    both = [CheckResult(name, f"https://{name}.test/", True, 1, 200) for name in ("a", "new")]
    _run(dynamodb, table, rollups, both, moment + timedelta(minutes=2), shard="2")
    assert {pair: dict(head.names) for pair, head in rollups.shards(time.monotonic() + 10).items()} == {
        ("1", "us-east-1"): {"a": "2026-11-28"},
        ("2", "us-east-1"): {"a": "2026-11-28", "new": "2026-11-28"},  # a moved: both shards list it
    }


def test_transitions_are_recorded_as_incidents_once_each(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """DOWN writes the incident with its first reason, RECOVERED its end; a retried event writes the same item."""
    from healthcheck.alerting.state import Alert

    down = Alert("DOWN", "api", "u", "2026-11-28T02:12:00Z", "2026-11-28T02:10:00Z", ("status 503 not in [2xx]",))
    recovered = Alert("RECOVERED", "api", "u", "2026-11-28T02:14:00Z", "2026-11-28T02:10:00Z", down_for_s=180)
    reminder = Alert("STILL DOWN", "api", "u", "2026-11-28T02:13:00Z", "2026-11-28T02:10:00Z")
    deadline = time.monotonic() + 60
    assert rollups.record_transitions([down, reminder], deadline) == 1
    assert rollups.record_transitions([recovered, recovered], deadline) == 2
    first, last = datetime(2026, 8, 30, tzinfo=UTC), datetime(2026, 11, 28, 3, tzinfo=UTC)
    assert rollups.incidents("api", first, last, deadline, limit=10) == [
        StoredIncident("2026-11-28T02:10:00Z", "2026-11-28T02:13:00Z", "status 503 not in [2xx]")
    ]
    [item] = dynamodb.scan(TableName=rollups.table_name)["Items"]
    assert (item["Id"], item["Day"]) == ({"S": "incident#api"}, {"S": "I2026-11-28T02:10:00Z"})
    assert item["ExpiresAt"]["N"] == str(int(datetime(2027, 3, 8, 2, 10, tzinfo=UTC).timestamp()))  # + 100 days


def test_an_incident_that_cannot_be_recorded_costs_the_run_nothing(
    dynamodb: DynamoDBClient, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    from healthcheck.alerting.state import Alert

    broken = RollupStore(dynamodb, "no-such-table", table)
    down = Alert("DOWN", "api", "u", "2026-11-28T02:12:00Z", "2026-11-28T02:10:00Z", ("refused",))
    assert broken.record_transitions([down], time.monotonic() + 5) == 0
    assert "an incident was not recorded for the status page" in caplog.text
