"""The decision of several regions as a pure function: tables over per-region votes (issue 17)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.regions import (
    Decision,
    RegionRun,
    State,
    Vote,
    decide,
    default_quorum,
    impaired_regions,
    streak,
    votes_by_region,
)
from healthcheck.alerting.state import TargetState, next_state
from healthcheck.check.probe import CheckResult

POLICY = AlertPolicy(failure_threshold=2, success_threshold=2)
START = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1", "sa-east-1", "af-south-1")


def at(minute: int) -> str:
    return (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


T = at(10)


def history(pattern: str) -> list[tuple[str, Vote | None]]:
    """A region's votes ending at T, one character a run: F fail, P pass, . no vote (inconclusive)."""
    marks: dict[str, Vote | None] = {"F": "FAIL", "P": "PASS", ".": None}
    return [(at(10 - len(pattern) + 1 + index), marks[mark]) for index, mark in enumerate(pattern)]


# What a region shows at T, in a combination: F failing (2 FAILs in a row), P passing (2 PASSes in a row),
# - no result for T (it failed before: a missing region's old FAILs must not count).
SHOWS = {"F": "PFF", "P": "FPP", "-": "FF"}


def combination_votes(combination: str) -> dict[str, list[tuple[str, Vote | None]]]:
    earlier: list[tuple[str, Vote | None]] = [(at(8), "FAIL"), (at(9), "FAIL")]
    return {
        region: history(SHOWS[shown]) if shown != "-" else earlier
        for region, shown in zip(REGIONS, combination, strict=False)
    }


def expected(state: str, combination: str, quorum: int) -> str:
    """The rule, counted: held below quorum voting; DOWN with quorum failing; from DOWN, UP/PARTIAL with quorum
    passing; else PARTIAL while any fails; else UP, except PARTIAL holds until a quorum passes."""
    failing, passing = combination.count("F"), combination.count("P")
    if failing + passing < quorum:
        return state
    if failing >= quorum:
        return "DOWN"
    if state == "DOWN":
        if passing < quorum:
            return "DOWN"
        return "PARTIAL" if failing else "UP"
    if failing:
        return "PARTIAL"
    if state == "PARTIAL" and passing < quorum:
        return "PARTIAL"
    return "UP"


CASES = [
    (regions, state, "".join(combination))
    for regions in (1, 2, 3, 5)
    for state in ("UP", "PARTIAL", "DOWN")
    for combination in itertools.product("FP-", repeat=regions)
]


@pytest.mark.parametrize(("regions", "quorum"), [(1, 1), (2, 2), (3, 2), (4, 2), (5, 3), (8, 4)], ids=str)
def test_default_quorum(regions: int, quorum: int) -> None:
    assert default_quorum(regions) == quorum


def test_no_quorum_of_no_region() -> None:
    with pytest.raises(ValueError, match="at least one region"):
        default_quorum(0)


@pytest.mark.parametrize(("regions", "state", "combination"), CASES, ids=[f"N{n}-{s}-{c}" for n, s, c in CASES])
def test_every_combination(regions: int, state: str, combination: str) -> None:
    quorum = default_quorum(regions)
    decision = decide(state, at(0), combination_votes(combination), T, quorum, POLICY)  # type: ignore[arg-type]
    assert decision.state == expected(state, combination, quorum)
    assert decision.held == (combination.count("-") > regions - quorum)
    shown = tuple(sorted(r for r, c in zip(REGIONS, combination, strict=False) if c == "F"))
    assert decision.failing == (() if decision.held else shown)


@pytest.mark.parametrize(
    ("patterns", "quorum", "state", "want"),
    [
        ({"a": "FF", "b": "PF"}, 2, "UP", "PARTIAL"),  # 3 FAILs in all, but b has 1 in a row: per region
        ({"a": "FF", "b": "FF"}, 2, "UP", "DOWN"),
        ({"a": "FFF", "b": "F"}, 2, "UP", "PARTIAL"),  # b's first FAIL at T: below its own threshold
        ({"a": "F.F", "b": "FF"}, 2, "UP", "DOWN"),  # an inconclusive run neither counts nor breaks a streak
        ({"a": "FPFPF", "b": "PFPFP", "c": "FPFPF"}, 2, "UP", "UP"),  # flapping: never 2 in a row
        ({"a": "FPFPF", "b": "PFPFP", "c": "FPFPF"}, 2, "DOWN", "DOWN"),  # nor 2 PASSes: DOWN holds
        ({"a": "FFP", "b": "FFP", "c": "FFP"}, 2, "DOWN", "DOWN"),  # one PASS each: below successThreshold
        ({"a": "FPP", "b": "FPP", "c": "FFF"}, 2, "DOWN", "PARTIAL"),  # a quorum recovered, c still fails
        ({"a": "FPP", "b": "FF.", "c": "FF."}, 2, "DOWN", "DOWN"),  # b, c inconclusive at T: 1 voting, held
        ({"a": "PP", "b": "PF", "c": "FP"}, 2, "PARTIAL", "PARTIAL"),  # one region passing: below quorum
        ({"a": "PP", "b": "FP", "c": "PP"}, 2, "PARTIAL", "UP"),
    ],
    ids=[
        "per-region-threshold",
        "quorum-failing",
        "new-failure-below-threshold",
        "inconclusive-skipped",
        "flapping-up",
        "flapping-down",
        "one-pass-each",
        "recovered-to-partial",
        "recovery-without-quorum-voting",
        "partial-holds",
        "partial-clears",
    ],
)
def test_threshold_counted_per_region(patterns: dict[str, str], quorum: int, state: str, want: str) -> None:
    votes = {region: history(pattern) for region, pattern in patterns.items()}
    assert decide(state, at(0), votes, T, quorum, POLICY).state == want  # type: ignore[arg-type]


