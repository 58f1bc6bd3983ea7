"""The only module that speaks DynamoDB: check records, written in batches.

boto3's ``batch_writer`` resends unprocessed items at once, with no backoff
and no limit; a throttled table needs both, so batching is done here. A
:class:`RecordWriter` sends each batch as soon as it is full, so the records
of fast targets are stored while slow ones are still being checked.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import RecordsNotWrittenError
from .probe import CheckResult

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestOutputTypeDef

__all__ = ["BATCH_SIZE", "CLIENT_CONFIG", "HASH_KEY", "RANGE_KEY", "RecordWriter", "ResultStore", "to_item"]

log = logging.getLogger(__name__)

HASH_KEY: Final = "Id"
RANGE_KEY: Final = "Timestamp"
BATCH_SIZE: Final = 25  # BatchWriteItem's limit

# Explicit, because the boto3 inside the Lambda base image may default otherwise.
CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
)


def to_item(result: CheckResult, timestamp: str) -> dict[str, AttributeValueTypeDef]:
    """The record schema of DESIGN.md: keys ``Id``/``Timestamp``; ``Status`` and ``Error`` only when known."""
    item: dict[str, AttributeValueTypeDef] = {
        HASH_KEY: {"S": result.name},
        RANGE_KEY: {"S": timestamp},
        "Url": {"S": result.url},
        "Success": {"BOOL": result.success},
        "Duration": {"N": str(result.duration_ms)},
    }
    if result.status is not None:
        item["Status"] = {"N": str(result.status)}
    if result.error is not None:
        item["Error"] = {"S": result.error}
    return item


class ResultStore:
    """Writes items to one table; raises :class:`RecordsNotWrittenError` only after trying every batch."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        max_attempts: int = 8,
        base_delay_s: float = 0.05,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        parallel_batches: int = 8,
    ) -> None:
        self._client = client
        self.table_name = table_name
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self.parallel_batches = parallel_batches

    def writer(self) -> RecordWriter:
        """A writer that sends batches while more items arrive; call ``finish`` once."""
        return RecordWriter(self)

    def write(self, items: Sequence[dict[str, AttributeValueTypeDef]]) -> int:
        """Write every item (batches in parallel); returns how many were written."""
        writer = self.writer()
        for item in items:
            writer.add(item)
        return writer.finish()

    def write_batch_reporting(
        self, batch: Sequence[dict[str, AttributeValueTypeDef]]
    ) -> tuple[int, ClientError | BotoCoreError | None]:
        """Write one batch; a failure is returned (how many were left, and why), not raised."""
        try:
            return self._write_batch(batch), None
        except (ClientError, BotoCoreError) as exc:
            log.error("writing %d records to %s failed: %s", len(batch), self.table_name, exc)
            return len(batch), exc

    def _write_batch(self, batch: Sequence[dict[str, AttributeValueTypeDef]]) -> int:
        """Write one batch, retrying unprocessed items with jittered backoff; returns how many were left."""
        pending: Sequence[WriteRequestOutputTypeDef] = [{"PutRequest": {"Item": item}} for item in batch]
        for attempt in range(self._max_attempts):
            if attempt:
                delay = min(self._max_delay_s, self._base_delay_s * 2**attempt)
                self._sleep(random.uniform(delay / 2, delay))
            response = self._client.batch_write_item(RequestItems={self.table_name: pending})
            pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
            if not pending:
                return 0
            log.warning("%d records unprocessed by %s (attempt %d)", len(pending), self.table_name, attempt + 1)
        return len(pending)


class RecordWriter:
    """Collects items from any thread and sends each full batch at once.

    A failed batch does not stop the others: each holds other targets'
    records. :meth:`finish` sends the rest, waits for every batch, and raises
    :class:`RecordsNotWrittenError` if any record is still unwritten.
    """

    def __init__(self, store: ResultStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._pending: list[dict[str, AttributeValueTypeDef]] = []
        self._sent: list[Future[tuple[int, ClientError | BotoCoreError | None]]] = []
        self._count = 0
        self._pool = ThreadPoolExecutor(max_workers=store.parallel_batches, thread_name_prefix="store")

    def add(self, item: dict[str, AttributeValueTypeDef]) -> None:
        with self._lock:
            self._count += 1
            self._pending.append(item)
            if len(self._pending) == BATCH_SIZE:
                self._send()

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        self._sent.append(self._pool.submit(self._store.write_batch_reporting, batch))

    def finish(self) -> int:
        """Send what is left and wait for every batch; returns how many records were written."""
        with self._lock:
            if self._pending:
                self._send()
            sent, count = list(self._sent), self._count
        try:
            outcomes = [future.result() for future in sent]
        finally:
            self._pool.shutdown(wait=True)
        unwritten = sum(left for left, _ in outcomes)
        first_error = next((error for _, error in outcomes if error is not None), None)
        if unwritten:
            reason = f": {first_error}" if first_error else " after retrying unprocessed items"
            raise RecordsNotWrittenError(
                f"{unwritten} of {count} records were not written to {self._store.table_name}{reason}", unwritten
            ) from first_error
        return count
