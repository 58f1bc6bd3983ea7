"""The state table (hash key ``Id``): batched reads, and writes conditional on the last event applied.

Every write names the ``LastEvent`` it was computed from: if another
invocation applied an event meanwhile (a retry, a double delivery, a late
event), the write is refused and that target keeps the other run's outcome,
so no event moves a target twice and no transition is announced twice.
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

__all__ = ["GET_BATCH_SIZE", "StateStore", "from_item", "to_item"]

log = logging.getLogger(__name__)

GET_BATCH_SIZE: Final = 100  # BatchGetItem's limit
MAX_URL_BYTES: Final = 8192
MAX_NAME_BYTES: Final = 1024
CONFLICT: Final = "ConditionalCheckFailedException"


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
    ):
        if text is not None:
            item[key] = {"S": text}
    if state.cert_warned is not None:
        item["CertWarned"] = {"N": str(state.cert_warned)}
    if state.pending:
        # One string: read back whole, and compared whole when a publish clears it.
        item["Pending"] = {"S": json.dumps([_alert_json(alert) for alert in state.pending], ensure_ascii=False)}
    return item


def from_item(item: dict[str, Any]) -> TargetState:
    def text(key: str) -> str | None:
        value = item.get(key, {}).get("S")
        return str(value) if value is not None else None

    warned = item.get("CertWarned", {}).get("N")
    pending = text("Pending")
    return TargetState(
        state="DOWN" if text("State") == "DOWN" else "UP",
        since=text("Since"),
        failures=int(item.get("Failures", {}).get("N", "0")),
        successes=int(item.get("Successes", {}).get("N", "0")),
        streak_start=text("StreakStart"),
        last_event=text("LastEvent"),
        reminded_at=text("RemindedAt"),
        cert_warned=int(warned) if warned is not None else None,
        pending=tuple(_alert(raw) for raw in json.loads(pending)) if pending else (),
    )


class StateStore:
    """Reads and conditionally writes state items; every call retried until the deadline given."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self.table_name = table_name
        self._sleep = sleep
        self.calls = {"BatchGetItem": 0, "PutItem": 0}
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
        """Write ``new`` if the item still holds the event ``read`` was at; False when another run got there first."""
        if read is None or read.last_event is None:
            condition, values = "attribute_not_exists(Id)", None
        else:
            condition, values = "LastEvent = :read", {":read": {"S": read.last_event}}
        item = to_item(name, new)

        def put() -> object:
            self.calls["PutItem"] += 1
            if values is None:
                return self._client.put_item(TableName=self.table_name, Item=item, ConditionExpression=condition)
            return self._client.put_item(
                TableName=self.table_name, Item=item, ConditionExpression=condition, ExpressionAttributeValues=values
            )

        try:
            retry_until(put, deadline, f"writing the state of {name}", self._sleep)
        except ClientError as exc:
            if error_code(exc) == CONFLICT:
                log.info("state of %s was moved by another invocation; this event leaves it alone", name)
                return False
            raise StateNotSavedError(f"the state of {clip(name, 200)} was not written: {exc}") from exc
        except BotoCoreError as exc:
            raise StateNotSavedError(f"the state of {clip(name, 200)} was not written: {exc}") from exc
        return True
