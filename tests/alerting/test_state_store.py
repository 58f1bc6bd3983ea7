"""The state table on the moto server: items round-trip, and a write from a stale read is refused."""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import TYPE_CHECKING

import pytest

from healthcheck.alerting.state import Alert, TargetState
from healthcheck.alerting.state_store import (
    NO_ITEM,
    Refused,
    ShardIndex,
    StateStore,
    Stored,
    Version,
    read_item,
    shard_key,
    to_item,
)
from healthcheck.alerting.watch import watch_for
from healthcheck.exceptions import StateNotSavedError
from localdev.dynamodb import create_state_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()
T0, T1 = "2026-11-27T18:00:00Z", "2026-11-27T18:01:00Z"
SHARD = "1"


@pytest.fixture
def store(dynamodb_endpoint: str, dynamodb: DynamoDBClient) -> StateStore:
    name = f"state-{next(_numbers)}"
    create_state_table(dynamodb_endpoint, name)
    return StateStore(dynamodb, name)


def deadline() -> float:
    return time.monotonic() + 30


def test_a_state_round_trips_with_its_pending_alerts(store: StateStore) -> None:
    state = TargetState(
        "DOWN", T0, 0, 1, T1, T1, T0, 7, (Alert("DOWN", "ápi \ud800", "https://x/", T1, T0, ("status 503",)),)
    )
    state = dataclasses.replace(state, cert_expiry="2026-12-04T18:00:00Z")
    assert store.save("ápi", NO_ITEM, state, deadline(), watch=SHARD) == Version.of(state)
    [(name, loaded)] = store.load(["ápi", "never-seen"], deadline()).items()
    assert name == "ápi"
    assert loaded == dataclasses.replace(
        state, pending=(Alert("DOWN", "ápi \ufffd", "https://x/", T1, T0, ("status 503",)),)
    )


def test_a_write_computed_from_a_state_another_run_has_moved_is_refused(store: StateStore) -> None:
    first = TargetState(failures=1, streak_start=T0, last_event=T0)
    assert store.save("api", NO_ITEM, first, deadline(), watch=SHARD) == Version.of(first)
    other = TargetState(failures=1, streak_start=T0, last_event=T0, cert_warned=14)
    refused = store.save("api", NO_ITEM, other, deadline(), watch=SHARD)  # a concurrent run also saw no item
    assert refused == Refused(Stored(first, Version.of(first), watch=SHARD))  # what it found, read at no extra cost
    moved = TargetState(failures=2, streak_start=T0, last_event=T1)
    assert store.save("api", Version.of(first), moved, deadline(), watch=SHARD) == Version.of(moved)
    stale = store.save("api", Version.of(first), TargetState(last_event=T1), deadline(), watch=SHARD)
    assert isinstance(stale, Refused)
    assert store.load(["api"], deadline()) == {"api": moved}


def test_reads_are_batched_by_100(store: StateStore) -> None:
    names = [f"t{index}" for index in range(250)]
    assert store.load(names, deadline()) == {}
    assert store.calls["BatchGetItem"] == 3


def test_a_missing_table_is_a_clear_error(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(StateNotSavedError, match="writing the state of api failed"):
        StateStore(dynamodb, "no-such-table").save("api", NO_ITEM, TargetState(last_event=T0), deadline(), watch=SHARD)


DOWN = Alert("DOWN", "api", "https://x/", T0, T0, ("status 503",))
REMINDER = Alert("STILL DOWN", "api", "https://x/", T1, T0, ("status 503",))


def saved(store: StateStore, state: TargetState) -> Stored:
    assert store.save("api", NO_ITEM, state, deadline(), watch=SHARD) == Version.of(state)
    return Stored(state, Version.of(state))


def test_only_one_run_at_a_time_holds_the_claim_to_publish(store: StateStore) -> None:
    read = saved(store, TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))).version
    soon = int(time.time()) + 600
    assert store.claim("api", read, "run-a", soon, deadline())
    assert not store.claim("api", read, "run-b", soon, deadline())  # read before or after: A's claim holds
    assert store.claim("api", read, "run-a", soon, deadline())  # A's own retry may claim again
    assert not store.claim("api", Version.of(TargetState(last_event=T0)), "run-b", soon, deadline())  # B read other
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.claimed_by, loaded.claim_expires) == ("run-a", soon)


