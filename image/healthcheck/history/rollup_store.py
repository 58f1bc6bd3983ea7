"""The rollups table (``Id``/``Day``): per shard and region, an hour's and a day's item hold every target's summary.

Why a table of its own: the state table's key is ``Id`` alone (DESIGN.md), and a
page needs a shard's days in one ``Query``. Items, told apart by their ``Id``:

- ``hour#<shard>#<region>`` / ``YYYY-MM-DDTHH``: ``Targets``, a map of each target's
  :class:`~healthcheck.history.rollups.HourSummary` (its compact string) for that hour;
- ``day#<shard>#<region>`` / ``YYYY-MM-DD``: the same for the whole day;
- ``shards`` / ``<shard>#<region>``: ``Hour``, the latest hour summarised (every one before it is),
  and ``Names``, each target the shard held in the last ``KEEP_DAYS`` and the last day it did:
  one ``Query`` of ``Id = shards`` tells a page which shards to read for which targets;
- ``incident#<target>`` / ``I<start>``: a DOWN period, at the alerts' own times.

Writes: each hour is summarised once, after it closes (``GRACE``), by the first
run of its shard that finds it closed, however long after that is. The run reads
the shard's item (one ``GetItem``, then kept in memory for the hour), and when
hours are due, their run items (one ``Query``, at most ``MAX_RUNS``): one
``PutItem`` per hour holding checks, one more per day that closes, then ``Hour``
moves on. Each is conditional on being absent, so a retried event, or two runs
at once, write nothing twice. About 4 KB an hour for 100 targets: 4 write units
an hour, where one item per target and hour took 100.

Incidents: each DOWN and RECOVERED transition the monitor's state makes is
written to an item of its own, with the first reason and, once recovered,
``End``: one ``UpdateItem`` per transition, so a retried event writes the same
item again. A page reads a target's latest ``MAX_INCIDENTS`` with one ``Query``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ..alerting.state import Alert, parse_time
from ..event import format_timestamp
from ..retrying import error_code, retry_until
from ..text import clip
from .layout import check_id, sort_key
from .reader import Check, check_from_item, decode_runs, run_items, with_reasons
from .rollups import MAX_REASON_BYTES, HourSummary, merge, summarise

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "CATCH_UP_HOURS",
    "GRACE",
    "KEEP_DAYS",
    "RollupStore",
    "ShardHead",
    "StoredIncident",
    "closed_hours",
    "day_of",
    "hour_of",
]

log = logging.getLogger(__name__)

HASH_KEY: Final = "Id"
DAY_KEY: Final = "Day"
SHARDS_ID: Final = "shards"
TARGETS: Final = "Targets"
# An event may reach the function 15 minutes late from Scheduler and 15 more from Lambda's
# async queue (both maximum event ages, infra/monitor.py), and run up to 15 minutes: its
# records can land 45 minutes after their hour ends. An hour is summarised after that.
GRACE: Final = timedelta(minutes=50)
# How far back a shard with no summary yet starts.
CATCH_UP_HOURS: Final = 3
# Rollups outlive the 90 days a page shows by a little, then expire (the table's TTL).
KEEP_DAYS: Final = 100
# Run items one run reads to catch up: 16 hours at one run a minute (about 1.3 MB of items for 100
# targets). Only rollups stalled for hours reach it; the rest is caught up by the following runs.
MAX_RUNS: Final = 1000
INCIDENT_PREFIX: Final = "I"
HOUR_FORMAT: Final = "%Y-%m-%dT%H"
DAY_FORMAT: Final = "%Y-%m-%d"
_SNAKE: Final = {"GetItem": "get_item", "PutItem": "put_item", "Query": "query", "UpdateItem": "update_item"}
# A shard item written by two runs at once (a new target list, a day closing): tries before leaving it to later.
VERSION_TRIES: Final = 3


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """A DOWN period as the state's transitions recorded it: start and end are the alerts' own times."""

    start: str
    end: str | None
    """None: not recovered (or its recovery was not recorded)."""
    reason: str | None


@dataclass(frozen=True, slots=True)
class ShardHead:
    """What the ``shards`` item of one shard and region says."""

    hour: datetime | None = None
    """The latest hour summarised; every hour before it is too (None: none yet)."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Each target the shard held in the last ``KEEP_DAYS``, and the last day (YYYY-MM-DD) it did."""
    version: int = 0


