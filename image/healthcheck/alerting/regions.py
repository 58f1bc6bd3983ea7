"""The decision of several regions (issue 17): pure functions from per-region votes to a target's state.

Each region checks every target at the same event times. A region's **vote** on a
target for an event time is FAIL (its check failed and counted: not inconclusive,
not in a maintenance window), PASS, or none. Streaks are counted per region, over
that region's own votes: ``failureThreshold`` FAILs in a row make a region
**failing**, ``successThreshold`` PASSes in a row make it **passing**. Then, among
the regions that vote at the event time decided:

- **DOWN** when at least ``quorum`` of them are failing;
- **PARTIAL** when 1 to quorum-1 of them are (not paged unless ``alertOnPartial``);
- **UP** (RECOVERED from DOWN) when at least ``quorum`` of them are passing;
- and when fewer than ``quorum`` regions vote, the state **holds**: missing votes
  never make a target UP or DOWN.

An **impaired** region does not vote at all at that event time: it failed most of
its targets (at least ``MIN_IMPAIRED_FAILURES``) while the other regions that voted
saw those targets up. A region whose connectivity canary got no answer has its
unanswered checks inconclusive (no vote), as with one region; its answered ones count.
A single target failing from one region alone is that target's PARTIAL, not the
region's trouble: only a region failing many targets the others see up is impaired.

With one region and a quorum of one, this is exactly the single-region debounce of
``state.next_state`` (a test holds the two to each other).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Final, Literal, NamedTuple

from .policy import AlertPolicy

__all__ = [
    "DEGRADED_AFTER",
    "MIN_IMPAIRED_FAILURES",
    "Decision",
    "RegionRun",
    "State",
    "Streak",
    "Vote",
    "decide",
    "default_quorum",
    "impaired_regions",
    "streak",
    "votes_by_region",
]

Vote = Literal["FAIL", "PASS"]
State = Literal["UP", "DOWN", "PARTIAL"]
# A region failing fewer targets than this is never impaired by the others' view: with one or two
# targets in a shard, one region failing them alone is what PARTIAL is for.
MIN_IMPAIRED_FAILURES: Final = 3
# DEGRADED starts, or ends, only when this many event times in a row agree: a quorum lost every other
# interval says nothing, instead of a message each interval.
DEGRADED_AFTER: Final = 2


def default_quorum(regions: int) -> int:
    """``min(N, max(2, ceil(N/2)))``: 1 for one region, 2 for two or three, 3 for five."""
    if regions < 1:
        raise ValueError(f"a quorum needs at least one region, got {regions}")
    return min(regions, max(2, math.ceil(regions / 2)))


class RegionRun(NamedTuple):
    """One region's run of a shard at one event time: whether its canary answered, and its vote per target.

    These records are NamedTuples, not frozen dataclasses: every stack imports them at cold start, and a
    NamedTuple costs about an eighth of the instructions to build (README "Benchmarks").
    """

    region: str
    at: str
    votes: Mapping[str, Vote | None]
    canary_answered: bool = True


class Streak(NamedTuple):
    """A region's votes on one target, counted back from its latest: the FAILs or the PASSes in a row."""

    fails: int = 0
    passes: int = 0
    start: str | None = None
    """The event time of the first vote of the current run of FAILs or PASSes."""
    last: str | None = None
    """The event time of the latest vote."""


def streak(votes: Sequence[tuple[str, Vote | None]]) -> Streak:
    """The streak at the end of ``votes`` (event time, vote), oldest first; no vote neither counts nor breaks it."""
    counted = [(at, vote) for at, vote in votes if vote is not None]
    if not counted:
        return Streak()
    last_at, last_vote = counted[-1]
    count, start = 0, last_at
    for at, vote in reversed(counted):
        if vote != last_vote:
            break
        count, start = count + 1, at
    if last_vote == "FAIL":
        return Streak(fails=count, start=start, last=last_at)
    return Streak(passes=count, start=start, last=last_at)


