"""The rollups table (``Id`` target, ``Day`` YYYY-MM-DD): one item per target per day, one string per hour.

Why a table of its own: the state table's key is ``Id`` alone (DESIGN.md), and
a page needs a target's days in one ``Query``. Each day item holds attributes
``H00``..``H23``, one :class:`~healthcheck.history.rollups.HourSummary` each (its compact string).

Writes: each hour that holds a target's checks is summarised once, after it
closes, by the first run that finds it closed, however long after that is:

- A run reads (``BatchGetItem``, reads only) its targets' day items for its
  last ``CATCH_UP_HOURS`` closed hours. The latest hour summarised there is
  where the target's summaries stand: they are written oldest first, so every
  earlier hour holding checks is summarised too. When those days hold none (a
  schedule with gaps of hours or days), the days before are read, a week,
  then back to ``KEEP_DAYS``.
- If the latest closed hour is not summarised, the records after the latest
  summarised hour up to the end of the latest closed one are read (one
  ``Query``, at most ``MAX_RECORDS``) and each hour holding some is written,
  oldest first, with ``SET Hxx`` on condition that it is absent; so is the
  latest closed hour even if it holds none, so the next run starts from there.
  A target with no summary at all starts ``CATCH_UP_HOURS`` back.

So each target costs at most one write per hour (fewer on a sparse schedule), a
retried event rewrites nothing, and an hour a failed run skipped is caught up
by the next. An hour that continues a failing hour keeps no reason of its own
(the page names an incident by its first hour's). An hour is closed ``GRACE``
after it ends, so late and retried deliveries of its events land first.

Incidents: each DOWN and RECOVERED transition the monitor's state makes (the
alerts' own times) is written to an item of its own, ``Day`` =
``I<start>`` (``I2026-11-27T10:00:00Z``, outside any day's range), with
the first reason and, once recovered, ``End``: one ``UpdateItem`` per
transition, so a retried event writes the same item again. A page reads a
target's latest ``MAX_INCIDENTS`` with one ``Query``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ..alerting.state import Alert, parse_time
from ..event import format_timestamp
from ..retrying import error_code, retry_until
from ..text import clip
from .item_size import item_bytes, page_bytes
from .rollups import MAX_REASON_BYTES, HourSummary, summarise

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "CATCH_UP_HOURS",
    "GRACE",
    "BoundedRead",
    "RollupStore",
    "StoredIncident",
    "closed_hours",
    "hour_key",
    "hour_of",
]

log = logging.getLogger(__name__)

HASH_KEY: Final = "Id"
DAY_KEY: Final = "Day"
HOUR_ATTRIBUTES: Final = tuple(f"H{hour:02d}" for hour in range(24))
# An event may reach the function 15 minutes late from Scheduler and 15 more from Lambda's
# async queue (both maximum event ages, infra/monitor.py), and run up to 15 minutes: its
# records can land 45 minutes after their hour ends. An hour is summarised after that.
GRACE: Final = timedelta(minutes=50)
# The closed hours whose days every run reads; and how far back a target with no summary yet starts.
CATCH_UP_HOURS: Final = 3
# Rollups outlive the 90 days a page shows by a little, then expire (the table's TTL).
KEEP_DAYS: Final = 100
# Days read, in turn, when the ones before hold no summary of a target (a schedule with gaps).
LOOK_BACK_DAYS: Final = (7, KEEP_DAYS)
# Records one run reads per target to catch up: 16 hours at one check a minute, about 15 read units.
# Only rollups stalled for hours reach it; the rest is caught up by the following runs.
MAX_RECORDS: Final = 1000
GET_BATCH_SIZE: Final = 100
# A bounded read asks for one record first (a record is at most about 26 KB, see history/record_store.py), then for as
# many as its budget holds at the largest record seen so far, at most PAGE_GROWTH times the page before.
FIRST_PAGE: Final = 1
PAGE_GROWTH: Final = 32
INCIDENT_PREFIX: Final = "I"


@dataclass(frozen=True, slots=True)
class BoundedRead:
    """Records read newest first within a budget of bytes."""

    items: list[dict[str, Any]]
    billed_bytes: int
    """What DynamoDB bills for the pages read (each rounded up to 4 KB)."""
    largest_bytes: int
    """The largest record read."""
    complete: bool
    """Every record of the range was read."""


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """A DOWN period as the state's transitions recorded it: start and end are the alerts' own times."""

    start: str
    end: str | None
    """None: not recovered (or its recovery was not recorded)."""
    reason: str | None


def hour_key(hour: datetime) -> tuple[str, str]:
    """(``Day``, hour attribute) of the hour starting at ``hour`` (UTC): ("2026-11-28", "H04")."""
    return hour.strftime("%Y-%m-%d"), f"H{hour.hour:02d}"


def closed_hours(now: datetime) -> list[datetime]:
    """The last ``CATCH_UP_HOURS`` hours closed at ``now`` (ended at least ``GRACE`` ago), newest first."""
    latest = (now - GRACE).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return [latest - timedelta(hours=back) for back in range(CATCH_UP_HOURS)]


def hour_of(record: dict[str, Any]) -> datetime | None:
    """The UTC hour a record's ``Timestamp`` falls in; None if it is not one (never written by the monitor)."""
    try:
        return datetime.strptime(str(record["Timestamp"]["S"])[:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _by_hour(records: Iterable[dict[str, Any]]) -> dict[datetime, list[dict[str, Any]]]:
    hours: dict[datetime, list[dict[str, Any]]] = {}
    for item in records:
        hour = hour_of(item)
        if hour is None:
            log.warning(
                "record with a bad Timestamp left out of the rollups: %s", clip(repr(item.get("Timestamp")), 80)
            )
            continue
        hours.setdefault(hour, []).append(item)
    return hours


class RollupStore:
    """Writes hourly summaries from the results table into the rollups table, and reads them back."""

    def __init__(self, client: DynamoDBClient, table_name: str, results_table: str) -> None:
        self._client = client
        self.table_name = table_name
        self.results_table = results_table
        self.calls = {"BatchGetItem": 0, "Query": 0, "UpdateItem": 0}
        """Calls made, so tests and the benchmark can count them."""

    def latest(
        self, names: Sequence[str], now: datetime, deadline: float
    ) -> dict[str, tuple[datetime, HourSummary | None]]:
        """Each target's latest summarised hour and its summary (None: unreadable), within ``KEEP_DAYS``.

        The days of the last closed hours first (all a steady schedule needs), then
        the week before, then the rest, each only for the targets not found yet.
        """
        first = sorted({hour_key(hour)[0] for hour in closed_hours(now)}, reverse=True)
        oldest = datetime.fromisoformat(first[-1] + "T00:00:00+00:00")
        steps = [first]
        done = 0
        for until in LOOK_BACK_DAYS:
            steps.append([(oldest - timedelta(days=back)).strftime("%Y-%m-%d") for back in range(done + 1, until + 1)])
            done = until
        found: dict[str, tuple[str, str, Any]] = {}
        pending = list(dict.fromkeys(names))
        for days in steps:
            if not pending:
                break
            keys = [{HASH_KEY: {"S": name}, DAY_KEY: {"S": day}} for name in pending for day in days]
            for item in self._batch_get(keys, [HASH_KEY, DAY_KEY, *HOUR_ATTRIBUTES], deadline):
                name, day = item[HASH_KEY]["S"], item[DAY_KEY]["S"]
                present = [attribute for attribute in HOUR_ATTRIBUTES if attribute in item]
                if present and (name not in found or (day, present[-1]) > found[name][:2]):
                    found[name] = (day, present[-1], item[present[-1]])
            pending = [name for name in pending if name not in found]
        latest: dict[str, tuple[datetime, HourSummary | None]] = {}
        for name, (day, attribute, value) in found.items():
            hour = datetime.fromisoformat(f"{day}T{attribute[1:]}:00:00+00:00")
            # An unreadable hour is there all the same, so it is never rewritten; just not read.
            latest[name] = (hour, _read_hour(day, attribute, value))
        return latest

    def _batch_get(self, keys: list[dict[str, Any]], projection: list[str], deadline: float) -> list[dict[str, Any]]:
        names = {f"#a{index}": attribute for index, attribute in enumerate(projection)}
        items: list[dict[str, Any]] = []
        for start in range(0, len(keys), GET_BATCH_SIZE):
            pending: Any = keys[start : start + GET_BATCH_SIZE]
            while pending:
                request: Any = {
                    self.table_name: {
                        "Keys": pending,
                        "ProjectionExpression": ", ".join(names),
                        "ExpressionAttributeNames": names,
                    }
                }

                def get(request: Any = request) -> Any:
                    self.calls["BatchGetItem"] += 1
                    return self._client.batch_get_item(RequestItems=request)

                response = retry_until(get, deadline, "reading rollups")
                items += response.get("Responses", {}).get(self.table_name, [])
                pending = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if pending:
                    if time.monotonic() >= deadline:
                        # Not "missing": guessing would rewrite hours, past the one-write-per-hour bound.
                        raise TimeoutError(f"{len(pending)} rollup items left unread at the deadline (throttled)")
                    time.sleep(0.1)
        return items

    def records(self, name: str, start: datetime, end: datetime, deadline: float) -> list[dict[str, Any]]:
        """Raw records of ``name`` with ``start <= Timestamp < end`` (all pages), in time order."""
        items, _complete = self.some_records(name, start, end, deadline)
        return items

    def some_records(
        self,
        name: str,
        start: datetime,
        end: datetime,
        deadline: float,
        *,
        limit: int | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Records of ``name`` with ``start <= Timestamp < end``: all of them, or one page of at most ``limit``.

        Returns them in time order, and whether they are all there are in the range.
        """
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.results_table,
            "KeyConditionExpression": "#id = :id AND #ts BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#id": "Id", "#ts": "Timestamp"},
            "ExpressionAttributeValues": {
                ":id": {"S": name},
                ":start": {"S": format_timestamp(start)},
                # Timestamps are second-precision ISO strings: the last second before ``end``.
                ":end": {"S": format_timestamp(end - timedelta(seconds=1))},
            },
            **({"Limit": limit} if limit is not None else {}),
        }
        while True:

            def query(kwargs: dict[str, Any] = kwargs) -> Any:
                self.calls["Query"] += 1
                return self._client.query(**kwargs)

            response = retry_until(query, deadline, f"reading the records of {name}")
            items += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return items, True
            if limit is not None:
                return items, False
            kwargs = {**kwargs, "ExclusiveStartKey": last}

    def newest_records(
        self, name: str, start: datetime, end: datetime, deadline: float, *, max_bytes: int
    ) -> BoundedRead:
        """Records of ``name`` with ``start <= Timestamp < end``, newest first, until ``max_bytes`` are billed.

        A page asks only for as many records as the rest of the budget holds at the
        largest record read so far, so a run of large records (a failure with 30
        unmet expectations is 3-20 KB) stops the read at the budget, not at 1 MB.
        """
        kwargs: dict[str, Any] = {
            "TableName": self.results_table,
            "KeyConditionExpression": "#id = :id AND #ts BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#id": "Id", "#ts": "Timestamp"},
            "ExpressionAttributeValues": {
                ":id": {"S": name},
                ":start": {"S": format_timestamp(start)},
                ":end": {"S": format_timestamp(end - timedelta(seconds=1))},
            },
            "ScanIndexForward": False,
            "Limit": FIRST_PAGE,
        }
        items: list[dict[str, Any]] = []
        billed = largest = 0
        while True:

            def query(kwargs: dict[str, Any] = kwargs) -> Any:
                self.calls["Query"] += 1
                return self._client.query(**kwargs)

            response = retry_until(query, deadline, f"reading the records of {name}")
            page = response.get("Items", [])
            items += page
            billed += page_bytes(page)
            largest = max([largest, *(item_bytes(item) for item in page)])
            last = response.get("LastEvaluatedKey")
            if not last:
                return BoundedRead(items, billed, largest, True)
            # The budget left is whole 4 KB blocks, so records that fit it fit once rounded up, too.
            fits = (max_bytes - billed) // max(largest, 1)
            if fits < 1:
                return BoundedRead(items, billed, largest, False)
            kwargs = {**kwargs, "ExclusiveStartKey": last, "Limit": min(fits, kwargs["Limit"] * PAGE_GROWTH)}

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
        values: dict[str, Any] = {":x": {"N": str(int((start + timedelta(days=KEEP_DAYS)).timestamp()))}}
        sets = ["#x = :x"]
        if alert.kind == "RECOVERED":
            end = start + timedelta(seconds=alert.down_for_s or 0)
            names["#e"], values[":e"] = "End", {"S": format_timestamp(end)}
            sets.append("#e = :e")
        elif alert.reasons:
            names["#r"], values[":r"] = "Reason", {"S": clip(alert.reasons[0], MAX_REASON_BYTES)}
            sets.append("#r = :r")

        def update() -> object:
            self.calls["UpdateItem"] += 1
            return self._client.update_item(
                TableName=self.table_name,
                Key={HASH_KEY: {"S": alert.target}, DAY_KEY: {"S": INCIDENT_PREFIX + alert.since}},
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )

        retry_until(update, deadline, f"recording an incident of {alert.target}")

    def incidents(
        self, name: str, first: datetime, last: datetime, deadline: float, *, limit: int
    ) -> list[StoredIncident]:
        """The latest ``limit`` incidents of ``name`` that began from ``first`` to ``last``, newest first (one page)."""

        def query() -> Any:
            self.calls["Query"] += 1
            return self._client.query(
                TableName=self.table_name,
                KeyConditionExpression="#id = :id AND #day BETWEEN :first AND :last",
                ExpressionAttributeNames={"#id": HASH_KEY, "#day": DAY_KEY},
                ExpressionAttributeValues={
                    ":id": {"S": name},
                    ":first": {"S": INCIDENT_PREFIX + format_timestamp(first)},
                    ":last": {"S": INCIDENT_PREFIX + format_timestamp(last)},
                },
                ScanIndexForward=False,
                Limit=limit,
            )

        found: list[StoredIncident] = []
        for item in retry_until(query, deadline, f"reading the incidents of {name}").get("Items", []):
            incident = _incident(item)
            if incident is not None:
                found.append(incident)
        return found

    def flush(self, names: Sequence[str], now: datetime, deadline: float) -> int:
        """Summarise every closed hour holding checks that is not summarised yet; returns the summaries written.

        A failure is logged and left for the next run to catch up: rollups
        never cost a run its records or its alerts.
        """
        written = 0
        try:
            latest = self.latest(names, now, deadline)
            for name in dict.fromkeys(names):
                written += self._catch_up(name, latest.get(name), closed_hours(now)[0], deadline)
        except (ClientError, BotoCoreError, TimeoutError) as exc:
            log.warning("rollups not brought up to date (the next run tries again): %s", exc)
        return written

    def _catch_up(
        self, name: str, known: tuple[datetime, HourSummary | None] | None, last: datetime, deadline: float
    ) -> int:
        """Write ``name``'s hours after ``known`` (its latest summarised hour) up to ``last``, oldest first."""
        if known is not None and known[0] >= last:
            return 0
        start = known[0] + timedelta(hours=1) if known is not None else last - timedelta(hours=CATCH_UP_HOURS - 1)
        records, complete = self.some_records(name, start, last + timedelta(hours=1), deadline, limit=MAX_RECORDS)
        hours = _by_hour(records)
        if not complete and hours:
            # The last hour read may be cut short: it waits for the next run, unless it is
            # the only one (more than MAX_RECORDS checks in an hour), then read whole.
            partial = max(hours)
            if len(hours) > 1:
                del hours[partial]
            else:
                hours = {partial: self.records(name, partial, partial + timedelta(hours=1), deadline)}
        elif complete and last not in hours:
            # Written empty all the same: the next run starts after it, not from ``known`` again.
            hours[last] = []
        written = 0
        previous = known
        for hour in sorted(hours):
            summary = summarise(hours[hour])
            before = previous[1] if previous is not None and previous[0] == hour - timedelta(hours=1) else None
            if summary.failed and before is not None and before.failed:
                # The same incident goes on: the page shows its first hour's reason only, so
                # the reason is not repeated in every hour a long outage fills (item size is cost).
                summary = dataclasses.replace(summary, first_reason=None)
            written += self._write(name, hour, summary, deadline)
            previous = (hour, summary)
        return written

    def _write(self, name: str, hour: datetime, summary: HourSummary, deadline: float) -> int:
        day, attribute = hour_key(hour)
        expires = int((hour + timedelta(days=KEEP_DAYS)).timestamp())

        def update() -> object:
            self.calls["UpdateItem"] += 1
            return self._client.update_item(
                TableName=self.table_name,
                Key={HASH_KEY: {"S": name}, DAY_KEY: {"S": day}},
                UpdateExpression="SET #h = :summary, ExpiresAt = :expires",
                ConditionExpression="attribute_not_exists(#h)",
                ExpressionAttributeNames={"#h": attribute},
                ExpressionAttributeValues={":summary": summary.to_attribute(), ":expires": {"N": str(expires)}},
            )

        try:
            retry_until(update, deadline, f"writing the rollup of {name}")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return 0  # another invocation summarised it first
            raise
        return 1

    def days(self, name: str, first_day: str, last_day: str, deadline: float) -> list[dict[str, Any]]:
        """The day items of ``name`` from ``first_day`` to ``last_day`` (one Query, paged)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#id = :id AND #day BETWEEN :first AND :last",
            "ExpressionAttributeNames": {"#id": HASH_KEY, "#day": DAY_KEY},
            "ExpressionAttributeValues": {":id": {"S": name}, ":first": {"S": first_day}, ":last": {"S": last_day}},
        }
        while True:

            def query(kwargs: dict[str, Any] = kwargs) -> Any:
                self.calls["Query"] += 1
                return self._client.query(**kwargs)

            response = retry_until(query, deadline, f"reading the rollups of {name}")
            items += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": last}


def hour_summaries(items: Iterable[dict[str, Any]]) -> dict[datetime, HourSummary]:
    """Every hour's summary in day items, keyed by the hour's start (UTC)."""
    hours: dict[datetime, HourSummary] = {}
    for item in items:
        try:
            day = datetime.fromisoformat(item[DAY_KEY]["S"] + "T00:00:00+00:00")
        except (KeyError, TypeError, ValueError):
            log.warning("rollup item with a bad Day skipped: %s", clip(repr(item.get(DAY_KEY)), 200))
            continue
        for attribute, value in item.items():
            if (
                len(attribute) == 3
                and attribute.startswith("H")
                and attribute[1:].isdigit()
                and int(attribute[1:]) < 24
            ):
                summary = _read_hour(item[DAY_KEY]["S"], attribute, value)
                if summary is not None:  # one bad hour costs that hour, never the page: it shows as no data
                    hours[day + timedelta(hours=int(attribute[1:]))] = summary
    return hours


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


def _read_hour(day: str, attribute: str, value: Any) -> HourSummary | None:
    """A stored hour's summary; None (logged) when it can't be read."""
    try:
        return HourSummary.from_attribute(value)
    except (KeyError, TypeError, ValueError):
        log.warning("rollup %s %s unreadable, skipped: %s", day, attribute, clip(repr(value), 200))
        return None
