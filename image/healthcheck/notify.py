"""The only module that speaks SNS: publish one digest message, retried until the deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from .alerts import Message
from .retrying import retry_until

__all__ = ["Notifier", "SnsPublisher"]

log = logging.getLogger(__name__)


class SnsPublisher(Protocol):
    """The part of boto3's SNS client used here."""

    def publish(self, *, TopicArn: str, Message: str, Subject: str, MessageStructure: str) -> object: ...  # noqa: N803


class Notifier:
    def __init__(self, client: SnsPublisher, topic_arn: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self.topic_arn = topic_arn
        self._sleep = sleep
        self.calls = 0
        """Publish calls made, for the benchmark's per-run count."""

    def publish(self, message: Message, deadline: float) -> None:
        """Publish ``message``; raises botocore's error if it still fails at the deadline."""

        def call() -> object:
            self.calls += 1
            return self._client.publish(
                TopicArn=self.topic_arn, Message=message.structured, Subject=message.subject, MessageStructure="json"
            )

        retry_until(call, deadline, f"publishing {message.subject}", self._sleep)
        log.info("published %s (%d targets)", message.subject, len(message.alerts))
