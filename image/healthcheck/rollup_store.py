"""The rollups table (``Id`` target, ``Day`` YYYY-MM-DD): one item per target per day, one string per hour.

Why a table of its own: the state table's key is ``Id`` alone (DESIGN.md), and
a page needs a target's days in one ``Query``. Each day item holds attributes
``H00``..``H23``, one :class:`~healthcheck.rollups.HourSummary` each (its compact string).

Writes: a run checks (one ``BatchGetItem``, reads only) whether its targets'
last finished hours are summarised; for each one that is not, it queries that
hour's records and writes the summary with ``SET Hxx`` on condition that it is
absent. An hour that continues a failing hour keeps no reason of its own (the
page names an incident by its first hour's). So each target costs at most one
write per hour, whatever the schedule, a retried event rewrites nothing, and an hour a failed run skipped
is caught up by the next (up to ``CATCH_UP_HOURS`` back). An hour is closed
``GRACE`` after it ends, so late and retried deliveries of its events land first.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from .retrying import error_code, retry_until
from .rollups import HourSummary, summarise
from .text import clip

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["CATCH_UP_HOURS", "GRACE", "RollupStore", "closed_hours", "hour_key"]

log = logging.getLogger(__name__)

HASH_KEY: Final = "Id"
DAY_KEY: Final = "Day"
# An event may reach the function 15 minutes late from Scheduler and 15 more from Lambda's
# async queue (both maximum event ages, infra/monitor.py), and run up to 15 minutes: its
# records can land 45 minutes after their hour ends. An hour is summarised after that.
GRACE: Final = timedelta(minutes=50)
CATCH_UP_HOURS: Final = 3
# Rollups outlive the 90 days a page shows by a little, then expire (the table's TTL).
KEEP_DAYS: Final = 100
GET_BATCH_SIZE: Final = 100


def hour_key(hour: datetime) -> tuple[str, str]:
    """(``Day``, hour attribute) of the hour starting at ``hour`` (UTC): ("2026-11-28", "H04")."""
    return hour.strftime("%Y-%m-%d"), f"H{hour.hour:02d}"


def closed_hours(now: datetime) -> list[datetime]:
    """The hours a run at ``now`` may summarise: ended at least ``GRACE`` ago, newest first."""
    latest = (now - GRACE).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return [latest - timedelta(hours=back) for back in range(CATCH_UP_HOURS)]


class RollupStore:
    """Writes hourly summaries from the results table into the rollups table, and reads them back."""

    def __init__(self, client: DynamoDBClient, table_name: str, results_table: str) -> None:
        self._client = client
        self.table_name = table_name
        self.results_table = results_table
        self.calls = {"BatchGetItem": 0, "Query": 0, "UpdateItem": 0}
        """Calls made, so tests and the benchmark can count them."""

    def summarised(
        self, names: Sequence[str], now: datetime, deadline: float
    ) -> dict[tuple[str, datetime], HourSummary | None]:
        """Each target's closed hours that are summarised: (target, hour) to its summary (None: unreadable)."""
        hours = closed_hours(now)
        days = sorted({hour_key(hour)[0] for hour in hours})
        attributes = sorted({hour_key(hour)[1] for hour in hours})
        wanted = {hour_key(hour): hour for hour in hours}
        keys = [{HASH_KEY: {"S": name}, DAY_KEY: {"S": day}} for name in dict.fromkeys(names) for day in days]
        found: dict[tuple[str, datetime], HourSummary | None] = {}
        for item in self._batch_get(keys, [HASH_KEY, DAY_KEY, *attributes], deadline):
            for attribute in attributes:
                hour = wanted.get((item[DAY_KEY]["S"], attribute))
                if hour is not None and attribute in item:
                    # An unreadable hour is there all the same, so it is never rewritten; just not read.
                    found[item[HASH_KEY]["S"], hour] = _read_hour(item[DAY_KEY]["S"], attribute, item[attribute])
        return found

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
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.results_table,
            "KeyConditionExpression": "#id = :id AND #ts BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#id": "Id", "#ts": "Timestamp"},
            "ExpressionAttributeValues": {
                ":id": {"S": name},
                ":start": {"S": _iso(start)},
                # Timestamps are second-precision ISO strings: the last second before ``end``.
                ":end": {"S": _iso(end - timedelta(seconds=1))},
            },
        }
        while True:

            def query(kwargs: dict[str, Any] = kwargs) -> Any:
                self.calls["Query"] += 1
                return self._client.query(**kwargs)

            response = retry_until(query, deadline, f"reading the records of {name}")
            items += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": last}

    def flush(self, names: Sequence[str], now: datetime, deadline: float) -> int:
        """Summarise every closed hour not yet summarised; returns how many summaries were written.

        A failure is logged and left for the next run to catch up: rollups
        never cost a run its records or its alerts.
        """
        written = 0
        try:
            known = self.summarised(names, now, deadline)
            for name in dict.fromkeys(names):
                for hour in reversed(closed_hours(now)):  # oldest first: each hour sees the one before it
                    if (name, hour) in known:
                        continue
                    summary = summarise(self.records(name, hour, hour + timedelta(hours=1), deadline))
                    before = known.get((name, hour - timedelta(hours=1)))
                    if summary.failed and before is not None and before.failed:
                        # The same incident goes on: the page shows its first hour's reason only, so
                        # the reason is not repeated in every hour a long outage fills (item size is cost).
                        summary = dataclasses.replace(summary, first_reason=None)
                    written += self._write(name, hour, summary, deadline)
                    known[name, hour] = summary
        except (ClientError, BotoCoreError, TimeoutError) as exc:
            log.warning("rollups not brought up to date (the next run tries again): %s", exc)
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


def _read_hour(day: str, attribute: str, value: Any) -> HourSummary | None:
    """A stored hour's summary; None (logged) when it can't be read."""
    try:
        return HourSummary.from_attribute(value)
    except (KeyError, TypeError, ValueError):
        log.warning("rollup %s %s unreadable, skipped: %s", day, attribute, clip(repr(value), 200))
        return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
