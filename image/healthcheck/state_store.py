"""The state table (hash key ``Id``): batched reads, writes conditional on what was read, and publish claims.

Every state write names the ``LastEvent`` and ``Pending`` it was computed
from: if another invocation applied an event or cleared sent alerts
meanwhile (a retry, a double delivery, a late event), the write is refused
and that target keeps the other run's outcome, so no event moves a target
twice and no sent alert comes back.

A run publishes an item's pending alerts only under its claim
(``ClaimedBy``/``ClaimExpires``, set by a conditional write that no other
live claim allows); state writes leave the claim alone, and the claimant
clears what it sent and the claim in one write.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import StateNotSavedError
from .retrying import error_code, retry_until
from .state import Alert, TargetState
from .text import MAX_ERROR_BYTES, clip

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = ["GET_BATCH_SIZE", "StateStore", "from_item", "pending_text", "to_item"]

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
# A clear meets a state write that added alerts at most this often before it gives up.
MAX_CLEAR_ATTEMPTS: Final = 5


def _alert_json(alert: Alert) -> dict[str, object]:
    return {
        "kind": alert.kind,
        "target": clip(alert.target, MAX_NAME_BYTES),
        "url": clip(alert.url, MAX_URL_BYTES),
        "at": alert.at,
        "since": alert.since,
        "reasons": [clip(reason, MAX_ERROR_BYTES) for reason in alert.reasons],
        "downForS": alert.down_for_s,
        "certDaysLeft": alert.cert_days_left,
    }


def _alert(raw: dict[str, Any]) -> Alert:
    return Alert(
        kind=raw["kind"],
        target=raw["target"],
        url=raw["url"],
        at=raw["at"],
        since=raw["since"],
        reasons=tuple(raw.get("reasons") or ()),
        down_for_s=raw.get("downForS"),
        cert_days_left=raw.get("certDaysLeft"),
    )


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
    if state.pending:
        # One string: read back whole, and compared whole by every later write.
        item["Pending"] = {"S": pending_text(state.pending)}
    return item


def pending_text(pending: Sequence[Alert]) -> str:
    """The stored form of ``pending`` (stable: what is read back and written again is the same text)."""
    return json.dumps([_alert_json(alert) for alert in pending], ensure_ascii=False)


def from_item(item: dict[str, Any]) -> TargetState:
    def text(key: str) -> str | None:
        value = item.get(key, {}).get("S")
        return str(value) if value is not None else None

    def number(key: str) -> int | None:
        value = item.get(key, {}).get("N")
        return int(value) if value is not None else None

    pending = text("Pending")
    return TargetState(
        state="DOWN" if text("State") == "DOWN" else "UP",
        since=text("Since"),
        failures=int(item.get("Failures", {}).get("N", "0")),
        successes=int(item.get("Successes", {}).get("N", "0")),
        streak_start=text("StreakStart"),
        last_event=text("LastEvent"),
        reminded_at=text("RemindedAt"),
        cert_warned=number("CertWarned"),
        cert_expiry=text("CertExpiry"),
        pending=tuple(_alert(raw) for raw in json.loads(pending)) if pending else (),
        claimed_by=text("ClaimedBy"),
        claim_expires=number("ClaimExpires"),
    )


def _read_condition(read: TargetState | None, values: dict[str, AttributeValueTypeDef]) -> str:
    """The item still holds what ``read`` saw: the same last event and the same pending alerts."""
    if read is None or read.last_event is None:
        return "attribute_not_exists(Id)"
    values[":read"] = {"S": read.last_event}
    return "LastEvent = :read AND " + _pending_condition(read.pending, values)


def _pending_condition(pending: Sequence[Alert], values: dict[str, AttributeValueTypeDef]) -> str:
    if not pending:
        return "attribute_not_exists(Pending)"
    values[":pending"] = {"S": pending_text(pending)}
    return "Pending = :pending"


class StateStore:
    """Reads and conditionally writes state items; every call retried until the deadline given."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self.table_name = table_name
        self._sleep = sleep
        self.calls = {"BatchGetItem": 0, "GetItem": 0, "UpdateItem": 0}
        """Calls made, for the benchmark's per-run count."""

    def load(self, names: Iterable[str], deadline: float) -> dict[str, TargetState]:
        """The stored state of each name that has one (eventually consistent: runs are a minute apart)."""
        unique = list(dict.fromkeys(names))
        states: dict[str, TargetState] = {}
        for start in range(0, len(unique), GET_BATCH_SIZE):
            keys: Sequence[Any] = [{"Id": {"S": name}} for name in unique[start : start + GET_BATCH_SIZE]]
            while keys:
                response = retry_until(functools.partial(self._get, keys), deadline, "reading state", self._sleep)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    states[str(item["Id"]["S"])] = from_item(item)
                keys = response.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if keys:
                    if time.monotonic() >= deadline:
                        raise StateNotSavedError(f"{len(keys)} state items left unread at the deadline (throttled)")
                    log.warning("reading %d state items again (throttled)", len(keys))
                    self._sleep(0.1)
        return states

    def _get(self, keys: Sequence[Any]) -> Any:
        self.calls["BatchGetItem"] += 1
        return self._client.batch_get_item(RequestItems={self.table_name: {"Keys": keys}})

    def save(self, name: str, read: TargetState | None, new: TargetState, deadline: float) -> bool:
        """Write ``new`` if the item still holds what ``read`` saw; False when another run got there first.

        Only the state's own attributes are written: a claim on the item stays as it is.
        """
        values: dict[str, AttributeValueTypeDef] = {}
        condition = _read_condition(read, values)
        item = to_item(name, new)
        sets, removes = [], []
        names: dict[str, str] = {}
        for index, attribute in enumerate(STATE_ATTRIBUTES):
            names[f"#a{index}"] = attribute
            if attribute in item:
                sets.append(f"#a{index} = :v{index}")
                values[f":v{index}"] = item[attribute]
            else:
                removes.append(f"#a{index}")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return self._update(name, update, condition, names, values, deadline, f"writing the state of {name}")

    def claim(self, name: str, read: TargetState, run_id: str, expires: int, deadline: float) -> bool:
        """Claim the pending alerts ``read`` saw for ``run_id`` until ``expires`` (epoch seconds).

        False when they changed or another run holds an unexpired claim:
        that run publishes them, or they wait for a later run.
        """
        values: dict[str, AttributeValueTypeDef] = {
            ":me": {"S": run_id},
            ":expires": {"N": str(expires)},
            ":now": {"N": str(int(time.time()))},
        }
        condition = (
            _pending_condition(read.pending, values)
            + " AND (attribute_not_exists(ClaimedBy) OR ClaimedBy = :me OR ClaimExpires < :now)"
        )
        update = "SET ClaimedBy = :me, ClaimExpires = :expires"
        return self._update(name, update, condition, {}, values, deadline, f"claiming the alerts of {name}")

    def clear(self, name: str, claimed: TargetState, sent: Sequence[Alert], run_id: str, deadline: float) -> bool:
        """Remove ``sent`` from the pending alerts and release this run's claim, in one write.

        A state write may have added alerts since the claim: then the item is
        read again (consistently) and only the sent ones are removed. False
        when the claim is no longer this run's (it expired and was taken).
        """
        current = claimed
        for _ in range(MAX_CLEAR_ATTEMPTS):
            remaining = [alert for alert in current.pending if alert not in sent]
            values: dict[str, AttributeValueTypeDef] = {":me": {"S": run_id}}
            condition = "ClaimedBy = :me AND " + _pending_condition(current.pending, values)
            if remaining:
                values[":remaining"] = {"S": pending_text(remaining)}
                update = "SET Pending = :remaining REMOVE ClaimedBy, ClaimExpires"
            else:
                update = "REMOVE Pending, ClaimedBy, ClaimExpires"
            if self._update(name, update, condition, {}, values, deadline, f"clearing the alerts of {name}"):
                return True
            fresh = self._get_consistent(name, deadline)
            if fresh is None or fresh.claimed_by != run_id:
                return False
            current = fresh
        return False

    def _get_consistent(self, name: str, deadline: float) -> TargetState | None:
        def get() -> Any:
            self.calls["GetItem"] += 1
            return self._client.get_item(TableName=self.table_name, Key={"Id": {"S": name}}, ConsistentRead=True)

        try:
            item = retry_until(get, deadline, f"reading the state of {name}", self._sleep).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StateNotSavedError(f"the state of {clip(name, 200)} was not read: {exc}") from exc
        return from_item(item) if item else None

    def _update(
        self,
        name: str,
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
        deadline: float,
        what: str,
    ) -> bool:
        """One conditional UpdateItem; False when the condition failed."""
        key: dict[str, AttributeValueTypeDef] = {"Id": {"S": name}}

        def call() -> object:
            self.calls["UpdateItem"] += 1
            extra: dict[str, Any] = {}
            if names:
                extra["ExpressionAttributeNames"] = names
            if values:
                extra["ExpressionAttributeValues"] = values
            return self._client.update_item(
                TableName=self.table_name, Key=key, UpdateExpression=update, ConditionExpression=condition, **extra
            )

        try:
            retry_until(call, deadline, what, self._sleep)
        except ClientError as exc:
            if error_code(exc) == CONFLICT:
                log.info("%s: the item was changed by another invocation; left alone", clip(what, 200))
                return False
            raise StateNotSavedError(f"{clip(what, 200)} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StateNotSavedError(f"{clip(what, 200)} failed: {exc}") from exc
        return True
