"""The state table (hash key ``Id``): batched reads, writes conditional on what was read, and publish claims.

A sparse index, ``Watch``, holds the items that are not clean (see
``TargetState.clean``): each state write sets ``Watch`` to a shard while the
item is not clean (alerting/watch.py says which) and removes it in the write
that makes it clean, so a run finds every item that needs it in one ``Query``
of its shard. One more item per shard (``shard_key``: no target name can be
it) sits in the index too: when all the shard's items were last read.

Every state write names the ``LastEvent`` and ``Pending`` it was computed
from, as stored (the raw values read, see ``Version``): if another
invocation applied an event or cleared sent alerts meanwhile (a retry, a
double delivery, a late event), the write is refused, and the refusal
returns the item as it now is (no extra read), so no event moves a target
twice and no sent alert comes back.

Users edit this table by hand. An item this code cannot use (``Failures``
2.5, ``Pending`` that is not JSON, a DOWN without ``Since``...) is logged
at WARNING with the attribute at fault and treated as no state for that
target alone; the next write replaces it.

A run publishes an item's pending alerts only under its claim
(``ClaimedBy``/``ClaimExpires``, set by a conditional write that no other
live claim allows); state writes leave the claim alone, and the claimant
clears what it sent and the claim in one write.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from ..exceptions import HealthcheckError, StateNotSavedError
from ..retrying import UnreadableResponseError, error_code, retry_until
from ..text import MAX_ERROR_BYTES, clip, show
from .messages import KINDS
from .state import Alert, TargetState, parse_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = [
    "ABSENT",
    "GET_BATCH_SIZE",
    "NO_ITEM",
    "WATCH",
    "MalformedStateError",
    "Refused",
    "ShardIndex",
    "StateStore",
    "Stored",
    "Version",
    "from_item",
    "is_shard_key",
    "pending_text",
    "read_item",
    "shard_key",
    "to_item",
]

log = logging.getLogger(__name__)

GET_BATCH_SIZE: Final = 100  # BatchGetItem's limit
MAX_URL_BYTES: Final = 8192
MAX_NAME_BYTES: Final = 1024
CONFLICT: Final = "ConditionalCheckFailedException"
# The attributes ``save`` owns: set when the state has them, removed when not.
STATE_ATTRIBUTES: Final = (
    "State",
    "Failures",
    "Successes",
    "Since",
    "StreakStart",
    "LastEvent",
    "RemindedAt",
    "CertWarned",
    "CertExpiry",
    "Pending",
)
# Several regions only (issue 17): the regions whose latest vote is a FAIL, comma-separated. A store of one
# region never names it, so its writes are what they were.
REGIONS_ATTRIBUTE: Final = "Regions"
# On a shard's own item: the regions reporting while fewer than a quorum do (alerting/track.py).
DEGRADED: Final = "Degraded"
# The sparse index of the items that are not clean, and the attribute it is keyed by (an item's shard).
WATCH: Final = "Watch"
# Each shard's own item starts with a control character: no target's name can (check/targets.py).
SHARD_KEY_PREFIX: Final = "\x1fshard#"
HOUR: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}")
ROSTER: Final = re.compile(r"[0-9a-f]{16}")
# A clear meets a state write that added alerts at most this often before it gives up.
MAX_CLEAR_ATTEMPTS: Final = 5
EVENT_TIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
COUNT: Final = re.compile(r"[0-9]{1,15}")
REGION: Final = re.compile(r"[A-Za-z0-9-]{1,64}")


def _alert_json(alert: Alert) -> dict[str, object]:
    form: dict[str, object] = {
        "kind": alert.kind,
        "target": clip(alert.target, MAX_NAME_BYTES),
        "url": clip(alert.url, MAX_URL_BYTES),
        "at": alert.at,
        "since": alert.since,
        "reasons": [clip(reason, MAX_ERROR_BYTES) for reason in alert.reasons],
        "downForS": alert.down_for_s,
        "certDaysLeft": alert.cert_days_left,
    }
    if alert.maybe_sent:
        form["maybeSent"] = True
    if alert.regions:
        form["regions"] = list(alert.regions)
    return form


def to_item(name: str, state: TargetState) -> dict[str, AttributeValueTypeDef]:
    item: dict[str, AttributeValueTypeDef] = {
        "Id": {"S": name},
        "State": {"S": state.state},
        "Failures": {"N": str(state.failures)},
        "Successes": {"N": str(state.successes)},
    }
    for key, text in (
        ("Since", state.since),
        ("StreakStart", state.streak_start),
        ("LastEvent", state.last_event),
        ("RemindedAt", state.reminded_at),
        ("CertExpiry", state.cert_expiry),
    ):
        if text is not None:
            item[key] = {"S": text}
    if state.cert_warned is not None:
        item["CertWarned"] = {"N": str(state.cert_warned)}
    if state.failing:
        item[REGIONS_ATTRIBUTE] = {"S": ",".join(state.failing)}
    if state.pending:
        # One string: read back whole, and compared whole (as read) by every later write.
        item["Pending"] = {"S": pending_text(state.pending)}
    return item


def shard_key(shard: str) -> str:
    """The ``Id`` of the item that records when all of ``shard``'s items were last read."""
    return SHARD_KEY_PREFIX + shard


