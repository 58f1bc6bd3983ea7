"""The only module that speaks SNS: publish one digest message, and say whether it went out.

A publish is not safe to repeat: SNS may have taken a message whose answer
never came back (a read timeout, a connection cut mid-answer, a garbled
answer, a 5xx from SNS or a gateway in front of it), and a second Publish
is a second copy for every subscriber. So a publish is retried only when
it certainly went nowhere: SNS refused it (a 4xx, throttling included) or
was never reached. Anything else is "maybe sent", and never tried again here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError

from ..retrying import BASE_DELAY_S, CLIENT_CONFIG, MAX_DELAY_S, UnreadableResponseError, call_aws, retryable
from .messages import Message

__all__ = ["ATTEMPT_S", "Notifier", "Published", "SnsPublisher"]

log = logging.getLogger(__name__)

# The longest one Publish can take (connect, then read: CLIENT_CONFIG's timeouts). No
# attempt starts unless it can end by the deadline, which is when this run's claim on
# the alerts expires: a publish never outlives the claim that lets this run send them.
ATTEMPT_S: Final[float] = float(CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout)  # type: ignore[attr-defined]

Outcome = Literal["sent", "not sent", "maybe sent"]


class SnsPublisher(Protocol):
    """The part of boto3's SNS client used here."""

    def publish(self, *, TopicArn: str, Message: str, Subject: str, MessageStructure: str) -> object: ...  # noqa: N803


@dataclass(frozen=True, slots=True)
class Published:
    outcome: Outcome
    error: str = ""
    """Why it is not "sent": the last error, or why no attempt was made."""


def _went_nowhere(exc: ClientError | BotoCoreError) -> bool:
    """Whether SNS certainly did not take the message: it refused it, or the request never reached it."""
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)) < 500
    # The other BotoCoreErrors are raised before the request is sent (no connection, no
    # credentials, a parameter botocore refused); these are raised once it was.
    return not isinstance(exc, HTTPClientError | UnreadableResponseError)


class Notifier:
    def __init__(self, client: SnsPublisher, topic_arn: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self.topic_arn = topic_arn
        self._sleep = sleep
        self.calls = 0
        """Publish calls made, for the benchmark's per-run count."""

    def publish(self, message: Message, deadline: float) -> Published:
        """Publish ``message``; again only while SNS refuses it for a passing reason and an attempt fits in time."""

        def call() -> object:
            self.calls += 1
            return self._client.publish(
                TopicArn=self.topic_arn, Message=message.structured, Subject=message.subject, MessageStructure="json"
            )

        attempt, last = 0, ""
        while True:
            if time.monotonic() + ATTEMPT_S > deadline:
                error = f"no time left before the deadline for an attempt of {ATTEMPT_S:.0f} s"
                return Published("not sent", f"{error} (last: {last})" if last else error)
            try:
                call_aws(call, f"publishing {message.subject}")
            except (ClientError, BotoCoreError) as exc:
                if not _went_nowhere(exc):
                    return Published("maybe sent", str(exc))
                if not retryable(exc):
                    return Published("not sent", str(exc))
                last = str(exc)
                attempt += 1
                ceiling = min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt)
                log.warning("publishing %s again (attempt %d): %s", message.subject, attempt + 1, exc)
                self._sleep(random.uniform(ceiling / 2, ceiling))
                continue
            log.info("published %s (%d targets)", message.subject, len(message.alerts))
            return Published("sent")
