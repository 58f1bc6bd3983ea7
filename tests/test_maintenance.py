"""Maintenance windows: local wall-clock starts, days of the week, midnight, and errors that name the field."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from healthcheck.maintenance import MaintenanceWindowError, parse_windows

# Saturday 28 November 2026.
SAT = datetime(2026, 11, 28, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


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
        "from datetime import datetime, UTC; from healthcheck.maintenance import parse_windows; "
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