def test_an_expired_claim_can_be_taken(store: StateStore) -> None:
    read = saved(store, TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))).version
    assert store.claim("api", read, "run-a", int(time.time()) - 1, deadline())
    assert store.claim("api", read, "run-b", int(time.time()) + 600, deadline())


def test_a_state_write_keeps_the_claim_and_the_clear_keeps_what_it_added(store: StateStore) -> None:
    read = saved(store, TargetState("DOWN", T0, last_event=T0, pending=(DOWN,)))
    assert store.claim("api", read.version, "run-a", int(time.time()) + 600, deadline())
    reminded = TargetState("DOWN", T0, last_event=T1, reminded_at=T1, pending=(DOWN, REMINDER))
    # Run B, while A publishes:
    assert store.save("api", read.version, reminded, deadline(), watch=SHARD) == Version.of(reminded)
    assert store.clear("api", read, {DOWN}, set(), "run-a", deadline())
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.pending, loaded.claimed_by, loaded.claim_expires) == ((REMINDER,), None, None)
    assert store.calls == {"Query": 0, "BatchGetItem": 1, "UpdateItem": 5}  # B's alert came with the refusal: no read


def test_a_write_from_a_read_before_a_clear_is_refused(store: StateStore) -> None:
    read = saved(store, TargetState("DOWN", T0, last_event=T0, pending=(DOWN,)))
    assert store.claim("api", read.version, "run-a", int(time.time()) + 600, deadline())
    assert store.clear("api", read, {DOWN}, set(), "run-a", deadline())
    # Computed from the read with DOWN still pending: writing it would bring the sent DOWN back.
    refused = store.save("api", read.version, dataclasses.replace(read.state, last_event=T1), deadline(), watch=SHARD)
    assert isinstance(refused, Refused)
    assert refused.found.state == TargetState("DOWN", T0, last_event=T0)


def test_a_clear_without_the_claim_changes_nothing(store: StateStore) -> None:
    read = saved(store, TargetState("DOWN", T0, last_event=T0, pending=(DOWN,)))
    assert store.claim("api", read.version, "run-b", int(time.time()) + 600, deadline())
    assert not store.clear("api", read, {DOWN}, set(), "run-a", deadline())
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.pending, loaded.claimed_by) == ((DOWN,), "run-b")


@pytest.mark.parametrize(
    ("item", "attribute"),
    [
        ({"Id": "api", "State": {"S": "DOWN"}}, "Since"),
        ({"Id": {"S": "api"}, "State": 5}, "State"),
        ({"Id": {"S": "api"}, "Pending": {"L": []}}, "Pending"),
        ({"Id": {"S": "api"}, "Pending": {"S": "[5]"}}, "Pending"),
        ({"Id": {"S": "api"}, "Failures": {"N": "1e3"}, "StreakStart": {"S": T0}}, "Failures"),
        ({"Id": {"S": "api"}, "Pending": {"S": '[{"kind": "DOWN", "maybeSent": "yes"}]'}}, "Pending"),
    ],
    ids=["id-not-an-attribute", "state-not-an-attribute", "pending-a-list", "alert-not-an-object", "exponent", "flag"],
)
def test_an_item_of_any_shape_is_read_as_no_state_with_its_raw_version(item: dict[str, object], attribute: str) -> None:
    # An answer of an odd shape (or an edit by hand) never raises: the target is treated as having no state.
    found = read_item(item)
    assert (found.state, found.malformed) == (TargetState(), attribute)
    assert found.version == Version(True, item.get("LastEvent"), item.get("Pending"))  # type: ignore[arg-type]


# --- The sparse index: an item is in its shard's index exactly while it is not clean ------------------------

CERTIFICATE = Alert("CERTIFICATE", "api", "https://x/", T0, T0, cert_days_left=9)


