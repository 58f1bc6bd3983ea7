"""Every region's latest runs of a shard, read back from their run items as votes (issue 17).

A region's PASS writes no state: its run item is how the others know of it. One
strongly consistent ``Query`` per part of the shard, newest first, of at most
``runs`` x ``regions`` items (each region's last ``runs`` event times, about 1.3 KB
a run of 100 targets), is read only in runs that have something to decide (a
failing target, or a state item that is not clean): the steady state reads nothing more.

Strongly consistent, and read after this run's own item is written: of two regions
finishing the same event time, the later reader sees the other's item, so one of them
always decides with both votes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ..alerting.regions import DEGRADED_AFTER, RegionRun, Vote
from ..exceptions import StateNotSavedError
from ..retrying import retry_until
from ..text import clip
from .layout import Entry, Roster, decode_checks, run_id, split_roster, split_sort_key
from .record_store import HASH_KEY, RANGE_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["RecentRuns", "vote_of"]

log = logging.getLogger(__name__)

# Sorts after "#<region>": the end of an event time, every region included.
_AFTER_REGIONS: Final = "$"


def vote_of(entry: Entry | None) -> Vote | None:
    """A run item entry as a vote: FAIL or PASS when it counted, none when it did not (or is unreadable)."""
    if entry is None or not entry.checked or entry.inconclusive or entry.maintenance:
        return None
    return "FAIL" if entry.failed else "PASS"


def _run(item: Mapping[str, Any], roster: Roster) -> RegionRun | None:
    try:
        at, region = split_sort_key(str(item[RANGE_KEY]["S"]))
        roster_id = str(item["Roster"]["S"])
        entries = decode_checks(str(item["Checks"]["S"]))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("run item unreadable, no vote: %s (%s)", clip(repr(item.get(RANGE_KEY)), 200), exc)
        return None
    canary = item.get("Canary", {}).get("BOOL", True) is not False
    if roster_id != roster.id or len(entries) != len(roster.targets):
        # Another target list (a deploy that reached the regions at different times): its positions are not
        # this run's targets, so no votes; but the region ran, so it reports (no DEGRADED for a deploy).
        return RegionRun(region, at, {}, canary_answered=canary)
    votes = {name: vote_of(entry) for name, entry in zip(roster.names, entries, strict=True)}
    return RegionRun(region, at, votes, canary_answered=canary)


class RecentRuns:
    """Reads one shard's latest runs from every region; ``calls`` counts the Queries (for the benchmark)."""

    def __init__(self, client: DynamoDBClient, table: str, shard: str, roster: Roster, regions: int) -> None:
        self._client = client
        self._table = table
        self._parts = split_roster(shard, roster)
        self._regions = regions
        self.calls = 0

    def __call__(self, at: str, runs: int, deadline: float) -> list[RegionRun]:
        """The runs of the last ``runs`` event times up to ``at`` of every region (as many as there are)."""
        found: dict[tuple[str, str], dict[str, Vote | None]] = {}
        canaries: dict[tuple[str, str], bool] = {}
        for part, piece in self._parts:
            # Event times before the window too: DEGRADED is judged on those before this run's.
            for item in self._query(part, at, (runs + DEGRADED_AFTER) * self._regions, deadline):
                run = _run(item, piece)
                if run is None:
                    continue
                key = (run.region, run.at)
                found.setdefault(key, {}).update(run.votes)
                canaries[key] = canaries.get(key, True) and run.canary_answered
        return [RegionRun(region, at, votes, canaries[region, at]) for (region, at), votes in found.items()]

    def _query(self, part: str, at: str, limit: int, deadline: float) -> Sequence[Mapping[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#id = :id AND #t <= :end",
            "ExpressionAttributeNames": {"#id": HASH_KEY, "#t": RANGE_KEY},
            "ExpressionAttributeValues": {":id": {"S": run_id(part)}, ":end": {"S": at + _AFTER_REGIONS}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }

        def query() -> Any:
            self.calls += 1
            return self._client.query(**request)

        try:
            response = retry_until(query, deadline, f"reading the regions' runs of shard {part}")
        except (ClientError, BotoCoreError) as exc:
            raise StateNotSavedError(f"reading the regions' runs of shard {part} failed: {exc}") from exc
        items = response.get("Items")
        return items if isinstance(items, list) else []
