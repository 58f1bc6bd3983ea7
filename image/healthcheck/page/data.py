"""What the status page shows, as plain data: built from rollups, incidents, raw records and state.

``?format=json`` returns exactly :meth:`StatusData.to_json`, so machines and
the HTML read the same figures. Building is pure (:func:`build`) given what
was read; :func:`load` does the reads. Per target: one ``Query`` of its day
items (one item per day shown), one ``Query`` of its latest incidents, and
the raw records of the hours not summarised yet, newest first, until
``RAW_READ_BYTES`` are billed (4 read units, whatever the records hold); and
one ``BatchGetItem`` of the state table for all targets.

The state shown: ``UNKNOWN`` when the target has no recent check (its newest
is older than ``STALE_INTERVALS`` of its own check intervals plus ``LATE``:
the monitor stopped, or never checked it) or no state is kept;
``MAINTENANCE`` when its newest check was inside a maintenance window; else
the state table's ``UP`` or ``DOWN``, the alerts' own state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from ..alerting.state import TargetState, parse_time
from ..alerting.state_store import StateStore
from ..event import format_timestamp
from ..history.item_size import BLOCK_BYTES
from ..history.rollup_store import RollupStore, StoredIncident, hour_of, hour_summaries
from ..history.rollups import HourSummary, merge, percentile, summarise, uptime
from .public_reasons import public_reason

__all__ = [
    "DAYS_SHOWN",
    "PERIODS",
    "RAW_READ_BYTES",
    "DayStatus",
    "Incident",
    "ShownTarget",
    "StatusData",
    "TargetReads",
    "TargetStatus",
    "build",
    "load",
    "without_details",
]

DAYS_SHOWN: Final = 90
PERIODS: Final = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
MAX_INCIDENTS: Final = 10
# Raw records a view reads per target: 32 KB, 4 read units (eventually consistent). The hours after the
# latest summarised one are read newest first; at one check a minute (records of about 120 bytes) that is
# all of them. Records of failures with many unmet expectations (3-20 KB each) fill it sooner: then the
# older part of those hours is left unread, said so on the page, and counted once summarised.
RAW_READ_BYTES: Final = 8 * BLOCK_BYTES
STALE_INTERVALS: Final = 3
# Events reach the function up to 30 minutes late (Scheduler, then Lambda's async queue); most far sooner.
LATE: Final = timedelta(minutes=15)
# The interval assumed while a target has a single check to go by.
ONE_CHECK_INTERVAL: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ShownTarget:
    """A target the page shows: ``key`` is its records' ``Id``, ``name`` what the page calls it."""

    key: str
    name: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class DayStatus:
    day: str
    uptime: float | None
    """Percent of counted checks that passed; None: no counted check that day."""
    checks: int
    failed: int
    maintenance: int
    p50_ms: int | None
    p95_ms: int | None


@dataclass(frozen=True, slots=True)
class Incident:
    """A DOWN period, from the first failure that took the target down to the first success that brought it back."""

    start: str
    end: str | None
    """None while it goes on (``ongoing``), or when its end was not recorded."""
    duration_s: int | None
    """Up to ``end``, or so far while ongoing; None when its end is unknown."""
    ongoing: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class TargetStatus:
    name: str
    url: str | None
    state: str
    """UP, DOWN, MAINTENANCE, or UNKNOWN (no recent check, or no state kept)."""
    since: str | None
    last_check: str | None
    """When its newest check ran (None: none since its latest summarised hour)."""
    uptime: dict[str, float | None]
    maintenance: dict[str, int]
    """Checks inside a maintenance window, per period (left out of its uptime)."""
    days: list[DayStatus]
    incidents: list[Incident] = field(default_factory=list)
    unread_from: str | None = None
    """With ``unread_until``: checks not summarised yet that this view left unread (over its read budget)."""
    unread_until: str | None = None


@dataclass(frozen=True, slots=True)
class StatusData:
    generated_at: str
    targets: list[TargetStatus]

    def to_json(self) -> dict[str, object]:
        """camelCase keys, as the stack config and the report's JSON have them."""
        camel = _camel(asdict(self))
        assert isinstance(camel, dict)
        return camel


