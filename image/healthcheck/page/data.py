"""What the status page shows, as plain data: built from rollups, incidents, raw runs and state.

``?format=json`` returns exactly :meth:`StatusData.to_json`, so machines and
the HTML read the same figures. Building is pure (:func:`build`) given what
was read; :func:`load` does the reads:

- one ``Query`` of the rollups' ``shards`` items: which shard (and region) held each target
  shown in the days shown, and how far each is summarised;
- per such shard and region, one ``Query`` of its day items (one a day, every target of the
  shard in each) and one of its hour items (the last 24 hours, and those of a day not closed yet);
- per such shard, its run items after the latest summarised hour, newest first, until
  ``RAW_READ_BYTES`` are billed, whatever they hold (and each roster they refer to, once per process);
- per shown target that failed in the days shown or has a state, one ``Query`` of its latest incidents;
- one ``BatchGetItem`` of the state table for all targets.

Failure reasons are never read raw: the page names an incident by its recorded reason (or its
first hour's), so a failure with long reasons costs a view nothing more than a pass.

The state shown: ``UNKNOWN`` when the target has no recent check (its newest
is older than ``STALE_INTERVALS`` of its own check intervals plus ``LATE``:
the monitor stopped, or never checked it) or no state is kept;
``MAINTENANCE`` when its newest check was inside a maintenance window; else
the state table's ``UP`` or ``DOWN``, the alerts' own state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from ..alerting.state import TargetState, parse_time
from ..alerting.state_store import StateStore
from ..event import format_timestamp
from ..history.item_size import READ_UNIT_BYTES
from ..history.reader import Check, decode_runs, newest_runs
from ..history.rollup_store import RollupStore, ShardHead, StoredIncident, day_of, hour_of
from ..history.rollups import HourSummary, merge, percentile, summarise, uptime
from .public_reasons import public_reason

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

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
# Run items a view reads per shard after its latest summarised hour: 256 KB, 32 read units (eventually
# consistent). At one run a minute, a shard of 100 targets has a run item of about 1.2-2 KB, so that holds
# the two hours an hour waits before it is summarised. Older runs (rollups stalled) are left unread, said
# so on the page, and counted once summarised. Run items hold no failure reasons: their size is the same
# whatever the checks found.
RAW_READ_BYTES: Final = 32 * READ_UNIT_BYTES
STALE_INTERVALS: Final = 3
# Events reach the function up to 30 minutes late (Scheduler, then Lambda's async queue); most far sooner.
LATE: Final = timedelta(minutes=15)
# The interval assumed while a target has a single check to go by.
ONE_CHECK_INTERVAL: Final = timedelta(hours=1)
# How far behind the runs a shard's list of names may say a target was last seen (a day closes at 01:50).
LISTED_LAG: Final = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class ShownTarget:
    """A target the page shows: ``key`` is its records' name, ``name`` what the page calls it."""

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
    regions_up: list[str] = field(default_factory=list)
    """Several regions only: those whose latest check of it passed (or did not count), sorted."""
    regions_down: list[str] = field(default_factory=list)
    """Several regions only: those whose latest check of it failed, sorted."""


def regions_seen(recent: Sequence[Check]) -> tuple[list[str], list[str]]:
    """(regions that see it up, regions that don't) from each region's newest check; both empty with one region."""
    newest: dict[str, Check] = {}
    for check in recent:
        if check.region is not None and (check.region not in newest or check.time > newest[check.region].time):
            newest[check.region] = check
    if len(newest) < 2:
        return [], []
    down = sorted(region for region, check in newest.items() if not check.success and check.counted)
    return sorted(set(newest) - set(down)), down


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

    days: Mapping[datetime, HourSummary] = field(default_factory=dict)
    """Each day's summary from the rollups, by the day's start: a closed day's item, or the hours summarised
    so far of a day not closed yet."""
    hours: Mapping[datetime, HourSummary] = field(default_factory=dict)
    """Summarised hours, by the hour's start: at least those of the last 24 hours."""
    recent: Sequence[Check] = ()
    """Checks after the latest summarised hour, newest first."""
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


def _seconds(start: str, end: str) -> int:
    return max(0, round((parse_time(end) - parse_time(start)).total_seconds()))


def _shown_state(reads: TargetReads, now: datetime) -> tuple[str, str | None]:
    """(state, since) as the page shows them."""
    times = sorted({moment for moment in (_moment(check.time) for check in reads.recent) if moment}, reverse=True)
    if not times:
        return "UNKNOWN", None
    newest = times[0]
    if len(times) > 1:
        interval = newest - times[1]
    else:
        # A sparse schedule: the check before is in a summarised hour, at most that hour's start.
        earlier = [hour for hour, summary in reads.hours.items() if summary.checks and hour < newest]
        interval = newest - max(earlier) if earlier else ONE_CHECK_INTERVAL
    if now - newest > STALE_INTERVALS * interval + LATE:
        return "UNKNOWN", None
    if reads.recent[0].maintenance:
        since = reads.recent[0].time
        for check in reads.recent:
            if not check.maintenance:
                return "MAINTENANCE", since
            since = check.time
        # Every check read raw was in the window: it began before them, in the summarised hours wholly inside it
        # (said to the hour: a summary keeps counts, not times).
        hour = (hour_of(since) or newest) - timedelta(hours=1)
        while (summary := reads.hours.get(hour)) is not None and 0 < summary.checks == summary.maintenance:
            since = format_timestamp(hour)
            hour -= timedelta(hours=1)
        return "MAINTENANCE", since
    if reads.state is None:
        return "UNKNOWN", None
    return reads.state.state, reads.state.since