def is_shard_key(key: str) -> bool:
    """Whether ``key`` is a shard's own item, not a target's (readers of the whole table skip it)."""
    return key.startswith(SHARD_KEY_PREFIX)


def pending_text(pending: Sequence[Alert]) -> str:
    """The stored form of ``pending``."""
    return json.dumps([_alert_json(alert) for alert in pending], ensure_ascii=False)


class MalformedStateError(HealthcheckError, ValueError):
    """A state item this code cannot act on (edited by hand, or written by something else)."""

    def __init__(self, name: str, attribute: str, problem: str) -> None:
        super().__init__(f"the state item of {clip(name, 200)} has a malformed {attribute}: {problem}")
        self.attribute = attribute


@dataclass(frozen=True, slots=True)
class Version:
    """What an item held when it was read, as stored: what every conditional write compares.

    The raw values, not this code's own rendering of what it parsed: a
    ``Pending`` re-typed as compact JSON in the console, or a malformed item
    treated as absent, is still matched, so the next write replaces it
    instead of being refused as another run's, run after run.
    """

    exists: bool
    last_event: Mapping[str, Any] | None = None
    pending: Mapping[str, Any] | None = None
    regions: Mapping[str, Any] | None = None
    """Compared only by a store of several regions (two regions may write at the same event time)."""

    @classmethod
    def of(cls, state: TargetState) -> Version:
        """The version of an item just written from ``state``."""
        item = to_item("", state)
        return cls(True, item.get("LastEvent"), item.get("Pending"), item.get(REGIONS_ATTRIBUTE))


NO_ITEM: Final = Version(exists=False)


@dataclass(frozen=True, slots=True)
class Stored:
    """A state item as read: its state (UP when it was malformed) and its version."""

    state: TargetState
    version: Version
    malformed: str | None = None
    """Why the item was treated as absent, when it was."""
    watch: str | None = None
    """The shard the item was indexed under (``Watch``) when read; None when it was in no shard's index."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A conditional write that the item refused: what it holds now (NO_ITEM's when there is none)."""

    found: Stored


ABSENT: Final = Stored(TargetState(), NO_ITEM)


@dataclass(frozen=True, slots=True)
class ShardIndex:
    """What the index holds for one shard: its items that are not clean, and its own record of its last full read."""

    items: dict[str, Stored]
    """By target name: possibly of targets no longer in the shard."""
    reconciled: str | None = None
    """The UTC hour (``2026-11-27T18``) in which every item of the shard was last read, when known."""
    roster: str | None = None
    """The digest of the target names read then (alerting/watch.py)."""
    degraded: str | None = None
    """Several regions only: the regions reporting when the shard's runs last found fewer than a quorum
    (``Degraded``, comma-separated, "-" for none); None while not degraded."""


