"""alertEmails and alertSubscriptions: what SNS would take and deliver passes; each mistake is named."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.subscriptions import Subscription, SubscriptionError, check_emails, check_subscriptions

ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("raw", "checked"),
    [
        (None, ()),
        ([], ()),
        (["ops@example.com"], (Subscription("email", "ops@example.com"),)),
        (["first.last+alerts@mail.example.co.uk"], (Subscription("email", "first.last+alerts@mail.example.co.uk"),)),
        (
            ["a@example.com", "A@example.com"],
            (Subscription("email", "a@example.com"), Subscription("email", "A@example.com")),
        ),
    ],
    ids=["absent", "empty", "one", "plus-and-subdomains", "case-differs"],
)
def test_emails_sns_accepts_pass(raw: object, checked: tuple[Subscription, ...]) -> None:
    assert check_emails(raw) == checked


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ops@example.com", r"^healthcheck:alertEmails must be a list, got str$"),
        (["ops"], r"^healthcheck:alertEmails\[0\] 'ops' is not an email address \(name@example.com\)$"),
        (["ok@example.com", "ops@localhost"], r"^healthcheck:alertEmails\[1\] 'ops@localhost' is not an email"),
        (["ops @example.com"], r"^healthcheck:alertEmails\[0\] 'ops @example.com' is not an email"),
        (["ops@example..com"], r"is not an email"),
        (["a@b@example.com"], r"is not an email"),
        ([42], r"^healthcheck:alertEmails\[0\] 42 is not an email"),
        (["x" * 243 + "@example.com"], r"^healthcheck:alertEmails\[0\] is longer than 254 characters$"),
        (
            ["ops@example.com", "ops@example.com"],
            r"^healthcheck:alertEmails\[1\] 'ops@example.com' repeats entry 0$",
        ),
    ],
    ids=["not-a-list", "no-domain", "no-dot", "space", "empty-label", "two-ats", "number", "255-chars", "repeated"],
)
def test_email_mistakes_are_named(raw: object, message: str) -> None:
    with pytest.raises(SubscriptionError, match=message):
        check_emails(raw)


def test_an_address_of_254_characters_passes() -> None:
    address = "x" * 242 + "@example.com"
    assert len(address) == 254
    assert check_emails([address]) == (Subscription("email", address),)


GOOD = [
    {"protocol": "https", "endpoint": "https://hooks.example.com/alerts?team=ops"},
    {"protocol": "sqs", "endpoint": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:alerts"},
    {"protocol": "sqs", "endpoint": f"arn:aws-us-gov:sqs:us-gov-west-1:{ACCOUNT}:a_b-c"},
    {"protocol": "lambda", "endpoint": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:on-alert"},
    {"protocol": "lambda", "endpoint": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:on-alert:live"},
]


def test_subscriptions_sns_accepts_pass_in_order() -> None:
    assert check_subscriptions(GOOD) == tuple(Subscription(s["protocol"], s["endpoint"]) for s in GOOD)
    assert check_subscriptions(None) == ()


BAD = [
    ("not-a-list", {"protocol": "sqs"}, r"^healthcheck:alertSubscriptions must be a list, got dict$"),
    ("not-an-object", ["https://x.example/"], r"^healthcheck:alertSubscriptions\[0\] must be an object \{protocol"),
    (
        "unknown-field",
        [{"protocol": "sqs", "endpoint": "x", "rawMessage": True}],
        r"^healthcheck:alertSubscriptions\[0\]: unknown field\(s\) 'rawMessage' \(known: protocol, endpoint\)$",
    ),
    (
        "email-here",
        [{"protocol": "email", "endpoint": "ops@example.com"}],
        r"^healthcheck:alertSubscriptions\[0\]: list email addresses under healthcheck:alertEmails$",
    ),
    (
        "sms",
        [{"protocol": "sms", "endpoint": "+15555550100"}],
        r"^healthcheck:alertSubscriptions\[0\]: protocol 'sms' must be one of https, sqs, lambda$",
    ),
    (
        "no-protocol",
        [{"endpoint": "https://x.example/"}],
        r"^healthcheck:alertSubscriptions\[0\]: protocol None must be one of https, sqs, lambda$",
    ),
    (
        "no-endpoint",
        [{"protocol": "https"}],
        r"^healthcheck:alertSubscriptions\[0\]: 'endpoint' is required and must be a non-empty string$",
    ),
    (
        "http",
        [{"protocol": "https", "endpoint": "http://hooks.example.com/"}],
        r"^healthcheck:alertSubscriptions\[0\]: endpoint 'http://hooks.example.com/' must start with https://$",
    ),
    (
        "slack-webhook",  # it can't confirm the subscription: nothing would ever arrive
        [{"protocol": "https", "endpoint": "https://hooks.slack.com/services/T000/B000/XXXX"}],
        (
            r"^healthcheck:alertSubscriptions\[0\]: hooks.slack.com is a chat service's incoming webhook, which can't "
            r"confirm an SNS subscription, so nothing would be delivered: for Slack or Teams add the topic to Amazon Q"
        ),
    ),
    (
        "discord-webhook",
        [{"protocol": "https", "endpoint": "https://discord.com/api/webhooks/1/abc"}],
        r"discord.com is a chat service's incoming webhook",
    ),
    (
        "teams-webhook",
        [{"protocol": "https", "endpoint": "https://contoso.webhook.office.com/webhookb2/x"}],
        r"contoso.webhook.office.com is a chat service's incoming webhook",
    ),
    (
        "https-no-host",
        [{"protocol": "https", "endpoint": "https:///alerts"}],
        r"^healthcheck:alertSubscriptions\[0\]: endpoint 'https:///alerts' has no host$",
    ),
    (
        "https-password",
        [{"protocol": "https", "endpoint": "https://u:secret@hooks.example.com/"}],
        r"^healthcheck:alertSubscriptions\[0\]: endpoint 'https://\*\*\*@hooks.example.com/' carries",
    ),
    (
        "sqs-url-not-arn",
        [{"protocol": "sqs", "endpoint": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/alerts"}],
        r"^healthcheck:alertSubscriptions\[0\]: endpoint 'https://sqs.*' must be a queue ARN, arn:aws:sqs:",
    ),
    (
        "sqs-short-account",
        [{"protocol": "sqs", "endpoint": "arn:aws:sqs:us-east-1:1234:alerts"}],
        r"must be a queue ARN",
    ),
    (
        "sqs-fifo",
        [{"protocol": "sqs", "endpoint": f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts.fifo"}],
        r"is a FIFO queue; the alert topic is a standard one$",
    ),
    (
        "lambda-name-only",
        [{"protocol": "lambda", "endpoint": "on-alert"}],
        r"^healthcheck:alertSubscriptions\[0\]: endpoint 'on-alert' must be a function ARN, arn:aws:lambda:",
    ),
    (
        "lambda-is-a-queue",
        [{"protocol": "lambda", "endpoint": f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts"}],
        r"must be a function ARN",
    ),
    (
        "repeated",
        [GOOD[1], GOOD[0], GOOD[1]],
        r"^healthcheck:alertSubscriptions\[2\] 'arn:aws:sqs:eu-west-1:123456789012:alerts' repeats entry 0$",
    ),
]


@pytest.mark.parametrize(("raw", "message"), [(r, m) for _, r, m in BAD], ids=[i for i, _, _ in BAD])
def test_subscription_mistakes_are_named(raw: object, message: str) -> None:
    with pytest.raises(SubscriptionError, match=message):
        check_subscriptions(raw)


def test_keys_are_stable_short_and_distinct_per_protocol_and_endpoint() -> None:
    one = Subscription("email", "ops@example.com")
    assert one.key == Subscription("email", "ops@example.com").key
    assert one.key.startswith("email-")
    assert len(one.key) == len("email-") + 10
    assert one.key != Subscription("email", "oncall@example.com").key
    assert Subscription("https", "https://x.example/").key != Subscription("sqs", "https://x.example/").key


@pytest.mark.parametrize(
    ("check", "raw", "messages"),
    [
        (
            check_emails,
            ["ops@example", "also-bad"],
            (
                "healthcheck:alertEmails[0] 'ops@example' is not an email address (name@example.com)",
                "healthcheck:alertEmails[1] 'also-bad' is not an email address (name@example.com)",
            ),
        ),
        (
            check_subscriptions,
            [{"protocol": "email", "endpoint": "ops@example.com"}, {"protocol": "ftp", "endpoint": "x"}],
            (
                "healthcheck:alertSubscriptions[0]: list email addresses under healthcheck:alertEmails",
                "healthcheck:alertSubscriptions[1]: protocol 'ftp' must be one of https, sqs, lambda",
            ),
        ),
    ],
    ids=["emails", "subscriptions"],
)
def test_every_wrong_entry_is_named_not_only_the_first(
    check: Callable[[object], tuple[Subscription, ...]], raw: object, messages: tuple[str, ...]
) -> None:
    # Found by a fresh-clone trial: check-config named [0] only, and [1] surfaced once [0] was fixed.
    with pytest.raises(SubscriptionError) as refused:
        check(raw)
    assert refused.value.messages == messages
