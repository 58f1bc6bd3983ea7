"""The invocation event and the function's environment: bad input is a named error."""

from __future__ import annotations

import json
import time as clock
from datetime import UTC, datetime
from pathlib import Path

import pytest

from healthcheck.alerting.policy import AlertPolicy
from healthcheck.check.targets import parse_target
from healthcheck.config import DEFAULT_MAX_CONCURRENCY, Settings
from healthcheck.event import parse_event
from healthcheck.exceptions import ConfigError, InvalidEventError, InvalidTargetError

NOW = datetime(2026, 11, 27, 18, 0, 5, 123456, tzinfo=UTC)


def test_scheduled_event_sample_uses_its_time(repo_root: Path) -> None:
    event = json.loads((repo_root / "events" / "eventbridge.json").read_text())
    invocation = parse_event(event, NOW)
    assert invocation.timestamp == "2015-10-08T16:53:06Z"
    assert invocation.targets is None
    assert invocation.shard == "default"  # the configured targets, as one shard


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2015-10-08T16:53:06Z", "2015-10-08T16:53:06Z"),
        ("2015-10-08T18:53:06+02:00", "2015-10-08T16:53:06Z"),
        ("2015-10-08T16:53:06.789Z", "2015-10-08T16:53:06Z"),
        ("2015-10-08T16:53:06", "2015-10-08T16:53:06Z"),
        (None, "2026-11-27T18:00:05Z"),
        ("0005-06-01T00:00:00Z", "0005-06-01T00:00:00Z"),
        ("9999-12-31T23:59:59+01:00", "9999-12-31T22:59:59Z"),
    ],
    ids=["utc", "offset", "fraction", "naive-is-utc", "absent-is-now", "year-5-padded", "last-year"],
)
def test_time_is_normalised_to_utc_seconds_with_z(time: str | None, expected: str) -> None:
    event = {} if time is None else {"time": time}
    assert parse_event(event, NOW).timestamp == expected


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "^the event must be a JSON object, got list$"),
        ("hello", "^the event must be a JSON object, got str$"),
        ({"targets": {"url": "https://a.example/"}}, "^event 'targets' must be a list of targets, got dict$"),
        ({"time": "yesterday"}, "^event 'time' 'yesterday' is not an ISO 8601 timestamp$"),
        ({"time": 1700000000}, "^event 'time' must be an ISO 8601 string, got int$"),
        (
            {"time": "9999-12-31T23:59:59-01:00"},
            "^event 'time' '9999-12-31T23:59:59-01:00' is outside the years 1-9999 in UTC$",
        ),
        ({"time": "0001-01-01T00:30:00+01:00"}, "event 'time' '0001-01-01T00:30:00\\+01:00' is outside the years"),
        ({"shard": 3}, "^event 'shard' must be 1-64 letters, digits, '.', '_' or '-', got 3$"),
        ({"shard": ""}, "^event 'shard' must be 1-64 letters"),
        ({"shard": "a#b"}, "^event 'shard' must be 1-64 letters"),
        ({"shard": "x" * 65}, "^event 'shard' must be 1-64 letters"),
    ],
    ids=[
        "list",
        "string",
        "targets-object",
        "time-words",
        "time-number",
        "past-9999-in-utc",
        "before-1-in-utc",
        "shard-number",
        "shard-empty",
        "shard-key-separator",
        "shard-too-long",
    ],
)
def test_bad_events_are_named(event: object, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        parse_event(event, NOW)


def test_event_targets_override() -> None:
    assert parse_event({"targets": [{"url": "https://a.example/"}]}, NOW).targets == [{"url": "https://a.example/"}]


def test_a_schedules_shard_is_read_from_its_event() -> None:
    assert parse_event({"shard": "12", "targets": []}, NOW).shard == "12"
    assert parse_event({"shard": "eu-1.a_b", "targets": []}, NOW).shard == "eu-1.a_b"


def test_settings_from_environment() -> None:
    settings = Settings.from_environ({"TABLE_NAME": "results", "TARGETS": '[{"url": "https://a.example/"}]'})
    assert settings == Settings("results", [{"url": "https://a.example/"}], DEFAULT_MAX_CONCURRENCY)
    assert Settings.from_environ({"TABLE_NAME": "r", "MAX_CONCURRENCY": "16"}).max_concurrency == 16


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "^TABLE_NAME is not set: it names the DynamoDB table for check records$"),
        ({"TABLE_NAME": "  "}, "^TABLE_NAME is not set"),
        ({"TABLE_NAME": "r", "TARGETS": "[{"}, "^TARGETS is not valid JSON: Expecting property name"),
        ({"TABLE_NAME": "r", "TARGETS": '{"url": "x"}'}, "^TARGETS must be a JSON list of targets, got dict$"),
        ({"TABLE_NAME": "r", "MAX_CONCURRENCY": "many"}, "^MAX_CONCURRENCY must be a whole number, got 'many'$"),
        ({"TABLE_NAME": "r", "MAX_CONCURRENCY": "0"}, "^MAX_CONCURRENCY must be between 1 and 512, got 0$"),
        ({"TABLE_NAME": "r", "MAX_CONCURRENCY": "513"}, "^MAX_CONCURRENCY must be between 1 and 512, got 513$"),
        ({"TABLE_NAME": "r", "RETENTION_DAYS": "90d"}, "^RETENTION_DAYS must be a whole number of days, got '90d'$"),
        ({"TABLE_NAME": "r", "RETENTION_DAYS": "0"}, "^RETENTION_DAYS must be from 1 to 36500 days, got 0$"),
        ({"TABLE_NAME": "r", "RETENTION_DAYS": "36501"}, "^RETENTION_DAYS must be from 1 to 36500 days, got 36501$"),
    ],
    ids=[
        "no-table",
        "blank-table",
        "bad-json",
        "not-list",
        "concurrency-word",
        "concurrency-zero",
        "concurrency-over-512",
        "retention-word",
        "retention-zero",
        "retention-over-100-years",
    ],
)
def test_bad_environment_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_environ(environ)