@pytest.mark.parametrize(
    ("state", "indexed"),
    [
        (TargetState(last_event=T0), False),
        (TargetState(since=T0, last_event=T0, cert_warned=14, cert_expiry="2026-12-06T18:00:00Z"), False),
        (TargetState(failures=1, streak_start=T0, last_event=T0), True),
        (TargetState("DOWN", T0, last_event=T0), True),
        (TargetState("DOWN", T0, successes=1, streak_start=T0, last_event=T0), True),
        (TargetState(last_event=T0, pending=(CERTIFICATE,)), True),
        (TargetState(last_event=T0, cert_warned=14), True),
    ],
    ids=["up", "up-cert-warned", "failing", "down", "recovering", "alert-pending", "warned-before-expiry-was-kept"],
)
def test_a_write_indexes_the_item_under_its_shard_while_it_is_not_clean(
    store: StateStore, state: TargetState, indexed: bool
) -> None:
    store.save("api", NO_ITEM, state, deadline(), watch=watch_for(state, SHARD, None))
    assert set(store.watched(SHARD, deadline()).items) == ({"api"} if indexed else set())
    assert store.watched("2", deadline()).items == {}  # another shard's index
    clean = TargetState(last_event=T1)
    store.save("api", Version.of(state), clean, deadline(), watch=watch_for(clean, SHARD, SHARD))
    assert store.watched(SHARD, deadline()).items == {}  # the write that makes it clean takes it out


@pytest.mark.parametrize(
    ("writer", "indexed"),
    [("2", "2"), ("default", "1")],
    ids=["another-schedules-shard-takes-it", "a-run-without-a-shard-leaves-it-to-its-schedule"],
)
def test_a_write_from_another_shard(store: StateStore, writer: str, indexed: str) -> None:
    # A target that moved to another schedule's shard follows its writer; a manual invoke (no shard) is no move.
    down = TargetState("DOWN", T0, last_event=T0)
    store.save("api", NO_ITEM, down, deadline(), watch=watch_for(down, "1", None))
    moved = TargetState("DOWN", T0, last_event=T1, reminded_at=T1)
    store.save("api", Version.of(down), moved, deadline(), watch=watch_for(moved, writer, "1"))
    assert {shard: set(store.watched(shard, deadline()).items) for shard in ("1", "2", "default")} == {
        shard: {"api"} if shard == indexed else set() for shard in ("1", "2", "default")
    }


def test_a_clear_that_leaves_the_item_clean_takes_it_out_of_the_index(store: StateStore) -> None:
    read = saved(store, TargetState(since=T0, last_event=T0, pending=(CERTIFICATE,)))
    read = dataclasses.replace(read, watch=SHARD)
    assert store.claim("api", read.version, "run-a", int(time.time()) + 600, deadline())
    assert store.clear("api", read, {CERTIFICATE}, set(), "run-a", deadline())
    assert store.watched(SHARD, deadline()).items == {}
    assert store.load(["api"], deadline()) == {"api": TargetState(since=T0, last_event=T0)}


def test_a_clear_keeps_the_item_indexed_when_a_state_write_came_between(store: StateStore) -> None:
    # Run A claims a pending warning; run B counts a failure (Pending unchanged); A's clear must not
    # take the failing item out of the index, or B's next pass would go unread and the streak never reset.
    read = dataclasses.replace(saved(store, TargetState(last_event=T0, pending=(CERTIFICATE,))), watch=SHARD)
    assert store.claim("api", read.version, "run-a", int(time.time()) + 600, deadline())
    failing = TargetState(failures=1, streak_start=T1, last_event=T1, pending=(CERTIFICATE,))
    assert store.save("api", read.version, failing, deadline(), watch=SHARD) == Version.of(failing)
    assert store.clear("api", read, {CERTIFICATE}, set(), "run-a", deadline())
    [(name, found)] = store.watched(SHARD, deadline()).items.items()
    assert (name, found.state) == ("api", dataclasses.replace(failing, pending=()))


