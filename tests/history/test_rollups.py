"""Rollups: hourly summaries against hand-computed figures, and the write bound against the embedded DynamoDB."""

from __future__ import annotations

import dataclasses
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck.check.probe import CheckResult, Probe
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore, to_item
from healthcheck.history.rollup_store import RollupStore, StoredIncident, closed_hours, hour_summaries
from healthcheck.history.rollups import HourSummary, merge, percentile, summarise, uptime
from localdev.dynamodb import create_rollup_table
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()


def record(
    success: bool, duration: int, *, maintenance: bool = False, inconclusive: bool = False, answered: bool = True
) -> dict[str, Any]:
    """A record as the monitor writes it: a failure is an HTTP 500, or with ``answered=False`` a refusal."""
    status = (200 if success else 500) if answered else None
    error = None if success else ("HTTP 500" if answered else "connection refused")
    result = CheckResult(
        "t",
        "https://x.test/",
        success,
        duration,
        status=status,
        error=error,
        maintenance=maintenance,
        inconclusive=inconclusive,
    )
    return to_item(result, "2026-11-28T04:00:00Z")


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
    return RollupStore(dynamodb, name, table)


def test_each_target_costs_one_write_per_hour_whatever_the_schedule(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    start = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    results = ResultStore(dynamodb, table)
    writes = 0
    # Every minute for three hours, as a rate(1 minute) schedule runs; target b fails at 02:30.
    for minute in range(180):
        # Each run has a deadline of its own, as each invocation does: one 60 s deadline for all
        # 180 ran out on a busy machine (the loop took 60.4 s), and the last writes were refused.
        deadline = time.monotonic() + 60
        moment = start + timedelta(minutes=minute)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        down = minute == 90
        items = [
            to_item(CheckResult("a", "https://a.test/", True, 100), stamp),
            to_item(CheckResult("b", "https://b.test/", not down, 200, error="refused" if down else None), stamp),
        ]
        results.write(items, deadline)
        writes += rollups.flush(["a", "b"], moment, deadline)
    # 180 runs; per target, the first run writes the latest closed hour, 23:00 (empty: a first run starts
    # there), then 00:00 (empty), 01:00 and 02:00 close (03:00 waits for 04:50): 4 hours, each written once.
    assert writes == rollups.calls["UpdateItem"] == 2 * 4
    # Reads: one BatchGetItem a run (the first also looks back 100 days for an older summary: 2 more),
    # and one Query per target per hour closed.
    assert rollups.calls["BatchGetItem"] == 180 + 3
    assert rollups.calls["Query"] == 2 * 4
    deadline = time.monotonic() + 60
    assert rollups.flush(["a", "b"], start + timedelta(minutes=179), deadline) == 0  # a retried event writes nothing
    hours = hour_summaries(rollups.days("b", "2026-11-27", "2026-11-28", deadline))
    assert sorted(hours) == [start + timedelta(hours=h) for h in range(-2, 2)]
    failing = hours[start + timedelta(hours=1)]
    assert (failing.checks, failing.failed, failing.first_reason) == (60, 1, "refused")
    assert hours[start].failed == 0


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("every_hours", [6, 24, 24 * 7, 24 * 30], ids=["6-hourly", "daily", "weekly", "monthly"])
def test_every_hour_holding_checks_is_summarised_whatever_the_schedule(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore, every_hours: int
) -> None:
    """The next run may come days after an hour closes: the hour is summarised then, not lost to the page."""
    results = ResultStore(dynamodb, table)
    deadline = time.monotonic() + 60
    runs = [datetime(2026, 9, 1, 0, 0, tzinfo=UTC) + timedelta(hours=every_hours * n) for n in range(4)]
    writes = 0
    for index, moment in enumerate(runs):
        failing = index == 1
        result = CheckResult("api", "https://api.test/", not failing, 100, status=503 if failing else 200)
        results.write(
            [to_item(dataclasses.replace(result, error="status 503" if failing else None), _stamp(moment))], deadline
        )
        writes += rollups.flush(["api"], moment, deadline)
    hours = hour_summaries(rollups.days("api", "2026-08-01", "2026-12-31", deadline))
    # Every run's hour but the last (it closes after that run) holds its one check.
    assert {hour: summary.checks for hour, summary in hours.items() if summary.checks} == dict.fromkeys(runs[:-1], 1)
    assert (hours[runs[1]].failed, hours[runs[1]].first_reason) == (1, "status 503")
    # Per run, at most the hours checked since the last run and the latest closed hour (so the next starts there).
    assert writes == rollups.calls["UpdateItem"] == 1 + 2 * 3


def test_a_business_hours_schedule_summarises_its_last_hour_the_next_morning(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """cron(*/10 6-22 ? * * *): the 22:xx checks close at 23:50, and no run comes until 06:00."""
    results = ResultStore(dynamodb, table)
    deadline = time.monotonic() + 120
    day = datetime(2026, 11, 28, tzinfo=UTC)
    for moment in (
        day + timedelta(days=d, hours=h, minutes=m) for d in (0, 1) for h in range(6, 23) for m in range(0, 60, 10)
    ):
        results.write(
            [to_item(CheckResult("api", "https://api.test/", True, 100, status=200), _stamp(moment))], deadline
        )
        rollups.flush(["api"], moment, deadline)
    hours = hour_summaries(rollups.days("api", "2026-11-28", "2026-11-29", deadline))
    checked = {hour: summary.checks for hour, summary in hours.items() if summary.checks}
    # All of the first day, 22:00 included; the second day's 22:00 waits for the next morning's first run.
    expected = [day + timedelta(hours=h) for h in range(6, 23)] + [
        day + timedelta(days=1, hours=h) for h in range(6, 22)
    ]
    assert checked == dict.fromkeys(expected, 6)


@pytest.mark.parametrize("limit", [5, 30], ids=["hour-over-the-limit", "hours-per-run"])
def test_rollups_stalled_for_hours_are_caught_up_a_bounded_read_at_a_time(
    dynamodb: DynamoDBClient, table: str, rollups: RollupStore, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Each run reads at most MAX_RECORDS records per target; an hour it cuts short waits for the next run."""
    monkeypatch.setattr("healthcheck.history.rollup_store.MAX_RECORDS", limit)
    start = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    deadline = time.monotonic() + 60
    items = [
        to_item(
            CheckResult("api", "https://api.test/", minute != 125, 100, status=200),
            _stamp(start + timedelta(minutes=minute)),
        )
        for minute in range(0, 10 * 60, 5)  # 10 hours, 12 checks each; one failure at 02:05
    ]
    ResultStore(dynamodb, table).write(items, deadline)
    # The rollups had been written up to 22:00 the day before; then runs failed to write any for hours.
    rollups.flush(["api"], start, deadline)
    now = start + timedelta(hours=10, minutes=50)
    runs = 0
    while rollups.flush(["api"], now, deadline):
        runs += 1
        assert runs <= 12
    hours = hour_summaries(rollups.days("api", "2026-11-28", "2026-11-28", deadline))
    assert {hour: summary.checks for hour, summary in hours.items()} == {
        start + timedelta(hours=h): 12 for h in range(10)
    }
    assert hours[start + timedelta(hours=2)].failed == 1


def _run(moment: datetime, probe: Probe, dynamodb: DynamoDBClient, table: str, url: str, rollups: RollupStore) -> None:
    check_and_record(
        {"time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")},
        None,
        settings=Settings(table, [{"name": "site", "url": url}]),
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
        _run(first + timedelta(minutes=minutes), probe, dynamodb, table, f"{http_server.base_url}/ok", rollups)
    assert datetime(2026, 11, 28, 9, tzinfo=UTC) not in hour_summaries(
        rollups.days("site", "2026-11-28", "2026-11-28", time.monotonic() + 10)
    )
    _run(first + timedelta(minutes=60), probe, dynamodb, table, f"{http_server.base_url}/status/503", rollups)
    hours = hour_summaries(rollups.days("site", "2026-11-28", "2026-11-28", time.monotonic() + 10))
    nine = hours[datetime(2026, 11, 28, 9, tzinfo=UTC)]
    assert (nine.checks, nine.failed) == (2, 0)  # the 10:xx checks belong to the next hour


def test_a_missing_rollups_table_costs_the_run_nothing(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    broken = RollupStore(dynamodb, "no-such-table", table)
    _run(datetime(2026, 11, 28, 10, 30, tzinfo=UTC), probe, dynamodb, table, f"{http_server.base_url}/ok", broken)
    [record] = dynamodb.scan(TableName=table)["Items"]
    assert record["Success"]["BOOL"] is True


def test_an_event_stamped_ahead_of_the_clock_closes_no_hour_still_to_come(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str, rollups: RollupStore
) -> None:
    """A manual invoke with a time hours ahead must not summarise hours whose checks are still to come."""
    now = datetime(2026, 11, 28, 9, 20, tzinfo=UTC)
    ahead = now + timedelta(hours=3)
    check_and_record(
        {"time": ahead.strftime("%Y-%m-%dT%H:%M:%SZ")},
        None,
        settings=Settings(table, [{"name": "site", "url": f"{http_server.base_url}/ok"}]),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=now,
        rollups=rollups,
    )
    hours = hour_summaries(rollups.days("site", "2026-11-28", "2026-11-28", time.monotonic() + 10))
    assert hours  # the hours closed by the real clock are summarised (empty: nothing was checked then)
    assert max(hours) == datetime(2026, 11, 28, 7, tzinfo=UTC)  # 08:00 closes at 09:50 by the function's clock


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
def test_an_unreadable_hour_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a count|no latency bucket|inconsistent counts|not enough values"):
        HourSummary.from_attribute({"S": text})


def test_one_unreadable_hour_costs_that_hour_only() -> None:
    good = summarise([record(True, 80)]).to_attribute()
    items = [
        {"Id": {"S": "t"}, "Day": {"S": "2026-11-28"}, "H00": {"S": "12,12,0,0,0"}, "H01": {"N": "1"}, "H02": good},
        {"Id": {"S": "t"}, "Day": {"S": "not a day"}, "H00": good},
        {"Id": {"S": "t"}, "Day": {"S": "2026-11-29"}, "H24": good, "H03": good},
    ]
    assert sorted(hour_summaries(items)) == [
        datetime(2026, 11, 28, 2, tzinfo=UTC),
        datetime(2026, 11, 29, 3, tzinfo=UTC),
    ]


def test_an_hour_closes_only_after_its_latest_records_can_land() -> None:
    """Scheduler's and Lambda's maximum event ages, then the longest run: no record of a closed hour is to come."""
    from healthcheck.history.rollup_store import GRACE
    from infra.monitor import MAX_EVENT_AGE_S

    longest_run_s = 900  # Lambda's maximum timeout, the stack's timeout's upper bound
    assert timedelta(seconds=MAX_EVENT_AGE_S * 2 + longest_run_s) <= GRACE


def test_a_long_outage_names_its_reason_once(dynamodb: DynamoDBClient, table: str, rollups: RollupStore) -> None:
    """Only an incident's first hour keeps its reason: the page shows no other, and every byte is read per view."""
    from healthcheck.alerting.state import TargetState
    from healthcheck.page.data import ShownTarget, TargetReads, build

    start = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    deadline = time.monotonic() + 60
    items = [
        to_item(
            CheckResult("x", "https://x.test/", False, 90, status=503, error="status 503 not in [2xx]"),
            (start + timedelta(minutes=5 * index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        for index in range(36)  # 01:00 to 03:55, every check failing
    ]
    ResultStore(dynamodb, table).write(items, deadline)
    # 01:00 and 02:00 in one run; 03:00 in the next, which reads 02:00 back from the table.
    assert rollups.flush(["x"], datetime(2026, 11, 28, 3, 50, tzinfo=UTC), deadline) == 2
    assert rollups.flush(["x"], datetime(2026, 11, 28, 4, 50, tzinfo=UTC), deadline) == 1
    hours = hour_summaries(rollups.days("x", "2026-11-28", "2026-11-28", deadline))
    assert [hours[start + timedelta(hours=h)].first_reason for h in range(3)] == ["status 503 not in [2xx]", None, None]
    assert [hours[start + timedelta(hours=h)].failed for h in range(3)] == [12, 12, 12]
    # An outage whose DOWN was never recorded as an incident (it began before this version) takes its first
    # hour's reason: the state's DOWN since says when it began.
    reads = TargetReads(summarised=hours, state=TargetState("DOWN", since="2026-11-28T01:00:00Z"))
    [incident] = (
        build([ShownTarget("x", "x")], {"x": reads}, datetime(2026, 11, 28, 5, tzinfo=UTC)).targets[0].incidents
    )
    assert (incident.start, incident.ongoing, incident.reason) == (
        "2026-11-28T01:00:00Z",
        True,
        "status 503 not in [2xx]",
    )


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
    # Its own item, outside every day's range: the day items read as they were.
    assert rollups.days("api", "2026-11-28", "2026-11-28", deadline) == []
    [item] = dynamodb.scan(TableName=rollups.table_name)["Items"]
    assert item["ExpiresAt"]["N"] == str(int(datetime(2027, 3, 8, 2, 10, tzinfo=UTC).timestamp()))  # + 100 days


def test_an_incident_that_cannot_be_recorded_costs_the_run_nothing(
    dynamodb: DynamoDBClient, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    from healthcheck.alerting.state import Alert

    broken = RollupStore(dynamodb, "no-such-table", table)
    down = Alert("DOWN", "api", "u", "2026-11-28T02:12:00Z", "2026-11-28T02:10:00Z", ("refused",))
    assert broken.record_transitions([down], time.monotonic() + 5) == 0
    assert "an incident was not recorded for the status page" in caplog.text