@pytest.mark.parametrize("targets", ["", "  "], ids=["empty", "blank"])
def test_blank_targets_variable_means_none_configured(targets: str) -> None:
    assert Settings.from_environ({"TABLE_NAME": " results ", "TARGETS": targets}) == Settings("results", None, 128)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), ("512", 512), ("", 128), ("  ", 128)],
    ids=["lowest", "highest", "empty-is-default", "blank-is-default"],
)
def test_max_concurrency_takes_1_to_512_and_defaults_to_128(value: str, expected: int) -> None:
    assert Settings.from_environ({"TABLE_NAME": "r", "MAX_CONCURRENCY": value}).max_concurrency == expected


@pytest.mark.parametrize(
    ("time", "expected"),
    [("2015-10-08T16:53:06", "2015-10-08T16:53:06Z"), ("2015-10-08T16:53:06+02:00", "2015-10-08T14:53:06Z")],
    ids=["naive-is-utc", "offset"],
)
def test_time_is_utc_whatever_the_machines_time_zone(time: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # `make run` runs on a laptop: a naive time is still UTC, not the local time.
    monkeypatch.setenv("TZ", "America/New_York")
    clock.tzset()
    try:
        assert parse_event({"time": time}, NOW).timestamp == expected
    finally:
        monkeypatch.undo()
        clock.tzset()


def test_a_bad_time_is_named_but_never_echoed_whole() -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_event({"time": "x" * 100_000}, NOW)
    assert len(str(raised.value)) < 300


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ALERTING": "{"}, "ALERTING is not valid JSON"),
        ({"ALERTING": '{"failureThreshold": 0}'}, "ALERTING: 'failureThreshold' must be between 1 and 100"),
        ({"ALERTING": '{"remindEveryMinutes": 3}'}, "ALERTING: 'remindEveryMinutes' must be 0"),
        ({"ALERTING": '{"threshold": 3}'}, r"ALERTING: unknown field\(s\) 'threshold'"),
        ({"MAINTENANCE": '{"start": "02:00"}'}, "MAINTENANCE: maintenance must be a list"),
        ({"CONNECTIVITY_CHECK": "ftp://x/"}, "CONNECTIVITY_CHECK: 'url'"),
        ({"PER_TARGET_METRICS": "yes"}, 'PER_TARGET_METRICS must be "true" or "false"'),
    ],
)
def test_alerting_variables_are_checked_by_name(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_environ({"TABLE_NAME": "t", **environ})


def test_alerting_variables_are_read() -> None:
    settings = Settings.from_environ(
        {
            "TABLE_NAME": "t",
            "STATE_TABLE_NAME": "state",
            "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
            "ALERTING": '{"failureThreshold": 2, "remindEveryMinutes": 60}',
            "MAINTENANCE": '[{"start": "02:00", "duration": "1h"}]',
            "CONNECTIVITY_CHECK": "https://example.com/",
            "PER_TARGET_METRICS": "true",
        }
    )
    assert (settings.state_table_name, settings.alerting) == ("state", AlertPolicy(2, 2, 60))
    assert (len(settings.maintenance.windows), settings.connectivity_check, settings.per_target_metrics) == (
        1,
        "https://example.com/",
        True,
    )


def test_per_target_alerting_fields_round_trip() -> None:
    raw = {"name": "api", "url": "https://a/", "failureThreshold": 1, "successThreshold": 5, "remindEveryMinutes": 30}
    target = parse_target(raw)
    assert (target.failure_threshold, target.success_threshold, target.remind_every_minutes) == (1, 5, 30)
    assert parse_target(target.to_json()) == target
    assert "failureThreshold" not in parse_target({"url": "https://a/"}).to_json()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("failureThreshold", 0, "between 1 and 100"),
        ("successThreshold", True, "must be a whole number"),
        ("remindEveryMinutes", 4, "0 \\(never\\) or between 5"),
    ],
)
def test_bad_per_target_alerting_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidTargetError, match=message):
        parse_target({"url": "https://a/", field: value})


@pytest.mark.parametrize(("value", "expected"), [("", None), ("1", 1), (" 90 ", 90), ("36500", 36500)])
def test_retention_days_take_1_to_36500_and_default_to_keeping_records(value: str, expected: int | None) -> None:
    assert Settings.from_environ({"TABLE_NAME": "r", "RETENTION_DAYS": value}).retention_days == expected
    assert Settings.from_environ({"TABLE_NAME": "r"}).retention_days is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "failures"), ("", "failures"), ("failures", "failures"), (" all ", "all")],
    ids=["unset-is-failures", "empty-is-failures", "failures", "all"],
)
def test_log_checks_is_failures_or_all(value: str | None, expected: str) -> None:
    environ = {"TABLE_NAME": "r"} | ({"LOG_CHECKS": value} if value is not None else {})
    assert Settings.from_environ(environ).log_checks == expected


@pytest.mark.parametrize("value", ["true", "All", "none"], ids=["boolean", "capitalised", "none"])
def test_log_checks_refuses_anything_else_naming_the_choices(value: str) -> None:
    with pytest.raises(ConfigError, match=rf"^LOG_CHECKS must be one of failures, all, got '{value}'$"):
        Settings.from_environ({"TABLE_NAME": "r", "LOG_CHECKS": value})
