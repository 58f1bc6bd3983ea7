"""One AWS call, retried with jittered, capped backoff until a deadline (state reads/writes, SNS publishes).

Clients are built with one attempt per call (``store.CLIENT_CONFIG``), so the
invocation's deadline, not botocore's attempt count, decides when to give up.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

__all__ = ["RETRYABLE_CODES", "error_code", "retry_until", "retryable"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Worth another attempt: the service is busy, or had a passing fault.
RETRYABLE_CODES: Final = frozenset(
    {
        # DynamoDB
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ReplicatedWriteConflictException",
        # SNS
        "Throttled",
        "Throttling",
        "InternalError",
        "KMSThrottling",
    }
)
BASE_DELAY_S: Final = 0.05
MAX_DELAY_S: Final = 2.0


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def retryable(exc: ClientError | BotoCoreError) -> bool:
    """A throttle, a 5xx, or a lost, refused or timed-out connection: worth another attempt."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in RETRYABLE_CODES or status >= 500
    return isinstance(exc, BotoConnectionError | HTTPClientError)


def retry_until(call: Callable[[], T], deadline: float, what: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, retried while it fails for a passing reason and time remains; re-raises the last error."""
    attempt = 0
    while True:
        try:
            return call()
        except (ClientError, BotoCoreError) as exc:
            if not retryable(exc):
                raise
            attempt += 1
            ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt)
            delay = random.uniform(ceiling / 2, ceiling)
            if time.monotonic() + delay >= deadline:
                raise
            log.warning("retrying %s (attempt %d): %s", what, attempt, exc)
            sleep(delay)
