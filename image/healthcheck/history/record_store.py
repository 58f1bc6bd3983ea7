"""The only module that writes check records: run, failure and roster items, in batches before a deadline.

A run's checks go into one run item per shard (``history/layout.py``), the
checks that did not pass into a failure item each, and the target list into a
roster item the first time a process uses it. boto3's ``batch_writer`` resends
unprocessed items at once, with no backoff, no limit and no notion of time;
botocore's own retries give up on a throttled table after five attempts, with
most of the invocation still left. So retries are done here, and only here:
throttling, server errors, lost connections and unprocessed items are retried
with jittered, capped backoff until the invocation's deadline, and nothing
waits past it. A :class:`RecordWriter` sends each batch as soon as it is full,
so the failures of fast targets are stored while slow ones are still being checked.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from ..check.probe import CheckResult
from ..check.targets import redact_url
from ..exceptions import RecordsNotWrittenError
from ..retrying import error_code, retry_until, retryable
from ..text import MAX_ERROR_BYTES, clip
from .layout import ROSTER_ID, Entry, Roster, check_id, encode_checks, run_id, sort_key, split_roster

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestOutputTypeDef

__all__ = [
    "BATCH_SIZE",
    "HASH_KEY",
    "LOCAL_REGION",
    "RANGE_KEY",
    "RecordWriter",
    "ResultStore",
    "RunWriter",
    "roster_of",
    "run_item",
    "to_item",
]

log = logging.getLogger(__name__)

HASH_KEY: Final = "Id"
RANGE_KEY: Final = "Timestamp"
BATCH_SIZE: Final = 25  # BatchWriteItem's limit
# Room for a URL of 2048 characters, each up to 4 bytes; far below the 400 KB item limit.
MAX_URL_BYTES: Final = 8192
# Failures: each line clipped, and at most this many, so they add at most ~16 KB to an item.
MAX_FAILURE_BYTES: Final = 512
MAX_FAILURES: Final = 32
SECONDS_PER_DAY: Final = 86400
# The region a run records when the environment names none (config.Settings.region's fallback).
LOCAL_REGION: Final = "local"


# The request is malformed for one of its items; the others may be fine.
INVALID_CODE: Final = "ValidationException"
CONDITION_FAILED: Final = "ConditionalCheckFailedException"


def _expires_at(timestamp: str, retention_days: int) -> AttributeValueTypeDef:
    event_time = datetime.fromisoformat(timestamp)
    return {"N": str(int(event_time.timestamp()) + retention_days * SECONDS_PER_DAY)}


def to_item(
    result: CheckResult, timestamp: str, *, region: str = LOCAL_REGION, retention_days: int | None = None
) -> dict[str, AttributeValueTypeDef]:
    """A check's whole record, as its failure item holds it: ``check#<name>`` at ``<event time>#<region>``.

    Every string is valid UTF-8 and bounded, so no record can make DynamoDB
    refuse the batch it shares with other targets' records. With
    ``retention_days``, ``ExpiresAt`` (the table's TTL attribute) is the event
    time plus that many days, so a retried event expires at the same moment.
    """
    item: dict[str, AttributeValueTypeDef] = {
        HASH_KEY: {"S": check_id(result.name)},
        RANGE_KEY: {"S": sort_key(timestamp, region)},
        "Url": {"S": clip(redact_url(result.url), MAX_URL_BYTES)},
        "Success": {"BOOL": result.success},
        "Duration": {"N": str(result.duration_ms)},
    }
    if result.status is not None:
        item["Status"] = {"N": str(result.status)}
    if result.error is not None:
        item["Error"] = {"S": clip(result.error, MAX_ERROR_BYTES)}
    if result.failures:
        item["Failures"] = {"L": [{"S": line} for line in _bounded_failures(result.failures)]}
    if result.cert_days_left is not None:
        item["CertDaysLeft"] = {"N": str(result.cert_days_left)}
    if result.inconclusive:
        item["Inconclusive"] = {"BOOL": True}
    if result.maintenance:
        item["Maintenance"] = {"BOOL": True}
    if retention_days is not None:
        item["ExpiresAt"] = _expires_at(timestamp, retention_days)
    if not result.tls_verified:
        item["TlsVerified"] = {"BOOL": False}  # only when off, so nobody forgets it was
    return item


def _bounded_failures(failures: Sequence[str]) -> list[str]:
    lines = [clip(line, MAX_FAILURE_BYTES) for line in failures[:MAX_FAILURES]]
    if len(failures) > MAX_FAILURES:
        lines[-1] = f"and {len(failures) - MAX_FAILURES + 1} more"
    return lines


def run_item(
    shard: str,
    timestamp: str,
    region: str,
    roster: Roster,
    entries: Sequence[Entry],
    *,
    canary_answered: bool = True,
    retention_days: int | None = None,
) -> dict[str, AttributeValueTypeDef]:
    """One run of one shard: an entry per roster position, in the roster's order."""
    item: dict[str, AttributeValueTypeDef] = {
        HASH_KEY: {"S": run_id(shard)},
        RANGE_KEY: {"S": sort_key(timestamp, region)},
        "Roster": {"S": roster.id},
        "Checks": {"S": encode_checks(entries)},
    }
    if not canary_answered:
        item["Canary"] = {"BOOL": False}
    if retention_days is not None:
        item["ExpiresAt"] = _expires_at(timestamp, retention_days)
    return item


def roster_of(valid: Sequence[tuple[str, str]], invalid: Sequence[tuple[str, str]] = ()) -> Roster:
    """The roster of a run: each target's name and URL as recorded (redacted, bounded), checkable ones first."""
    return Roster(tuple((name, clip(redact_url(url), MAX_URL_BYTES)) for name, url in (*valid, *invalid)))


# Rosters known to be stored, per endpoint and table: each process writes a roster at most once.
_stored_rosters: set[tuple[str, str, str, str]] = set()
_stored_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    unwritten: int = 0
    """Records not stored, that a later attempt (Lambda's retry of the event) may still store."""
    rejected: int = 0
    """Records DynamoDB refused as invalid: no retry can store them; each was logged."""
    error: str | None = None
    """Why records were left unwritten."""

    def __add__(self, other: BatchOutcome) -> BatchOutcome:
        return BatchOutcome(self.unwritten + other.unwritten, self.rejected + other.rejected, self.error or other.error)


class ResultStore:
    """Writes items to one table; raises :class:`RecordsNotWrittenError` only after trying every batch."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        base_delay_s: float = 0.05,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        parallel_batches: int = 8,
    ) -> None:
        self._client = client
        self.table_name = table_name
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self.parallel_batches = parallel_batches
        self.last_error: str | None = None
        """The latest error a retry is under way for: what a write cut off at the deadline was up against."""

    @property
    def client(self) -> DynamoDBClient:
        """The client it writes with: the same run's reads of the table use it too (streaks, the regions' runs)."""
        return self._client

    def writer(self, deadline: float) -> RecordWriter:
        """A writer that sends batches while more items arrive; every write ends by ``deadline`` (monotonic)."""
        return RecordWriter(self, deadline)

    def run(
        self,
        *,
        shard: str,
        region: str,
        timestamp: str,
        roster: Roster,
        deadline: float,
        retention_days: int | None = None,
    ) -> RunWriter:
        """The writer of one run's records: its checks are ``record``-ed as they end, then ``finish``-ed."""
        return RunWriter(
            self,
            shard=shard,
            region=region,
            timestamp=timestamp,
            roster=roster,
            deadline=deadline,
            retention_days=retention_days,
        )

    def store_roster(self, shard: str, roster: Roster, first: str, deadline: float) -> None:
        """Make sure the roster item of ``shard`` and ``roster`` is stored; at most once per process.

        A read first (half a read unit): the conditional write it saves would be billed, refused
        or not, by the roster's size, and every new execution environment would make it.
        """
        known = (str(self._client.meta.endpoint_url), self.table_name, shard, roster.id)
        with _stored_lock:
            if known in _stored_rosters:
                return
        key: dict[str, AttributeValueTypeDef] = {
            HASH_KEY: {"S": ROSTER_ID},
            RANGE_KEY: {"S": f"{shard}#{roster.id}"},
        }

        def get() -> object:
            return self._client.get_item(
                TableName=self.table_name, Key=key, ProjectionExpression="#i", ExpressionAttributeNames={"#i": HASH_KEY}
            )

        def put() -> object:
            return self._client.put_item(
                TableName=self.table_name,
                Item={**key, "Targets": {"S": roster.to_json()}, "First": {"S": first}},
                ConditionExpression="attribute_not_exists(#i)",
                ExpressionAttributeNames={"#i": HASH_KEY},
            )

        found = retry_until(get, deadline, f"reading the roster of shard {shard}")
        if "Item" not in found:  # type: ignore[operator]
            try:
                retry_until(put, deadline, f"writing the roster of shard {shard}")
            except ClientError as exc:
                if error_code(exc) != CONDITION_FAILED:
                    raise  # another run stored it first: the same list, the same item
        with _stored_lock:
            _stored_rosters.add(known)

    def write(self, items: Sequence[dict[str, AttributeValueTypeDef]], deadline: float) -> int:
        """Write every item (batches in parallel); returns how many were stored."""
        writer = self.writer(deadline)
        for item in items:
            writer.add(item)
        return writer.finish()

    def write_batch(self, items: Sequence[dict[str, AttributeValueTypeDef]], deadline: float) -> BatchOutcome:
        """Write one batch, retrying what can succeed later until ``deadline``; never raises for DynamoDB."""
        pending: Sequence[WriteRequestOutputTypeDef] = [{"PutRequest": {"Item": item}} for item in items]
        attempt = 0
        while True:
            try:
                response = self._client.batch_write_item(RequestItems={self.table_name: pending})
            except ClientError as exc:
                if error_code(exc) == INVALID_CODE:
                    return self._split([request["PutRequest"]["Item"] for request in pending], exc, deadline)
                if not retryable(exc):
                    return self._failed(len(pending), exc)
                error: str = str(exc)
            except BotoCoreError as exc:
                if not retryable(exc):
                    return self._failed(len(pending), exc)
                error = str(exc)
            else:
                pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not pending:
                    return BatchOutcome()
                error = f"{len(pending)} records left unprocessed (the table is throttling writes)"
            self.last_error = error
            attempt += 1
            delay = self._delay(attempt)
            if time.monotonic() + delay >= deadline:
                log.error("giving up on %d records for %s at the deadline: %s", len(pending), self.table_name, error)
                return BatchOutcome(unwritten=len(pending), error=error)
            log.warning("retrying %d records for %s (attempt %d): %s", len(pending), self.table_name, attempt, error)
            self._sleep(delay)

    def _delay(self, attempt: int) -> float:
        """Exponential, capped, and jittered, so parallel batches do not retry in step."""
        ceiling = min(self._max_delay_s, self._base_delay_s * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    def _split(
        self, items: Sequence[dict[str, AttributeValueTypeDef]], exc: ClientError, deadline: float
    ) -> BatchOutcome:
        """DynamoDB refused the whole batch for one bad item: halve it until only that item is lost."""
        if len(items) == 1:
            [item] = items
            log.error(
                "DynamoDB rejected the record of %s at %s, which is lost: %s",
                item.get(HASH_KEY, {}).get("S"),
                item.get(RANGE_KEY, {}).get("S"),
                exc,
            )
            return BatchOutcome(rejected=1)
        middle = len(items) // 2
        return self.write_batch(items[:middle], deadline) + self.write_batch(items[middle:], deadline)

    def _failed(self, count: int, exc: ClientError | BotoCoreError) -> BatchOutcome:
        log.error("writing %d records to %s failed: %s", count, self.table_name, exc)
        return BatchOutcome(unwritten=count, error=str(exc))


class RecordWriter:
    """Collects items from any thread and sends each full batch at once.

    A failed batch does not stop the others: each holds other targets'
    records. :meth:`finish` sends the rest and waits for every batch, but
    never past the deadline, and raises :class:`RecordsNotWrittenError` if any
    record that a retry could store is still unwritten.
    """

    def __init__(self, store: ResultStore, deadline: float) -> None:
        self._store = store
        self._deadline = deadline
        self._lock = threading.Lock()
        self._pending: list[dict[str, AttributeValueTypeDef]] = []
        self._sent: list[tuple[Future[BatchOutcome], int]] = []
        self._count = 0
        self._pool = ThreadPoolExecutor(max_workers=store.parallel_batches, thread_name_prefix="store")

    def submit(self, work: Callable[[], None]) -> Future[None]:
        """Run ``work`` on the writer's threads, beside the batches."""
        return self._pool.submit(work)

    def add(self, item: dict[str, AttributeValueTypeDef]) -> None:
        with self._lock:
            self._count += 1
            self._pending.append(item)
            if len(self._pending) == BATCH_SIZE:
                self._send()

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        self._sent.append((self._pool.submit(self._store.write_batch, batch, self._deadline), len(batch)))

    def finish(self) -> int:
        """Send what is left and wait for every batch until the deadline; returns how many records were stored."""
        with self._lock:
            if self._pending:
                self._send()
            sent, count = list(self._sent), self._count
        outcome = BatchOutcome()
        for future, size in sent:
            try:
                outcome += future.result(timeout=max(0.0, self._deadline - time.monotonic()))
            except FutureTimeoutError:
                # The invocation's time is up: stop waiting, so the handler can still
                # fail the invocation and Lambda retry it.
                retrying = self._store.last_error
                error = f"still retrying at the deadline: {retrying}" if retrying else "no answer before the deadline"
                outcome += BatchOutcome(unwritten=size, error=error)
        # Threads still blocked in a call are left behind; none is waited for.
        self._pool.shutdown(wait=False, cancel_futures=True)
        problems = []
        if outcome.unwritten:
            table = self._store.table_name
            problems.append(f"{outcome.unwritten} of {count} records were not written to {table}: {outcome.error}")
        if outcome.rejected:
            # Each was logged, and the rest of its batch stored. Still a failure: a table
            # whose schema refuses every record must not pass for a quiet success.
            problems.append(f"{outcome.rejected} of {count} records were rejected by DynamoDB as invalid")
        if problems:
            message = "; ".join(problems)
            log.error("%s", message)
            raise RecordsNotWrittenError(message, outcome.unwritten + outcome.rejected)
        return count


class RunWriter:
    """One run's records: a failure item as each check that did not pass ends, the run item(s) at the end.

    The roster is stored (once per process) while the checks run. ``finish``
    writes the run item of each part of the roster and waits for everything,
    never past the deadline; it raises :class:`RecordsNotWrittenError` if any
    item, or the roster, is still unwritten, so Lambda retries the event, which
    writes the same items again.
    """

    def __init__(
        self,
        store: ResultStore,
        *,
        shard: str,
        region: str,
        timestamp: str,
        roster: Roster,
        deadline: float,
        retention_days: int | None = None,
    ) -> None:
        self._store = store
        self._region = region
        self._timestamp = timestamp
        self._deadline = deadline
        self._retention_days = retention_days
        self.parts = split_roster(shard, roster)
        self._where = {
            name: (part, position)
            for part, (_, piece) in enumerate(self.parts)
            for position, name in enumerate(piece.names)
        }
        self._entries = [[Entry(checked=False)] * len(piece.targets) for _, piece in self.parts]
        self._lock = threading.Lock()
        self._writer = store.writer(deadline)
        self._rosters = self._writer.submit(self._store_rosters)

    def _store_rosters(self) -> None:
        for shard, piece in self.parts:
            self._store.store_roster(shard, piece, self._timestamp, self._deadline)

    def record(self, result: CheckResult) -> None:
        """Keep ``result``'s entry for the run item; send its failure item now if it did not pass."""
        entry = Entry.of(result)
        where = self._where.get(result.name)
        if where is None:
            log.error("a result of %s, which is not in the run's roster, has no place in its run item", result.name)
        else:
            part, position = where
            with self._lock:
                self._entries[part][position] = entry
        if entry.needs_details or where is None:
            self._writer.add(to_item(result, self._timestamp, region=self._region, retention_days=self._retention_days))

    def finish(self, *, canary_answered: bool = True) -> int:
        """Write the run item(s) and wait for every write; returns the items stored."""
        problem: str | None = None
        try:
            self._rosters.result(timeout=max(0.0, self._deadline - time.monotonic()))
        except FutureTimeoutError:
            problem = "no answer before the deadline"
        except (ClientError, BotoCoreError) as exc:
            problem = str(exc)
        with self._lock:
            entries = [list(part) for part in self._entries]
        for (shard, piece), part in zip(self.parts, entries, strict=True):
            # Written even without its roster: the event's retry stores the roster, and this item reads then.
            self._writer.add(
                run_item(
                    shard,
                    self._timestamp,
                    self._region,
                    piece,
                    part,
                    canary_answered=canary_answered,
                    retention_days=self._retention_days,
                )
            )
        try:
            stored = self._writer.finish()
        except RecordsNotWrittenError as exc:
            if problem is None:
                raise
            message = f"{exc}; the roster was not written to {self._store.table_name}: {problem}"
            log.error("%s", message)
            raise RecordsNotWrittenError(message, exc.unwritten + len(self.parts)) from exc
        if problem is not None:
            message = f"the roster was not written to {self._store.table_name}: {problem}"
            log.error("%s", message)
            raise RecordsNotWrittenError(message, len(self.parts))
        return stored
