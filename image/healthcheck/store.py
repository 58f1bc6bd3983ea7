"""The only module that speaks DynamoDB: check records, written in batches.

boto3's ``batch_writer`` resends unprocessed items at once, with no backoff
and no limit; a throttled table needs both, so batching is done here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import RecordsNotWrittenError
from .probe import CheckResult

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestOutputTypeDef

__all__ = ["BATCH_SIZE", "CLIENT_CONFIG", "HASH_KEY", "RANGE_KEY", "ResultStore", "to_item"]

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
        self._table = table_name
        self._max_attempts = max_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self._parallel_batches = parallel_batches

    def write(self, items: Sequence[dict[str, AttributeValueTypeDef]]) -> int:
        """Write every item, batches in parallel; returns how many were written.

        A failed batch does not stop the others: each holds other targets' records.
        """
        batches = [items[start : start + BATCH_SIZE] for start in range(0, len(items), BATCH_SIZE)]
        if not batches:
            return 0
        with ThreadPoolExecutor(max_workers=min(self._parallel_batches, len(batches))) as pool:
            outcomes = list(pool.map(self._write_batch_reporting, batches))
        unwritten = sum(left for left, _ in outcomes)
        first_error = next((error for _, error in outcomes if error is not None), None)
        if unwritten:
            reason = f": {first_error}" if first_error else " after retrying unprocessed items"
            raise RecordsNotWrittenError(
                f"{unwritten} of {len(items)} records were not written to {self._table}{reason}", unwritten
            ) from first_error
        return len(items)

    def _write_batch_reporting(
        self, batch: Sequence[dict[str, AttributeValueTypeDef]]
    ) -> tuple[int, ClientError | BotoCoreError | None]:
        try:
            return self._write_batch(batch), None
        except (ClientError, BotoCoreError) as exc:
            log.error("writing %d records to %s failed: %s", len(batch), self._table, exc)
            return len(batch), exc

    def _write_batch(self, batch: Sequence[dict[str, AttributeValueTypeDef]]) -> int:
        """Write one batch, retrying unprocessed items with jittered backoff; returns how many were left."""
        pending: Sequence[WriteRequestOutputTypeDef] = [{"PutRequest": {"Item": item}} for item in batch]
        for attempt in range(self._max_attempts):
            if attempt:
                delay = min(self._max_delay_s, self._base_delay_s * 2**attempt)
                self._sleep(random.uniform(delay / 2, delay))
            response = self._client.batch_write_item(RequestItems={self._table: pending})
            pending = response.get("UnprocessedItems", {}).get(self._table, [])
            if not pending:
                return 0
            log.warning("%d records unprocessed by %s (attempt %d)", len(pending), self._table, attempt + 1)
        return len(pending)
