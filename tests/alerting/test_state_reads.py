"""What a run reads of the state table, end to end: one ``Query`` of its shard's index, the items its results need,
and every item once an hour; with targets moving between shards, items edited by hand and an index behind the table.

Read units are counted from what each call returned (tests/read_units.py), write units from the items before and
after each write (tests/alerting/write_units.py): moto's own capacity figures are flat.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck.alerting.state import TargetState
from healthcheck.alerting.state_store import WATCH, ShardIndex, StateStore, to_item
from infra.policies import function_policy
from tests.alerting.test_track import at, expiring_in
from tests.alerting.write_units import WriteMeter
from tests.alerting_harness import Monitor
from tests.conftest import dynamodb_client
from tests.read_units import ReadMeter

if TYPE_CHECKING:
    import trustme
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from healthcheck.check.probe import Probe
    from tests.servers import FaultServer


@pytest.fixture
def monitor(dynamodb_endpoint: str, dynamodb: DynamoDBClient, probe: Probe) -> Monitor:
    return Monitor.create(dynamodb_endpoint, dynamodb, probe)


def service(server: FaultServer, name: str, up: bool = True, **fields: object) -> dict[str, object]:
    return {"name": name, "url": f"{server.base_url}{'/ok' if up else '/status/503'}", **fields}


def hundred(server: FaultServer, failing: int = 0) -> list[object]:
    """100 targets, the first ``failing`` of them answering 503."""
    return [service(server, f"svc-{index:03d}", up=index >= failing) for index in range(100)]


def read_units_per_run(monitor: Monitor, runs: list[tuple[int, list[object]]]) -> list[float]:
    meter = ReadMeter(monitor.dynamodb)
    units: list[float] = []
    for minute, targets in runs:
        before = meter.units[monitor.state_table]
        assert monitor.run(at(minute), targets) is None
        units.append(meter.units[monitor.state_table] - before)
    return units


# --- What it costs -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_steady_run_reads_one_small_query_and_each_hour_every_item(
    monitor: Monitor, http_server: FaultServer
) -> None:
    # Ten of the hundred went DOWN and recovered before: their items are clean (UP since then, certificate known).
    for index in range(10):
        clean = TargetState(since=at(-60), last_event=at(-1), cert_warned=14, cert_expiry="2026-12-06T18:00:00Z")
        monitor.put_state(to_item(f"svc-{index:03d}", clean))
    targets = hundred(http_server)
    units = read_units_per_run(monitor, [(minute, targets) for minute in (0, 1, 2, 59, 60, 61)])
    # The first run of each hour reads every item: 100 keys, 0.5 each, found or not. Every other run: the Query
    # of the shard's index, which holds only the shard's own item (0.5 unit, a Query's least).
    assert units == [50.5, 0.5, 0.5, 0.5, 50.5, 0.5]  # was 50 a run
    assert monitor.indexed() == set()


@pytest.mark.slow
def test_an_incident_reads_the_failing_targets_items_and_the_query(monitor: Monitor, http_server: FaultServer) -> None:
    runs = [(0, hundred(http_server)), *((minute, hundred(http_server, failing=10)) for minute in range(1, 6))]
    units = read_units_per_run(monitor, runs)
    # From the first failure: each failing target's item by key (0.5 unit each, whether or not it exists yet),
    # and the Query, now holding their ten items (under 4 KB together: 0.5 unit; 1 with DOWN pending in them).
    assert units == [50.5, 5.5, 5.5, 5.5, 5.5, 5.5]
    assert monitor.indexed() == {f"svc-{index:03d}" for index in range(10)}
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: svc-000 and 9 more"]


def test_an_index_write_unit_for_each_state_write_of_an_item_not_clean(
    monitor: Monitor, dynamodb_endpoint: str, http_server: FaultServer
) -> None:
    meter = WriteMeter(monitor.dynamodb, dynamodb_client(dynamodb_endpoint), monitor.state_table, WATCH)
    targets = [service(http_server, "api", up=False)]
    monitor.run(at(0), [service(http_server, "api")])  # the hour's full read, recorded: 1 + 1 (the shard's own item)
    assert (meter.calls, meter.table_units, meter.index_units) == (1, 1, 1)
    for minute in range(1, 4):  # failing twice, then DOWN: raised with its alert, claimed, cleared
        monitor.run(at(minute), targets)
    assert (meter.calls, meter.table_units, meter.index_units) == (1 + 5, 1 + 5, 1 + 5)
    for minute in (4, 5):  # passing: recovering, then UP with RECOVERED pending; claimed; cleared, out of the index
        monitor.run(at(minute), [service(http_server, "api")])
    assert (meter.calls, meter.table_units, meter.index_units) == (6 + 4, 6 + 4, 6 + 4)
    assert monitor.indexed() == set()
    monitor.run(at(6), [service(http_server, "api")])
    assert meter.calls == 10  # clean again: nothing written


# --- Behaving exactly as before ------------------------------------------------------------------------------


def test_a_clean_item_left_unread_while_its_target_passes_counts_again_from_its_first_failure(
    monitor: Monitor, http_server: FaultServer
) -> None:
    def api(up: bool) -> list[object]:
        return [service(http_server, "api", up=up)]

    store = monitor.state_store
    assert store is not None
    for minute, up in enumerate([False, False, False, True, True]):  # DOWN, then RECOVERED
        monitor.run(at(minute), api(up))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api", "RECOVERED: api"]
    assert monitor.indexed() == set()  # UP since 18:03: clean
    reads = store.calls["BatchGetItem"]
    monitor.run(at(5), api(True))
    assert store.calls["BatchGetItem"] == reads  # a pass: not read
    # A blip, a pass that clears it (read from the index the blip put the item in), then three failures in a row.
    for minute, up in [(6, False), (7, True), (8, False), (9, False)]:
        monitor.run(at(minute), api(up))
    assert monitor.alerts() == []
    monitor.run(at(10), api(False))
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["since"]) == ("DOWN: api", at(8))


def test_a_certificate_warned_of_is_not_read_while_renewed_and_not_warned_of_again(
    monitor: Monitor, ca: trustme.CA
) -> None:
    store = monitor.state_store
    assert store is not None
    with expiring_in(ca, 9) as old, expiring_in(ca, 90) as renewed:
        monitor.run(at(0), [service(old, "api")])
        assert [alert.subject for alert in monitor.alerts()] == ["CERTIFICATE: api expires in 9 days"]
        assert monitor.indexed() == set()  # warned of and sent: clean (its expiry is kept)
        reads = store.calls["BatchGetItem"]
        monitor.run(at(1), [service(renewed, "api")])
        assert store.calls["BatchGetItem"] == reads  # renewed: not read
        monitor.run(at(2), [service(old, "api")])  # the old one served again (a load balancer mid-renewal)
        assert store.calls["BatchGetItem"] == reads + 1  # read, and known
        assert monitor.alerts() == []
    with expiring_in(ca, 6) as shorter:
        monitor.run(at(3), [service(shorter, "api")])
    assert [alert.subject for alert in monitor.alerts()] == ["CERTIFICATE: api expires in 6 days"]


@pytest.mark.parametrize("first", ["old-shard", "new-shard"], ids=["old-shard-runs-first", "new-shard-runs-first"])
def test_a_target_that_moves_to_another_shard_while_down_recovers_there(
    monitor: Monitor, http_server: FaultServer, first: str
) -> None:
    web, db = service(http_server, "web"), service(http_server, "db")
    for minute in range(3):
        monitor.run(at(minute), [service(http_server, "api", up=False), web], shard="1")
        monitor.run(at(minute), [db], shard="2")
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    assert (monitor.indexed("1"), monitor.indexed("2")) == ({"api"}, set())
    # The target list changes: api moves to shard 2, and passes from now on.
    shards = {"old-shard": ([web], "1"), "new-shard": ([service(http_server, "api"), db], "2")}
    order = ["old-shard", "new-shard"] if first == "old-shard" else ["new-shard", "old-shard"]
    for minute in (3, 4):
        for name in order:
            targets, shard = shards[name]
            assert monitor.run(at(minute), targets, shard=shard) is None
    [alert] = monitor.alerts()  # its first two passes counted, in the shard it moved to
    assert (alert.subject, alert.body["targets"][0]["since"]) == ("RECOVERED: api", at(0))
    assert (monitor.indexed("1"), monitor.indexed("2")) == (set(), set())


def test_a_target_that_moves_to_another_shard_while_failing_keeps_its_count(
    monitor: Monitor, http_server: FaultServer
) -> None:
    # Schedule 1 read every pass of it until the move: its two failures were in a row.
    for minute in (0, 1):
        monitor.run(at(minute), [service(http_server, "api", up=False), service(http_server, "web")], shard="1")
    monitor.run(at(2), [service(http_server, "api", up=False)], shard="2")
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["since"]) == ("DOWN: api", at(0))


def test_an_invoke_by_hand_leaves_each_target_to_its_schedule(monitor: Monitor, http_server: FaultServer) -> None:
    # An event without "shard" (README: "Invoke once by hand") checks the same targets as schedule 1, as the
    # shard `default`. It must not take schedule 1's items out of that schedule's sight.
    def both(api: bool, web: bool) -> list[object]:
        return [service(http_server, "api", up=api), service(http_server, "web", up=web)]

    for minute in range(3):
        monitor.run(at(minute), both(api=False, web=True), shard="1")
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    monitor.run(at(3), both(api=True, web=False))  # by hand: api's first pass, and a blip of web's
    assert monitor.indexed("1") == {"api"}  # api's pass is counted, and api stays in schedule 1's index
    monitor.run(at(4), both(api=True, web=True), shard="1")
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["eventTime"]) == ("RECOVERED: api", at(4))
    # web's blip went into the index of `default`, so schedule 1 could not read web's pass at 18:04:
    # its failures from 18:05 count from there, not from the blip.
    for minute in (5, 6):
        monitor.run(at(minute), both(api=True, web=False), shard="1")
    assert monitor.alerts() == []
    monitor.run(at(7), both(api=True, web=False), shard="1")
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["since"]) == ("DOWN: web", at(5))


def test_a_target_removed_while_down_leaves_the_index_and_keeps_its_item(
    monitor: Monitor, http_server: FaultServer
) -> None:
    for minute in range(3):
        monitor.run(at(minute), [service(http_server, "api", up=False), service(http_server, "web")])
    assert monitor.indexed() == {"api"}
    monitor.run(at(3), [service(http_server, "web")])
    assert monitor.indexed() == set()  # no longer read by every run of its shard
    state = monitor.state("api")
    assert state is not None
    assert state["State"] == {"S": "DOWN"}  # as before: kept, should it come back


def down_by_hand(watch: str | None) -> dict[str, Any]:
    item = {"Id": {"S": "api"}, "State": {"S": "DOWN"}, "Since": {"S": at(-30)}, "LastEvent": {"S": at(-1)}}
    return item if watch is None else {**item, "Watch": {"S": watch}}


@pytest.mark.parametrize(
    ("watch", "recovered_at"),
    [("default", 1), (None, 60)],
    ids=["edited-with-its-watch", "edited-without-its-watch"],
)
def test_an_item_edited_by_hand_counts_from_the_next_run_or_the_next_hours(
    monitor: Monitor, http_server: FaultServer, watch: str | None, recovered_at: int
) -> None:
    api = [service(http_server, "api")]
    monitor.run(at(0), api)  # the hour's full read: before the edit
    monitor.put_state(down_by_hand(watch))
    for minute in (1, 2, 59, 60, 61):
        monitor.run(at(minute), api)
    # With Watch, the next two passes recover it; without, its passes go unread until the next hour's full read,
    # which finds it, counts its pass and indexes it (and it recovers at the pass after). Never UP before it is read.
    sent = [(alert.subject, alert.body["targets"][0]["eventTime"]) for alert in monitor.alerts()]
    assert sent == [("RECOVERED: api", at(recovered_at + 1))]


@pytest.mark.parametrize("up", [True, False], ids=["passing", "still-failing"])
def test_an_item_from_before_the_index_is_indexed_by_the_first_run(
    monitor: Monitor, http_server: FaultServer, up: bool
) -> None:
    monitor.put_state(down_by_hand(watch=None))  # written before this version: no Watch
    monitor.run(at(0), [service(http_server, "api", up=up)])  # the first run reads every item, and indexes it
    assert monitor.indexed() == {"api"}  # still failing, nothing moved: written only to index it
    for minute in (1, 2):
        monitor.run(at(minute), [service(http_server, "api")])
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["eventTime"]) == ("RECOVERED: api", at(1 if up else 2))


def test_a_clean_item_left_in_the_index_by_hand_is_taken_out_with_one_write(
    monitor: Monitor, http_server: FaultServer
) -> None:
    store = monitor.state_store
    assert store is not None
    api = [service(http_server, "api")]
    monitor.run(at(0), api)
    # Reset by hand (UP, as README says) without removing Watch.
    monitor.put_state({"Id": {"S": "api"}, "State": {"S": "UP"}, "LastEvent": {"S": at(0)}, "Watch": {"S": "default"}})
    writes = store.calls["UpdateItem"]
    monitor.run(at(1), api)
    assert (store.calls["UpdateItem"], monitor.indexed()) == (writes + 1, set())
    monitor.run(at(2), api)
    assert store.calls["UpdateItem"] == writes + 1
    assert monitor.alerts() == []


def test_an_item_the_index_has_not_caught_up_with_never_counts_failures_not_in_a_row(
    monitor: Monitor, http_server: FaultServer
) -> None:
    # The index lags behind the table (AWS: usually well under a second; runs are a minute apart). If it
    # lagged a whole run behind a first failure, the pass after it goes unread. The next failure, read by
    # key, finds an item its shard's index did not hold, so its streak counts again from there: DOWN a
    # run or two later at worst, never after failures that were not in a row.
    api = [service(http_server, "api", up=False)]
    monitor.run(at(0), api)
    monitor.dynamodb.update_item(
        TableName=monitor.state_table, Key={"Id": {"S": "api"}}, UpdateExpression="REMOVE Watch"
    )  # the index has not caught up with the first failure's write
    monitor.run(at(1), [service(http_server, "api")])  # unread
    for minute in (2, 3):
        monitor.run(at(minute), api)
    assert monitor.indexed() == {"api"}  # read by key for its failure, and indexed from then on
    assert monitor.alerts() == []  # not DOWN after failures at 18:00, 18:02 and 18:03
    monitor.run(at(4), api)
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["since"]) == ("DOWN: api", at(2))


class LaggingIndex(StateStore):
    """The real store on the moto server, whose index answers, while ``frozen``, what it held when frozen.

    moto updates an index with the table's write; DynamoDB propagates it a little later. This is an index a
    run (or more) behind the table: the case the reads must survive without counting a result wrong.
    """

    frozen: ShardIndex | None = None

    def freeze(self, shard: str = "default") -> None:
        self.frozen = super().watched(shard, time.monotonic() + 30)

    def watched(self, shard: str, deadline: float) -> ShardIndex:
        return self.frozen if self.frozen is not None else super().watched(shard, deadline)


def test_a_pass_the_lagging_index_hid_still_breaks_the_streak_once_the_index_catches_up(
    monitor: Monitor, http_server: FaultServer
) -> None:
    # Found by attack. The first failure's item is missing from the next run's index answer, so that run's
    # pass goes unread; by the next failure the index holds the item again, and the failures around the
    # pass would count as three in a row. The shard's run items hold the pass: the streak counts from 1.
    store = LaggingIndex(monitor.dynamodb, monitor.state_table)
    monitor.state_store = store
    up, down = [service(http_server, "api")], [service(http_server, "api", up=False)]
    assert monitor.run(at(0), up) is None  # the hour's full read: the shard's own item is written
    store.freeze()  # the index's answer as of now: only the shard's own item
    monitor.run(at(1), down)  # the first failure: its item is written, the index lags behind it
    monitor.run(at(2), up)  # the pass goes unread
    store.frozen = None  # caught up
    monitor.run(at(3), down)
    monitor.run(at(4), down)
    assert monitor.alerts() == []  # fail, pass, fail, fail: not three in a row
    item = monitor.state("api")
    assert item is not None
    assert (item["Failures"]["N"], item["StreakStart"]["S"]) == ("2", at(3))
    monitor.run(at(5), down)
    assert [(alert.subject, alert.body["targets"][0]["since"]) for alert in monitor.alerts()] == [("DOWN: api", at(3))]


def test_a_failure_counts_even_when_the_index_answers_an_older_copy(monitor: Monitor, http_server: FaultServer) -> None:
    # DOWN and recovering: a pass (one of two needed), then a failure, which must start the count again. Had the
    # failure been applied to the index's older copy (DOWN, no pass counted), it would change nothing there, write
    # nothing, and the next pass would make it UP: a RECOVERED after passes that were not in a row.
    store = LaggingIndex(monitor.dynamodb, monitor.state_table)
    monitor.state_store = store
    for minute in range(3):
        monitor.run(at(minute), [service(http_server, "api", up=False)])
    store.freeze()  # the index keeps answering the DOWN item as it is now, without the pass below
    monitor.run(at(3), [service(http_server, "api")])
    monitor.run(at(4), [service(http_server, "api", up=False)])
    store.frozen = None
    for minute in (5, 6):
        monitor.run(at(minute), [service(http_server, "api")])
    sent = [(alert.subject, alert.body["targets"][0]["eventTime"]) for alert in monitor.alerts()]
    assert sent == [("DOWN: api", at(2)), ("RECOVERED: api", at(6))]


def test_a_pass_applied_to_an_older_copy_is_applied_again_to_the_item(
    monitor: Monitor, http_server: FaultServer
) -> None:
    store = LaggingIndex(monitor.dynamodb, monitor.state_table)
    monitor.state_store = store
    for minute in range(3):
        monitor.run(at(minute), [service(http_server, "api", up=False)])
    store.freeze()
    monitor.run(at(3), [service(http_server, "api")])  # one pass counted
    monitor.run(at(4), [service(http_server, "api")])  # its write, from the older copy, is refused, and applied again
    sent = [(alert.subject, alert.body["targets"][0]["eventTime"]) for alert in monitor.alerts()]
    assert sent == [("DOWN: api", at(2)), ("RECOVERED: api", at(4))]


def test_an_item_deleted_while_the_index_still_has_it_is_no_state(monitor: Monitor, http_server: FaultServer) -> None:
    store = LaggingIndex(monitor.dynamodb, monitor.state_table)
    monitor.state_store = store
    failing = [service(http_server, "api", up=False)]
    for minute in range(3):
        monitor.run(at(minute), failing)
    store.freeze()
    monitor.dynamodb.delete_item(TableName=monitor.state_table, Key={"Id": {"S": "api"}})  # reset by hand
    for minute in range(3, 6):
        monitor.run(at(minute), failing)
    sent = [(alert.subject, alert.body["targets"][0]["since"]) for alert in monitor.alerts()]
    assert sent == [("DOWN: api", at(0)), ("DOWN: api", at(3))]  # failing from no state again: DOWN once more


def test_the_state_calls_runs_make_are_exactly_what_the_role_grants(monitor: Monitor, http_server: FaultServer) -> None:
    # Every kind of run: the hour's full read, steady, failing, DOWN (save, claim, clear), a target removed.
    used: set[tuple[str, str]] = set()

    def record(params: dict[str, Any], model: Any, **_: object) -> None:
        tables = params.get("RequestItems", {}).keys() if "RequestItems" in params else [params.get("TableName")]
        for table in tables:
            if table == monitor.state_table:
                index = params.get("IndexName")
                used.add((f"dynamodb:{model.name}", "arn:state" + (f"/index/{index}" if index else "")))

    monitor.dynamodb.meta.events.register("provide-client-params.dynamodb", record)
    both = [service(http_server, "api", up=False), service(http_server, "web")]
    for minute in range(4):
        monitor.run(at(minute), both)
    monitor.run(at(4), [service(http_server, "web")])
    monitor.dynamodb.meta.events.unregister("provide-client-params.dynamodb", record)
    document = json.loads(
        function_policy("arn:table", "arn:logs", "arn:queue", "arn:state", "arn:topic", "arn:rollups")
    )
    granted = {
        (action, resource)
        for statement in document["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
        if resource.startswith("arn:state")
    }
    assert used == granted
