"""The state table on the moto server: items round-trip, and a write from a stale read is refused."""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import TYPE_CHECKING

import pytest

from healthcheck.exceptions import StateNotSavedError
from healthcheck.state import Alert, TargetState
from healthcheck.state_store import StateStore
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
    assert store.save("ápi", None, state, deadline())
    [(name, loaded)] = store.load(["ápi", "never-seen"], deadline()).items()
    assert name == "ápi"
    assert loaded == dataclasses.replace(
        state, pending=(Alert("DOWN", "ápi \ufffd", "https://x/", T1, T0, ("status 503",)),)
    )


def test_a_write_computed_from_a_state_another_run_has_moved_is_refused(store: StateStore) -> None:
    first = TargetState(failures=1, streak_start=T0, last_event=T0)
    assert store.save("api", None, first, deadline())
    assert not store.save("api", None, first, deadline())  # a concurrent run also saw no item
    moved = TargetState(failures=2, streak_start=T0, last_event=T1)
    assert store.save("api", first, moved, deadline())
    assert not store.save("api", first, TargetState(last_event=T1), deadline())  # read before that move
    assert store.load(["api"], deadline()) == {"api": moved}


def test_reads_are_batched_by_100(store: StateStore) -> None:
    names = [f"t{index}" for index in range(250)]
    assert store.load(names, deadline()) == {}
    assert store.calls["BatchGetItem"] == 3


def test_a_missing_table_is_a_clear_error(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(StateNotSavedError, match="writing the state of api failed"):
        StateStore(dynamodb, "no-such-table").save("api", None, TargetState(last_event=T0), deadline())


DOWN = Alert("DOWN", "api", "https://x/", T0, T0, ("status 503",))
REMINDER = Alert("STILL DOWN", "api", "https://x/", T1, T0, ("status 503",))


def test_only_one_run_at_a_time_holds_the_claim_to_publish(store: StateStore) -> None:
    read = TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))
    assert store.save("api", None, read, deadline())
    soon = int(time.time()) + 600
    assert store.claim("api", read, "run-a", soon, deadline())
    assert not store.claim("api", read, "run-b", soon, deadline())  # read before or after: A's claim holds
    assert store.claim("api", read, "run-a", soon, deadline())  # A's own retry may claim again
    assert not store.claim("api", TargetState(last_event=T0), "run-b", soon, deadline())  # what B read changed
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.claimed_by, loaded.claim_expires) == ("run-a", soon)


def test_an_expired_claim_can_be_taken(store: StateStore) -> None:
    read = TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))
    assert store.save("api", None, read, deadline())
    assert store.claim("api", read, "run-a", int(time.time()) - 1, deadline())
    assert store.claim("api", read, "run-b", int(time.time()) + 600, deadline())


def test_a_state_write_keeps_the_claim_and_the_clear_keeps_what_it_added(store: StateStore) -> None:
    read = TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))
    assert store.save("api", None, read, deadline())
    assert store.claim("api", read, "run-a", int(time.time()) + 600, deadline())
    reminded = TargetState("DOWN", T0, last_event=T1, reminded_at=T1, pending=(DOWN, REMINDER))
    assert store.save("api", read, reminded, deadline())  # run B, while A publishes the DOWN
    assert store.clear("api", read, [DOWN], "run-a", deadline())
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.pending, loaded.claimed_by, loaded.claim_expires) == ((REMINDER,), None, None)
    assert store.calls["GetItem"] == 1  # read again once, to see what B added


def test_a_write_from_a_read_before_a_clear_is_refused(store: StateStore) -> None:
    read = TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))
    assert store.save("api", None, read, deadline())
    assert store.claim("api", read, "run-a", int(time.time()) + 600, deadline())
    assert store.clear("api", read, [DOWN], "run-a", deadline())
    # Computed from the read with DOWN still pending: writing it would bring the sent DOWN back.
    assert not store.save("api", read, dataclasses.replace(read, last_event=T1), deadline())


def test_a_clear_without_the_claim_changes_nothing(store: StateStore) -> None:
    read = TargetState("DOWN", T0, last_event=T0, pending=(DOWN,))
    assert store.save("api", None, read, deadline())
    assert store.claim("api", read, "run-b", int(time.time()) + 600, deadline())
    assert not store.clear("api", read, [DOWN], "run-a", deadline())
    [loaded] = store.load(["api"], deadline()).values()
    assert (loaded.pending, loaded.claimed_by) == ((DOWN,), "run-b")
