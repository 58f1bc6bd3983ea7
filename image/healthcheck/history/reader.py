"""Reading checks back from the results table, by ``Query`` only, never a ``Scan`` of the history.

Every reader of records goes through here (the report, the export, the rollups,
the status page), so the layout (``history/layout.py``) is decoded in one place:

- :func:`rosters`: one ``Query`` of the roster items, which say which shards ever held which targets;
- :func:`checks`: per shard holding a wanted target, its run items between two times (one ``Query``,
  paged), decoded by their rosters; then, for the targets whose checks did not pass, one ``Query`` each
  for their failure items over the same page's times. A failure item whose run entry passed (an event
  retried that passed the second time) is not read as a check: the run item is the truth.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from ..alerting.state import TargetState
from ..alerting.state_store import is_shard_key
from ..alerting.state_store import read_item as read_state_item
from ..retrying import retry_until
from ..text import clip
from .item_size import item_bytes, page_bytes
from .layout import (
    ROSTER_ID,
    RUN_PREFIX,
    Entry,
    Roster,
    check_id,
    decode_checks,
    run_id,
    split_sort_key,
    time_range,
)
from .record_store import HASH_KEY, RANGE_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = [
    "BoundedRead",
    "Check",
    "Rosters",
    "check_from_item",
    "checks",
    "decode_run",
    "decode_runs",
    "newest_runs",
    "passed_between",
    "read_states",
    "roster",
    "rosters",
    "run_items",
    "with_reasons",
]

log = logging.getLogger(__name__)

# A bounded read asks for one run item first, then for as many as its budget holds at the largest item
# seen so far, at most PAGE_GROWTH times the page before.
FIRST_PAGE: Final = 1
PAGE_GROWTH: Final = 32


@dataclass(frozen=True, slots=True)
class Check:
    """One stored check: what the export prints (``to_json``), the report counts, the page summarises."""

    target: str
    time: str
    """The event's time, ``2026-12-07T03:00:00Z``."""
    success: bool
    duration_ms: int
    status: int | None = None
    error: str | None = None
    failures: tuple[str, ...] = ()
    inconclusive: bool = False
    maintenance: bool = False
    cert_days_left: int | None = None
    tls_verified: bool = True
    url: str = ""
    region: str | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it failed: the unmet expectations, else the error; empty for a success (or details not read)."""
        return self.failures or ((self.error,) if self.error else ())

    @property
    def counted(self) -> bool:
        """Whether the check counts towards uptime: not in maintenance, not inconclusive."""
        return not (self.inconclusive or self.maintenance)

    def to_json(self) -> dict[str, object]:
        """The export's object: every key of the contract, those that don't apply left out."""
        value: dict[str, object] = {
            "target": self.target,
            "time": self.time,
            "url": self.url,
            "success": self.success,
            "durationMs": self.duration_ms,
        }
        if self.status is not None:
            value["status"] = self.status
        if self.error is not None:
            value["error"] = self.error
        if self.failures:
            value["failures"] = list(self.failures)
        value["inconclusive"] = self.inconclusive
        value["maintenance"] = self.maintenance
        if self.cert_days_left is not None:
            value["certDaysLeft"] = self.cert_days_left
        value["tlsVerified"] = self.tls_verified
        if self.region is not None:
            value["region"] = self.region
        return value


def check_from_item(item: Mapping[str, Any]) -> Check:
    """A failure item read back as a whole check (KeyError/ValueError when it is not one)."""
    timestamp, region = split_sort_key(str(item[RANGE_KEY]["S"]))
    status = item.get("Status", {}).get("N")
    cert = item.get("CertDaysLeft", {}).get("N")
    error = item.get("Error", {}).get("S")
    return Check(
        target=str(item[HASH_KEY]["S"]).removeprefix("check#"),
        time=timestamp,
        success=bool(item["Success"]["BOOL"]),
        duration_ms=int(float(item["Duration"]["N"])),
        status=int(status) if status is not None else None,
        error=str(error) if error is not None else None,
        failures=tuple(str(entry["S"]) for entry in item.get("Failures", {}).get("L", [])),
        inconclusive=bool(item.get("Inconclusive", {}).get("BOOL", False)),
        maintenance=bool(item.get("Maintenance", {}).get("BOOL", False)),
        cert_days_left=int(cert) if cert is not None else None,
        tls_verified=bool(item.get("TlsVerified", {}).get("BOOL", True)),
        url=str(item.get("Url", {}).get("S", "")),
        region=region,
    )


def _from_entry(name: str, url: str, timestamp: str, region: str, entry: Entry) -> Check:
    return Check(
        target=name,
        time=timestamp,
        success=not entry.failed,
        duration_ms=entry.duration_ms or 0,
        status=entry.status,
        inconclusive=entry.inconclusive,
        maintenance=entry.maintenance,
        cert_days_left=entry.cert_days_left,
        tls_verified=entry.tls_verified,
        url=url,
        region=region,
    )


def _call(call: Callable[[], Any], deadline: float | None, what: str) -> Any:
    """One read: retried until ``deadline`` where there is one (the functions); as is for the CLIs."""
    return call() if deadline is None else retry_until(call, deadline, what)


def _query(
    client: DynamoDBClient, request: dict[str, Any], deadline: float | None, what: str
) -> Iterator[list[dict[str, Any]]]:
    """Each page of a ``Query``, following ``LastEvaluatedKey``."""
    request = dict(request)
    while True:

        def query(request: dict[str, Any] = request) -> Any:
            return client.query(**request)

        response = _call(query, deadline, what)
        yield response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        request["ExclusiveStartKey"] = last


@dataclass(frozen=True, slots=True)
class Rosters:
    """Every roster of a table: (shard, roster id) to its roster, and when it was first used."""

    by_key: Mapping[tuple[str, str], Roster] = field(default_factory=dict)
    first_used: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def shards(self, names: Collection[str] | None = None) -> list[str]:
        """The shards that ever held one of ``names`` (every shard when None), in order."""
        return sorted(
            {shard for (shard, _), roster in self.by_key.items() if names is None or set(roster.names) & set(names)}
        )

    def get(self, shard: str, roster_id: str) -> Roster | None:
        return self.by_key.get((shard, roster_id))

    @property
    def names(self) -> set[str]:
        return {name for roster in self.by_key.values() for name in roster.names}


def _roster_from_item(item: Mapping[str, Any]) -> tuple[str, str, Roster, str] | None:
    try:
        shard, _, roster_id = str(item[RANGE_KEY]["S"]).partition("#")
        roster = Roster.from_json(str(item["Targets"]["S"]))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("roster item unreadable, skipped: %s (%s)", clip(repr(item.get(RANGE_KEY)), 200), exc)
        return None
    return shard, roster_id, roster, str(item.get("First", {}).get("S", ""))


def rosters(client: DynamoDBClient, table: str, *, deadline: float | None = None) -> Rosters:
    """Every roster item (one ``Query``, paged): which shards to read for which targets."""
    by_key: dict[tuple[str, str], Roster] = {}
    first: dict[tuple[str, str], str] = {}
    request = {
        "TableName": table,
        "KeyConditionExpression": "#id = :id",
        "ExpressionAttributeNames": {"#id": HASH_KEY},
        "ExpressionAttributeValues": {":id": {"S": ROSTER_ID}},
    }
    for page in _query(client, request, deadline, "reading the rosters"):
        for item in page:
            read = _roster_from_item(item)
            if read is not None:
                shard, roster_id, found, used = read
                by_key[(shard, roster_id)] = found
                first[(shard, roster_id)] = used
    return Rosters(by_key, first)


# Rosters never change (their id is their content's hash): once read, kept for the life of the process.
_roster_cache: dict[tuple[str, str, str, str], Roster] = {}
_roster_lock = threading.Lock()


def roster(client: DynamoDBClient, table: str, shard: str, roster_id: str, *, deadline: float) -> Roster | None:
    """One roster (a ``GetItem``, cached for the process); None when it is not stored (yet) or unreadable."""
    known = (str(client.meta.endpoint_url), table, shard, roster_id)
    with _roster_lock:
        if known in _roster_cache:
            return _roster_cache[known]

    def get() -> Any:
        return client.get_item(
            TableName=table, Key={HASH_KEY: {"S": ROSTER_ID}, RANGE_KEY: {"S": f"{shard}#{roster_id}"}}
        )

    item = _call(get, deadline, f"reading a roster of shard {shard}").get("Item")
    if item is None:
        log.warning(
            "run items of shard %s refer to roster %s, which is not stored: they are left out", shard, roster_id
        )
        return None
    read = _roster_from_item(item)
    if read is None:
        return None
    with _roster_lock:
        _roster_cache[known] = read[2]
    return read[2]


def decode_run(item: Mapping[str, Any], found: Roster | None) -> list[tuple[Check, Entry]]:
    """The checks of a run item, by its roster (none when the roster is missing or the item unreadable).

    Each comes with its entry: whether a failure item holds the rest (``needs_details``).
    """
    if found is None:
        return []
    try:
        timestamp, region = split_sort_key(str(item[RANGE_KEY]["S"]))
        entries = decode_checks(str(item["Checks"]["S"]))
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("run item unreadable, skipped: %s (%s)", clip(repr(item.get(RANGE_KEY)), 200), exc)
        return []
    if len(entries) != len(found.targets):
        log.warning(
            "run item %s has %d entries for a roster of %d: the extra ones are left out",
            clip(repr(item.get(RANGE_KEY)), 200),
            len(entries),
            len(found.targets),
        )
    decoded = []
    for (name, url), entry in zip(found.targets, entries, strict=False):
        if entry is None:
            log.warning("a check of %s at %s is unreadable, skipped", name, timestamp)
        elif entry.checked:
            decoded.append((_from_entry(name, url, timestamp, region, entry), entry))
    return decoded


def decode_runs(
    client: DynamoDBClient, table: str, items: Iterable[Mapping[str, Any]], *, deadline: float
) -> list[tuple[Check, Entry]]:
    """The checks of run items (any shard), each decoded by its roster (read once per process)."""
    decoded: list[tuple[Check, Entry]] = []
    for item in items:
        roster_id = roster_id_of(item)
        shard = shard_of(item)
        found = roster(client, table, shard, roster_id, deadline=deadline) if roster_id else None
        decoded += decode_run(item, found)
    return decoded


def _between(table: str, item_id: str, since: str, until: str) -> dict[str, Any]:
    """A ``Query`` of the items of one ``Id`` (a shard's runs, a target's failures) from ``since`` to ``until``.

    Event times, both included, every region's.
    """
    start, end = time_range(since, until)
    return {
        "TableName": table,
        "KeyConditionExpression": "#id = :id AND #t BETWEEN :start AND :end",
        "ExpressionAttributeNames": {"#id": HASH_KEY, "#t": RANGE_KEY},
        "ExpressionAttributeValues": {":id": {"S": item_id}, ":start": {"S": start}, ":end": {"S": end}},
    }


def run_items(
    client: DynamoDBClient, table: str, shard: str, since: str, until: str, *, limit: int, deadline: float
) -> tuple[list[dict[str, Any]], bool]:
    """Run items of ``shard`` from ``since`` to ``until`` (event times), oldest first, at most ``limit``;
    and whether they are all there are."""
    request = {**_between(table, run_id(shard), since, until), "Limit": limit}
    items: list[dict[str, Any]] = []
    while True:

        def query(request: dict[str, Any] = request) -> Any:
            return client.query(**request)

        response = _call(query, deadline, f"reading the runs of shard {shard}")
        items += response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        if not last:
            return items, True
        if len(items) >= limit:
            return items, False
        request = {**request, "ExclusiveStartKey": last, "Limit": limit - len(items)}


# Runs read to learn whether a failing streak was broken by a pass the state never saw: the runs between two
# failures one run apart are none; more than this (a long maintenance window) is taken as broken.
MAX_RUNS_BETWEEN: Final = 64


def passed_between(
    client: DynamoDBClient,
    table: str,
    shard: str,
    region: str,
    last_failures: Mapping[str, str],
    until: str,
    *,
    deadline: float,
) -> set[str]:
    """Which of ``last_failures`` (target: its streak's latest failure) passed in ``shard``'s runs from ``region``
    after that failure and before ``until``: their failures are not in a row, whatever the state read said.

    A pass the state's index did not show a run (the index lagging a whole run) is in the run's own item.
    The runs between are none while the streak was read whole, so this is one small ``Query``; too many
    runs to read is taken as a pass, since it only ever makes a DOWN come later.
    """
    if not last_failures:
        return set()
    items, complete = run_items(
        client, table, shard, min(last_failures.values()), until, limit=MAX_RUNS_BETWEEN, deadline=deadline
    )
    if not complete:
        return set(last_failures)
    passed: set[str] = set()
    for check, _ in decode_runs(client, table, items, deadline=deadline):
        since = last_failures.get(check.target)
        between = since is not None and since < check.time < until and check.region == region
        if between and check.success and check.counted:
            passed.add(check.target)
    return passed


def roster_id_of(item: Mapping[str, Any]) -> str | None:
    value = item.get("Roster", {}).get("S")
    return str(value) if value is not None else None


def _failure_items(
    client: DynamoDBClient, table: str, name: str, since: str, until: str, deadline: float | None
) -> dict[tuple[str, str], Check]:
    """A target's failure items from ``since`` to ``until`` (event times), by (time, region)."""
    request = _between(table, check_id(name), since, until)
    found: dict[tuple[str, str], Check] = {}
    for page in _query(client, request, deadline, f"reading the failures of {name}"):
        for item in page:
            try:
                check = check_from_item(item)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("failure item of %s unreadable, skipped: %s", name, exc)
                continue
            found[(check.time, check.region or "")] = check
    return found


def with_details(
    client: DynamoDBClient,
    table: str,
    decoded: Iterable[tuple[Check, Entry]],
    *,
    names: Collection[str] | None = None,
    deadline: float | None = None,
) -> list[Check]:
    """The checks, those that did not pass completed from their failure items (one ``Query`` per target).

    A check whose failure item is missing (its write failed, and the event's retries too) keeps what
    its run entry says: failed, with no error.
    """
    wanted = [(check, entry) for check, entry in decoded if names is None or check.target in names]
    times: dict[str, list[str]] = {}
    for check, entry in wanted:
        if entry.needs_details:
            times.setdefault(check.target, []).append(check.time)
    details = {
        name: _failure_items(client, table, name, min(moments), max(moments), deadline)
        for name, moments in times.items()
    }
    completed = []
    for check, entry in wanted:
        full = details[check.target].get((check.time, check.region or "")) if entry.needs_details else None
        completed.append(with_reasons(check, full) if full is not None else check)
    return completed


def with_reasons(check: Check, full: Check) -> Check:
    """The run entry's check with the failure item's reasons: the run item is the truth of what counted.

    Two attempts at one event (a double delivery, a retry whose writes half failed) can leave the run
    item of one and the failure item of the other; whether the check counted, its figures and its
    flags stay the run item's, so uptime never moves with which attempt's failure item landed. One
    that passed in the run item's attempt has no reasons.
    """
    if full.success != check.success:
        return check
    return replace(check, error=full.error, failures=full.failures, url=full.url or check.url)


def _shard_checks(
    client: DynamoDBClient,
    table: str,
    shard: str,
    found: Rosters,
    since: str,
    until: str,
    names: Collection[str] | None,
    regions: Collection[str] | None,
    on_page: Callable[[int], None],
    page_size: int | None,
) -> Iterator[Check]:
    request = _between(table, run_id(shard), since, until)
    if page_size is not None:
        request["Limit"] = page_size
    for page in _query(client, request, None, f"reading the runs of shard {shard}"):
        decoded = []
        for item in page:
            roster_id = roster_id_of(item)
            decoded += decode_run(item, found.get(shard, roster_id) if roster_id else None)
        if regions is not None:
            decoded = [(check, entry) for check, entry in decoded if check.region in regions]
        page_checks = with_details(client, table, decoded, names=names)
        on_page(len(page_checks))
        # Within a run item, by name: each shard's checks then come in (time, region, target) order.
        yield from sorted(page_checks, key=_order)


def _order(check: Check) -> tuple[str, str, str]:
    return check.time, check.region or "", check.target


def checks(
    client: DynamoDBClient,
    table: str,
    *,
    since: str,
    until: str,
    names: Collection[str] | None = None,
    regions: Collection[str] | None = None,
    on_page: Callable[[int], None] = lambda count: None,
    page_size: int | None = None,
    found: Rosters | None = None,
) -> Iterator[Check]:
    """Every check from ``since`` to ``until`` (event times, both included), of ``names`` (all when None).

    In order of time, then region, then target, as they are read (a page of run items at a time).
    ``on_page`` gets the number of checks each page held; ``page_size`` caps the run items a call
    returns (DynamoDB's ``Limit``; without it each returns up to 1 MB).
    """
    found = found if found is not None else rosters(client, table)
    wanted = set(names) if names is not None else None
    streams = [
        _shard_checks(client, table, shard, found, since, until, wanted, regions, on_page, page_size)
        for shard in found.shards(wanted)
    ]
    return heapq.merge(*streams, key=_order)


@dataclass(frozen=True, slots=True)
class BoundedRead:
    """Run items read newest first within a budget of bytes."""

    items: list[dict[str, Any]]
    billed_bytes: int
    """What DynamoDB bills for the pages read (each rounded up to 4 KB)."""
    complete: bool
    """Every run item of the range was read."""


def newest_runs(
    client: DynamoDBClient, table: str, shard: str, since: str, until: str, *, max_bytes: int, deadline: float
) -> BoundedRead:
    """Run items of ``shard`` from ``since`` to ``until`` (event times), newest first, until ``max_bytes`` are billed.

    A page asks only for as many items as the rest of the budget holds at the largest item read so
    far, so the read stops at the budget, not at DynamoDB's 1 MB page.
    """
    request = {**_between(table, run_id(shard), since, until), "ScanIndexForward": False, "Limit": FIRST_PAGE}
    items: list[dict[str, Any]] = []
    billed = largest = 0
    while True:

        def query(request: dict[str, Any] = request) -> Any:
            return client.query(**request)

        response = retry_until(query, deadline, f"reading the runs of shard {shard}")
        page = response.get("Items", [])
        items += page
        billed += page_bytes(page)
        largest = max([largest, *(item_bytes(item) for item in page)])
        last = response.get("LastEvaluatedKey")
        if not last:
            return BoundedRead(items, billed, True)
        # The budget left is whole 4 KB blocks, so items that fit it fit once rounded up, too.
        fits = (max_bytes - billed) // max(largest, 1)
        if fits < 1:
            return BoundedRead(items, billed, False)
        request = {**request, "ExclusiveStartKey": last, "Limit": min(fits, request["Limit"] * PAGE_GROWTH)}


def shard_of(item: Mapping[str, Any]) -> str:
    return str(item[HASH_KEY]["S"]).removeprefix(RUN_PREFIX)


def read_states(client: DynamoDBClient, table: str) -> dict[str, TargetState]:
    """Every target's stored state. A ``Scan``, of the state table only: one small item per target."""
    states: dict[str, TargetState] = {}
    request: dict[str, Any] = {"TableName": table}
    while True:
        response = client.scan(**request)
        for item in response.get("Items", []):
            if not is_shard_key(str(item[HASH_KEY]["S"])):  # each shard's own item is no target
                # A malformed item (a hand edit) is named in the log and read as no state, as a run reads it.
                states[str(item[HASH_KEY]["S"])] = read_state_item(item).state
        last = response.get("LastEvaluatedKey")
        if not last:
            return states
        request["ExclusiveStartKey"] = last
