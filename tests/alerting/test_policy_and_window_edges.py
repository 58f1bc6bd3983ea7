"""Alerting policy and maintenance windows at their edges: what mutmut's run of policy.py and maintenance.py left alive.

Each row would fail with one surviving mutant of that run (docs/mutation-survivors.md):
a stack's ``successThreshold`` read, a target's own one applied, the highest
values accepted, a window's minutes kept, and each refusal naming the value it refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from healthcheck.alerting.maintenance import MaintenanceWindowError, parse_windows
from healthcheck.alerting.policy import AlertPolicy, PolicyValueError, parse_policy


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"successThreshold": 5}, AlertPolicy(3, 5, 0)),
        ({"failureThreshold": 1}, AlertPolicy(1, 2, 0)),
        ({"remindEveryMinutes": 60}, AlertPolicy(3, 2, 60)),
        ({"failureThreshold": 100, "successThreshold": 100}, AlertPolicy(100, 100, 0)),  # the highest allowed
        ({"remindEveryMinutes": 10080}, AlertPolicy(3, 2, 10080)),  # a week, the longest
    ],
    ids=["success-threshold", "failure-threshold", "remind", "thresholds-100", "remind-a-week"],
)
def test_the_stacks_alerting_is_read_field_by_field(raw: dict[str, int], expected: AlertPolicy) -> None:
    # A stack's successThreshold ignored would send RECOVERED after 2 successes, whatever it says.
    assert parse_policy(raw) == expected


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ((None, 7, None), AlertPolicy(3, 7, 0)),
        ((1, None, None), AlertPolicy(1, 2, 0)),
        ((None, None, 30), AlertPolicy(3, 2, 30)),
        ((None, None, None), AlertPolicy(3, 2, 0)),
    ],
    ids=["success-threshold", "failure-threshold", "remind", "none-keeps-the-defaults"],
)
def test_a_targets_own_setting_overrides_the_stacks(
    own: tuple[int | None, int | None, int | None], expected: AlertPolicy
) -> None:
    assert AlertPolicy().for_target(*own) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"successThreshold": 101}, "'successThreshold' must be between 1 and 100, got 101"),
        ({"successThreshold": "two"}, "'successThreshold' must be a whole number, got 'two'"),
        ({"failureThreshold": 1.5}, "'failureThreshold' must be a whole number, got 1.5"),
        ({"remindEveryMinutes": "hourly"}, "'remindEveryMinutes' must be a whole number, got 'hourly'"),
        ({"remindEveryMinutes": 10081}, "'remindEveryMinutes' must be 0 (never) or between 5 and 10080 minutes"),
        ([3], "alerting must be an object, got list"),
        (
            {"threshold": 3, "every": 1},
            "unknown field(s) 'every', 'threshold' (known: failureThreshold, successThreshold, remindEveryMinutes)",
        ),
    ],
    ids=["success-101", "success-text", "failure-fraction", "remind-text", "remind-past-a-week", "list", "unknown"],
)
def test_a_policy_refusal_names_the_field_and_the_value(raw: object, message: str) -> None:
    with pytest.raises(PolicyValueError) as caught:
        parse_policy(raw)
    assert str(caught.value).startswith(message)


def test_a_window_opens_at_its_minute_not_its_hour() -> None:
    # A window written for 02:30 that opened at 02:00 would hide half an hour of a real outage.
    [window] = parse_windows([{"start": "02:30", "duration": "1h"}]).windows
    assert not window.covers("api", datetime(2026, 3, 2, 2, 29, tzinfo=UTC))
    assert window.covers("api", datetime(2026, 3, 2, 2, 30, tzinfo=UTC))
    assert window.covers("api", datetime(2026, 3, 2, 3, 29, tzinfo=UTC))
    assert not window.covers("api", datetime(2026, 3, 2, 3, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("zone", "local_midnight_utc"),
    [
        ("Europe/Berlin", datetime(2026, 3, 1, 23, 0, tzinfo=UTC)),
        ("Pacific/Kiritimati", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
    ],
    ids=["utc+1", "utc+14"],
)
def test_a_window_just_after_midnight_in_a_zone_ahead_of_utc_opens_on_its_own_date(
    zone: str, local_midnight_utc: datetime
) -> None:
    # There it is already 2 March while UTC's date is 1 March: the window of 2 March 00:30 local must be found.
    [window] = parse_windows([{"start": "00:30", "duration": "1h", "timezone": zone}]).windows
    assert window.covers("api", local_midnight_utc + timedelta(minutes=45))
    assert not window.covers("api", local_midnight_utc + timedelta(minutes=15))


def test_a_window_of_exactly_seven_days_is_allowed() -> None:
    [window] = parse_windows([{"start": "00:00", "duration": "7d"}]).windows
    assert window.duration.days == 7


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("02:00", "maintenance must be a list of windows, got str"),
        (["02:00"], "maintenance[0] must be an object, got str"),
        (
            [{"start": "02:00", "duration": "1h", "x": 1, "y": 2}],
            "maintenance[0]: unknown field(s) 'x', 'y' (known: start, duration, timezone, every, targets)",
        ),
        ([{"start": 230, "duration": "1h"}], "maintenance[0]: 'start' must be \"HH:MM\" (24-hour), got 230"),
        ([{"start": "02:00", "duration": "169h"}], "maintenance[0]: 'duration' must be like"),
        ([{"start": "02:00", "duration": "9d"}], "at most 7 days, got '9d'"),
        ([{"start": "02:00", "duration": "1h", "timezone": "Mars/Olympus"}], "got 'Mars/Olympus'"),
        (
            [{"start": "02:00", "duration": "1h", "every": []}],
            "maintenance[0]: 'every' must be a non-empty list of mon, tue, wed, thu, fri, sat, sun, got []",
        ),
        ([{"start": "02:00", "duration": "1h", "targets": []}], "list of target names, got []"),
    ],
    ids=[
        "not-a-list",
        "not-an-object",
        "unknown",
        "start-a-number",
        "duration-past-a-week",
        "duration-9d",
        "timezone",
        "every",
        "targets",
    ],
)
def test_a_window_refusal_names_the_window_and_the_value(raw: object, message: str) -> None:
    with pytest.raises(MaintenanceWindowError) as caught:
        parse_windows(raw)
    text = str(caught.value)
    assert text.startswith(message) or text.endswith(message), text