def impaired_regions(runs: Sequence[RegionRun], pending: Collection[str] = ()) -> frozenset[str]:
    """The regions whose votes at one event time don't count (``runs``: every region's run at that time).

    A region is impaired when more than half its votes are FAILs, at least
    ``MIN_IMPAIRED_FAILURES`` of them, and most of its FAILs are of targets the other
    regions saw up, by a majority of those that voted on each. ``pending`` regions have
    not reported this event time yet but did the one before: each is taken to see every
    target up, so a DOWN waits for them instead of being decided by the first regions
    to finish and undone by the last (with a quorum of half the regions or less).

    A canary with no answer impairs nothing by itself: its region's unanswered checks
    are inconclusive already, so no vote, and its answered ones count, as with one
    region. (One connectivity URL serves every region: were it down, treating every
    region as blind would hide every outage.) DEGRADED still counts it as not reporting.
    """
    impaired: set[str] = set()
    for run in runs:
        counted = {name: vote for name, vote in run.votes.items() if vote is not None}
        failed = [name for name, vote in counted.items() if vote == "FAIL"]
        if len(failed) < MIN_IMPAIRED_FAILURES or len(failed) * 2 <= len(counted):
            continue
        seen_up = 0
        for name in failed:
            others = [other.votes.get(name) for other in runs if other.region != run.region]
            others_voting = [vote for vote in others if vote is not None] + ["PASS" for _ in pending]
            if others_voting and sum(vote == "PASS" for vote in others_voting) * 2 > len(others_voting):
                seen_up += 1
        if seen_up * 2 > len(failed):
            impaired.add(run.region)
    return frozenset(impaired)


def votes_by_region(runs: Sequence[RegionRun], target: str) -> dict[str, list[tuple[str, Vote | None]]]:
    """Each region's votes on ``target``, oldest first; a run of an impaired region at its time is no vote.

    ``runs`` are every region's runs of the shard over the last few event times, in any order. At the
    latest of them, the regions that ran the time before but not yet this one are pending
    (``impaired_regions``): the last region to finish decides with every vote.
    """
    by_time: dict[str, list[RegionRun]] = {}
    for run in runs:
        by_time.setdefault(run.at, []).append(run)
    times = sorted(by_time)
    votes: dict[str, list[tuple[str, Vote | None]]] = {}
    for index, at in enumerate(times):
        pending: set[str] = set()
        if index == len(times) - 1 and index > 0:
            pending = {run.region for run in by_time[times[index - 1]]} - {run.region for run in by_time[at]}
        blind = impaired_regions(by_time[at], pending)
        for run in by_time[at]:
            vote = None if run.region in blind else run.votes.get(target)
            votes.setdefault(run.region, []).append((at, vote))
    return votes


class Decision(NamedTuple):
    """A target's state after the votes at one event time; ``held`` when too few regions voted to say."""

    state: State
    since: str | None
    """When the state began (DOWN/PARTIAL: the earliest failing region's first FAIL of its streak)."""
    failing: tuple[str, ...] = ()
    """The regions with ``failureThreshold`` FAILs in a row, sorted."""
    voting: tuple[str, ...] = ()
    """The regions that voted at the event time, sorted."""
    held: bool = False
    recovered_at: str | None = None
    """DOWN to UP or PARTIAL: when the passing quorum's first PASS was (how long it was down ends there)."""


def decide(
    state: State,
    since: str | None,
    votes: Mapping[str, Sequence[tuple[str, Vote | None]]],
    at: str,
    quorum: int,
    policy: AlertPolicy,
) -> Decision:
    """The state of one target after the event at ``at``, from ``state`` (begun at ``since``) and every region's votes.

    ``votes``: each region's (event time, vote) on the target, oldest first, none
    later than ``at``, impaired runs already as no vote (``votes_by_region``).
    """
    streaks = {region: streak([vote for vote in history if vote[0] <= at]) for region, history in votes.items()}
    voting = tuple(sorted(region for region, history in votes.items() if _voted(history, at)))
    if len(voting) < quorum:
        return Decision(state, since, voting=voting, held=True)
    failing = tuple(region for region in voting if streaks[region].fails >= policy.failure_threshold)
    passing = [region for region in voting if streaks[region].passes >= policy.success_threshold]
    fail_start = min((_start(streaks[region]) for region in failing), default=None)
    if len(failing) >= quorum:
        # From PARTIAL, the failures began when it did: the streaks read may be shorter than the episode.
        begun = {"DOWN": since, "PARTIAL": min(filter(None, (since, fail_start)), default=None)}
        return Decision("DOWN", begun.get(state, fail_start), failing, voting)
    if state == "DOWN":
        if len(passing) < quorum:
            return Decision("DOWN", since, failing, voting)
        # The quorum's latest first PASS: only from then on did a quorum see it up.
        back = sorted(_start(streaks[region]) for region in passing)[quorum - 1]
        if failing:
            return Decision("PARTIAL", fail_start, failing, voting, recovered_at=back)
        return Decision("UP", back, (), voting, recovered_at=back)
    if failing:
        return Decision("PARTIAL", since if state == "PARTIAL" else fail_start, failing, voting)
    if state == "PARTIAL" and len(passing) < quorum:
        return Decision("PARTIAL", since, failing, voting)
    return Decision("UP", since if state == "UP" else at, (), voting)


def _voted(history: Sequence[tuple[str, Vote | None]], at: str) -> bool:
    return any(time == at and vote is not None for time, vote in history)


def _start(counted: Streak) -> str:
    assert counted.start is not None
    return counted.start
