"""Shards: how the stack splits its targets, the hanging-target arithmetic preview holds it to, and PITR.

Issue 16: targets per shard <= checks in flight x (time for the checks / slowest timeout), so a
shard whose every target hangs still records each as timed out (tests/test_shard_budget.py runs
that, scaled down). The shard size itself is chosen by bench/scale.py (README "Capacity").
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from healthcheck.check.targets import DEFAULT_TIMEOUT_S
from healthcheck.config import DEFAULT_MAX_CONCURRENCY
from infra.schedules import IN_FLIGHT, MAX_TARGETS, waves
from infra.settings import SettingsError, StackSettings
from tests.pulumi_harness import Deployment, Registered, deploy


def _targets(count: int, timeout: float | None = None) -> list[dict[str, Any]]:
    extra = {} if timeout is None else {"timeout": timeout}
    return [{"name": f"t{i:05d}", "url": f"https://t{i}.example.com/", **extra} for i in range(count)]


def _named(stack: Deployment, name: str) -> Registered:
    [resource] = [r for r in stack.resources if r.name == name]
    return resource


def test_a_run_keeps_the_functions_default_concurrency_in_flight() -> None:
    # The stack sets no MAX_CONCURRENCY, so the function's default is what runs: the arithmetic must use it.
    assert IN_FLIGHT == DEFAULT_MAX_CONCURRENCY == 128
    assert "MAX_CONCURRENCY" not in StackSettings.from_values(targets=_targets(1)).environment()


@pytest.mark.parametrize(
    ("count", "turns"),
    [(1, 1), (IN_FLIGHT, 1), (IN_FLIGHT + 1, 2), (4 * IN_FLIGHT, 4), (4 * IN_FLIGHT + 1, 5)],
    ids=["one", "one-full-turn", "one-more", "four-turns", "four-and-one"],
)
def test_a_shard_whose_targets_all_hang_takes_a_turn_per_in_flight_checks(count: int, turns: int) -> None:
    assert waves(count) == turns


def test_the_default_shard_size_takes_several_turns_and_fits_the_default_timeout_with_default_targets() -> None:
    # Larger than one turn (the cost of a run's wait is shared by more targets), small enough that a
    # full shard of hanging targets at their default timeout leaves the default 120 s room to write.
    assert MAX_TARGETS > IN_FLIGHT
    needed = waves(MAX_TARGETS) * DEFAULT_TIMEOUT_S + 10
    assert needed <= StackSettings(targets=()).timeout
    StackSettings.from_values(targets=_targets(MAX_TARGETS))  # accepted: no SettingsError


@pytest.mark.parametrize(
    ("scheme", "timeout", "minimum", "late"),
    [
        ("http", 30, 130, ""),
        ("http", 60, 250, ""),
        # 500 handshakes two at a time, each holding its place 10 ms when the site hangs: the last starts
        # 2.49 s after its turn, 1.99 s more than a check may lose and still count as whole.
        ("https", 30, 132, " and 1.99 s for their TLS handshakes to take turns,"),
        ("https", 60, 252, " and 1.99 s for their TLS handshakes to take turns,"),
    ],
    ids=["http-30-s", "http-60-s", "https-30-s", "https-60-s"],
)
def test_preview_refuses_a_timeout_a_full_shard_of_hanging_targets_would_outlast(
    scheme: str, timeout: float, minimum: int, late: str
) -> None:
    targets = [
        {**target, "url": f"{scheme}://{target['name']}.example.com/"} for target in _targets(MAX_TARGETS, timeout)
    ]
    message = (
        f"healthcheck:timeout {minimum - 1} s leaves no room for {waves(MAX_TARGETS)} turns of the slowest target's "
        f"timeout ({timeout:g} s: {MAX_TARGETS} targets in one schedule's run, {IN_FLIGHT} checked at once, may all "
        f"hang){late} plus 10 s to write records: raise it to at least {minimum}"
    )
    with pytest.raises(SettingsError, match=f"^{re.escape(message)}"):
        StackSettings.from_values(targets=targets, timeout=minimum - 1)
    StackSettings.from_values(targets=targets, timeout=minimum)


def test_each_schedule_counts_only_its_own_targets_turns() -> None:
    # One full shard of 10 s targets and a last, small one holding the only 60 s target: the small
    # shard takes one turn of 60 s, the full one its turns of 10 s; the larger of the two decides.
    targets = [*_targets(MAX_TARGETS), {"name": "slow", "url": "https://slow.example/", "timeout": 60}]
    needed = max(waves(MAX_TARGETS) * 10 + 10, 60 + 10)
    with pytest.raises(SettingsError, match=f"raise it to at least {needed}$"):
        StackSettings.from_values(targets=targets, timeout=needed - 1)


def test_the_stack_makes_one_schedule_per_shard_each_naming_its_shard() -> None:
    stack = deploy({"targets": _targets(MAX_TARGETS + 1)})
    schedules = sorted(stack.of_type("aws:scheduler/schedule:Schedule"), key=lambda s: int(s.name.rsplit("-", 1)[1]))
    events = [json.loads(schedule.inputs["target"]["input"]) for schedule in schedules]
    assert [(event["shard"], len(event["targets"])) for event in events] == [("1", MAX_TARGETS), ("2", 1)]


@pytest.mark.parametrize(
    ("setting", "records"), [(None, True), (True, True), (False, False)], ids=["default", "on", "off"]
)
def test_point_in_time_recovery_is_the_stacks_choice_for_records_and_always_on_for_state(
    setting: bool | None, records: bool
) -> None:
    config: dict[str, Any] = {"targets": _targets(1)}
    if setting is not None:
        config["pointInTimeRecovery"] = setting
    stack = deploy(config)
    assert _named(stack, "healthcheck-results").inputs["pointInTimeRecovery"] == {"enabled": records}
    # State holds what nothing else does (pending alerts), at under 1 KB per target: always recoverable.
    assert _named(stack, "healthcheck-state").inputs["pointInTimeRecovery"] == {"enabled": True}
    # Rollups are summaries of the records: none.
    assert "pointInTimeRecovery" not in _named(stack, "healthcheck-rollups").inputs
