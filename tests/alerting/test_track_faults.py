"""State and alerts when AWS misbehaves: real proxies in front of moto's SNS and DynamoDB, alerts read back from SQS.

SNS may take a message and never answer: a publish is then "maybe sent",
sent once more by the next run (marked as resent) and never again, so one
alert is at most two copies. A garbled, cut or refused AWS answer never
escapes: the run ends with a named error, and every other target keeps its
state and alerts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from healthcheck.alerting.state_store import StateStore, shard_key
from healthcheck.alerting.track import claim_expiry
from healthcheck.exceptions import AlertsNotSentError, StateNotSavedError
from healthcheck.retrying import CLIENT_CONFIG
from localdev.dynamodb import LOCAL_AWS_ENV
from tests.alerting.test_track import at
from tests.alerting_harness import Monitor
from tests.conftest import dynamodb_client
from tests.dynamodb_proxy import DynamoDBProxy, dynamodb_proxy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from healthcheck.check.probe import Probe
    from tests.servers import FaultServer

# Time enough for a run on a busy machine; short enough that the old code's publish loop ended.
BUDGET_S = 20.0
# The handler's client with a 1 s read timeout, so a test waits 1 s where SNS takes 5.
SNS_READ_TIMEOUT_S = 1.0
PUBLISH = "Action=Publish"
SAVE = '"#a0": "State"'
CLAIM = "SET ClaimedBy = :me"
CLEAR = "REMOVE Pending, ClaimedBy"
QUERY = '"IndexName": "Watch"'
MARK = "SET Reconciled"


@pytest.fixture
def proxy(dynamodb_endpoint: str) -> Iterator[DynamoDBProxy]:
    with dynamodb_proxy(dynamodb_endpoint) as proxy:
        yield proxy


@pytest.fixture
def monitor(dynamodb_endpoint: str, dynamodb: DynamoDBClient, probe: Probe, proxy: DynamoDBProxy) -> Monitor:
    """A monitor whose SNS and state table are reached through the proxy."""
    monitor = Monitor.create(dynamodb_endpoint, dynamodb, probe)
    monitor.sns = _sns_client(proxy.endpoint)
    monitor.state_store = StateStore(dynamodb_client(proxy.endpoint), monitor.state_table, sleep=lambda _: None)
    return monitor


def _sns_client(endpoint: str) -> Any:
    return boto3.client(
        "sns",
        endpoint_url=endpoint,
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=CLIENT_CONFIG.merge(Config(read_timeout=SNS_READ_TIMEOUT_S)),
    )


def down(http_server: FaultServer, *names: str) -> list[object]:
    return [{"name": name, "url": f"{http_server.base_url}/status/503", "failureThreshold": 1} for name in names]


def delivered(monitor: Monitor) -> list[tuple[str, list[bool]]]:
    """Each message the queue received: its subject, and whether each target in it is marked as resent."""
    return [
        (alert.subject, [entry.get("resent", False) for entry in alert.body["targets"]]) for alert in monitor.alerts()
    ]


# --- SNS: at most one extra copy -------------------------------------------------------------------


@pytest.mark.slow
def test_a_slow_sns_delivers_an_alert_at_most_twice(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer
) -> None:
    # Found in review: SNS answering after the read timeout (but taking the message) made one
    # alert arrive 13 times in 3 runs: each publish was retried until the deadline, then left pending.
    proxy.fault(PUBLISH, kind="slow", times=1000, delay_s=SNS_READ_TIMEOUT_S + 1)
    errors = [monitor.run(at(minute), down(http_server, "api"), budget_s=BUDGET_S) for minute in range(3)]
    assert [type(error) for error in errors] == [AlertsNotSentError, AlertsNotSentError, type(None)]
    assert "may not have been sent" in str(errors[0])
    assert delivered(monitor) == [("DOWN: api", [False]), ("DOWN: api", [True])]  # the copy says it is one
    assert sum(notifier.calls for notifier in monitor.notifiers) == 2
    state = monitor.state("api")
    assert state is not None
    assert not {"Pending", "ClaimedBy"} & set(state)  # given up after the resend: nothing left to send


@pytest.mark.slow
def test_an_alert_sns_took_without_answering_is_resent_once_when_sns_is_back(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer
) -> None:
    proxy.fault(PUBLISH, kind="slow", times=1, delay_s=SNS_READ_TIMEOUT_S + 1)
    assert isinstance(monitor.run(at(0), down(http_server, "api"), budget_s=BUDGET_S), AlertsNotSentError)
    pending = monitor.state("api")
    assert pending is not None
    assert '"maybeSent": true' in pending["Pending"]["S"]
    assert monitor.run(at(1), down(http_server, "api"), budget_s=BUDGET_S) is None
    assert monitor.run(at(2), down(http_server, "api"), budget_s=BUDGET_S) is None
    assert delivered(monitor) == [("DOWN: api", [False]), ("DOWN: api", [True])]


@pytest.mark.parametrize(
    ("kind", "copies"),
    [("garble", 2), ("cut", 2), ("server-error", 1)],
    ids=["garbled-answer", "answer-cut-short", "sns-500-not-taken"],
)
def test_an_unreadable_or_failed_answer_is_maybe_sent_and_resent_once(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer, kind: Any, copies: int
) -> None:
    # Found in review: a garbled answer escaped as botocore's ResponseParserError and crashed the run.
    fault = proxy.fault(PUBLISH, kind=kind, times=1)
    error = monitor.run(at(0), down(http_server, "api", "web"), budget_s=BUDGET_S)
    assert isinstance(error, AlertsNotSentError)
    assert fault.seen == 1
    assert monitor.run(at(1), down(http_server, "api", "web"), budget_s=BUDGET_S) is None
    received = delivered(monitor)
    assert [subject for subject, _ in received] == ["DOWN: api and 1 more"] * copies
    assert received[-1][1] == [True, True]  # the last copy is marked as a resend, for each target in it


@pytest.mark.slow
def test_sns_that_never_answers_is_tried_twice_in_two_runs_then_given_up(
    dynamodb_endpoint: str, monitor: Monitor, http_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    with dynamodb_proxy(dynamodb_endpoint) as hole:
        hole.black_hole = True  # accepts, reads, never answers: nothing reaches SNS
        monitor.sns = _sns_client(hole.endpoint)
        for minute in range(3):
            monitor.run(at(minute), down(http_server, "api"), budget_s=BUDGET_S)
        assert hole.calls == 2
    assert "got no answer from SNS either; it is not sent again" in caplog.text
    assert monitor.alerts() == []
    state = monitor.state("api")
    assert state is not None
    assert "Pending" not in state


def test_a_throttled_publish_is_retried_in_the_same_run_and_sent_once(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer
) -> None:
    proxy.fault(PUBLISH, kind="sns-throttle", times=3)  # refused: nothing was sent, so trying again is safe
    assert monitor.run(at(0), down(http_server, "api"), budget_s=BUDGET_S) is None
    assert delivered(monitor) == [("DOWN: api", [False])]
    assert monitor.notifiers[-1].calls == 4


# --- DynamoDB: a garbled, cut or refused answer never escapes ----------------------------------------


@pytest.mark.parametrize(
    ("match", "kind"),
    [
        (QUERY, "garble"),
        (QUERY, "cut"),
        (QUERY, "throttle"),
        ("BatchGetItem", "garble"),
        ("BatchGetItem", "cut"),
        ("BatchGetItem", "throttle"),
        (SAVE, "garble"),
        (SAVE, "cut"),
        (SAVE, "throttle"),
        (CLAIM, "garble"),
        (CLAIM, "cut"),
        (CLAIM, "throttle"),
        (CLEAR, "garble"),
        (CLEAR, "cut"),
        (CLEAR, "throttle"),
    ],
    ids=[
        f"{call}-{kind}"
        for call in ("query", "read", "save", "claim", "clear")
        for kind in ("garbled", "cut", "throttled")
    ],
)
def test_a_passing_fault_of_any_state_call_costs_nothing(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer, match: str, kind: Any
) -> None:
    # Garbled and cut answers come after the request took effect; each is retried (all are conditional).
    fault = proxy.fault(match, kind=kind, times=2)
    assert monitor.run(at(0), down(http_server, "api", "web"), budget_s=BUDGET_S) is None
    assert fault.seen == 2
    assert delivered(monitor) == [("DOWN: api and 1 more", [False, False])]
    for name in ("api", "web"):
        state = monitor.state(name)
        assert state is not None
        assert state["State"] == {"S": "DOWN"}
        assert not {"Pending", "ClaimedBy"} & set(state)
    assert monitor.run(at(1), down(http_server, "api", "web"), budget_s=BUDGET_S) is None
    assert monitor.alerts() == []  # said once


@pytest.mark.slow
def test_state_that_cannot_be_read_is_a_named_error_and_the_records_are_kept(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer
) -> None:
    proxy.fault("BatchGetItem", kind="garble", times=10**6)
    error = monitor.run(at(0), down(http_server, "api"), budget_s=4)
    assert isinstance(error, StateNotSavedError)
    assert "target state could not be read: the answer to reading state could not be read" in str(error)
    assert len(monitor.records("api")) == 1
    assert monitor.alerts() == []


@pytest.mark.slow
def test_an_index_that_cannot_be_read_is_a_named_error_and_the_records_are_kept(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # botocore reads a garbled answer as an empty one: taken as "nothing to watch", it would leave
    # every DOWN target's passes unread.
    proxy.fault(QUERY, kind="garble", times=10**6)
    capsys.readouterr()
    error = monitor.run(at(0), down(http_server, "api"), budget_s=4)
    assert isinstance(error, StateNotSavedError)
    assert "target state could not be read: the answer to reading state could not be read" in str(error)
    assert len(monitor.records("api")) == 1
    assert monitor.alerts() == []
    # A run that knows no target's state reports no TargetsDown, not 0 ("nothing down" during an outage).
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines() if '"type":"metrics"' in text]
    assert "TargetsDown" not in line
    assert line["Failures"] == 1


def test_a_full_read_not_recorded_costs_nothing_but_another_full_read(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer
) -> None:
    fault = proxy.fault(MARK, kind="deny", times=1)
    targets = [*down(http_server, "api"), {"name": "web", "url": f"{http_server.base_url}/ok"}]
    assert monitor.run(at(0), targets, budget_s=BUDGET_S) is None  # not a failed run
    assert fault.seen == 1
    assert delivered(monitor) == [("DOWN: api", [False])]
    assert monitor.state(shard_key("default")) is None
    assert monitor.run(at(1), targets, budget_s=BUDGET_S) is None  # reads every item again, and records it
    recorded = monitor.state(shard_key("default"))
    assert recorded is not None
    assert recorded["Reconciled"] == {"S": "2026-11-27T18"}
    assert monitor.alerts() == []


@pytest.mark.parametrize(
    ("match", "error", "left"),
    [
        (SAVE, "writing the state of api failed", set()),
        (CLAIM, "claiming the alerts of api failed", {"Pending"}),
        (CLEAR, "clearing the alerts of api failed", {"Pending", "ClaimedBy", "ClaimExpires"}),
    ],
    ids=["save", "claim", "clear"],
)
def test_a_refused_state_call_fails_the_run_for_that_target_alone(
    monitor: Monitor, proxy: DynamoDBProxy, http_server: FaultServer, match: str, error: str, left: set[str]
) -> None:
    fault = proxy.fault(match, '"S": "api"', kind="deny", times=10**6)
    started = time.time()
    raised = monitor.run(at(0), down(http_server, "api", "web"), budget_s=BUDGET_S)
    assert fault.seen == 1  # refused for good (AccessDenied): not retried
    assert isinstance(raised, StateNotSavedError)
    assert error in str(raised)
    sent = [subject for subject, _ in delivered(monitor)]
    assert sent == (["DOWN: api and 1 more"] if match == CLEAR else ["DOWN: web"])  # web's alert never waits
    web = monitor.state("web")
    assert web is not None
    assert not {"Pending", "ClaimedBy"} & set(web)
    api = monitor.state("api")
    assert ({"Pending", "ClaimedBy", "ClaimExpires"} & set(api or {})) == left
    if match == CLEAR:
        # The claim of a run whose clear failed ends with that run's write deadline, not hours later.
        expires = int(api["ClaimExpires"]["N"])  # type: ignore[index]
        assert started + BUDGET_S - 2 <= expires <= time.time() + BUDGET_S + 1
    proxy.faults.clear()
    assert monitor.run(at(1), down(http_server, "api", "web"), budget_s=BUDGET_S) is None
    later = [subject for subject, _ in delivered(monitor)]
    assert later == ([] if match == CLEAR else ["DOWN: api"])  # a held claim: sent again once it expires


def test_a_claim_expires_with_the_run_deadline() -> None:
    for remaining_s in (0.0, 30.0, 600.0):
        before = time.time()
        expires = claim_expiry(time.monotonic() + remaining_s)
        assert int(before + remaining_s) + 1 <= expires <= int(time.time() + remaining_s) + 1
    assert claim_expiry(time.monotonic() - 60) <= int(time.time()) + 1  # a deadline already past: no time more