def _recent_hours(reads: TargetReads) -> dict[datetime, HourSummary]:
    """The raw checks' hours, summarised as the monitor will (a part, for an hour cut by the read budget)."""
    by_hour: dict[datetime, list[Check]] = {}
    for check in reversed(reads.recent):  # oldest first, as summarise wants them
        hour = hour_of(check.time)
        if hour is not None:
            by_hour.setdefault(hour, []).append(check)
    return {hour: summarise(checks) for hour, checks in by_hour.items()}


def _incidents(reads: TargetReads, now: datetime) -> list[Incident]:
    """From the state's transitions: the ongoing one (the state table's DOWN since), then the recorded ones."""
    generated = format_timestamp(now)

    def reason(start: str, recorded: str | None) -> str | None:
        if recorded is not None:
            return recorded
        # Not recorded (an incident older than its item, or a write that failed): its first hour's reason.
        summary = reads.hours.get(parse_time(start).replace(minute=0, second=0, microsecond=0))
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


def _day_ago(now: datetime) -> datetime:
    """The first hour the "24h" figure counts: the one holding the moment a day before ``now``."""
    return now.replace(minute=0, second=0, microsecond=0) - PERIODS["24h"]


def _merged(*parts: Mapping[datetime, HourSummary]) -> dict[datetime, HourSummary]:
    """Summaries by period, those of the same period added together."""
    collected: dict[datetime, list[HourSummary]] = {}
    for part in parts:
        for moment, summary in part.items():
            collected.setdefault(moment, []).append(summary)
    return {moment: merge(summaries) for moment, summaries in collected.items()}