def test_the_index_is_read_page_by_page(store: StateStore, dynamodb: DynamoDBClient) -> None:
    # DynamoDB (and moto) answer a Query with at most 1 MB: three items of 390 KB take two pages.
    for index in range(3):
        down = to_item(f"t{index}", TargetState("DOWN", T0, last_event=T0))
        note = {"Note": {"S": "x" * 390_000}}  # an attribute of a user's own, kept by every write
        dynamodb.put_item(TableName=store.table_name, Item={**down, **note, "Watch": {"S": SHARD}})
    found = store.watched(SHARD, deadline())
    assert sorted(found.items) == ["t0", "t1", "t2"]
    assert store.calls["Query"] == 2


def test_a_shards_own_item_records_its_full_read_and_is_no_target(store: StateStore, dynamodb: DynamoDBClient) -> None:
    from healthcheck.history.reader import read_states

    assert store.watched(SHARD, deadline()) == ShardIndex({}, None, None)
    store.mark_reconciled(SHARD, "2026-11-27T18", "0123456789abcdef", deadline())
    assert store.watched(SHARD, deadline()) == ShardIndex({}, "2026-11-27T18", "0123456789abcdef")
    assert store.watched("2", deadline()) == ShardIndex({}, None, None)
    store.save("api", NO_ITEM, TargetState(last_event=T0), deadline(), watch=None)
    assert read_states(dynamodb, store.table_name) == {"api": TargetState(last_event=T0)}  # the report's read


@pytest.mark.parametrize(
    "edit",
    [{"Reconciled": {"N": "2026"}}, {"Reconciled": {"S": "yesterday"}}, {"Roster": {"S": "short"}}],
    ids=["hour-a-number", "hour-not-an-hour", "roster-not-a-digest"],
)
def test_a_shards_own_item_edited_out_of_shape_is_no_record(
    store: StateStore, dynamodb: DynamoDBClient, edit: dict[str, object]
) -> None:
    store.mark_reconciled(SHARD, "2026-11-27T18", "0123456789abcdef", deadline())
    item = {"Id": {"S": shard_key(SHARD)}, "Watch": {"S": SHARD}, "Reconciled": {"S": "2026-11-27T18"}}
    dynamodb.put_item(TableName=store.table_name, Item={**item, "Roster": {"S": "0123456789abcdef"}, **edit})  # type: ignore[dict-item]
    index = store.watched(SHARD, deadline())
    assert None in (index.reconciled, index.roster)


def test_an_item_is_taken_out_of_a_shards_index_only_if_that_shard_has_it(store: StateStore) -> None:
    down = TargetState("DOWN", T0, last_event=T0)
    store.save("api", NO_ITEM, down, deadline(), watch="2")
    store.unwatch("api", "1", deadline())  # shard 1 no longer has it: shard 2 keeps it
    assert set(store.watched("2", deadline()).items) == {"api"}
    store.unwatch("api", "2", deadline())
    assert store.watched("2", deadline()).items == {}
    assert store.load(["api"], deadline()) == {"api": down}  # its state as it was


def test_two_regions_writing_one_event_time_cannot_undo_each_other(
    dynamodb_endpoint: str, dynamodb: DynamoDBClient
) -> None:
    """Both leave LastEvent at T: a store of several regions compares the failing regions too."""
    name = f"state-{next(_numbers)}"
    create_state_table(dynamodb_endpoint, name)
    store = StateStore(dynamodb, name, regions=True)
    read = TargetState(last_event=T0)
    store.save("api", NO_ITEM, read, deadline(), watch=SHARD)
    eu = TargetState(last_event=T1, failing=("eu-west-1",))
    assert store.save("api", Version.of(read), eu, deadline(), watch=SHARD) == Version.of(eu)
    both = TargetState(last_event=T1, failing=("ap-southeast-1", "eu-west-1"))
    assert store.save("api", Version.of(eu), both, deadline(), watch=SHARD) == Version.of(both)
    ap = TargetState(last_event=T1, failing=("ap-southeast-1",))  # decided from a read before the write of both
    late = store.save("api", Version.of(eu), ap, deadline(), watch=SHARD)
    assert isinstance(late, Refused)
    assert late.found.state.failing == ("ap-southeast-1", "eu-west-1")
    assert store.load(["api"], deadline())["api"].failing == ("ap-southeast-1", "eu-west-1")
