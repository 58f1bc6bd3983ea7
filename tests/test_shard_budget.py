"""A shard larger than a run keeps in flight, every target hanging: at the timeout preview accepts, each is DOWN.

Issue 16's hanging-target arithmetic: a run checks ``IN_FLIGHT`` targets at once, so if all of a
shard's targets hang they take ``waves`` turns of the slowest timeout, and the Lambda timeout
must hold them all. Scaled down here, as tests/test_run_budget.py does: 4 in flight, 10 targets
of 1 s, 1 s kept for the writes.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

import healthcheck.handler as entrypoint
import infra.schedules
from healthcheck import budget
from healthcheck.check import runner
from healthcheck.history import reader
from infra.settings import SettingsError, StackSettings
from tests.lambda_context import LambdaContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

IN_FLIGHT = 4
TARGETS = 10
TIMEOUT_S = 1.0


def _targets(url: str) -> list[object]:
    return [{"name": f"hung-{i}", "url": f"{url}?{i}", "timeout": TIMEOUT_S} for i in range(TARGETS)]


def _preview_minimum(targets: list[object]) -> int:
    for timeout in range(1, 901):
        try:
            StackSettings.from_values(targets=targets, timeout=timeout)
        except SettingsError:
            continue
        return timeout
    raise AssertionError("preview accepts no timeout at all")


def _run_at(
    minimum: int,
    targets: list[object],
    in_flight: int,
    dynamodb: DynamoDBClient,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> list[reader.Check]:
    """One handler run as deployed, records only, with Lambda's timeout at ``minimum``: the checks it stored."""
    monkeypatch.setattr(entrypoint, "_dynamodb", dynamodb)
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.setenv("TARGETS", json.dumps(targets))
    monkeypatch.setenv("MAX_CONCURRENCY", str(in_flight))
    for name in ("STATE_TABLE_NAME", "ALERT_TOPIC_ARN", "ROLLUP_TABLE_NAME", "CONNECTIVITY_CHECK"):
        monkeypatch.delenv(name, raising=False)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entrypoint.handler({"time": now}, LambdaContext(minimum))
    return list(reader.checks(dynamodb, table, since=now, until=now))


@pytest.mark.slow
def test_every_hanging_target_of_a_shard_taking_several_turns_is_timed_out_not_inconclusive(
    hung_url: str, dynamodb: DynamoDBClient, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "MAX_WRITE_RESERVE_S", 1.0)
    monkeypatch.setattr(budget, "LOOKUP_BOUND_S", TIMEOUT_S)  # scaled down with the rest: no turn longer than 1 s
    monkeypatch.setattr(infra.schedules, "IN_FLIGHT", IN_FLIGHT)
    targets = _targets(hung_url)
    minimum = _preview_minimum(targets)
    # 10 targets, 4 at once: 3 turns of 1 s, and 1 s to write. One turn (2 s) would cut 6 of them short.
    assert minimum == 4
    stored = _run_at(minimum, targets, IN_FLIGHT, dynamodb, table, monkeypatch)
    # Each hung target's own failure, after its whole timeout (the last turn's a few ms short, which
    # the runner counts as whole): never "not checked", never inconclusive.
    outcomes = [((check.error or "").startswith("timed out after "), check.inconclusive) for check in stored]
    assert outcomes == [(True, False)] * TARGETS


@pytest.mark.parametrize(
    ("lookup_s", "minimum", "lookups"),
    [
        (TIMEOUT_S, 4, ""),
        (4.0, 10, ", each turn but the last at least the 4 s a name lookup may take,"),
    ],
    ids=["lookups-within-the-timeout", "lookups-longer-than-the-timeout"],
)
def test_preview_refuses_one_second_less_naming_the_turns(
    lookup_s: float, minimum: int, lookups: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "MAX_WRITE_RESERVE_S", 1.0)
    monkeypatch.setattr(budget, "LOOKUP_BOUND_S", lookup_s)
    monkeypatch.setattr(infra.schedules, "IN_FLIGHT", IN_FLIGHT)
    with pytest.raises(SettingsError) as refused:
        StackSettings.from_values(targets=_targets("https://hung.example/"), timeout=minimum - 1)
    assert str(refused.value) == (
        f"healthcheck:timeout {minimum - 1} s leaves no room for 3 turns of the slowest target's timeout (1 s: 10 "
        f"targets in one schedule's run, 4 checked at once, may all hang){lookups} plus 1 s to write records: raise "
        f"it to at least {minimum}"
    )
    StackSettings.from_values(targets=_targets("https://hung.example/"), timeout=minimum)


@pytest.mark.slow
def test_a_name_lookup_that_outlasts_its_checks_timeout_delays_no_hung_target_past_the_minimum(
    hung_url: str, dynamodb: DynamoDBClient, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lookup holds its thread after the check's deadline recorded it (nothing interrupts getaddrinfo),
    # so the next target on that thread starts late. Found by attack: without the lookup's bound in the
    # arithmetic, the last turn's hung target was "not checked in full", inconclusive for ever.
    lookup_s = 2.5
    real = socket.getaddrinfo

    def slow_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow-dns.invalid":
            time.sleep(lookup_s)  # as a resolver whose name servers are down gives up, at its bound
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    monkeypatch.setattr(budget, "MAX_WRITE_RESERVE_S", 1.0)
    monkeypatch.setattr(budget, "LOOKUP_BOUND_S", lookup_s)
    monkeypatch.setattr(infra.schedules, "IN_FLIGHT", 2)
    targets: list[object] = [
        {"name": "slow-dns", "url": "http://slow-dns.invalid/", "timeout": TIMEOUT_S},
        *({"name": f"hung-{i}", "url": f"{hung_url}?{i}", "timeout": TIMEOUT_S} for i in range(4)),
    ]
    minimum = _preview_minimum(targets)
    assert minimum == 7  # 3 turns: two of 2.5 s, the last of 1 s; 1 s to write
    stored_list = _run_at(minimum, targets, 2, dynamodb, table, monkeypatch)
    stored = {check.target: check for check in stored_list}
    assert [name for name, check in stored.items() if check.inconclusive] == []
    assert all((stored[f"hung-{i}"].error or "").startswith("timed out after ") for i in range(4))


@pytest.fixture
def silent_https_url() -> Iterator[str]:
    """HTTPS whose server takes the TCP connection and never answers the ClientHello: each handshake holds its turn."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/health"


@pytest.mark.slow
def test_hanging_https_targets_that_wait_their_turn_to_connect_are_still_timed_out_at_the_minimum(
    silent_https_url: str, dynamodb: DynamoDBClient, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # All 10 in one turn, their handshakes two at a time, each keeping its place for its lease (0.2 s here)
    # when the site never answers: the last starts 0.8 s after the first, more than the 0.1 s a 1 s check
    # may lose. Without counting that, preview accepts 2 s, and the last four are inconclusive for ever.
    monkeypatch.setattr(runner, "PACE_LEASE_S", 0.2)
    monkeypatch.setattr(budget, "MAX_WRITE_RESERVE_S", 1.0)
    monkeypatch.setattr(infra.schedules, "IN_FLIGHT", TARGETS)
    targets = _targets(silent_https_url)
    minimum = _preview_minimum(targets)
    # 1 s, 0.7 s late (0.8 s less the 0.1 s allowed), 1 s to write.
    assert minimum == 3
    stored = _run_at(minimum, targets, TARGETS, dynamodb, table, monkeypatch)
    outcomes = [((check.error or "").startswith("timed out after "), check.inconclusive) for check in stored]
    assert outcomes == [(True, False)] * TARGETS