def target_status(target: ShownTarget, reads: TargetReads, now: datetime) -> TargetStatus:
    """One target's figures at ``now``."""
    raw_hours = _recent_hours(reads)
    hours = _merged(reads.hours, raw_hours)
    raw_days = _merged(*({day_of(hour): summary} for hour, summary in raw_hours.items()))
    days_by_start = _merged(reads.days, raw_days)
    today = day_of(now)
    first = today - timedelta(days=DAYS_SHOWN - 1)
    days: list[DayStatus] = []
    for index in range(DAYS_SHOWN):
        start = first + timedelta(days=index)
        day = days_by_start.get(start, HourSummary())
        days.append(
            DayStatus(
                day=start.strftime("%Y-%m-%d"),
                uptime=uptime(day),
                checks=day.checks,
                failed=day.failed,
                maintenance=day.maintenance,
                p50_ms=percentile(day, 0.5),
                p95_ms=percentile(day, 0.95),
            )
        )
    # A period counts every hour (24h) or day (the others) any of which falls in it: "24h" at 10:30 reads
    # from 10:00 yesterday, "7d" from midnight 7 days ago, so a failure near its start is never left out (a
    # period may read up to an hour, or a day, more; never less).
    periods = {
        "24h": merge(
            summary for hour, summary in sorted(hours.items()) if hour + timedelta(hours=1) > now - PERIODS["24h"]
        )
    }
    for label, period in PERIODS.items():
        if label != "24h":
            periods[label] = merge(
                summary for day, summary in sorted(days_by_start.items()) if day + timedelta(days=1) > now - period
            )
    state, since = _shown_state(reads, now)
    unread = reads.unread
    regions_up, regions_down = regions_seen(reads.recent)
    return TargetStatus(
        name=target.name,
        url=target.url,
        state=state,
        since=since,
        last_check=reads.recent[0].time if reads.recent else None,
        uptime={label: uptime(periods[label]) for label in PERIODS},
        maintenance={label: periods[label].maintenance for label in PERIODS},
        days=days,
        incidents=_incidents(reads, now),
        unread_from=format_timestamp(unread[0]) if unread else None,
        unread_until=format_timestamp(unread[1]) if unread else None,
        regions_up=regions_up,
        regions_down=regions_down,
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


@dataclass
class _Gathered:
    """What a view read of one target, gathered from each shard and region that held it."""

    days: list[dict[datetime, HourSummary]] = field(default_factory=list)
    hours: list[dict[datetime, HourSummary]] = field(default_factory=list)
    recent: list[Check] = field(default_factory=list)
    unread: tuple[datetime, datetime] | None = None


def _read_source(
    rollups: RollupStore,
    shard: str,
    region: str,
    head: ShardHead,
    wanted: Iterable[str],
    gathered: Mapping[str, _Gathered],
    now: datetime,
    first_day: datetime,
    deadline: float,
) -> None:
    """One shard and region's summaries of the wanted targets: its closed days, then its hours."""
    if head.hour is None:
        return
    covered = day_of(head.hour + timedelta(hours=1)) - timedelta(days=1)  # the latest day whose every hour is in
    days = rollups.days(shard, region, first_day, covered, deadline) if covered >= first_day else {}
    # The last 24 hours' (for "24h"), and those of the day not closed yet (for its bar): at most two days' worth.
    hours_from = min(_day_ago(now), covered + timedelta(days=1))
    hours = rollups.hours(shard, region, hours_from, head.hour, deadline) if hours_from <= head.hour else {}
    for name in wanted:
        own_days = {day: summaries[name] for day, summaries in days.items() if name in summaries}
        own_hours = {hour: summaries[name] for hour, summaries in hours.items() if name in summaries}
        # The hours of the day not closed yet (or whose item is missing) make its day, until its item does.
        open_days = _merged(
            *({day_of(hour): summary} for hour, summary in own_hours.items() if day_of(hour) not in own_days)
        )
        target = gathered[name]
        target.days.append({**own_days, **{day: summary for day, summary in open_days.items() if day > covered}})
        target.hours.append(own_hours)


def _read_raw(
    client: DynamoDBClient,
    table: str,
    shard: str,
    starts: Mapping[str, datetime],
    wanted: Iterable[str],
    gathered: Mapping[str, _Gathered],
    now: datetime,
    deadline: float,
) -> None:
    """A shard's run items after each region's latest summarised hour (``starts``), newest first, on a budget."""
    start = min(starts.values())
    read = newest_runs(
        client,
        table,
        shard,
        format_timestamp(start),
        format_timestamp(now),
        max_bytes=RAW_READ_BYTES,
        deadline=deadline,
    )
    names = set(wanted)
    oldest: datetime | None = None
    for check, _ in decode_runs(client, table, read.items, deadline=deadline):
        moment = _moment(check.time)
        region_start = starts.get(check.region or "")
        if moment is None or region_start is None or moment < region_start or check.target not in names:
            continue
        gathered[check.target].recent.append(check)
    times = [_moment(str(item["Timestamp"]["S"]).partition("#")[0]) for item in read.items]
    oldest = min((moment for moment in times if moment is not None), default=None)
    if not read.complete:
        for name in names:
            gathered[name].unread = (start, oldest or now)


def load(
    targets: Sequence[ShownTarget],
    rollups: RollupStore,
    state_store: StateStore | None,
    now: datetime,
    deadline: float,
    *,
    days_back: int = DAYS_SHOWN,
) -> StatusData:
    """Read what the page needs (see the module's docstring) and build it.

    ``days_back``: the days read before today (a badge of the last 7 days needs 7 of them, not 90).
    """
    keys = list(dict.fromkeys(target.key for target in targets))
    first_day = day_of(now) - timedelta(days=days_back)
    # A shard's names say the last day each was summarised, a day or two behind the runs: margin to spare.
    oldest_listed = (first_day - LISTED_LAG).strftime("%Y-%m-%d")
    earliest = min(first_day, _day_ago(now))
    gathered = {key: _Gathered() for key in keys}
    heads = rollups.shards(deadline)
    sources = {pair: [key for key in keys if head.names.get(key, "") >= oldest_listed] for pair, head in heads.items()}
    raw_starts: dict[str, dict[str, datetime]] = {}
    for (shard, region), wanted in sources.items():
        if not wanted:
            continue
        head = heads[(shard, region)]
        _read_source(rollups, shard, region, head, wanted, gathered, now, first_day, deadline)
        after = head.hour + timedelta(hours=1) if head.hour is not None else earliest
        raw_starts.setdefault(shard, {})[region] = max(after, earliest)
    shard_names: dict[str, set[str]] = {}
    for (shard, _), wanted in sources.items():
        shard_names.setdefault(shard, set()).update(wanted)
    for shard, starts in raw_starts.items():
        _read_raw(
            rollups.client,
            rollups.results_table,
            shard,
            starts,
            shard_names[shard],
            gathered,
            now,
            deadline,
        )
    states: dict[str, TargetState] = {}
    if state_store is not None:
        stored = state_store.load(keys, deadline)
        # No item is UP, as for the monitor: nothing has happened to that target yet.
        states = {key: stored.get(key, TargetState()) for key in keys}
    reads: dict[str, TargetReads] = {}
    window = now - timedelta(days=days_back)
    for key in keys:
        target = gathered[key]
        target.recent.sort(key=lambda check: (check.time, check.region or ""), reverse=True)
        days = _merged(*target.days)
        hours = _merged(*target.hours)
        state = states.get(key) if state_store is not None else None
        failed = any(summary.failed for summary in (*days.values(), *hours.values())) or any(
            check.counted and not check.success for check in target.recent
        )
        changed = state is not None and state.since is not None and state.since >= format_timestamp(window)
        incidents = (
            rollups.incidents(key, window, now, deadline, limit=MAX_INCIDENTS)
            if failed or changed or target.unread
            else []
        )
        reads[key] = TargetReads(days, hours, target.recent, target.unread, incidents, state)
    return build(targets, reads, now)
