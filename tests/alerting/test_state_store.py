"""The state table on the moto server: items round-trip, and a write from a stale read is refused."""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import TYPE_CHECKING

import pytest

from healthcheck.alerting.state import Alert, TargetState
from healthcheck.alerting.state_store import NO_ITEM, Refused, StateStore, Stored, Version, read_item
from healthcheck.exceptions import StateNotSavedError
from localdev.dynamodb import create_state_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()
T0, T1 = "2026-11-27T18:00:00Z", "2026-11-27T18:01:00Z"


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
    assert store.save("ápi", NO_ITEM, state, deadline()) == Version.of(state)
    [(name, loaded)] = store.load(["ápi", "never-seen"], deadline()).items()
    assert name == "ápi"
    assert loaded == dataclasses.replace(
        state, pending=(Alert("DOWN", "ápi \ufffd", "https://x/", T1, T0, ("status 503",)),)
    )


def test_a_write_computed_from_a_state_another_run_has_moved_is_refused(store: StateStore) -> None:
    first = TargetState(failures=1, streak_start=T0, last_event=T0)
    assert store.save("api", NO_ITEM, first, deadline()) == Version.of(first)
    other = TargetState(failures=1, streak_start=T0, last_event=T0, cert_warned=14)
    refused = store.save("api", NO_ITEM, other, deadline())  # a concurrent run also saw no item
    assert refused == Refused(Stored(first, Version.of(first)))  # with what it found, read at no extra cost
    moved = TargetState(failures=2, streak_start=T0, last_event=T1)
    assert store.save("api", Version.of(first), moved, deadline()) == Version.of(moved)
    assert isinstance(store.save("api", Version.of(first), TargetState(last_event=T1), deadline()), Refused)
    assert store.load(["api"], deadline()) == {"api": moved}


def test_reads_are_batched_by_100(store: StateStore) -> None:
    names = [f"t{index}" for index in range(250)]
    assert store.load(names, deadline()) == {}
    assert store.calls["BatchGetItem"] == 3


def test_a_missing_table_is_a_clear_error(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(StateNotSavedError, match="writing the state of api failed"):
        StateStore(dynamodb, "no-such-table").save("api", NO_ITEM, TargetState(last_event=T0), deadline())


DOWN = Alert("DOWN", "api", "https://x/", T0, T0, ("status 503",))
REMINDER = Alert("STILL DOWN", "api", "https://x/", T1, T0, ("status 503",))


def saved(store: StateStore, state: TargetState) -> Stored:
    assert store.save("api", NO_ITEM, state, deadline()) == Version.of(state)
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
    assert store.save("api", read.version, reminded, deadline()) == Version.of(reminded)  # run B, while A publishes
    assert store.clear("api", read, {DOWN}, set(), "run-a", deadline())
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.pending, loaded.claimed_by, loaded.claim_expires) == ((REMINDER,), None, None)
    assert store.calls == {"BatchGetItem": 1, "UpdateItem": 5}  # what B added came back with the refusal: no read


def test_a_write_from_a_read_before_a_clear_is_refused(store: StateStore) -> None:
    read = saved(store, TargetState("DOWN", T0, last_event=T0, pending=(DOWN,)))
    assert store.claim("api", read.version, "run-a", int(time.time()) + 600, deadline())
    assert store.clear("api", read, {DOWN}, set(), "run-a", deadline())
    # Computed from the read with DOWN still pending: writing it would bring the sent DOWN back.
    refused = store.save("api", read.version, dataclasses.replace(read.state, last_event=T1), deadline())
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
