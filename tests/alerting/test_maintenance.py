"""Maintenance windows: local wall-clock starts, days of the week, midnight, and errors that name the field."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import healthcheck.handler as entrypoint
from healthcheck.alerting.maintenance import MaintenanceWindowError, parse_windows
from healthcheck.exceptions import ConfigError
from infra.settings import SettingsError, StackSettings
from localdev.check_config import main as check_config

# Saturday 28 November 2026.
SAT = datetime(2026, 11, 28, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "moment", "covered"),
    [
        ({"start": "02:00", "duration": "30m"}, utc(28, 2, 0), True),
        ({"start": "02:00", "duration": "30m"}, utc(28, 2, 30), False),  # the end is open
        ({"start": "02:00", "duration": "30m"}, utc(28, 1, 59), False),
        ({"start": "23:00", "duration": "2h"}, utc(29, 0, 30), True),  # across midnight
        ({"start": "23:00", "duration": "2h", "every": ["sat"]}, utc(29, 0, 30), True),  # started Saturday
        ({"start": "23:00", "duration": "2h", "every": ["sun"]}, utc(29, 0, 30), False),
        ({"start": "01:00", "duration": "1h", "timezone": "Europe/Berlin"}, utc(28, 0, 15), True),
        ({"start": "01:00", "duration": "1h", "timezone": "Europe/Berlin"}, utc(28, 1, 15), False),
        ({"start": "00:00", "duration": "1d12h", "every": ["fri"]}, utc(28, 11, 0), True),
        ({"start": "00:00", "duration": "1h", "targets": ["db"]}, utc(28, 0, 10), False),
        ({"start": "23:00", "duration": "2h", "every": "sat"}, utc(29, 0, 30), True),  # one day, not in a list
        ({"start": "23:00", "duration": "2h", "every": "sun"}, utc(29, 0, 30), False),
        ({"start": "00:00", "duration": "1h", "targets": "api"}, utc(28, 0, 10), True),
        ({"start": "00:00", "duration": "1h", "targets": "db"}, utc(28, 0, 10), False),
        ({"start": "02:30", "duration": "30m"}, utc(28, 2, 15), False),  # the minutes count, not just the hour
        ({"start": "02:30", "duration": "30m"}, utc(28, 2, 45), True),
        # Saturday 01:00 in Auckland (UTC+13 in November) is Friday 12:00 UTC.
        ({"start": "01:00", "duration": "1h", "timezone": "Pacific/Auckland", "every": "sat"}, utc(27, 12, 30), True),
        ({"start": "01:00", "duration": "1h", "timezone": "Pacific/Auckland", "every": "sat"}, utc(28, 12, 30), False),
        # Berlin skips 02:00-03:00 on 29 March 2026 (01:00 UTC): a 02:30 window opens at 03:00, not 03:30.
        ({"start": "02:30", "duration": "1h", "timezone": "Europe/Berlin"}, at(2026, 3, 29, 0, 59), False),
        ({"start": "02:30", "duration": "1h", "timezone": "Europe/Berlin"}, at(2026, 3, 29, 1, 0), True),
        ({"start": "02:30", "duration": "1h", "timezone": "Europe/Berlin"}, at(2026, 3, 29, 1, 59), True),
        ({"start": "02:30", "duration": "1h", "timezone": "Europe/Berlin"}, at(2026, 3, 29, 2, 0), False),
        ({"start": "02:30", "duration": "1h", "timezone": "Europe/Berlin"}, at(2026, 3, 30, 0, 30), True),  # next day
        # Lord Howe skips half an hour, 02:00-02:30 on 4 October 2026 (15:30 UTC the day before).
        ({"start": "02:15", "duration": "1h", "timezone": "Australia/Lord_Howe"}, at(2026, 10, 3, 15, 29), False),
        ({"start": "02:15", "duration": "1h", "timezone": "Australia/Lord_Howe"}, at(2026, 10, 3, 15, 30), True),
    ],
    ids=[
        "inside",
        "end",
        "before",
        "midnight",
        "midnight-day",
        "other-day",
        "zone",
        "zone-after",
        "long",
        "other",
        "one-day",
        "one-other-day",
        "one-target",
        "one-other-target",
        "start-minutes-before",
        "start-minutes-inside",
        "auckland-saturday-is-friday-in-utc",
        "auckland-sunday-is-saturday-in-utc",
        "dst-gap-before-the-jump",
        "dst-gap-opens-at-the-jump",
        "dst-gap-an-hour-from-the-jump",
        "dst-gap-closes-an-hour-after",
        "dst-gap-next-day-as-usual",
        "half-hour-gap-before-the-jump",
        "half-hour-gap-opens-at-the-jump",
    ],
)
def test_windows(window: dict[str, object], moment: datetime, covered: bool) -> None:
    assert parse_windows([window]).covers("api", moment) is covered


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"start": "25:00", "duration": "1h"}, r"maintenance\[0\]: 'start' must be \"HH:MM\""),
        ({"start": "02:00", "duration": "90"}, r"'duration' must be like"),
        ({"start": "02:00", "duration": "8d"}, r"at most 7 days"),
        ({"start": "02:00", "duration": "0m"}, r"more than 0"),
        ({"start": "02:00", "duration": "1h", "timezone": "Mars/Olympus"}, r"'timezone' must be an IANA"),
        ({"start": "02:00", "duration": "1h", "every": ["someday"]}, r"'every' must be"),
        ({"start": "02:00", "duration": "1h", "targets": []}, r"'targets' must be"),
        ({"start": "02:00", "duration": "1h", "every": "someday"}, r"'every' must be"),
        ({"start": "02:00", "duration": "1h", "every": 3}, r"'every' must be"),
        ({"start": "02:00", "duration": "1h", "length": 1}, r"unknown field\(s\) 'length'"),
    ],
)
def test_bad_windows_are_named(window: dict[str, object], message: str) -> None:
    with pytest.raises(MaintenanceWindowError, match=message):
        parse_windows([window])


def test_time_zones_resolve_without_system_zone_files(tmp_path: Path, repo_root: Path) -> None:
    """The image pins tzdata, so a window's timezone works whether or not the base image has /usr/share/zoneinfo."""
    code = (
        "from datetime import datetime, UTC; from healthcheck.alerting.maintenance import parse_windows; "
        "w = parse_windows([{'start': '01:00', 'duration': '1h', 'timezone': 'Europe/Berlin'}]); "
        "print(w.covers('api', datetime(2026, 11, 28, 0, 15, tzinfo=UTC)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        # PYTHONTZPATH: an empty directory, no system zone files. PYTHONPATH as `make test` exports it,
        # so the test passes when pytest is started without make too.
        env={**os.environ, "PYTHONTZPATH": str(tmp_path), "PYTHONPATH": f"{repo_root}/image{os.pathsep}{repo_root}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


NOT_A_STRING = "'start' must be \"HH:MM\" (24-hour), got "


@pytest.mark.parametrize(
    ("start", "shown"),
    [
        (120, '120 (a number: YAML 1.1 reads an unquoted 02:00 as 120; quote it, "02:00")'),
        (750, '750 (a number: YAML 1.1 reads an unquoted 12:30 as 750; quote it, "12:30")'),
        (1440, "1440"),
        (2.5, "2.5"),
        (True, "True"),
        (None, "None"),
        (["02:00"], "['02:00']"),
    ],
    ids=["yaml-1.1-02:00", "yaml-1.1-12:30", "a-day-of-minutes", "float", "bool", "missing", "list"],
)
def test_a_start_that_is_no_string_is_a_named_error(start: object, shown: str) -> None:
    # YAML 1.1 (PyYAML) reads an unquoted 02:00 as base-60 120; Pulumi's YAML reads it as "02:00".
    with pytest.raises(MaintenanceWindowError, match=f"^maintenance\\[0\\]: {re.escape(NOT_A_STRING + shown)}$"):
        parse_windows([{"start": start, "duration": "1h"}])


def test_a_numeric_start_is_named_by_the_function_before_it_checks_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "results")
    monkeypatch.setenv("TARGETS", json.dumps([{"url": "https://a.example/"}]))
    monkeypatch.setenv("MAINTENANCE", json.dumps([{"start": 120, "duration": "1h"}]))
    with pytest.raises(ConfigError, match=f"^MAINTENANCE: maintenance\\[0\\]: {re.escape(NOT_A_STRING)}120 "):
        entrypoint.handler({}, None)


def test_a_numeric_start_is_named_at_preview() -> None:
    with pytest.raises(
        SettingsError, match=f"^healthcheck:maintenance: maintenance\\[0\\]: {re.escape(NOT_A_STRING)}120 "
    ):
        StackSettings.from_values(
            targets=[{"url": "https://a.example/"}], maintenance=[{"start": 120, "duration": "1h"}]
        )


def test_a_numeric_start_is_named_by_check_config(
    repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(repo_root / name, tmp_path / name)
    stack = tmp_path / "Pulumi.dev.yaml"
    window = "config:\n  healthcheck:maintenance:\n    - {start: 120, duration: 1h}\n"
    stack.write_text(stack.read_text(encoding="utf-8").replace("config:\n", window, 1), encoding="utf-8")
    assert check_config(["--root", str(tmp_path), "--stack", "dev"]) == 1
    assert capsys.readouterr().err == (
        f"error: healthcheck:maintenance: maintenance[0]: {NOT_A_STRING}120 (a number: YAML 1.1 reads an unquoted "
        '02:00 as 120; quote it, "02:00")\n'
    )


@pytest.mark.parametrize(
    ("duration", "accepted"),
    [("7d", True), ("168h", True), ("6d23h60m", True), ("7d1m", False), ("168h1m", False), ("8d", False)],
    ids=["7d", "168h", "6d23h60m", "7d1m", "168h1m", "8d"],
)
def test_a_window_lasts_at_most_7_days(duration: str, accepted: bool) -> None:
    window = {"start": "00:00", "duration": duration, "every": "mon"}
    if not accepted:
        with pytest.raises(MaintenanceWindowError, match="at most 7 days"):
            parse_windows([window])
        return
    [parsed] = parse_windows([window]).windows
    assert parsed.duration == timedelta(days=7)