def _string(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise ValueError(f"{key} is {_shape(value)}, not a string")
    return str(value["S"])


def _shape(value: object) -> str:
    if isinstance(value, Mapping) and len(value) == 1:
        [(kind, raw)] = value.items()
        return f"{show(raw)} of type {show(kind)}"
    return show(value)


def _time(item: Mapping[str, Any], key: str) -> str | None:
    text = _string(item, key)
    if text is not None and not _is_time(text):
        raise ValueError(f"{key} is {show(text)}, not a time like 2026-11-27T18:00:00Z")
    return text


def _is_time(value: object) -> bool:
    if not isinstance(value, str) or not EVENT_TIME.fullmatch(value):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def _count(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    text = value.get("N") if isinstance(value, Mapping) else None
    if not isinstance(text, str) or not COUNT.fullmatch(text):
        raise ValueError(f"{key} is {_shape(value)}, not a whole number of 0 or more")
    return int(text)


def _alert(raw: object, index: int) -> Alert:
    where = f"Pending alert {index + 1}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is {show(raw)}, not an object")
    kind, reasons = raw.get("kind"), raw.get("reasons") or []
    if kind not in KINDS:
        raise ValueError(f"{where} has kind {show(kind)}, not one of {', '.join(KINDS)}")
    for key in ("target", "url"):
        if not isinstance(raw.get(key), str):
            raise ValueError(f"{where} has {key} {show(raw.get(key))}, not a string")
    for key in ("at", "since"):
        if not _is_time(raw.get(key)):
            raise ValueError(f"{where} has {key} {show(raw.get(key))}, not a time like 2026-11-27T18:00:00Z")
    if not isinstance(reasons, list) or not all(isinstance(reason, str) for reason in reasons):
        raise ValueError(f"{where} has reasons {show(reasons)}, not a list of strings")
    numbers = {key: raw.get(key) for key in ("downForS", "certDaysLeft")}
    for key, number in numbers.items():
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise ValueError(f"{where} has {key} {show(number)}, not a whole number")
    if not isinstance(raw.get("maybeSent", False), bool):
        raise ValueError(f"{where} has maybeSent {show(raw.get('maybeSent'))}, not true or false")
    regions = raw.get("regions", [])
    if not isinstance(regions, list) or not all(isinstance(name, str) and REGION.fullmatch(name) for name in regions):
        raise ValueError(f"{where} has regions {show(regions)}, not a list of region names")
    return Alert(
        kind=kind,
        target=raw["target"],
        url=raw["url"],
        at=raw["at"],
        since=raw["since"],
        reasons=tuple(reasons),
        down_for_s=numbers["downForS"],
        cert_days_left=numbers["certDaysLeft"],
        maybe_sent=raw.get("maybeSent", False),
        regions=tuple(regions),
    )


def _regions(item: Mapping[str, Any]) -> tuple[str, ...]:
    text = _string(item, REGIONS_ATTRIBUTE)
    if text is None:
        return ()
    names = text.split(",")
    if not all(REGION.fullmatch(name) for name in names):
        raise ValueError(f"{REGIONS_ATTRIBUTE} is {show(text)}, not region names separated by commas")
    return tuple(sorted(set(names)))


def _pending(item: Mapping[str, Any]) -> tuple[Alert, ...]:
    text = _string(item, "Pending")
    if text is None:
        return ()
    try:
        alerts = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"Pending is not JSON ({exc})") from exc
    if not isinstance(alerts, list):
        raise ValueError(f"Pending is {show(alerts)}, not a list of alerts")
    return tuple(_alert(raw, index) for index, raw in enumerate(alerts))