def test_down_since_the_earliest_failing_region_and_recovered_when_the_quorum_was_back() -> None:
    votes = {"a": history("PFFF"), "b": history("PPFF"), "c": history("PPPP")}
    down = decide("UP", None, votes, T, 2, POLICY)
    assert (down.state, down.since, down.failing, down.voting) == ("DOWN", at(8), ("a", "b"), ("a", "b", "c"))
    votes = {"a": history("FFPPP"), "b": history("FFFPP"), "c": history("PPPPP")}
    up = decide("DOWN", at(2), votes, T, 2, POLICY)
    # c passed all along; a from minute 8, b from minute 9: a quorum (2) saw it up from minute 8.
    assert (up.state, up.since, up.recovered_at) == ("UP", at(8), at(8))


def test_down_from_partial_keeps_when_the_failures_began() -> None:
    """The runs read are as many as the larger threshold: a PARTIAL's beginning may be older than all of them."""
    votes = {"a": history("FF"), "b": history("FF"), "c": history("PP")}
    assert decide("PARTIAL", at(1), votes, T, 2, POLICY).since == at(1)
    assert decide("UP", None, votes, T, 2, POLICY).since == at(9)


def test_a_missing_region_holds_every_state() -> None:
    votes: dict[str, list[tuple[str, Vote | None]]] = {"a": history("FF"), "b": [(at(9), "FAIL")], "c": []}
    decision = decide("UP", None, votes, T, 2, POLICY)
    assert decision == Decision("UP", None, voting=("a",), held=True)


def run(region: str, minute: int, votes: dict[str, Vote | None], *, canary: bool = True) -> RegionRun:
    return RegionRun(region, at(minute), votes, canary_answered=canary)


MANY_DOWN: dict[str, Vote | None] = {f"t{n}": "FAIL" for n in range(4)}
MANY_UP: dict[str, Vote | None] = {f"t{n}": "PASS" for n in range(4)}


@pytest.mark.parametrize(
    ("runs", "impaired"),
    [
        ([run("a", 0, MANY_UP, canary=False), run("b", 0, MANY_UP)], set()),  # unanswered: inconclusive already
        ([run("a", 0, MANY_DOWN), run("b", 0, MANY_UP), run("c", 0, MANY_UP)], {"a"}),
        ([run("a", 0, MANY_DOWN), run("b", 0, MANY_DOWN), run("c", 0, MANY_UP)], set()),  # others split: no majority
        ([run("a", 0, MANY_DOWN), run("b", 0, MANY_DOWN), run("c", 0, MANY_DOWN)], set()),  # a real outage
        ([run("a", 0, {"t0": "FAIL", "t1": "FAIL"}), run("b", 0, {"t0": "PASS", "t1": "PASS"})], set()),  # too few
        ([run("a", 0, MANY_DOWN), run("b", 0, MANY_UP, canary=False)], {"a"}),  # b's answers still say up
        ([run("a", 0, {**MANY_DOWN, "t3": "PASS", "t4": "PASS"}), run("b", 0, MANY_UP)], {"a"}),
        ([run("a", 0, {**MANY_DOWN, "t3": "PASS", "t4": "PASS", "t5": "PASS"}), run("b", 0, MANY_UP)], set()),
    ],
    ids=["canary", "most-failed", "others-split", "outage", "few-targets", "canary-witness", "3-of-5", "3-of-6"],
)
def test_impaired(runs: list[RegionRun], impaired: set[str]) -> None:
    assert impaired_regions(runs) == impaired


@pytest.mark.parametrize(
    "order",
    [("r1", "r2", "r3", "r4"), ("r3", "r4", "r1", "r2"), ("r1", "r3", "r2", "r4")],
    ids=["failing-first", "failing-last", "interleaved"],
)
def test_two_of_four_regions_failing_everything_is_never_down_whatever_order_they_finish(
    order: tuple[str, ...],
) -> None:
    # Found by attack: with the default quorum of 2, r1 and r2 (their own network) decided DOWN before r3
    # and r4 arrived, and r3 and r4 undid it. A region that ran the event time before is pending until it
    # runs this one, and pending regions are taken to see every target up.
    policy = AlertPolicy(failure_threshold=1, success_threshold=1)
    arrived = [run(region, 9, MANY_UP) for region in ("r1", "r2", "r3", "r4")]
    states = []
    for region in order:
        arrived.append(run(region, 10, MANY_DOWN if region in ("r1", "r2") else MANY_UP))
        states.append(decide("UP", None, votes_by_region(arrived, "t0"), at(10), default_quorum(4), policy).state)
    assert states == ["UP"] * 4