def hour_id(shard: str, region: str) -> str:
    return f"hour#{shard}#{region}"


def day_id(shard: str, region: str) -> str:
    return f"day#{shard}#{region}"


def incident_id(name: str) -> str:
    return f"incident#{name}"


def closed_hours(now: datetime) -> list[datetime]:
    """The last ``CATCH_UP_HOURS`` hours closed at ``now`` (ended at least ``GRACE`` ago), newest first."""
    latest = (now - GRACE).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return [latest - timedelta(hours=back) for back in range(CATCH_UP_HOURS)]


def hour_of(moment: str) -> datetime | None:
    """The UTC hour an event time falls in; None if it is not one."""
    try:
        return datetime.strptime(moment[:13], HOUR_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _expires(moment: datetime) -> dict[str, str]:
    return {"N": str(int((moment + timedelta(days=KEEP_DAYS)).timestamp()))}


def summaries_of(item: Mapping[str, Any]) -> dict[str, HourSummary]:
    """Each target's summary in an hour or day item; one that can't be read is logged and left out."""
    found: dict[str, HourSummary] = {}
    targets = item.get(TARGETS, {}).get("M", {})
    if not isinstance(targets, dict):
        log.warning("rollup item %s has no map of targets, skipped", clip(repr(item.get(DAY_KEY)), 100))
        return found
    for name, value in targets.items():
        try:
            found[str(name)] = HourSummary.from_attribute(value)
        except (KeyError, TypeError, ValueError):
            # One bad summary costs that target's period, never the page: it shows as no data.
            day = item.get(DAY_KEY, {}).get("S")
            log.warning("rollup %s of %s unreadable, skipped: %s", day, name, clip(repr(value), 200))
    return found


def _head(item: Mapping[str, Any] | None) -> ShardHead:
    if item is None:
        return ShardHead()
    hour = hour_of(str(item.get("Hour", {}).get("S", "")))
    names = {
        str(name): str(value.get("S", ""))
        for name, value in item.get("Names", {}).get("M", {}).items()
        if isinstance(value, dict)
    }
    try:
        version = int(item.get("Version", {}).get("N", "0"))
    except ValueError:
        version = 0
    return ShardHead(hour, names, version)


# What each process knows of each shard's item: the hour summarised and the names listed. A run
# whose hour is summarised and whose targets are listed reads nothing (until its hour closes).
_known: dict[tuple[str, str, str, str], ShardHead] = {}
_known_lock = threading.Lock()


class RollupStore:
    """Writes a shard's summaries from the results table into the rollups table, and reads them back."""

    def __init__(self, client: DynamoDBClient, table_name: str, results_table: str) -> None:
        self._client = client
        self.table_name = table_name
        self.results_table = results_table
        self.calls = {"GetItem": 0, "PutItem": 0, "Query": 0, "UpdateItem": 0}
        """Calls made, so tests and the benchmark can count them."""

    @property
    def client(self) -> DynamoDBClient:
        """The client it reads and writes with (the page reads the results table's runs through it too)."""
        return self._client

    def _call(self, operation: str, what: str, deadline: float, **request: Any) -> Any:
        method: Callable[..., Any] = getattr(self._client, _SNAKE[operation])

        def call() -> Any:
            self.calls[operation] += 1
            return method(**request)

        return retry_until(call, deadline, what)

    def _known_key(self, shard: str, region: str) -> tuple[str, str, str, str]:
        return (str(self._client.meta.endpoint_url), self.table_name, shard, region)

    # --- a run's writes ----------------------------------------------------------------------------

    def flush(self, shard: str, region: str, names: Sequence[str], now: datetime, deadline: float) -> int:
        """After a run of ``shard`` in ``region``: list its targets, summarise the hours closed since; returns
        the items written.

        A failure is logged and left for the next run: rollups never cost a run its records or its alerts.
        """
        try:
            last = closed_hours(now)[0]
            key = self._known_key(shard, region)
            with _known_lock:
                known = _known.get(key)
            if known is not None and known.hour is not None and known.hour >= last and set(names) <= set(known.names):
                return 0
            head = self._head(shard, region, deadline)
            written = 0
            if not set(names) <= set(head.names):
                head = self._list(shard, region, head, dict.fromkeys(names, format_timestamp(now)[:10]), deadline)
            if head.hour is None or head.hour < last:
                written, head = self._catch_up(shard, region, head, last, deadline)
            with _known_lock:
                _known[key] = head
        except (ClientError, BotoCoreError, TimeoutError) as exc:
            log.warning("rollups of shard %s not brought up to date (the next run tries again): %s", shard, exc)
            return 0
        return written

    def _head(self, shard: str, region: str, deadline: float) -> ShardHead:
        response = self._call(
            "GetItem",
            f"reading the rollups of shard {shard}",
            deadline,
            TableName=self.table_name,
            Key={HASH_KEY: {"S": SHARDS_ID}, DAY_KEY: {"S": f"{shard}#{region}"}},
        )
        return _head(response.get("Item"))

    def _list(
        self, shard: str, region: str, head: ShardHead, seen: Mapping[str, str], deadline: float, *, prune: str = ""
    ) -> ShardHead:
        """Add ``seen`` (name: day) to the shard's names, dropping those last seen before ``prune``.

        Written only when it changes; a write that races another (its ``Version`` moved) reads again.
        """
        for _ in range(VERSION_TRIES):
            names = {name: day for name, day in head.names.items() if day >= prune}
            for name, day in seen.items():
                names[name] = max(day, names.get(name, ""))
            if names == dict(head.names):
                return head
            try:
                self._call(
                    "UpdateItem",
                    f"listing the targets of shard {shard}",
                    deadline,
                    TableName=self.table_name,
                    Key={HASH_KEY: {"S": SHARDS_ID}, DAY_KEY: {"S": f"{shard}#{region}"}},
                    UpdateExpression="SET #n = :n, #v = :v",
                    ConditionExpression="attribute_not_exists(#v) OR #v = :was",
                    ExpressionAttributeNames={"#n": "Names", "#v": "Version"},
                    ExpressionAttributeValues={
                        ":n": {"M": {name: {"S": day} for name, day in names.items()}},
                        ":v": {"N": str(head.version + 1)},
                        ":was": {"N": str(head.version)},
                    },
                )
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                head = self._head(shard, region, deadline)
                continue
            return ShardHead(head.hour, names, head.version + 1)
        log.warning("the targets of shard %s were not listed: other runs kept changing them", shard)
        return head

    def _catch_up(
        self, shard: str, region: str, head: ShardHead, last: datetime, deadline: float
    ) -> tuple[int, ShardHead]:
        """Summarise the hours after ``head.hour`` up to ``last`` (oldest first), then the days they close."""
        start = head.hour + timedelta(hours=1) if head.hour is not None else last - timedelta(hours=CATCH_UP_HOURS - 1)
        items, complete = self._runs(shard, start, last, MAX_RUNS, deadline)
        through = last
        if not complete and items:
            # The last hour read may be cut short: it waits for the next run, unless it is the only
            # one read (more than MAX_RUNS runs in an hour), then read whole.
            cut = hour_of(str(items[-1]["Timestamp"]["S"])) or start
            through = cut - timedelta(hours=1)
            if hour_of(str(items[0]["Timestamp"]["S"])) == cut:
                items, _ = self._runs(shard, cut, cut, 10 * MAX_RUNS, deadline)
                through = cut
        by_hour = self._by_hour(items, region, deadline)
        written = 0
        previous: dict[str, HourSummary] | None = None  # the hour before's summaries, read only when needed
        for hour in sorted(moment for moment in by_hour if moment <= through):
            if previous is None and any(not check.success for check, _ in by_hour[hour]):
                previous = self._hour_item(shard, region, hour - timedelta(hours=1), deadline)
            summaries = self._summaries(by_hour[hour], previous or {}, deadline)
            written += self._put(hour_id(shard, region), hour.strftime(HOUR_FORMAT), summaries, hour, deadline)
            previous = summaries if hour + timedelta(hours=1) in by_hour else {}
        # The days whose last hour is now summarised: one item each, from their hour items.
        day = day_of(start)
        while day + timedelta(hours=23) <= through:
            if day + timedelta(hours=23) >= start:
                closed, head = self._close_day(shard, region, head, day, deadline)
                written += closed
            day += timedelta(days=1)
        self._call(
            "UpdateItem",
            f"moving the rollups of shard {shard} on",
            deadline,
            TableName=self.table_name,
            Key={HASH_KEY: {"S": SHARDS_ID}, DAY_KEY: {"S": f"{shard}#{region}"}},
            UpdateExpression="SET #h = :h, #x = :x",
            ConditionExpression="attribute_not_exists(#h) OR #h < :h",
            ExpressionAttributeNames={"#h": "Hour", "#x": "ExpiresAt"},
            ExpressionAttributeValues={":h": {"S": through.strftime(HOUR_FORMAT)}, ":x": _expires(through)},
        )
        return written, dataclasses.replace(head, hour=through)

    def _runs(
        self, shard: str, first: datetime, last: datetime, limit: int, deadline: float
    ) -> tuple[list[dict[str, Any]], bool]:
        """Run items of the hours from ``first`` to ``last``, at most ``limit``; and whether they are all."""
        self.calls["Query"] += 1
        return run_items(
            self._client,
            self.results_table,
            shard,
            format_timestamp(first),
            format_timestamp(last + timedelta(hours=1) - timedelta(seconds=1)),
            limit=limit,
            deadline=deadline,
        )

    def _by_hour(
        self, items: Iterable[dict[str, Any]], region: str, deadline: float
    ) -> dict[datetime, list[tuple[Check, bool]]]:
        """This region's checks of ``items`` by the hour they fall in, each with whether a failure item holds more."""
        hours: dict[datetime, list[tuple[Check, bool]]] = {}
        for check, entry in decode_runs(self._client, self.results_table, items, deadline=deadline):
            hour = hour_of(check.time)
            if check.region == region and hour is not None:
                hours.setdefault(hour, []).append((check, entry.needs_details))
        return hours

    def _summaries(
        self, checks: Sequence[tuple[Check, bool]], previous: Mapping[str, HourSummary], deadline: float
    ) -> dict[str, HourSummary]:
        """Each target's summary of the hour; the reason of a failure that starts an outage read from its item."""
        by_target: dict[str, list[tuple[Check, bool]]] = {}
        for check, detailed in checks:
            by_target.setdefault(check.target, []).append((check, detailed))
        summaries: dict[str, HourSummary] = {}
        for name, own in by_target.items():
            plain = [check for check, _ in own]
            before = previous.get(name)
            if before is not None and before.failed:
                # The same outage goes on: the page names it by its first hour's reason only, so the reason
                # is not read again nor repeated in every hour a long outage fills (item size is cost).
                summaries[name] = summarise(plain)
                continue
            first = next(
                ((index, has) for index, (check, has) in enumerate(own) if check.counted and not check.success), None
            )
            if first is not None and first[1]:
                plain[first[0]] = self._details(plain[first[0]], deadline)
            summaries[name] = summarise(plain)
        return summaries

    def _details(self, check: Check, deadline: float) -> Check:
        """``check`` with its failure item's error and failures (as it is, when that item is missing)."""
        response = self._call(
            "GetItem",
            f"reading a failure of {check.target}",
            deadline,
            TableName=self.results_table,
            Key={"Id": {"S": check_id(check.target)}, "Timestamp": {"S": sort_key(check.time, check.region or "")}},
        )
        item = response.get("Item")
        if item is None:
            return check
        try:
            return with_reasons(check, check_from_item(item))
        except (KeyError, TypeError, ValueError):
            return check

    def _hour_item(self, shard: str, region: str, hour: datetime, deadline: float) -> dict[str, HourSummary]:
        response = self._call(
            "GetItem",
            f"reading the rollups of shard {shard}",
            deadline,
            TableName=self.table_name,
            Key={HASH_KEY: {"S": hour_id(shard, region)}, DAY_KEY: {"S": hour.strftime(HOUR_FORMAT)}},
        )
        item = response.get("Item")
        return summaries_of(item) if item is not None else {}

    def _put(
        self, item_id: str, day: str, summaries: Mapping[str, HourSummary], moment: datetime, deadline: float
    ) -> int:
        item = {
            HASH_KEY: {"S": item_id},
            DAY_KEY: {"S": day},
            TARGETS: {"M": {name: summary.to_attribute() for name, summary in summaries.items()}},
            "ExpiresAt": _expires(moment),
        }
        try:
            self._call(
                "PutItem",
                f"writing the rollups {item_id} {day}",
                deadline,
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#i)",
                ExpressionAttributeNames={"#i": HASH_KEY},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return 0  # another invocation summarised it first
            raise
        return 1

    def _close_day(
        self, shard: str, region: str, head: ShardHead, day: datetime, deadline: float
    ) -> tuple[int, ShardHead]:
        """The day's item, from its hour items; and the shard's names, last seen that day."""
        hours = self.hours(shard, region, day, day + timedelta(hours=23), deadline)
        by_target: dict[str, list[HourSummary]] = {}
        for hour in sorted(hours):
            for name, summary in hours[hour].items():
                by_target.setdefault(name, []).append(summary)
        written = 0
        if by_target:
            summaries = {name: merge(parts) for name, parts in by_target.items()}
            written = self._put(day_id(shard, region), day.strftime(DAY_FORMAT), summaries, day, deadline)
        prune = (day - timedelta(days=KEEP_DAYS)).strftime(DAY_FORMAT)
        seen = dict.fromkeys(by_target, day.strftime(DAY_FORMAT))
        return written, self._list(shard, region, head, seen, deadline, prune=prune)

    # --- incidents -----------------------------------------------------------------------------------

    def record_transitions(self, transitions: Iterable[Alert], deadline: float) -> int:
        """Write each DOWN and RECOVERED alert's incident item; returns the writes made.

        A failure is logged, never raised: the page then lacks that incident, the run loses nothing.
        """
        written = 0
        try:
            for alert in transitions:
                if alert.kind in ("DOWN", "RECOVERED"):
                    self._write_transition(alert, deadline)
                    written += 1
        except (ClientError, BotoCoreError, TimeoutError) as exc:
            log.warning("an incident was not recorded for the status page: %s", exc)
        return written

    def _write_transition(self, alert: Alert, deadline: float) -> None:
        start = parse_time(alert.since)
        names = {"#x": "ExpiresAt"}
        values: dict[str, Any] = {":x": _expires(start)}
        sets = ["#x = :x"]
        if alert.kind == "RECOVERED":
            end = start + timedelta(seconds=alert.down_for_s or 0)
            names["#e"], values[":e"] = "End", {"S": format_timestamp(end)}
            sets.append("#e = :e")
        elif alert.reasons:
            names["#r"], values[":r"] = "Reason", {"S": clip(alert.reasons[0], MAX_REASON_BYTES)}
            sets.append("#r = :r")
        self._call(
            "UpdateItem",
            f"recording an incident of {alert.target}",
            deadline,
            TableName=self.table_name,
            Key={HASH_KEY: {"S": incident_id(alert.target)}, DAY_KEY: {"S": INCIDENT_PREFIX + alert.since}},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def incidents(
        self, name: str, first: datetime, last: datetime, deadline: float, *, limit: int
    ) -> list[StoredIncident]:
        """The latest ``limit`` incidents of ``name`` that began from ``first`` to ``last``, newest first (one page)."""
        response = self._call(
            "Query",
            f"reading the incidents of {name}",
            deadline,
            TableName=self.table_name,
            KeyConditionExpression="#id = :id AND #day BETWEEN :first AND :last",
            ExpressionAttributeNames={"#id": HASH_KEY, "#day": DAY_KEY},
            ExpressionAttributeValues={
                ":id": {"S": incident_id(name)},
                ":first": {"S": INCIDENT_PREFIX + format_timestamp(first)},
                ":last": {"S": INCIDENT_PREFIX + format_timestamp(last)},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        found: list[StoredIncident] = []
        for item in response.get("Items", []):
            incident = _incident(item)
            if incident is not None:
                found.append(incident)
        return found

    # --- what a page reads -----------------------------------------------------------------------------

    def _query(self, what: str, deadline: float, **request: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._call("Query", what, deadline, TableName=self.table_name, **request)
            items += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            request = {**request, "ExclusiveStartKey": last}

    def shards(self, deadline: float) -> dict[tuple[str, str], ShardHead]:
        """Every shard's item, by (shard, region): which targets each held, how far each is summarised."""
        heads: dict[tuple[str, str], ShardHead] = {}
        for item in self._query(
            "reading the shards",
            deadline,
            KeyConditionExpression="#id = :id",
            ExpressionAttributeNames={"#id": HASH_KEY},
            ExpressionAttributeValues={":id": {"S": SHARDS_ID}},
        ):
            shard, mark, region = str(item.get(DAY_KEY, {}).get("S", "")).partition("#")
            if mark:
                heads[(shard, region)] = _head(item)
        return heads

    def days(
        self, shard: str, region: str, first: datetime, last: datetime, deadline: float
    ) -> dict[datetime, dict[str, HourSummary]]:
        """The day items of a shard and region from ``first`` to ``last`` (days), by day."""
        return self._periods(day_id(shard, region), first.strftime(DAY_FORMAT), last.strftime(DAY_FORMAT), deadline)

    def hours(
        self, shard: str, region: str, first: datetime, last: datetime, deadline: float
    ) -> dict[datetime, dict[str, HourSummary]]:
        """The hour items of a shard and region from ``first`` to ``last`` (hours), by hour."""
        return self._periods(hour_id(shard, region), first.strftime(HOUR_FORMAT), last.strftime(HOUR_FORMAT), deadline)

    def _periods(self, item_id: str, first: str, last: str, deadline: float) -> dict[datetime, dict[str, HourSummary]]:
        periods: dict[datetime, dict[str, HourSummary]] = {}
        for item in self._query(
            f"reading the rollups {item_id}",
            deadline,
            KeyConditionExpression="#id = :id AND #day BETWEEN :first AND :last",
            ExpressionAttributeNames={"#id": HASH_KEY, "#day": DAY_KEY},
            ExpressionAttributeValues={":id": {"S": item_id}, ":first": {"S": first}, ":last": {"S": last}},
        ):
            moment = hour_of(str(item.get(DAY_KEY, {}).get("S", "")) + ("T00" if len(first) == 10 else ""))
            if moment is None:
                log.warning("rollup item with a bad Day skipped: %s", clip(repr(item.get(DAY_KEY)), 200))
                continue
            periods[moment] = summaries_of(item)
        return periods


def _incident(item: dict[str, Any]) -> StoredIncident | None:
    """An incident item read back; None (logged) when it is not one the monitor wrote."""
    try:
        start = str(item[DAY_KEY]["S"]).removeprefix(INCIDENT_PREFIX)
        end = item.get("End", {}).get("S")
        for moment in (start, end):
            if moment is not None and parse_time(str(moment)).tzinfo is None:
                raise ValueError(f"not an event time: {moment!r}")
    except (KeyError, TypeError, ValueError):
        log.warning("incident item unreadable, skipped: %s", clip(repr(item.get(DAY_KEY)), 200))
        return None
    reason = item.get("Reason", {}).get("S")
    return StoredIncident(start, str(end) if end is not None else None, str(reason) if reason is not None else None)
