"""Maintenance windows: when checks still run and are recorded, but state is frozen and nothing is sent.

A window is ``{"start": "HH:MM", "duration": "2h", "timezone": "Europe/Berlin",
"every": ["sat", "sun"], "targets": ["api"]}``. ``start`` is local wall-clock
time in ``timezone`` (IANA, default UTC) on each day in ``every`` (default
every day); ``duration`` is ``90m``, ``2h``, ``1h30m`` or ``1d`` (at most 7
days), so a window may cross midnight; without ``targets`` it covers every
target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Final

from ..text import show

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = ["NO_WINDOWS", "MaintenanceWindow", "MaintenanceWindowError", "Schedule", "parse_windows"]

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FIELDS: Final = ("start", "duration", "timezone", "every", "targets")
MAX_DURATION: Final = timedelta(days=7)
_START = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


class MaintenanceWindowError(ValueError):
    """A window that cannot be understood; the message names the window and the field."""


def _opening(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant (UTC) the wall-clock time ``wall`` comes in ``zone``.

    A time the clocks skip (02:30 when they spring forward from 02:00 to 03:00)
    never comes: the window opens at the first instant after the gap (03:00),
    not as far past it as the time was into it (03:30, Python's fold=0 reading).
    """
    before = wall.replace(tzinfo=zone).astimezone(UTC)  # read with the offset before any gap
    if before.astimezone(zone).replace(tzinfo=None) == wall:
        return before
    # In a gap: the jump lies between the time read with the offset after it and with the one before.
    after = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    jumped = before.astimezone(zone).utcoffset()
    low, high = int(after.timestamp()), int(before.timestamp())  # offsets change on whole seconds
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == jumped:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    start: time
    duration: timedelta
    timezone: str = "UTC"
    every: frozenset[int] = frozenset(range(7))
    """Weekdays (Monday 0) on which the window starts."""
    targets: frozenset[str] | None = None
    """None: every target."""

    def covers(self, target: str, moment: datetime) -> bool:
        """Whether ``target`` is inside this window at ``moment`` (aware)."""
        if self.targets is not None and target not in self.targets:
            return False
        from zoneinfo import ZoneInfo  # here: only stacks with windows pay to load time zones (cold start)

        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        # A window that started on an earlier day may still be open: look back as many days as it lasts.
        for days_back in range(self.duration.days + 2):
            day = local.date() - timedelta(days=days_back)
            if day.weekday() not in self.every:
                continue
            opens = _opening(datetime.combine(day, self.start), zone)
            if opens <= moment < opens + self.duration:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Schedule:
    windows: tuple[MaintenanceWindow, ...] = ()

    def covers(self, target: str, moment: datetime) -> bool:
        return any(window.covers(target, moment) for window in self.windows)


NO_WINDOWS: Final = Schedule()


def _hint(start: object) -> str:
    """YAML 1.1 (PyYAML, and so some tools) reads an unquoted 02:00 as base-60 120: say so, and what to write."""
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < 24 * 60:
        return ""
    hours, minutes = divmod(start, 60)
    meant = f"{hours:02d}:{minutes:02d}"
    return f' (a number: YAML 1.1 reads an unquoted {meant} as {start}; quote it, "{meant}")'


def _duration(where: str, value: object) -> timedelta:
    if isinstance(value, str) and value and (match := _DURATION.match(value.strip().lower())) and any(match.groups()):
        days, hours, minutes = (int(part or 0) for part in match.groups())
        duration = timedelta(days=days, hours=hours, minutes=minutes)
        if timedelta(0) < duration <= MAX_DURATION:
            return duration
    raise MaintenanceWindowError(
        f'{where}: \'duration\' must be like "90m", "2h", "1h30m" or "1d", more than 0 and at most 7 days, '
        f"got {show(value)}"
    )


def _window(where: str, raw: object) -> MaintenanceWindow:
    if not isinstance(raw, Mapping):
        raise MaintenanceWindowError(f"{where} must be an object, got {type(raw).__name__}")
    unknown = sorted(show(key) for key in raw if key not in FIELDS)
    if unknown:
        raise MaintenanceWindowError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    start = raw.get("start")
    match = _START.match(start) if isinstance(start, str) else None
    if match is None:
        raise MaintenanceWindowError(f"{where}: 'start' must be \"HH:MM\" (24-hour), got {show(start)}{_hint(start)}")
    zone = raw.get("timezone", "UTC")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here, as in covers()

    try:
        if not isinstance(zone, str):
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MaintenanceWindowError(
            f"{where}: 'timezone' must be an IANA time zone such as \"Europe/Berlin\", got {show(zone)}"
        ) from exc
    every = raw.get("every", list(DAYS))
    if isinstance(every, str):
        every = [every]  # `every: sun`, as `expect.status` takes one value or a list
    if (
        not isinstance(every, list)
        or not every
        or not all(isinstance(day, str) and day.lower() in DAYS for day in every)
    ):
        raise MaintenanceWindowError(
            f"{where}: 'every' must be a non-empty list of {', '.join(DAYS)}, got {show(every)}"
        )
    targets = raw.get("targets")
    if isinstance(targets, str):
        targets = [targets]
    if targets is not None and (
        not isinstance(targets, list) or not targets or not all(isinstance(name, str) for name in targets)
    ):
        raise MaintenanceWindowError(
            f"{where}: 'targets' must be a non-empty list of target names, got {show(targets)}"
        )
    return MaintenanceWindow(
        start=time(int(match[1]), int(match[2])),
        duration=_duration(where, raw.get("duration")),
        timezone=zone,
        every=frozenset(DAYS.index(day.lower()) for day in every),
        targets=None if targets is None else frozenset(targets),
    )


def parse_windows(raw: object) -> Schedule:
    """The stack's ``maintenance`` list (the MAINTENANCE variable)."""
    if not isinstance(raw, list):
        raise MaintenanceWindowError(f"maintenance must be a list of windows, got {type(raw).__name__}")
    return Schedule(tuple(_window(f"maintenance[{index}]", entry) for index, entry in enumerate(raw)))