def test_regions_missing_two_event_times_running_are_not_waited_for() -> None:
    # Two of four regions die at 09:00 while a real outage begins: at 09:00 they are pending (they ran at
    # 08:00), so the two left wait; at 10:00 they are gone, and the two left are a quorum of 2.
    policy = AlertPolicy(failure_threshold=1, success_threshold=1)
    runs = [run(region, 8, MANY_UP) for region in ("a", "b", "c", "d")]
    runs += [run(region, 9, MANY_DOWN) for region in ("a", "b")]
    assert decide("UP", None, votes_by_region(runs, "t0"), at(9), 2, policy).state == "UP"
    runs += [run(region, 10, MANY_DOWN) for region in ("a", "b")]
    assert decide("UP", None, votes_by_region(runs, "t0"), at(10), 2, policy).state == "DOWN"


def test_answered_failures_vote_while_every_regions_canary_is_unanswered() -> None:
    # Found by attack: one connectivity URL serves every region; were it down, treating each region as blind
    # would hide every outage. With one region, answered failures count; with several, too.
    runs = [run(region, minute, MANY_DOWN, canary=False) for minute in (8, 9, 10) for region in ("us", "eu", "ap")]
    decision = decide("UP", None, votes_by_region(runs, "t0"), at(10), default_quorum(3), POLICY)
    assert (decision.state, decision.held) == ("DOWN", False)


def test_an_impaired_region_does_not_vote_and_its_failures_are_never_down() -> None:
    runs = [
        run(region, minute, MANY_UP if region != "eu" else MANY_DOWN, canary=region != "eu")
        for minute in range(8, 11)
        for region in ("us", "eu", "ap")
    ]
    votes = votes_by_region(runs, "t0")
    assert [vote for _, vote in votes["eu"]] == [None, None, None]
    decision = decide("UP", None, votes, at(10), 2, POLICY)
    assert (decision.state, decision.voting) == ("UP", ("ap", "us"))
    alone = votes_by_region([r for r in runs if r.region == "eu" or r.at != at(10)], "t0")
    assert decide("UP", None, alone, at(10), 2, POLICY).held


@pytest.mark.parametrize(
    ("votes", "fails", "passes", "start"),
    [
        ("", 0, 0, None),
        ("FFPF", 1, 0, 3),
        ("PFF.F", 3, 0, 1),
        ("FFPP..", 0, 2, 2),
    ],
    ids=["none", "broken", "gap", "trailing-gap"],
)
def test_streak(votes: str, fails: int, passes: int, start: int | None) -> None:
    marks: dict[str, Vote | None] = {"F": "FAIL", "P": "PASS", ".": None}
    counted = streak([(at(index), marks[mark]) for index, mark in enumerate(votes)])
    assert (counted.fails, counted.passes, counted.start) == (fails, passes, None if start is None else at(start))


RESULTS = {
    "F": CheckResult("api", "https://api.example/", False, 5, status=503, error="status 503"),
    "P": CheckResult("api", "https://api.example/", True, 5, status=200),
    ".": CheckResult("api", "https://api.example/", False, 5, error="timed out", inconclusive=True),
}


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="FP.", min_size=1, max_size=14),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=1, max_value=4),
)
def test_one_region_is_the_single_region_debounce(pattern: str, failure: int, success: int) -> None:
    """N = 1, quorum 1: after every run, the same state and since as ``next_state`` gives today."""
    policy = AlertPolicy(failure_threshold=failure, success_threshold=success)
    old = TargetState()
    state, since = "UP", None
    votes: list[tuple[str, Vote | None]] = []
    for minute, mark in enumerate(pattern):
        moved = next_state(old, RESULTS[mark], policy, 14, at(minute))
        old = moved if moved is not None else old
        votes.append((at(minute), {"F": "FAIL", "P": "PASS"}.get(mark)))  # type: ignore[arg-type]
        decision = decide(state, since, {"here": votes}, at(minute), 1, policy)  # type: ignore[arg-type]
        if not decision.held:
            state, since = decision.state, decision.since
        assert state == old.state, pattern[: minute + 1]
        assert since == (old.since if old.state == "DOWN" else since)
        if old.state == "UP" and old.since is not None:
            assert since == old.since


def test_a_window_as_long_as_the_larger_threshold_decides_as_the_whole_history() -> None:
    """Only the last max(thresholds) runs of each region are read: the same decision as from everything."""
    full = {"a": history("PPFFPFFPPFF"), "b": history("FFPPFPFFPFF"), "c": history("PPPPPPPPPFP")}
    window = {region: votes[-2:] for region, votes in full.items()}
    states: tuple[State, ...] = ("UP", "PARTIAL", "DOWN")
    for state in states:
        assert decide(state, None, full, T, 2, POLICY).state == decide(state, None, window, T, 2, POLICY).state
