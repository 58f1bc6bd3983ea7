"""Stack settings: every value Scheduler, Lambda or CloudWatch would refuse fails here, naming its key."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra.settings import SettingsError, StackSettings, check_schedule, unknown_key_errors

TARGETS = [{"name": "example", "url": "https://example.com/"}]


def settings(**values: Any) -> StackSettings:
    return StackSettings.from_values(targets=values.pop("targets", TARGETS), **values)


def test_defaults_are_the_promised_ones() -> None:
    chosen = settings()
    assert (chosen.schedule, chosen.memory_size, chosen.timeout, chosen.log_retention_days) == (
        "rate(5 minutes)",
        512,
        120,
        30,
    )
    assert (chosen.retention_days, chosen.alert_emails, chosen.alert_subscriptions) == (90, (), ())
    assert (chosen.connectivity_check, chosen.per_target_metrics) == (None, False)
    assert (chosen.log_checks, chosen.point_in_time_recovery) == ("failures", True)
    assert chosen.environment() == {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"}


@pytest.mark.parametrize(
    ("values", "environment"),
    [
        ({"retention_days": 1}, {"RETENTION_DAYS": "1", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"}),
        (
            {"retention_days": 36500},
            {"RETENTION_DAYS": "36500", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"},
        ),
        (
            {"per_target_metrics": True},
            {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "true", "LOG_CHECKS": "failures"},
        ),
        (
            {"connectivity_check": "http://canary.example.net:8080/ping"},
            {
                "RETENTION_DAYS": "90",
                "PER_TARGET_METRICS": "false",
                "LOG_CHECKS": "failures",
                "CONNECTIVITY_CHECK": "http://canary.example.net:8080/ping",
            },
        ),
        ({"connectivity_check": ""}, {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"}),
        ({"log_checks": "all"}, {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "all"}),
    ],
    ids=[
        "retention-1",
        "retention-36500",
        "per-target-metrics",
        "connectivity-check",
        "connectivity-empty-is-none",
        "log-checks-all",
    ],
)
def test_each_setting_reaches_the_functions_environment(values: dict[str, Any], environment: dict[str, str]) -> None:
    assert settings(**values).environment() == environment


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"retention_days": 0}, r"^healthcheck:retentionDays must be a whole number from 1 to 36500, got 0$"),
        ({"retention_days": 36501}, r"^healthcheck:retentionDays must be a whole number from 1 to 36500, got 36501$"),
        ({"retention_days": True}, r"^healthcheck:retentionDays must be a whole number from 1 to 36500, got True$"),
        (
            {"connectivity_check": "canary.example.net"},
            r"^healthcheck:connectivityCheck 'canary.example.net' must start with http:// or https://$",
        ),
        (
            {"connectivity_check": "https://user:pw@canary.example.net/"},
            r"^healthcheck:connectivityCheck 'https://\*\*\*@canary.example.net/' carries a user name",
        ),
        ({"connectivity_check": "https:///"}, r"^healthcheck:connectivityCheck 'https:///' has no host$"),
        ({"alert_emails": ["not an address"]}, r"^healthcheck:alertEmails\[0\] 'not an address' is not an email"),
        (
            {"alert_subscriptions": [{"protocol": "https", "endpoint": "http://hooks.example.com/"}]},
            r"^healthcheck:alertSubscriptions\[0\]: endpoint 'http://hooks.example.com/' must start with https://$",
        ),
    ],
    ids=[
        "retention-0",
        "retention-36501",
        "retention-true",
        "connectivity-no-scheme",
        "connectivity-password",
        "connectivity-no-host",
        "email",
        "subscription",
    ],
)
def test_new_keys_fail_naming_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"timeout": 0}, r"^healthcheck:timeout must be a whole number from 1 to 900, got 0$"),
        ({"memory_size": 0}, r"^healthcheck:memorySize must be a whole number from 128 to 10240, got 0$"),
        ({"log_retention_days": 0}, r"^healthcheck:logRetentionDays must be one of 1, 3, .*, got 0$"),
        ({"timeout": -5}, "healthcheck:timeout must be a whole number from 1 to 900, got -5"),
        ({"schedule": ""}, "healthcheck:schedule '' must be"),
    ],
    ids=["timeout-0", "memory-0", "retention-0", "timeout-negative", "schedule-empty"],
)
def test_zero_and_empty_are_errors_not_defaults(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**values)


def test_a_settings_error_stops_preview_without_a_traceback() -> None:
    # The Python language host prints a RunError's message alone.
    assert issubclass(SettingsError, pulumi.RunError)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
        "cron(0 12 * * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(*/5 8-17 ? * MON-FRI *)",
        "cron(0 18 L * ? *)",
        "cron(0 9 LW * ? *)",
        "cron(0 9 15W * ? *)",
        "cron(0 9 ? * 6L *)",
        "cron(0 9 ? * 3#2 *)",
        "cron(0 9 ? * mon#1 *)",
        "cron(15 10 ? JAN,APR,JUL,OCT 2 2026-2030)",
        "cron(0 0 1 1/3 ? 1970)",
        "cron(59 23 31 DEC ? 2199)",
        "cron(0,30 6,18 ? * SUN,SAT *)",
        "cron(*/1 * * * ? *)",
        "cron(*/60 * * * ? *)",
        "cron(0 0 */31 * ? *)",
        "cron(0 9 ? * 2#3 *)",
        "cron(0 9 ? * 2#4,2#5 *)",
    ],
)
def test_expressions_scheduler_accepts_pass(expression: str) -> None:
    assert check_schedule(expression) == expression


REFUSED = [
    ("rate(5 minute)", r"write 'rate\(1 minute\)' or 'rate\(5 minutes\)'"),
    ("rate(1 minutes)", r"write 'rate\(1 minute\)'"),
    ("rate(0 minutes)", "must be 'rate"),
    ("rate(5 seconds)", "must be 'rate"),
    ("rate(1.5 hours)", "must be 'rate"),
    ("every 5 minutes", "must be 'rate"),
    ("cron(a b c d e f)", r"minutes 'a' must be 0-59, with , - \* /"),
    ("cron(0 12 * * ?)", "has 5 fields"),
    ("cron(0 12 * * ? * *)", "has 7 fields"),
    ("cron()", "has 0 fields"),
    ("cron(60 12 * * ? *)", "minutes '60' must be 0-59"),
    ("cron(0 24 * * ? *)", "hours '24' must be 0-23"),
    ("cron(0 12 0 * ? *)", "day-of-month '0' must be 1-31"),
    ("cron(0 12 32 * ? *)", "day-of-month '32' must be 1-31"),
    ("cron(0 12 * 13 ? *)", "month '13' must be 1-12 or JAN-DEC"),
    ("cron(0 12 * JANUARY ? *)", "month 'JANUARY' must be"),
    ("cron(0 12 ? * 0 *)", "day-of-week '0' must be 1-7 or SUN-SAT"),
    ("cron(0 12 ? * 8 *)", "day-of-week '8' must be 1-7"),
    ("cron(0 12 ? * MON/2 *)", "day-of-week 'MON/2' must be"),
    ("cron(0 12 ? * 3#6 *)", "day-of-week '3#6' must be"),
    ("cron(0 12 * * ? 1969)", "year '1969' must be 1970-2199"),
    ("cron(0 12 * * ? 2200)", "year '2200' must be 1970-2199"),
    ("cron(0 12 W * ? *)", "day-of-month 'W' must be"),
    ("cron(0 12 * * L *)", r"exactly one of day-of-month \(\*\) and day-of-week \(L\) must be '\?'"),
    ("cron(0 12 * * * *)", "exactly one of day-of-month"),
    ("cron(0 12 ? * ? *)", "exactly one of day-of-month"),
    ("cron(? 12 * * ? *)", "minutes '\\?' must be"),
    ("cron(*/0 * * * ? *)", r"minutes '\*/0' must be"),
    ("cron(*/61 * * * ? *)", r"minutes '\*/61' must be"),
    ("cron(1,,2 * * * ? *)", "minutes '1,,2' must be"),
    ("cron(1-2-3 * * * ? *)", "minutes '1-2-3' must be"),
    ("cron(L * * * ? *)", "minutes 'L' must be"),
    ("cron(*/a * * * ? *)", r"minutes '\*/a' must be"),
    ("cron(0 12 */32 * ? *)", r"day-of-month '\*/32' must be"),
    ("cron(0 12 32W * ? *)", "day-of-month '32W' must be"),
    ("cron(0 12 ? * 10L *)", "day-of-week '10L' must be"),
]


@pytest.mark.parametrize(("expression", "message"), REFUSED, ids=[expression for expression, _ in REFUSED])
def test_expressions_scheduler_refuses_fail_naming_the_key_and_field(expression: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        settings(schedule=expression)
    assert str(caught.value).startswith(f"healthcheck:schedule {expression!r}")


@pytest.mark.parametrize(
    ("keys", "errors"),
    [
        (["healthcheck:targets", "healthcheck:timeout", "aws:region"], []),
        (
            ["healthcheck:alertEmail"],  # issue 14: the deployed stack alerted nobody
            ["healthcheck:alertEmail is not a setting of this project; did you mean 'alertEmails'?"],
        ),
        (
            ["healthcheck:timout"],
            ["healthcheck:timout is not a setting of this project; did you mean 'timeout'?"],
        ),
        (
            ["healthcheck:memorysize", "healthcheck:shedule"],
            [
                "healthcheck:memorysize is not a setting of this project; did you mean 'memorySize'?",
                "healthcheck:shedule is not a setting of this project; did you mean 'schedule'?",
            ],
        ),
        (
            ["healthcheck:colour"],
            [
                (
                    "healthcheck:colour is not a setting of this project; the settings are "
                    "targets, schedule, memorySize, timeout, logRetentionDays, retentionDays, alertEmails, "
                    "alertSubscriptions, connectivityCheck, perTargetMetrics, alerting, maintenance, secretsKmsKeyArn, "
                    "statusPage, statusPageShowUrls, statusPageConcurrency, logChecks, pointInTimeRecovery, "
                    "regions, quorum, alertOnPartial"
                )
            ],
        ),
        (["aws:regoin", "other:timout"], []),
    ],
    ids=["known", "plural-missing", "typo", "case-and-typo", "no-close-match", "other-namespaces"],
)
def test_unknown_keys_in_our_namespace_are_errors_naming_the_closest_known_one(
    keys: list[str], errors: list[str]
) -> None:
    assert unknown_key_errors(keys) == errors


# One mistake per key, each with the message it gets alone: together, every one is named, in this order.
MISTAKES: list[tuple[dict[str, Any], str]] = [
    ({"targets": [{"name": "api", "url": "ftp://api.example/"}]}, "healthcheck:targets: api: 'url' "),
    ({"timeout": 0}, "healthcheck:timeout must be a whole number from 1 to 900, got 0"),
    ({"schedule": "every 5 minutes"}, "healthcheck:schedule 'every 5 minutes' must be"),
    ({"memory_size": 64}, "healthcheck:memorySize must be a whole number from 128 to 10240, got 64"),
    ({"log_retention_days": 10}, "healthcheck:logRetentionDays must be one of 1, 3,"),
    ({"retention_days": 0}, "healthcheck:retentionDays must be a whole number from 1 to 36500, got 0"),
    ({"connectivity_check": "ftp://canary.example/"}, "healthcheck:connectivityCheck 'ftp://canary.example/' must"),
    ({"alert_emails": ["ops@example"]}, "healthcheck:alertEmails[0] 'ops@example' is not an email address"),
    ({"alert_subscriptions": [{"protocol": "sms", "endpoint": "1"}]}, "healthcheck:alertSubscriptions[0]: "),
    ({"alerting": {"failureThreshold": 0}}, "healthcheck:alerting: 'failureThreshold' must be between 1 and 100"),
    ({"maintenance": [{"start": "2am", "duration": "1h"}]}, "healthcheck:maintenance: maintenance[0]: 'start'"),
    ({"secrets_kms_key_arn": "alias/x"}, "healthcheck:secretsKmsKeyArn must be a KMS key's ARN"),
    ({"status_page": "yes please"}, "healthcheck:statusPage must be one of public, iam, off, got 'yes please'"),
    ({"status_page_concurrency": -1}, "healthcheck:statusPageConcurrency must be a whole number from 0 to 1000"),
    ({"log_checks": "none"}, "healthcheck:logChecks must be one of failures, all, got 'none'"),
]


def test_every_mistake_is_named_at_once_in_one_error() -> None:
    # Issue 14: a file with 5 mistakes took 4 rounds of check-config.
    values: dict[str, Any] = {key: value for mistake, _ in MISTAKES for key, value in mistake.items()}
    with pytest.raises(SettingsError) as caught:
        StackSettings.from_values(**values)
    assert len(caught.value.messages) == len(MISTAKES), caught.value.messages
    for message, (_, start) in zip(caught.value.messages, MISTAKES, strict=True):
        assert message.startswith(start), message
    assert str(caught.value) == "\n".join(caught.value.messages)  # what preview prints: one line each


def test_a_credential_in_a_valid_target_is_named_beside_another_targets_mistake() -> None:
    # Found by a fresh-clone trial: the credential surfaced only once the other target was fixed.
    targets = [
        {"name": "head", "url": "https://a.example/", "method": "HEAD", "expect": {"bodyContains": "ok"}},
        {"name": "api", "url": "https://b.example/", "headers": {"Authorization": "Bearer abcdefghijkl"}},
    ]
    with pytest.raises(SettingsError) as caught:
        StackSettings.from_values(targets=targets)
    assert [message.split(":")[:2] for message in caught.value.messages] == [
        ["healthcheck", "targets"],
        ["healthcheck", "targets"],
    ]
    assert "head:" in caught.value.messages[0]
    assert caught.value.messages[1].startswith("healthcheck:targets: api: header 'Authorization' holds a credential")


@pytest.mark.parametrize(("mistake", "start"), MISTAKES, ids=[start.split()[0] for _, start in MISTAKES])
def test_each_mistake_alone_is_the_one_message(mistake: dict[str, Any], start: str) -> None:
    with pytest.raises(SettingsError) as caught:
        StackSettings.from_values(**{"targets": TARGETS, **mistake})
    [message] = caught.value.messages
    assert message.startswith(start)


@pytest.mark.parametrize(
    ("values", "messages"),
    [
        (
            {"timeout": 12, "schedule": "rate(5 minute)"},
            [
                "healthcheck:schedule 'rate(5 minute)': write 'rate(1 minute)' or 'rate(5 minutes)'",
                "healthcheck:timeout 12 s leaves no room for",  # the timeout's minimum, with the others
            ],
        ),
        (
            {"targets": [{"url": "https://a.example/", "timeout": 0}], "timeout": 12},
            ["healthcheck:targets: https://a.example/: 'timeout' must be more than 0 and at most 60 seconds, got 0"],
        ),
        (
            {"targets": "https://a.example/", "maintenance": [{"start": "02:00", "duration": "1h", "targets": ["a"]}]},
            ["healthcheck:targets must be a list of target objects, got str"],
        ),
        (
            {"maintenance": [{"start": "2am", "duration": "1h", "targets": ["nobody"]}]},
            [
                "healthcheck:maintenance: maintenance[0]: 'start' must be \"HH:MM\" (24-hour), got '2am'",
            ],
        ),
    ],
    ids=[
        "the-timeout-minimum-with-the-rest",
        "no-minimum-without-valid-targets",
        "no-window-check-without-valid-targets",
        "no-window-check-of-a-bad-window",
    ],
)
def test_a_check_that_needs_a_mistaken_value_is_skipped_not_doubled(
    values: dict[str, Any], messages: list[str]
) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    assert len(caught.value.messages) == len(messages), caught.value.messages
    for message, start in zip(caught.value.messages, messages, strict=True):
        assert message.startswith(start)


def test_targets_json_is_compact() -> None:
    chosen = settings(targets=[{"name": "a", "url": "https://a.example/"}])
    assert chosen.targets_json() == '[{"name":"a","url":"https://a.example/","timeout":10.0}]'


@pytest.mark.parametrize(
    ("values", "chosen"),
    [
        ({"memory_size": 128}, ("memory_size", 128)),
        ({"memory_size": 10240}, ("memory_size", 10240)),
        ({"timeout": 900}, ("timeout", 900)),
        ({"timeout": 20}, ("timeout", 20)),
        ({"targets": [{"url": "https://a.example/", "timeout": 2.5}], "timeout": 13}, ("timeout", 13)),
    ],
    ids=["memory-128", "memory-10240", "timeout-900", "timeout-10-s-target-plus-10", "timeout-2.5-s-target-plus-10"],
)
def test_the_edges_of_each_range_are_accepted(values: dict[str, Any], chosen: tuple[str, int]) -> None:
    key, value = chosen
    assert getattr(settings(**values), key) == value


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"memory_size": 127}, r"^healthcheck:memorySize must be a whole number from 128 to 10240, got 127$"),
        ({"memory_size": 10241}, r"^healthcheck:memorySize must be a whole number from 128 to 10240, got 10241$"),
        ({"timeout": 901}, r"^healthcheck:timeout must be a whole number from 1 to 900, got 901$"),
        ({"timeout": True}, r"^healthcheck:timeout must be a whole number from 1 to 900, got True$"),
        (
            {"timeout": 1},
            r"^healthcheck:timeout 1 s leaves no room for the slowest target \(10 s\) plus 10 s to write records",
        ),
        (
            {"targets": [{"url": "https://a.example/", "timeout": 2.5}], "timeout": 12},
            r"\(2\.5 s\) plus 10 s to write records: raise it to at least 13$",
        ),
        ({"timeout": 19}, r"raise it to at least 20$"),
        ({"targets": []}, r"^healthcheck:targets is empty: give at least one \{url: \.\.\.\}$"),
    ],
    ids=[
        "memory-127",
        "memory-10241",
        "timeout-901",
        "timeout-true",
        "timeout-1",
        "timeout-fraction",
        "timeout-19",
        "no-targets",
    ],
)
def test_values_past_each_edge_are_named_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**values)


def test_alerting_and_maintenance_are_checked_by_the_functions_own_parsers() -> None:
    chosen = settings(
        alerting={"failureThreshold": 2, "remindEveryMinutes": 60},
        maintenance=[{"start": "02:00", "duration": "1h", "timezone": "Europe/Berlin", "every": ["sun"]}],
    )
    assert chosen.alerting == '{"failureThreshold":2,"remindEveryMinutes":60}'
    assert chosen.maintenance is not None
    assert json.loads(chosen.maintenance)[0]["every"] == ["sun"]
    assert (settings().alerting, settings().maintenance) == (None, None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alerting": {"failureThreshold": 0}}, "healthcheck:alerting: 'failureThreshold' must be between 1 and 100"),
        ({"alerting": [3]}, "healthcheck:alerting: alerting must be an object"),
        ({"maintenance": [{"start": "2am", "duration": "1h"}]}, r"healthcheck:maintenance: maintenance\[0\]: 'start'"),
        ({"maintenance": [{"start": "02:00", "duration": "1h"}] * 60}, "healthcheck:maintenance is .* at most 1024"),
    ],
)
def test_bad_alerting_and_maintenance_fail_preview_with_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**values)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"bodyRegx": "UP"}, r"^healthcheck:targets: api: unknown field\(s\) in 'expect': 'bodyRegx' \(known: "),
        ({"bodyRegex": "(a)\\1"}, r"^healthcheck:targets: api: 'expect.bodyRegex' '\(a\)\\\\1' is not a pattern RE2"),
        ({"status": ["2xx", 700]}, r"^healthcheck:targets: api: 'expect.status' entries are codes .*got 700$"),
    ],
    ids=["unknown-key", "regex-re2-refuses", "status-700"],
)
def test_a_bad_expect_fails_preview_naming_the_target_and_the_key(expect: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(targets=[{"name": "api", "url": "https://api.example/", "expect": expect}])


def test_a_targets_expect_travels_to_the_function_in_the_targets_env() -> None:
    expect = {"status": [200], "json": {"checks.db": "ok"}, "certMinDays": 7}
    chosen = settings(targets=[{"name": "api", "url": "https://api.example/", "expect": expect}])
    text = chosen.targets_json()
    assert json.loads(text) == [{"name": "api", "url": "https://api.example/", "timeout": 10.0, "expect": expect}]


def test_a_maintenance_window_naming_no_target_fails_preview_with_a_hint() -> None:
    # Found by attack: the window silently covered nothing, so alerts went out during maintenance.
    window = {"start": "02:00", "duration": "1h", "targets": ["exampel"]}
    with pytest.raises(
        SettingsError,
        match=r"^healthcheck:maintenance\[0\]: 'targets' names 'exampel', which no "
        r"target is called: did you mean 'example'\?$",
    ):
        settings(maintenance=[window])
    assert settings(maintenance=[{**window, "targets": ["example"]}]).maintenance is not None
