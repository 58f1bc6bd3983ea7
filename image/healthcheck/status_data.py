"""What the status page shows, as plain data: built from rollups and state, rendered by ``status_page``.

``?format=json`` returns exactly :meth:`StatusData.to_json`, so machines and
the HTML read the same figures. Building is pure (:func:`build`) given the
hour summaries and states; :func:`load` does the reads: per target, one
``Query`` of its day items (one item per day shown) and one of the raw
records of the hours not summarised yet (the current hour or two on a steady
schedule; at most ``RAW_RECORDS``), and one ``BatchGetItem`` of the state
table for all targets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from .event import format_timestamp
from .public_reasons import public_reason
from .rollup_store import RollupStore, hour_of, hour_summaries
from .rollups import HourSummary, merge, percentile, summarise, uptime
from .state import TargetState
from .state_store import StateStore

__all__ = [
    "DAYS_SHOWN",
    "PERIODS",
    "DayStatus",
    "Incident",
    "StatusData",
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
# Raw records a view reads per target, newest first: 4 hours at one check a minute (about 4 read
# units). Hours are summarised in order, so every hour after the latest summarised one is read raw;
# only rollups stalled for hours leave more, and those older hours show as no data until caught up.
RAW_RECORDS: Final = 240


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
    """Consecutive hours with failed checks; ``end`` None while it goes on."""

    start: str
    end: str | None
    failed: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class TargetStatus:
    name: str
    url: str | None
    state: str
    """UP, DOWN, or UNKNOWN (no state table, or no check yet)."""
    since: str | None
    uptime: dict[str, float | None]
    days: list[DayStatus]
    incidents: list[Incident] = field(default_factory=list)


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


def _incidents(hours: Mapping[datetime, HourSummary], down_since: str | None, now: datetime) -> list[Incident]:
    """Runs of consecutive hours with a counted failure, newest first; an end is never later than ``now``."""
    incidents: list[Incident] = []
    start: datetime | None = None
    failed = 0
    reason: str | None = None
    previous: datetime | None = None
    for hour in sorted(hours):
        summary = hours[hour]
        if summary.failed:
            if start is None or previous is None or hour - previous > timedelta(hours=1):
                if start is not None and previous is not None:
                    incidents.append(
                        Incident(
                            format_timestamp(start),
                            format_timestamp(min(previous + timedelta(hours=1), now)),
                            failed,
                            reason,
                        )
                    )
                start, failed, reason = hour, 0, None
            failed += summary.failed
            # Its first hour's reason; if that hour continues an outage whose start is out of sight
            # (the 90 days' edge, an unreadable hour), the first reason any of its hours kept.
            reason = reason or summary.first_reason
            previous = hour
    if start is not None and previous is not None:
        ongoing = down_since is not None
        incidents.append(
            Incident(
                format_timestamp(start),
                None if ongoing else format_timestamp(min(previous + timedelta(hours=1), now)),
                failed,
                reason,
            )
        )
    return list(reversed(incidents))[:MAX_INCIDENTS]


def target_status(
    name: str,
    url: str | None,
    hours: Mapping[datetime, HourSummary],
    state: TargetState | None,
    now: datetime,
) -> TargetStatus:
    """One target's figures from its hour summaries (UTC hour starts) at ``now``."""
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
    figures = {
        label: uptime(merge(summary for hour, summary in ordered if hour + timedelta(hours=1) > now - period))
        for label, period in PERIODS.items()
    }
    down_since = state.since if state is not None and state.state == "DOWN" else None
    return TargetStatus(
        name=name,
        url=url,
        state=state.state if state is not None else "UNKNOWN",
        since=state.since if state is not None else None,
        uptime=figures,
        days=days,
        incidents=_incidents(hours, down_since, now),
    )


def build(
    targets: Sequence[tuple[str, str | None]],
    hours: Mapping[str, Mapping[datetime, HourSummary]],
    states: Mapping[str, TargetState],
    now: datetime,
) -> StatusData:
    return StatusData(
        generated_at=format_timestamp(now),
        targets=[target_status(name, url, hours.get(name, {}), states.get(name), now) for name, url in targets],
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


def _recent_hours(
    store: RollupStore, name: str, summarised: Mapping[datetime, HourSummary], now: datetime, deadline: float
) -> dict[datetime, HourSummary]:
    """The hours after the latest summarised one, from their raw records (the newest ``RAW_RECORDS``).

    Every hour after it is unsummarised, however long ago: the monitor summarises
    an hour only when a run comes after it closes, which on a daily schedule is a day later.
    """
    first = (now - timedelta(days=DAYS_SHOWN)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = max([first, *(hour + timedelta(hours=1) for hour in summarised)])
    if start > now:
        return {}
    records, complete = store.some_records(
        name, start, now + timedelta(seconds=1), deadline, limit=RAW_RECORDS, newest_first=True
    )
    by_hour: dict[datetime, list[dict[str, object]]] = {}
    for item in reversed(records):  # oldest first, as summarise wants them
        hour = hour_of(item)
        if hour is not None:
            by_hour.setdefault(hour, []).append(item)
    if not complete and by_hour:
        del by_hour[min(by_hour)]  # cut short by the limit: shown as no data rather than as a part
    return {hour: summarise(items) for hour, items in by_hour.items()}


def load(
    targets: Sequence[tuple[str, str | None]],
    rollups: RollupStore,
    state_store: StateStore | None,
    now: datetime,
    deadline: float,
) -> StatusData:
    """Read what the page needs: about one item per target per day shown, plus the unsummarised hours."""
    first_day = (now - timedelta(days=DAYS_SHOWN)).strftime("%Y-%m-%d")
    last_day = now.strftime("%Y-%m-%d")
    hours: dict[str, dict[datetime, HourSummary]] = {}
    for name, _url in targets:
        summarised = hour_summaries(rollups.days(name, first_day, last_day, deadline))
        hours[name] = {**summarised, **_recent_hours(rollups, name, summarised, now, deadline)}
    states: dict[str, TargetState] = {}
    if state_store is not None:
        stored = state_store.load([name for name, _url in targets], deadline)
        # No item is UP, as for the monitor: nothing has happened to that target yet.
        states = {name: stored.get(name, TargetState()) for name, _url in targets}
    return build(targets, hours, states, now)
