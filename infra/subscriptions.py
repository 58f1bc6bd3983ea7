"""Who hears the alerts: ``alertEmails`` and ``alertSubscriptions``, validated for `pulumi preview`.

SNS accepts a subscription with a mistyped endpoint and then delivers
nothing; a FIFO queue can never subscribe to our standard topic. Each such
mistake fails here, naming the key and the entry, instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from healthcheck.check.targets import check_config_url
from healthcheck.exceptions import HealthcheckError
from healthcheck.text import show

__all__ = [
    "PROTOCOLS",
    "Subscription",
    "SubscriptionError",
    "check_emails",
    "check_subscriptions",
]

PROTOCOLS = ("https", "sqs", "lambda")
# RFC 5321 caps a forward-path at 256 octets, so an address at 254.
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PARTITION = r"aws(-[a-z]+)*"
_REGION = r"[a-z]{2}(-[a-z]+)+-[0-9]"
_SQS_ARN = re.compile(rf"^arn:{_PARTITION}:sqs:{_REGION}:[0-9]{{12}}:(?P<queue>[A-Za-z0-9_-]{{1,80}}(\.fifo)?)$")
_LAMBDA_ARN = re.compile(
    rf"^arn:{_PARTITION}:lambda:{_REGION}:[0-9]{{12}}:function:[A-Za-z0-9_-]{{1,64}}(:[A-Za-z0-9_$-]{{1,128}})?$"
)
_FIELDS = ("protocol", "endpoint")
# Chat services' incoming webhooks: they take a message, never SNS's SubscriptionConfirmation, so a
# subscription to one stays pending and delivers nothing. (host, path prefix)
_CHAT_WEBHOOKS = (
    ("hooks.slack.com", "/"),
    ("discord.com", "/api/webhooks/"),
    ("discordapp.com", "/api/webhooks/"),
    ("outlook.office.com", "/webhook"),
    ("chat.googleapis.com", "/"),
    ("api.telegram.org", "/"),
)
_TEAMS_WEBHOOK_SUFFIX = ".webhook.office.com"
# The targets' messages name their field; here the endpoint is the field.
_URL_FIELD = "'url' "


class SubscriptionError(HealthcheckError, ValueError):
    """Alert recipients SNS would refuse or never deliver to; one message per entry, each naming its key and index."""

    def __init__(self, message: str, *more: str) -> None:
        super().__init__("\n".join((message, *more)))
        self.messages: tuple[str, ...] = (message, *more)


@dataclass(frozen=True, slots=True)
class Subscription:
    protocol: str
    endpoint: str

    @property
    def key(self) -> str:
        """A short stable id for the resource name: reordering the list replaces no subscription.

        (A replaced email subscription has to be confirmed again.)
        """
        digest = hashlib.sha256(f"{self.protocol}:{self.endpoint}".encode()).hexdigest()
        return f"{self.protocol}-{digest[:10]}"


def _email(index: int, address: object) -> Subscription:
    where = f"healthcheck:alertEmails[{index}]"
    if not isinstance(address, str) or not _EMAIL.match(address):
        raise SubscriptionError(f"{where} {show(address)} is not an email address (name@example.com)")
    if len(address) > MAX_EMAIL_LENGTH:
        raise SubscriptionError(f"{where} is longer than {MAX_EMAIL_LENGTH} characters")
    return Subscription("email", address)


def _endpoint(where: str, protocol: str, endpoint: str) -> str:
    if protocol == "https":
        if not endpoint.lower().startswith("https://"):
            raise SubscriptionError(f"{where}: endpoint {show(endpoint)} must start with https://")
        try:
            check_config_url(endpoint)  # the targets' own URL rules, and no password
        except HealthcheckError as exc:
            raise SubscriptionError(f"{where}: endpoint {str(exc).removeprefix(_URL_FIELD)}") from exc
        _refuse_chat_webhook(where, endpoint)
        return endpoint
    if protocol == "sqs":
        queue = _SQS_ARN.match(endpoint)
        if queue is None:
            raise SubscriptionError(
                f"{where}: endpoint {show(endpoint)} must be a queue ARN, arn:aws:sqs:<region>:<account>:<queue>"
            )
        if queue["queue"].endswith(".fifo"):
            raise SubscriptionError(f"{where}: {show(endpoint)} is a FIFO queue; the alert topic is a standard one")
        return endpoint
    if _LAMBDA_ARN.match(endpoint) is None:
        raise SubscriptionError(
            f"{where}: endpoint {show(endpoint)} must be a function ARN, "
            "arn:aws:lambda:<region>:<account>:function:<name>"
        )
    return endpoint


def _refuse_chat_webhook(where: str, endpoint: str) -> None:
    parts = urlsplit(endpoint)
    host, path = (parts.hostname or "").lower(), parts.path
    if host.endswith(_TEAMS_WEBHOOK_SUFFIX) or any(
        host == known and path.startswith(prefix) for known, prefix in _CHAT_WEBHOOKS
    ):
        raise SubscriptionError(
            f"{where}: {host} is a chat service's incoming webhook, which can't confirm an SNS subscription, so "
            "nothing would be delivered: for Slack or Teams add the topic to Amazon Q Developer in chat "
            "applications (see the README's Alert recipients); else subscribe a Lambda function that posts there"
        )


def _subscription(index: int, raw: object) -> Subscription:
    where = f"healthcheck:alertSubscriptions[{index}]"
    if not isinstance(raw, dict):
        raise SubscriptionError(f"{where} must be an object {{protocol, endpoint}}, got {type(raw).__name__}")
    unknown = sorted(show(key) for key in raw if key not in _FIELDS)
    if unknown:
        raise SubscriptionError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(_FIELDS)})")
    protocol, endpoint = raw.get("protocol"), raw.get("endpoint")
    if protocol == "email":
        raise SubscriptionError(f"{where}: list email addresses under healthcheck:alertEmails")
    if not isinstance(protocol, str) or protocol not in PROTOCOLS:
        raise SubscriptionError(f"{where}: protocol {show(protocol)} must be one of {', '.join(PROTOCOLS)}")
    if not isinstance(endpoint, str) or not endpoint:
        raise SubscriptionError(f"{where}: 'endpoint' is required and must be a non-empty string")
    return Subscription(protocol, _endpoint(where, protocol, endpoint))


def _unique(key: str, subscriptions: list[Subscription]) -> tuple[Subscription, ...]:
    seen: dict[Subscription, int] = {}
    for index, subscription in enumerate(subscriptions):
        if subscription in seen:
            raise SubscriptionError(
                f"healthcheck:{key}[{index}] {show(subscription.endpoint)} repeats entry {seen[subscription]}"
            )
        seen[subscription] = index
    return tuple(subscriptions)


def _entries(key: str, raw: object) -> list[object]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SubscriptionError(f"healthcheck:{key} must be a list, got {type(raw).__name__}")
    return raw


def check_emails(raw: object) -> tuple[Subscription, ...]:
    """``alertEmails``: a list of addresses, each subscribed with protocol ``email``."""
    return _unique("alertEmails", _each("alertEmails", raw, _email))


def check_subscriptions(raw: object) -> tuple[Subscription, ...]:
    """``alertSubscriptions``: a list of ``{protocol: https|sqs|lambda, endpoint}``."""
    return _unique("alertSubscriptions", _each("alertSubscriptions", raw, _subscription))


def _each(key: str, raw: object, parse: Callable[[int, object], Subscription]) -> list[Subscription]:
    """Every entry parsed, or one error naming every entry that is wrong (not only the first)."""
    parsed: list[Subscription] = []
    errors: list[str] = []
    for index, entry in enumerate(_entries(key, raw)):
        try:
            parsed.append(parse(index, entry))
        except SubscriptionError as exc:
            errors.extend(exc.messages)
    if errors:
        raise SubscriptionError(*errors)
    return parsed
