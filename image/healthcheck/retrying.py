"""One AWS call, retried with jittered, capped backoff until a deadline (state and rollup reads and writes).

Clients are built with one attempt per call (:data:`CLIENT_CONFIG`), so the
invocation's deadline, not botocore's attempt count, decides when to give up.
Only calls that are safe to repeat come here (reads, conditional writes): an
SNS publish is not (see notify.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from .text import clip

__all__ = [
    "CLIENT_CONFIG",
    "RETRYABLE_CODES",
    "UnreadableResponseError",
    "call_aws",
    "error_code",
    "retry_until",
    "retryable",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Explicit, because the boto3 inside the Lambda base image may default otherwise.
# One attempt per call: the caller retries (here), against the invocation's deadline.
CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=5,
)

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


class UnreadableResponseError(BotoCoreError):
    """An answer botocore could not turn into a response: garbled, cut off, or of the wrong shape.

    botocore raises its ``ResponseParserError`` for these, or, for JSON of an
    unexpected shape, a plain ``AttributeError``, ``TypeError`` or
    ``UnicodeDecodeError``: none of them a ``BotoCoreError``. Raised as one, it
    is handled wherever a failed AWS call is.
    """

    fmt = "the answer to {what} could not be read: {error}"


def call_aws(call: Callable[[], T], what: str) -> T:
    """``call()``, one AWS request, with any failure to read its answer raised as UnreadableResponseError."""
    try:
        return call()
    except (ClientError, BotoCoreError):
        raise
    except Exception as exc:  # whatever botocore raises on bytes off the network is the call's failure
        raise UnreadableResponseError(what=what, error=f"{type(exc).__name__}: {clip(str(exc), 300)}") from exc


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def retryable(exc: ClientError | BotoCoreError) -> bool:
    """A throttle, a 5xx, a lost, refused or timed-out connection, or an answer garbled: worth another attempt."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in RETRYABLE_CODES or status >= 500
    return isinstance(exc, BotoConnectionError | HTTPClientError | UnreadableResponseError)


def retry_until(call: Callable[[], T], deadline: float, what: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, retried while it fails for a passing reason and time remains; re-raises the last error.

    Every failure of the call is a ClientError or a BotoCoreError (see UnreadableResponseError).
    """
    attempt = 0
    while True:
        try:
            return call_aws(call, what)
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