def _camel(value: object) -> object:
    if isinstance(value, dict):
        return {_camel_key(key): _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _camel_key(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True, slots=True)
class TargetReads:
    """Everything one view read of one target."""

    summarised: Mapping[datetime, HourSummary] = field(default_factory=dict)
    recent: Sequence[Mapping[str, Any]] = ()
    """Raw records after the latest summarised hour, newest first."""
    unread: tuple[datetime, datetime] | None = None
    """The part of those hours left unread: [from, until)."""
    incidents: Sequence[StoredIncident] = ()
    state: TargetState | None = None
    """None: no state table."""


def _moment(text: object) -> datetime | None:
    """An event time (``2026-11-27T10:00:00Z``); None for anything else (an item not written by the monitor)."""
    try:
        moment = parse_time(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _time(item: Mapping[str, Any]) -> datetime | None:
    return _moment(item.get("Timestamp", {}).get("S"))


def _flag(item: Mapping[str, Any], name: str) -> bool:
    return bool(item.get(name, {}).get("BOOL"))


def _seconds(start: str, end: str) -> int:
    return max(0, round((parse_time(end) - parse_time(start)).total_seconds()))


def _shown_state(reads: TargetReads, now: datetime) -> tuple[str, str | None]:
    """(state, since) as the page shows them."""
    times = [moment for moment in map(_time, reads.recent) if moment is not None]
    if not times:
        return "UNKNOWN", None
    newest = times[0]
    if len(times) > 1:
        interval = newest - times[1]
    else:
        # A sparse schedule: the check before is in a summarised hour, at most that hour's start.
        earlier = [hour for hour, summary in reads.summarised.items() if summary.checks and hour < newest]
        interval = newest - max(earlier) if earlier else ONE_CHECK_INTERVAL
    if now - newest > STALE_INTERVALS * interval + LATE:
        return "UNKNOWN", None
    if _flag(reads.recent[0], "Maintenance"):
        since = reads.recent[0]
        for item in reads.recent:
            if not _flag(item, "Maintenance"):
                break
            since = item
        return "MAINTENANCE", str(since["Timestamp"]["S"])
    if reads.state is None:
        return "UNKNOWN", None
    return reads.state.state, reads.state.since


def _recent_hours(reads: TargetReads) -> dict[datetime, HourSummary]:
    """The raw records' hours, summarised as the monitor will (a part, for an hour cut by the read budget)."""
    by_hour: dict[datetime, list[Mapping[str, Any]]] = {}
    for item in reversed(reads.recent):  # oldest first, as summarise wants them
        hour = hour_of(dict(item))
        if hour is not None:
            by_hour.setdefault(hour, []).append(item)
    return {hour: summarise(items) for hour, items in by_hour.items()}


def _incidents(reads: TargetReads, hours: Mapping[datetime, HourSummary], now: datetime) -> list[Incident]:
    """From the state's transitions: the ongoing one (the state table's DOWN since), then the recorded ones."""
    generated = format_timestamp(now)

    def reason(start: str, recorded: str | None) -> str | None:
        if recorded is not None:
            return recorded
        # Not recorded (an incident older than its item, or a write that failed): its first hour's reason.
        summary = hours.get(parse_time(start).replace(minute=0, second=0, microsecond=0))
        return summary.first_reason if summary is not None else None

    state = reads.state
    since = state.since if state is not None and _moment(state.since) is not None else None
    down_since = since if state is not None and state.state == "DOWN" else None
    recorded = {incident.start: incident for incident in reads.incidents}
    found: list[Incident] = []
    if down_since is not None:
        stored = recorded.get(down_since)
        found.append(
            Incident(
                down_since,
                None,
                _seconds(down_since, generated),
                True,
                reason(down_since, stored.reason if stored else None),
            )
        )
    recovered_since = since if state is not None and state.state == "UP" else None
    for incident in sorted(reads.incidents, key=lambda incident: incident.start, reverse=True):
        if incident.start == down_since:
            continue
        end = incident.end
        if end is None and recovered_since is not None and recovered_since > incident.start:
            # The latest outage: the state's UP since is its end (the recovery's write was lost).
            end = recovered_since
        recovered_since = None  # only the latest incident can end where the state's UP began
        duration = _seconds(incident.start, end) if end is not None else None
        found.append(Incident(incident.start, end, duration, False, reason(incident.start, incident.reason)))
    return found[:MAX_INCIDENTS]


def target_status(target: ShownTarget, reads: TargetReads, now: datetime) -> TargetStatus:
    """One target's figures at ``now``."""
    hours = {**reads.summarised, **_recent_hours(reads)}
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=DAYS_SHOWN - 1)
    by_day: list[list[HourSummary]] = [[] for _ in range(DAYS_SHOWN)]
    ordered = sorted(hours.items())
    for hour, summary in ordered:
        index = (hour - first).days
        if 0 <= index < DAYS_SHOWN:
            by_day[index].append(summary)
    days: list[DayStatus] = []
    for index, summaries in enumerate(by_day):
        day = merge(summaries)
        days.append(
            DayStatus(
                day=(first + timedelta(days=index)).strftime("%Y-%m-%d"),
                uptime=uptime(day),
                checks=day.checks,
                failed=day.failed,
                maintenance=day.maintenance,
                p50_ms=percentile(day, 0.5),
                p95_ms=percentile(day, 0.95),
            )
        )
    # An hour counts when any of it falls in the period: "24h" at 10:30 reads from 10:00 yesterday,
    # so a failure 23 h 45 min ago is never left out (it may read up to an hour more, never less).
    periods = {
        label: merge(summary for hour, summary in ordered if hour + timedelta(hours=1) > now - period)
        for label, period in PERIODS.items()
    }
    state, since = _shown_state(reads, now)
    newest = reads.recent[0]["Timestamp"]["S"] if reads.recent else None
    unread = reads.unread
    return TargetStatus(
        name=target.name,
        url=target.url,
        state=state,
        since=since,
        last_check=str(newest) if newest is not None else None,
        uptime={label: uptime(summary) for label, summary in periods.items()},
        maintenance={label: summary.maintenance for label, summary in periods.items()},
        days=days,
        incidents=_incidents(reads, hours, now),
        unread_from=format_timestamp(unread[0]) if unread else None,
        unread_until=format_timestamp(unread[1]) if unread else None,
    )


def build(targets: Sequence[ShownTarget], reads: Mapping[str, TargetReads], now: datetime) -> StatusData:
    """The page's data from each target's reads (by key)."""
    return StatusData(
        generated_at=format_timestamp(now),
        targets=[target_status(target, reads.get(target.key, TargetReads()), now) for target in targets],
    )


def without_details(data: StatusData) -> StatusData:
    """``data`` with each incident's reason cut to its kind: what a page that hides URLs may show."""
    return replace(
        data,
        targets=[
            replace(
                target,
                incidents=[
                    replace(incident, reason=public_reason(incident.reason) if incident.reason else incident.reason)
                    for incident in target.incidents
                ],
            )
            for target in data.targets
        ],
    )


def _raw_window(summarised: Mapping[datetime, HourSummary], now: datetime) -> datetime:
    """Where the unsummarised hours start: after the latest summarised one (within the days shown).

    Every hour after it is unsummarised, however long ago: the monitor summarises
    an hour only when a run comes after it closes, which on a daily schedule is a day later.
    """
    first = (now - timedelta(days=DAYS_SHOWN)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max([first, *(hour + timedelta(hours=1) for hour in summarised)])


def _read_recent(
    store: RollupStore,
    key: str,
    start: datetime,
    now: datetime,
    turns: Sequence[str],
    deadline: float,
) -> tuple[list[dict[str, Any]], tuple[datetime, datetime] | None]:
    """The raw records from ``start`` to ``now``, newest first, within ``RAW_READ_BYTES``; and what was left unread.

    Records change size where the state turned (a failure with many unmet expectations
    is 30-160 times a success): each stretch between ``turns`` is read on its own,
    starting from one record again, so passing records read in big pages never lead
    into a big page of failures.
    """
    end = now + timedelta(seconds=1)
    moments = [moment for moment in map(_moment, turns) if moment is not None]
    bounds = sorted({moment for moment in moments if start < moment < end}, reverse=True)
    stretches = list(zip([end, *bounds], [*bounds, start], strict=True))
    items: list[dict[str, Any]] = []
    billed = largest = 0
    for upper, lower in stretches:
        # A stretch starts with one record: only when the budget left holds one as large as any read so far.
        if billed and RAW_READ_BYTES - billed < max(largest, BLOCK_BYTES):
            return items, (start, upper)
        read = store.newest_records(key, lower, upper, deadline, max_bytes=RAW_READ_BYTES - billed)
        items += read.items
        billed += read.billed_bytes
        largest = max(largest, read.largest_bytes)
        if not read.complete:
            oldest = _time(items[-1]) if items else None
            return items, (start, oldest or upper)
    return items, None


def load(
    targets: Sequence[ShownTarget],
    rollups: RollupStore,
    state_store: StateStore | None,
    now: datetime,
    deadline: float,
) -> StatusData:
    """Read what the page needs: about one item per target per day shown, its incidents, the unsummarised hours."""
    first_day = (now - timedelta(days=DAYS_SHOWN)).strftime("%Y-%m-%d")
    last_day = now.strftime("%Y-%m-%d")
    states: dict[str, TargetState] = {}
    if state_store is not None:
        stored = state_store.load([target.key for target in targets], deadline)
        # No item is UP, as for the monitor: nothing has happened to that target yet.
        states = {target.key: stored.get(target.key, TargetState()) for target in targets}
    reads: dict[str, TargetReads] = {}
    for target in dict.fromkeys(target.key for target in targets):
        summarised = hour_summaries(rollups.days(target, first_day, last_day, deadline))
        incidents = rollups.incidents(target, now - timedelta(days=DAYS_SHOWN), now, deadline, limit=MAX_INCIDENTS)
        state = states.get(target) if state_store is not None else None
        turns = [moment for incident in incidents for moment in (incident.start, incident.end) if moment]
        if state is not None and state.since is not None:
            turns.append(state.since)
        recent, unread = _read_recent(rollups, target, _raw_window(summarised, now), now, turns, deadline)
        reads[target] = TargetReads(summarised, recent, unread, incidents, state)
    return build(targets, reads, now)