def from_item(item: Mapping[str, Any]) -> TargetState:
    """The state an item holds; MalformedStateError (naming the attribute) when it holds none this code can use."""
    name = _name(item)
    parsers: dict[str, Callable[[], object]] = {
        "State": lambda: _string(item, "State") or "UP",
        "Failures": lambda: _count(item, "Failures") or 0,
        "Successes": lambda: _count(item, "Successes") or 0,
        "Since": lambda: _time(item, "Since"),
        "StreakStart": lambda: _time(item, "StreakStart"),
        "LastEvent": lambda: _time(item, "LastEvent"),
        "RemindedAt": lambda: _time(item, "RemindedAt"),
        "CertWarned": lambda: _count(item, "CertWarned"),
        "CertExpiry": lambda: _time(item, "CertExpiry"),
        "Pending": lambda: _pending(item),
        REGIONS_ATTRIBUTE: lambda: _regions(item),
    }
    values: dict[str, Any] = {}
    for attribute, parse in parsers.items():
        try:
            values[attribute] = parse()
        except ValueError as exc:
            raise MalformedStateError(name, attribute, str(exc)) from exc
    if values["State"] not in ("UP", "DOWN", "PARTIAL"):
        raise MalformedStateError(name, "State", f"State is {show(values['State'])}, not UP, DOWN or PARTIAL")
    if values["State"] in ("DOWN", "PARTIAL") and values["Since"] is None:
        state = values["State"]
        raise MalformedStateError(name, "Since", f"a {state} state needs Since, the time its first failure was checked")
    counted = values["Failures"] if values["State"] == "UP" else values["Successes"]
    if counted and values["StreakStart"] is None:
        raise MalformedStateError(name, "StreakStart", "a streak being counted needs StreakStart, its first check")
    return TargetState(
        state=values["State"],
        since=values["Since"],
        failures=values["Failures"],
        successes=values["Successes"],
        streak_start=values["StreakStart"],
        last_event=values["LastEvent"],
        reminded_at=values["RemindedAt"],
        cert_warned=values["CertWarned"],
        cert_expiry=values["CertExpiry"],
        pending=values["Pending"],
        failing=values[REGIONS_ATTRIBUTE],
        **_claim(name, item),
    )


def _claim(name: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """The publish claim; a malformed one is no claim (the claim's condition lets the next one replace it)."""
    try:
        claimed_by, expires = _string(item, "ClaimedBy"), _count(item, "ClaimExpires")
    except ValueError as exc:
        log.warning("the state item of %s has a malformed claim, taken as none: %s", clip(name, 200), exc)
        return {}
    return {"claimed_by": claimed_by, "claim_expires": expires}


def read_item(item: Mapping[str, Any]) -> Stored:
    """An item as read: what it holds, or (logged) an absent state with the item's version when it is malformed."""
    version = Version(True, item.get("LastEvent"), item.get("Pending"), item.get(REGIONS_ATTRIBUTE))
    watch = _raw_string(item.get(WATCH))
    try:
        return Stored(from_item(item), version, watch=watch)
    except MalformedStateError as exc:
        log.warning("%s; treated as a target with no state until the next write replaces it", exc)
        claim = _claim(_name(item), item)
        return Stored(TargetState(**claim), version, malformed=exc.attribute, watch=watch)


def _raw_string(value: object) -> str | None:
    text = value.get("S") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) else None


def _shard_index(shard: str, items: Iterable[Mapping[str, Any]]) -> ShardIndex:
    """A ``Query`` answer as a ShardIndex; a shard item edited out of shape is no record (the next run reads all)."""
    found: dict[str, Stored] = {}
    reconciled = roster = degraded = None
    for item in items:
        key = _name(item)
        if key == shard_key(shard):
            degraded = _raw_string(item.get(DEGRADED))
            hour, digest = _raw_string(item.get("Reconciled")), _raw_string(item.get("Roster"))
            reconciled = hour if hour is not None and HOUR.fullmatch(hour) else None
            roster = digest if digest is not None and ROSTER.fullmatch(digest) else None
        elif not is_shard_key(key):
            found[key] = read_item(item)
    return ShardIndex(found, reconciled, roster, degraded)


def _name(item: Mapping[str, Any]) -> str:
    key = item.get("Id")
    return str(key.get("S", "?")) if isinstance(key, Mapping) else "?"


def _unclaimed(state: TargetState) -> TargetState:
    return dataclasses.replace(state, claimed_by=None, claim_expires=None)


