"""Which state items a run reads: its shard's index, the items a result needs, and every item once an hour.

A clean item (``TargetState.clean``) is like no item: a result that does not
``moves_clean`` (a pass, an inconclusive or maintenance result) moves neither,
and neither has anything to send. So a run reads:

- one ``Query`` of the sparse index for its shard: every item that is not
  clean (each write keeps ``Watch`` right), and the shard's own item;
- by key, the items of the targets whose result ``moves_clean`` (a failure, a
  certificate inside its thresholds), from the table even when the index has
  them: its copy may lag behind the table, and a failure that changes nothing
  in an older copy (DOWN, failing) would write nothing, so go uncounted. A pass
  always changes an item that is not clean, and that write is conditional on
  the item as read: one applied to an older copy is refused and applied again
  to the item as it is;
- every item of its targets in the first run of each UTC hour, and whenever
  its targets are not the ones last read in full (a target moved in, or the
  list changed): the safety net for edits by hand, an index that lagged
  behind a write, and targets that moved between shards. An item found
  indexed wrong then is written once to index it right, and the items the
  index still holds for targets no longer in the shard are taken out of it.

The shard's own item records that full read: its hour and a digest of the names
read. Kept in the table, not in memory, because a container serves whichever
shard's event comes next: one per container would read every item an hour per
container, not per shard.

An item is indexed under its last writer's shard (``watch_for``), so it follows
its target to another schedule; a run without a shard (an invoke by hand,
``make run``) leaves a schedule's in place. A pass the index kept from a run
goes unread, so a failing streak that no schedule's index held (``seen``)
counts again from its next failure: never a DOWN after failures not in a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ..check.probe import CheckResult
from ..event import DEFAULT_SHARD
from .state import TargetState, moves_clean
from .state_store import ShardIndex, Stored

__all__ = ["ReadPlan", "misindexed", "plan_reads", "reconcile_hour", "roster_digest", "seen", "watch_for"]


def watch_for(state: TargetState, shard: str, current: str | None) -> str | None:
    """The ``Watch`` an item holding ``state`` carries after a write by a run of ``shard`` (``current`` before it).

    None once it is clean. Otherwise the writer's shard, so that an item follows
    a target that moved to another shard; but a run of the ``default`` shard (an
    event without one: a manual invoke, ``make run``) leaves a schedule's shard
    in place, as that schedule still checks the target and must keep finding it.
    """
    if state.clean:
        return None
    if shard == DEFAULT_SHARD and current is not None:
        return current
    return shard


def seen(item: Stored, shard: str, indexed: bool) -> bool:
    """Whether every pass of ``item``'s target since its failing streak began was read, by the runs of ``shard``.

    So when the index's answer held it (``indexed``), or another schedule's shard
    did: the one that checked the target until it moved here. Otherwise (the index
    behind the table, a blip written by an invoke by hand, an edit by hand
    without ``Watch``) a pass may have gone unread, so the failures before it
    may not have been in a row.
    """
    return indexed or (item.watch is not None and item.watch not in (shard, DEFAULT_SHARD))


def misindexed(item: Stored, shard: str) -> bool:
    """Whether a run of ``shard`` should write ``item`` as it is, to set its ``Watch`` right (not a malformed one)."""
    return item.malformed is None and item.version.exists and item.watch != watch_for(item.state, shard, item.watch)


def roster_digest(names: Collection[str]) -> str:
    """A short digest of a shard's target names, in any order (names hold no line break)."""
    return hashlib.sha256("\n".join(sorted(set(names))).encode()).hexdigest()[:16]


def reconcile_hour(at: str) -> str:
    """The UTC hour of an event time, ``2026-11-27T18`` for ``2026-11-27T18:05:00Z``: a full read in each."""
    return at[:13]


@dataclass(frozen=True, slots=True)
class ReadPlan:
    get: tuple[str, ...]
    """Targets whose items to read by key (``BatchGetItem``): their result moves a clean state, or the index has them
    not and this run reads every item."""
    reconcile: bool
    """Every item of the shard is read in this run."""
    strays: tuple[str, ...]
    """Targets the index holds for this shard that are no longer in it: taken out of its index when reconciling."""
    roster: str


def plan_reads(
    results: Sequence[CheckResult], cert_min_days: Mapping[str, int], index: ShardIndex, at: str
) -> ReadPlan:
    """What to read besides the index's answer, for ``results`` (one per target of the shard) of the event at ``at``.

    ``cert_min_days`` gives each target's ``expect.certMinDays``.
    """
    names = [result.name for result in results]
    roster = roster_digest(names)
    hour = reconcile_hour(at)
    reconcile = index.reconciled is None or index.reconciled < hour or index.roster != roster
    wanted = [
        result.name
        for result in results
        if moves_clean(result, cert_min_days[result.name]) or (reconcile and result.name not in index.items)
    ]
    members = set(names)
    strays = tuple(sorted(name for name in index.items if name not in members)) if reconcile else ()
    return ReadPlan(tuple(dict.fromkeys(wanted)), reconcile, strays, roster)