def _keyed(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("Id"), dict) and isinstance(item["Id"].get("S"), str)


def _compare(attribute: str, value: Mapping[str, Any] | None, values: dict[str, Any]) -> str:
    if value is None:
        return f"attribute_not_exists({attribute})"
    values[f":read{attribute}"] = value
    return f"{attribute} = :read{attribute}"


def _read_condition(read: Version, values: dict[str, Any], *, regions: bool = False) -> str:
    """The item still holds what was read: no item, or the same raw last event and pending alerts.

    With several regions, also the same failing regions: two regions' writes for one event time
    leave ``LastEvent`` as it was, and neither may undo the other's.
    """
    if not read.exists:
        return "attribute_not_exists(Id)"
    condition = _compare("LastEvent", read.last_event, values) + " AND " + _compare("Pending", read.pending, values)
    if regions:
        condition += " AND " + _compare(REGIONS_ATTRIBUTE, read.regions, values)
    return condition


class StateStore:
    """Reads and conditionally writes state items; every call retried until the deadline given."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        regions: bool = False,
    ) -> None:
        self._client = client
        self.table_name = table_name
        self.regions = regions
        """Several regions write this table: ``Regions`` is written and compared too."""
        self._sleep = sleep
        self.calls = {"Query": 0, "BatchGetItem": 0, "UpdateItem": 0}
        """Calls made, for the benchmark's per-run count."""

    def watched(self, shard: str, deadline: float) -> ShardIndex:
        """Every item the index holds for ``shard`` (all pages; eventually consistent, as the index is)."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": WATCH,
            "KeyConditionExpression": "#w = :shard",
            "ExpressionAttributeNames": {"#w": WATCH},
            "ExpressionAttributeValues": {":shard": {"S": shard}},
        }
        items: list[Mapping[str, Any]] = []
        while True:
            response = retry_until(functools.partial(self._query, request), deadline, "reading state", self._sleep)
            items += response["Items"]
            last = response.get("LastEvaluatedKey")
            if not last:
                return _shard_index(shard, items)
            request = {**request, "ExclusiveStartKey": last}

    def _query(self, request: Mapping[str, Any]) -> Any:
        self.calls["Query"] += 1
        response = self._client.query(**request)
        # botocore reads a garbled or cut-off JSON answer as an empty one: that is not "nothing to watch".
        found = response.get("Items")
        if not isinstance(found, list) or not all(_keyed(item) for item in found):
            raise UnreadableResponseError(what="Query", error="no items list in the answer")
        return response

    def load(self, names: Iterable[str], deadline: float) -> dict[str, TargetState]:
        """The stored state of each name that has a usable one (eventually consistent: runs are a minute apart)."""
        return {name: item.state for name, item in self.read(names, deadline).items() if item.malformed is None}

    def read(self, names: Iterable[str], deadline: float) -> dict[str, Stored]:
        """Each name's item, with the version its conditional writes compare; a malformed one is logged."""
        unique = list(dict.fromkeys(names))
        items: dict[str, Stored] = {}
        for start in range(0, len(unique), GET_BATCH_SIZE):
            keys: Sequence[Any] = [{"Id": {"S": name}} for name in unique[start : start + GET_BATCH_SIZE]]
            while keys:
                response = retry_until(functools.partial(self._get, keys), deadline, "reading state", self._sleep)
                for item in response["Responses"][self.table_name]:
                    items[str(item["Id"]["S"])] = read_item(item)
                keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if keys:
                    if time.monotonic() >= deadline:
                        raise StateNotSavedError(f"{len(keys)} state items left unread at the deadline (throttled)")
                    log.warning("reading %d state items again (throttled)", len(keys))
                    self._sleep(0.1)
        return items

    def _get(self, keys: Sequence[Any]) -> Any:
        self.calls["BatchGetItem"] += 1
        response = self._client.batch_get_item(RequestItems={self.table_name: {"Keys": keys}})
        # botocore reads a garbled or cut-off JSON answer as an empty one: that is not "no items".
        found = response.get("Responses", {}).get(self.table_name)
        throttled = self.table_name in response.get("UnprocessedKeys", {})
        shaped = isinstance(found, list) or (found is None and throttled)
        if not shaped or not all(_keyed(item) for item in found or ()):
            raise UnreadableResponseError(what="BatchGetItem", error="no items list for the table in the answer")
        if found is None:
            response["Responses"] = {self.table_name: []}
        return response

    def save(
        self, name: str, read: Version, new: TargetState, deadline: float, *, watch: str | None
    ) -> Version | Refused:
        """Write ``new`` if the item still holds what was read: its new version, or what refused it.

        Only the state's own attributes and ``Watch`` (removed when ``watch`` is None) are
        written: a claim on the item stays as it is.
        """
        values: dict[str, AttributeValueTypeDef] = {}
        condition = _read_condition(read, values, regions=self.regions)
        item = to_item(name, new)
        sets, removes = [], []
        names: dict[str, str] = {}
        attributes = (*STATE_ATTRIBUTES, REGIONS_ATTRIBUTE) if self.regions else STATE_ATTRIBUTES
        for index, attribute in enumerate(attributes):
            names[f"#a{index}"] = attribute
            if attribute in item:
                sets.append(f"#a{index} = :v{index}")
                values[f":v{index}"] = item[attribute]
            else:
                removes.append(f"#a{index}")
        names["#w"] = WATCH
        if watch is None:
            removes.append("#w")
        else:
            sets.append("#w = :watch")
            values[":watch"] = {"S": watch}
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        written = Version.of(new)
        refused = self._update(name, update, condition, names, values, deadline, f"writing the state of {name}")
        if refused is None or _unclaimed(refused.found.state) == _unclaimed(new):
            return written  # refused only because an earlier attempt of this same write landed
        return refused

    def claim(self, name: str, read: Version, run_id: str, expires: int, deadline: float) -> bool:
        """Claim the pending alerts of the item as read for ``run_id`` until ``expires`` (epoch seconds).

        False when they changed or another run holds an unexpired claim:
        that run publishes them, or they wait for a later run. A claim whose
        expiry is not a number (edited by hand) is no claim.
        """
        values: dict[str, AttributeValueTypeDef] = {
            ":me": {"S": run_id},
            ":expires": {"N": str(expires)},
            ":now": {"N": str(int(time.time()))},
            ":number": {"S": "N"},
        }
        condition = (
            _compare("Pending", read.pending, values)
            + " AND (attribute_not_exists(ClaimedBy) OR ClaimedBy = :me OR ClaimExpires < :now"
            + " OR NOT attribute_type(ClaimExpires, :number))"
        )
        update = "SET ClaimedBy = :me, ClaimExpires = :expires"
        return self._update(name, update, condition, {}, values, deadline, f"claiming the alerts of {name}") is None

    def clear(
        self,
        name: str,
        claimed: Stored,
        done: Collection[Alert],
        resend: Collection[Alert],
        run_id: str,
        deadline: float,
    ) -> bool:
        """Remove ``done`` from the pending alerts, mark ``resend`` as maybe sent, and release this run's claim.

        One write. A state write may have added alerts since the claim: then
        the item as found (returned with the refusal, no read) is cleared of
        the same alerts. False when the claim is no longer this run's (it
        expired and was taken). A clear that leaves the item clean takes it out
        of the index, on condition that no state write came between (its
        ``LastEvent`` is as read).
        """
        current = claimed
        for _ in range(MAX_CLEAR_ATTEMPTS):
            remaining = [
                dataclasses.replace(alert, maybe_sent=True) if alert in resend else alert
                for alert in current.state.pending
                if alert not in done
            ]
            values: dict[str, AttributeValueTypeDef] = {":me": {"S": run_id}}
            names: dict[str, str] = {}
            condition = "ClaimedBy = :me AND " + _compare("Pending", current.version.pending, values)
            if remaining:
                values[":remaining"] = {"S": pending_text(remaining)}
                update = "SET Pending = :remaining REMOVE ClaimedBy, ClaimExpires"
            else:
                update = "REMOVE Pending, ClaimedBy, ClaimExpires"
                after = dataclasses.replace(current.state, pending=())
                if current.watch is not None and after.clean:
                    names["#w"] = WATCH
                    update += ", #w"
                    condition += " AND " + _compare("LastEvent", current.version.last_event, values)
            what = f"clearing the alerts of {name}"
            refused = self._update(name, update, condition, names, values, deadline, what)
            if refused is None:
                return True
            current = refused.found
            if current.state.claimed_by != run_id:
                # Either the claim expired and was taken, or an earlier attempt of this
                # clear landed and only its answer was lost: then nothing it dropped is pending.
                return current.state.claimed_by is None and not set(done) & set(current.state.pending)
        log.warning(
            "clearing the alerts of %s met %d state writes in a row; its sent alerts may be sent again",
            clip(name, 200),
            MAX_CLEAR_ATTEMPTS,
        )
        return False

    def unwatch(self, name: str, shard: str, deadline: float) -> None:
        """Take the item of a target no longer in ``shard`` out of its index (left as it is if another shard has it)."""
        values: dict[str, AttributeValueTypeDef] = {":shard": {"S": shard}}
        what = f"taking the state of {name} out of shard {shard}'s index"
        self._update(name, "REMOVE #w", "#w = :shard", {"#w": WATCH}, values, deadline, what)

    def mark_reconciled(self, shard: str, hour: str, roster: str, deadline: float) -> None:
        """Record in ``shard``'s own item that every item of its targets (``roster``) was read in ``hour``."""
        values: dict[str, AttributeValueTypeDef] = {
            ":hour": {"S": hour},
            ":roster": {"S": roster},
            ":shard": {"S": shard},
        }
        update = "SET Reconciled = :hour, Roster = :roster, #w = :shard"
        names = {"#w": WATCH}
        self._update(shard_key(shard), update, None, names, values, deadline, f"recording shard {shard}'s full read")

    def mark_degraded(self, shard: str, read: str | None, reporting: str | None, deadline: float) -> bool:
        """Record on ``shard``'s own item that the monitor is degraded (``reporting``) or not (None).

        Conditional on what was read: of the runs that find the same change, one wins and sends the one message.
        """
        values: dict[str, AttributeValueTypeDef] = {":shard": {"S": shard}}
        condition = _compare(DEGRADED, None if read is None else {"S": read}, values)
        if reporting is None:
            update = "SET #w = :shard REMOVE #d"
        else:
            update = "SET #d = :reporting, #w = :shard"
            values[":reporting"] = {"S": reporting}
        names = {"#w": WATCH, "#d": DEGRADED}
        what = f"recording shard {shard}'s reporting regions"
        return self._update(shard_key(shard), update, condition, names, values, deadline, what) is None

    def _update(
        self,
        name: str,
        update: str,
        condition: str | None,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
        deadline: float,
        what: str,
    ) -> Refused | None:
        """One UpdateItem, conditional unless ``condition`` is None; what the item held if the condition refused it."""
        key: dict[str, AttributeValueTypeDef] = {"Id": {"S": name}}

        def call() -> object:
            self.calls["UpdateItem"] += 1
            extra: dict[str, Any] = {}
            if names:
                extra["ExpressionAttributeNames"] = names
            if values:
                extra["ExpressionAttributeValues"] = values
            if condition is not None:
                extra["ConditionExpression"] = condition
                extra["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"  # what refused it, at no extra cost
            return self._client.update_item(TableName=self.table_name, Key=key, UpdateExpression=update, **extra)

        try:
            retry_until(call, deadline, what, self._sleep)
        except ClientError as exc:
            if error_code(exc) == CONFLICT:
                item: Any = exc.response.get("Item")
                log.info("%s: the item was changed by another invocation", clip(what, 200))
                return Refused(read_item(item) if isinstance(item, dict) else ABSENT)
            raise StateNotSavedError(f"{clip(what, 200)} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StateNotSavedError(f"{clip(what, 200)} failed: {exc}") from exc
        return None
