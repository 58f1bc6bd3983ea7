"""State and alerts end to end: real servers, the handler, state in the moto server, alerts read back from SQS."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import trustme
from botocore.exceptions import ClientError

from healthcheck.alerting.maintenance import parse_windows
from healthcheck.alerting.policy import AlertPolicy
from healthcheck.check.probe import Probe
from healthcheck.check.secrets import SecretResolver
from healthcheck.exceptions import AlertsNotSentError, StateNotSavedError
from tests.alerting_harness import Monitor, aws_client
from tests.conftest import server_context
from tests.servers import FaultServer, closed_port, running

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def at(minute: int) -> str:
    """Event times a minute apart, as the schedule sends them."""
    return (datetime(2026, 11, 27, 18, 0, tzinfo=UTC) + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def monitor(dynamodb_endpoint: str, dynamodb: DynamoDBClient, probe: Probe) -> Monitor:
    return Monitor.create(dynamodb_endpoint, dynamodb, probe)


def api(server: FaultServer, up: bool, **fields: object) -> list[object]:
    path = "/ok" if up else "/status/503"
    return [{"name": "api", "url": f"{server.base_url}{path}", **fields}]


def test_a_blip_is_absorbed(monitor: Monitor, http_server: FaultServer) -> None:
    for minute, up in enumerate([False, True, False, False, True, True]):
        assert monitor.run(at(minute), api(http_server, up)) is None
    assert monitor.alerts() == []
    state = monitor.state("api")
    assert state is not None
    assert (state["State"], state["Failures"]) == ({"S": "UP"}, {"N": "0"})


def test_down_after_the_threshold_with_one_message(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.run(at(0), api(http_server, False))
    monitor.run(at(1), api(http_server, False))
    assert monitor.alerts() == []  # two failures: not yet
    monitor.run(at(2), api(http_server, False))
    [alert] = monitor.alerts()
    assert alert.subject == "DOWN: api"
    [entry] = alert.body["targets"]
    assert entry == {
        "target": "api",
        "state": "DOWN",
        "since": at(0),
        "url": f"{http_server.base_url}/status/503",
        "reasons": entry["reasons"],
        "eventTime": at(2),
        "sentTime": at(2),  # the function's clock when it published (the harness runs it at the event time)
    }
    assert "503" in entry["reasons"][0]  # the check's own reason (the expectation's wording is probe.py's)
    monitor.run(at(3), api(http_server, False))
    assert monitor.alerts() == []  # still down: said once
    state = monitor.state("api")
    assert state is not None
    assert "Pending" not in state  # sent, so cleared


def test_a_per_target_threshold_overrides_the_stack_default(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.alerting = AlertPolicy(failure_threshold=5)
    monitor.run(at(0), api(http_server, False, failureThreshold=1))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]


def test_a_duplicate_event_moves_nothing_and_sends_nothing(monitor: Monitor, http_server: FaultServer) -> None:
    for minute in range(3):
        monitor.run(at(minute), api(http_server, False))
    assert len(monitor.alerts()) == 1
    before = monitor.state("api")
    # Lambda's retry of the last event, and a Scheduler double delivery of it.
    monitor.run(at(2), api(http_server, False))
    monitor.run(at(2), api(http_server, True))
    assert monitor.alerts() == []
    assert monitor.state("api") == before


def test_an_out_of_order_event_never_moves_state(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.run(at(0), api(http_server, False))
    monitor.run(at(2), api(http_server, False))
    monitor.run(at(1), api(http_server, False))  # late: older than the last applied
    state = monitor.state("api")
    assert state is not None
    assert (state["Failures"], state["LastEvent"]) == ({"N": "2"}, {"S": at(2)})
    assert monitor.alerts() == []
    monitor.run(at(3), api(http_server, False))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]


def _unreachable() -> list[object]:
    return [{"name": "api", "url": f"http://127.0.0.1:{closed_port()}/"}]


def test_inconclusive_runs_are_recorded_but_never_move_state(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.connectivity_check = f"http://127.0.0.1:{closed_port()}/"  # our own network is "down"
    for minute in range(5):
        assert monitor.run(at(minute), _unreachable()) is None
    assert [record.inconclusive for record in monitor.records("api")] == [True] * 5
    assert monitor.state("api") is None  # nothing written at all
    assert monitor.alerts() == []
    monitor.connectivity_check = f"{http_server.base_url}/ok"  # the canary passes: failures count again
    for minute in range(5, 8):
        monitor.run(at(minute), _unreachable())
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["since"]) == ("DOWN: api", at(5))


@pytest.mark.parametrize("canary", ["/status/404", "closed"], ids=["canary-answers-404", "canary-unreachable"])
def test_a_target_that_answered_is_down_whatever_the_canary_says(
    monitor: Monitor, http_server: FaultServer, canary: str
) -> None:
    # A canary whose page moved (404) proves the network; one that gets no answer still can't
    # blind the monitor to a site that answers 503: that site was reached.
    closed = f"http://127.0.0.1:{closed_port()}/"
    monitor.connectivity_check = closed if canary == "closed" else f"{http_server.base_url}{canary}"
    for minute in range(3):
        monitor.run(at(minute), api(http_server, False))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    assert not any(record.inconclusive for record in monitor.records("api"))


def test_a_canary_that_answers_lets_unanswered_failures_count(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.connectivity_check = f"{http_server.base_url}/status/500"
    for minute in range(3):
        monitor.run(at(minute), _unreachable())
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]


def test_a_reminder_while_still_down(monitor: Monitor, http_server: FaultServer) -> None:
    targets = api(http_server, False, remindEveryMinutes=5)
    for minute in range(7):  # DOWN at minute 2; 5 minutes later is minute 7
        monitor.run(at(minute), targets)
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    monitor.run(at(7), targets)
    [reminder] = monitor.alerts()
    assert reminder.subject == "STILL DOWN: api"
    assert (reminder.body["targets"][0]["since"], reminder.body["targets"][0]["eventTime"]) == (at(0), at(7))
    for minute in range(8, 12):
        monitor.run(at(minute), targets)
    assert monitor.alerts() == []  # the next one is due at minute 12


def test_a_maintenance_window_freezes_state_and_sends_nothing(monitor: Monitor, http_server: FaultServer) -> None:
    # 18:00-18:05 UTC is 19:00-19:05 in Berlin on 27 November.
    monitor.maintenance = parse_windows([{"start": "19:00", "duration": "5m", "timezone": "Europe/Berlin"}])
    for minute in range(5):
        assert monitor.run(at(minute), api(http_server, False)) is None
    assert monitor.state("api") is None
    assert monitor.alerts() == []
    assert all(record.maintenance for record in monitor.records("api"))
    for minute in range(5, 8):  # the window is over: three failures from here
        monitor.run(at(minute), api(http_server, False))
    assert not monitor.records("api")[-1].maintenance
    [alert] = monitor.alerts()
    assert alert.body["targets"][0]["since"] == at(5)


def test_recovery_says_how_long_it_was_down(monitor: Monitor, http_server: FaultServer) -> None:
    for minute in range(3):
        monitor.run(at(minute), api(http_server, False))
    monitor.run(at(12), api(http_server, True))
    assert len(monitor.alerts()) == 1  # the DOWN only: one success is not enough
    monitor.run(at(13), api(http_server, True))
    [recovered] = monitor.alerts()
    assert recovered.subject == "RECOVERED: api"
    [entry] = recovered.body["targets"]
    assert (entry["state"], entry["since"], entry["downForSeconds"]) == ("UP", at(0), 12 * 60)


def test_thirty_targets_failing_at_once_give_exactly_one_message(monitor: Monitor, http_server: FaultServer) -> None:
    targets: list[object] = [
        {"name": f"svc-{index:02d}", "url": f"{http_server.base_url}/status/502", "failureThreshold": 1}
        for index in range(30)
    ]
    monitor.run(at(0), targets)
    [alert] = monitor.alerts()
    assert alert.subject == "DOWN: svc-00 and 29 more"
    assert len(alert.body["targets"]) + alert.body["more"] == 30
    assert monitor.notifiers[-1].calls == 1


def test_a_failed_publish_is_delivered_by_the_next_run(monitor: Monitor, http_server: FaultServer) -> None:
    targets = api(http_server, False, failureThreshold=1)
    missing_topic = monitor.topic_arn + "-deleted"
    error = monitor.run(at(0), targets, topic_arn=missing_topic)
    assert isinstance(error, AlertsNotSentError)
    assert monitor.alerts() == []
    state = monitor.state("api")
    assert state is not None
    assert "Pending" in state  # kept in the table, not in memory
    assert monitor.run(at(1), targets) is None
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["eventTime"]) == ("DOWN: api", at(0))
    monitor.run(at(2), targets)
    assert monitor.alerts() == []  # sent once, never twice


@contextlib.contextmanager
def expiring_in(ca: trustme.CA, days: int) -> Iterator[FaultServer]:
    """A real HTTPS server whose certificate has ``days`` whole days (and an hour) left."""
    not_after = datetime.now(UTC) + timedelta(days=days, hours=1)
    with running(server_context(ca, "127.0.0.1", not_after=not_after)) as server:
        yield server


def test_a_certificate_warning_once_per_threshold(monitor: Monitor, ca: trustme.CA, ca_file: str) -> None:
    probe = Probe(ca_certs=ca_file)
    with expiring_in(ca, 9) as nine_days:
        targets = api(nine_days, True)
        monitor.run(at(0), targets, probe=probe)
        [warning] = monitor.alerts()
        assert warning.subject == "CERTIFICATE: api expires in 9 days"
        [entry] = warning.body["targets"]
        assert (entry["certDaysLeft"], entry["eventTime"], entry["since"]) == (9, at(0), at(0))
        monitor.run(at(1), targets, probe=probe)
        assert monitor.alerts() == []  # the 14-day threshold is warned of once
    with expiring_in(ca, 6) as six_days:
        monitor.run(at(2), api(six_days, True), probe=probe)
    assert [alert.subject for alert in monitor.alerts()] == ["CERTIFICATE: api expires in 6 days"]
    state = monitor.state("api")
    assert state is not None
    assert state["State"] == {"S": "UP"}  # a warning, not downtime


def test_the_steady_state_reads_once_and_writes_nothing(monitor: Monitor, http_server: FaultServer) -> None:
    targets: list[object] = [{"name": f"svc-{index}", "url": f"{http_server.base_url}/ok"} for index in range(150)]
    store = monitor.state_store
    assert store is not None
    monitor.run(at(0), targets)
    # The first run of the hour reads every item (150 keys: two batches of at most 100) and records it.
    assert store.calls == {"Query": 1, "BatchGetItem": 2, "UpdateItem": 1}
    for minute in range(1, 4):
        monitor.run(at(minute), targets)
    assert store.calls == {"Query": 4, "BatchGetItem": 2, "UpdateItem": 1}  # then one Query a run, nothing else
    assert [notifier.calls for notifier in monitor.notifiers] == [0] * 4


def test_a_state_fault_never_costs_the_records_and_fails_the_run(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.dynamodb.delete_table(TableName=monitor.state_table)
    error = monitor.run(at(0), api(http_server, False))
    assert isinstance(error, StateNotSavedError)
    assert "target state could not be read" in str(error)
    assert len(monitor.records("api")) == 1


def _metrics(out: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, out.splitlines()) if line["type"] == "metrics"]


def test_each_run_writes_its_metrics_in_embedded_metric_format(
    monitor: Monitor, http_server: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [*api(http_server, False, failureThreshold=1), {"name": "web", "url": f"{http_server.base_url}/ok"}]
    monitor.run(at(0), targets)
    [run] = _metrics(capsys.readouterr().out)
    [directive] = run["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("Healthcheck", [[]])
    # Two billed metrics; Checks and RunDurationMs are fields of the line (Lambda publishes Invocations and Duration).
    assert [metric["Name"] for metric in directive["Metrics"]] == ["Failures", "TargetsDown"]
    assert (run["Checks"], run["Failures"], run["TargetsDown"]) == (2, 1, 1)
    assert isinstance(run["RunDurationMs"], int)
    monitor.per_target_metrics = True
    monitor.run(at(1), targets)
    per_target = {line["Target"]: line for line in _metrics(capsys.readouterr().out)[1:]}
    assert set(per_target) == {"api", "web"}
    assert (per_target["api"]["Success"], per_target["web"]["Success"]) == (0, 1)
    assert per_target["web"]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Target"]]


def test_an_alert_still_pending_when_a_window_opens_waits_for_its_end(
    monitor: Monitor, http_server: FaultServer
) -> None:
    targets = api(http_server, False, failureThreshold=1)
    assert isinstance(monitor.run(at(0), targets, topic_arn=monitor.topic_arn + "-deleted"), AlertsNotSentError)
    monitor.maintenance = parse_windows([{"start": "19:01", "duration": "2m", "timezone": "Europe/Berlin"}])
    assert monitor.run(at(1), targets) is None
    assert monitor.alerts() == []  # nothing is sent in a window
    monitor.run(at(3), targets)
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]


class PublishHook:
    """The real moto SNS client; before its first publish goes out, ``during`` runs (another invocation)."""

    def __init__(self, client: Any, during: Callable[[], None]) -> None:
        self.client, self.during, self.fired = client, during, False

    def publish(self, **request: Any) -> Any:
        if not self.fired:
            self.fired = True
            self.during()
        return self.client.publish(**request)


@pytest.mark.parametrize("overlap", [2, 3], ids=["double-delivery-of-the-same-event", "next-run-while-publishing"])
def test_overlapping_runs_send_a_pending_alert_once(monitor: Monitor, http_server: FaultServer, overlap: int) -> None:
    targets = api(http_server, False)
    monitor.run(at(0), targets)
    monitor.run(at(1), targets)
    sns = monitor.sns
    overlapping: list[object] = []

    def other_run() -> None:
        monitor.sns = sns
        overlapping.append(monitor.run(at(overlap), targets))

    monitor.sns = PublishHook(sns, other_run)
    assert monitor.run(at(2), targets) is None  # raises DOWN, claims it, and is publishing when the other run reads
    assert overlapping == [None]
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    state = monitor.state("api")
    assert state is not None
    assert not {"Pending", "ClaimedBy", "ClaimExpires"} & set(state)  # sent, cleared, claim released


def _pending_with_claim(monitor: Monitor, http_server: FaultServer, claim_expires: float) -> None:
    """DOWN is pending (SNS refused it) and a run that never came back holds the claim on it."""
    targets = api(http_server, False, failureThreshold=1)
    assert isinstance(monitor.run(at(0), targets, topic_arn=monitor.topic_arn + "-deleted"), AlertsNotSentError)
    state = monitor.state("api")
    assert state is not None
    assert "Pending" in state
    assert "ClaimedBy" not in state  # a failed publish releases its claim
    monitor.dynamodb.update_item(
        TableName=monitor.state_table,
        Key={"Id": {"S": "api"}},
        UpdateExpression="SET ClaimedBy = :run, ClaimExpires = :expires",
        ExpressionAttributeValues={":run": {"S": "crashed-run"}, ":expires": {"N": str(int(claim_expires))}},
    )


def test_a_live_claim_of_another_run_is_left_alone(monitor: Monitor, http_server: FaultServer) -> None:
    _pending_with_claim(monitor, http_server, time.time() + 600)
    assert monitor.run(at(1), api(http_server, False, failureThreshold=1)) is None
    assert monitor.alerts() == []  # that run is sending it
    state = monitor.state("api")
    assert state is not None
    assert (state["ClaimedBy"], "Pending" in state) == ({"S": "crashed-run"}, True)


def test_an_expired_claim_never_loses_the_alert(monitor: Monitor, http_server: FaultServer) -> None:
    _pending_with_claim(monitor, http_server, time.time() - 1)
    assert monitor.run(at(1), api(http_server, False, failureThreshold=1)) is None
    [alert] = monitor.alerts()
    assert (alert.subject, alert.body["targets"][0]["eventTime"]) == ("DOWN: api", at(0))
    state = monitor.state("api")
    assert state is not None
    assert not {"Pending", "ClaimedBy"} & set(state)


def test_an_alert_costs_three_writes_and_the_steady_state_none(monitor: Monitor, http_server: FaultServer) -> None:
    store = monitor.state_store
    assert store is not None
    targets = api(http_server, False, failureThreshold=1)
    monitor.run(at(0), targets)
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    # The transition with its pending DOWN, the claim, the clear; and the shard's hourly full read recorded.
    assert store.calls["UpdateItem"] == 3 + 1
    monitor.run(at(1), targets)
    assert store.calls["UpdateItem"] == 3 + 1  # still down, nothing pending: no write


def test_a_long_sns_outage_keeps_the_down_and_sends_no_pile_of_reminders(
    monitor: Monitor, http_server: FaultServer
) -> None:
    monitor.alerting = AlertPolicy(failure_threshold=1, remind_every_minutes=5)
    targets = api(http_server, False)
    for step in range(10):  # 45 minutes of SNS refusing, a run every 5 minutes: reminders fall due meanwhile
        monitor.run(at(step * 5), targets, topic_arn=monitor.topic_arn + "-deleted")
    monitor.run(at(50), targets)
    [alert] = monitor.alerts()  # the unsent DOWN already says it: the reminders were redundant
    assert (alert.subject, alert.body["targets"][0]["eventTime"]) == ("DOWN: api", at(0))


def test_reminders_piled_up_in_an_outage_go_out_as_the_latest_one(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.alerting = AlertPolicy(failure_threshold=1, remind_every_minutes=5)
    targets = api(http_server, False)
    monitor.run(at(0), targets)
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    for step in range(1, 10):
        monitor.run(at(step * 5), targets, topic_arn=monitor.topic_arn + "-deleted")
    monitor.run(at(50), targets)
    [reminder] = monitor.alerts()
    assert (reminder.subject, reminder.body["targets"][0]["eventTime"]) == ("STILL DOWN: api", at(50))


def test_a_flap_held_back_by_sns_goes_out_in_event_order(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.alerting = AlertPolicy(failure_threshold=1, success_threshold=1)
    gone = monitor.topic_arn + "-deleted"
    monitor.run(at(0), api(http_server, False))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    monitor.run(at(1), api(http_server, True), topic_arn=gone)
    monitor.run(at(2), api(http_server, False), topic_arn=gone)
    assert monitor.run(at(3), api(http_server, False)) is None
    sent = [(alert.subject, alert.body["targets"][0]["eventTime"]) for alert in monitor.alerts()]
    assert sent == [("RECOVERED: api", at(1)), ("DOWN: api", at(2))]  # the last word matches the state
    state = monitor.state("api")
    assert state is not None
    assert state["State"] == {"S": "DOWN"}


def test_an_event_from_the_future_is_recorded_but_moves_no_state(
    monitor: Monitor, http_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = datetime.fromisoformat(at(0))
    targets = api(http_server, False, failureThreshold=1)
    assert monitor.run("2031-01-01T00:00:00Z", targets, now=clock) is None  # a mistyped manual invoke
    assert "event time 2031-01-01T00:00:00Z is" in caplog.text
    assert [record.time for record in monitor.records("api")] == ["2031-01-01T00:00:00Z"]
    assert monitor.state("api") is None
    assert monitor.alerts() == []
    assert monitor.run(at(10), targets, now=clock) is None  # 10 minutes ahead: clock skew, still applied
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]


class RefusesFirstPublish:
    """The real moto SNS client, except that its first publish is refused (a 400: not retried)."""

    def __init__(self, client: Any) -> None:
        self.client, self.refused = client, False

    def publish(self, **request: Any) -> Any:
        if not self.refused:
            self.refused = True
            raise ClientError({"Error": {"Code": "InvalidParameter", "Message": "refused"}}, "Publish")
        return self.client.publish(**request)


def test_after_a_refused_message_its_targets_later_alerts_wait(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.alerting = AlertPolicy(failure_threshold=1, success_threshold=1)
    gone = monitor.topic_arn + "-deleted"
    monitor.run(at(0), api(http_server, False))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: api"]
    monitor.run(at(1), api(http_server, True), topic_arn=gone)
    monitor.run(at(2), api(http_server, False), topic_arn=gone)
    sns = monitor.sns
    monitor.sns = RefusesFirstPublish(sns)
    error = monitor.run(at(3), api(http_server, False))
    assert isinstance(error, AlertsNotSentError)
    assert monitor.alerts() == []  # not the DOWN of 18:02 before the refused RECOVERED of 18:01
    monitor.sns = sns
    monitor.run(at(4), api(http_server, False))  # the RECOVERED was refused: the DOWN after it waited
    assert [alert.subject for alert in monitor.alerts()] == ["RECOVERED: api", "DOWN: api"]


def test_a_secret_that_cannot_be_read_takes_its_target_down_and_says_why(
    monitor: Monitor, http_server: FaultServer
) -> None:
    # Found by a new user: a deleted parameter was recorded on every run but never
    # moved state, so nobody was told the check had stopped checking anything.
    ssm, sm = aws_client("ssm", monitor.endpoint), aws_client("secretsmanager", monitor.endpoint)
    # moto builds its SSM backend on the first call, which takes seconds on a busy machine: done here
    # with botocore's default 60 s timeout, not in the handler's read (5 s, then inconclusive).
    _warm = boto3.client("ssm", endpoint_url=monitor.endpoint, region_name=ssm.meta.region_name)
    _warm.put_parameter(Name="/healthcheck/other", Value="x", Type="SecureString")
    secrets = SecretResolver(lambda: ssm, lambda: sm)
    targets = api(http_server, True, headers={"Authorization": {"ssm": "/healthcheck/deleted"}})
    for minute in range(3):
        assert monitor.run(at(minute), targets, secrets=secrets) is None
    [alert] = monitor.alerts()
    assert alert.subject == "DOWN: api"
    assert alert.body["targets"][0]["reasons"] == ["secret /healthcheck/deleted not readable: ParameterNotFound"]


def test_a_secrets_service_out_of_reach_is_inconclusive(monitor: Monitor, http_server: FaultServer) -> None:
    # Our fault, not the target's: SSM could not be reached at all.
    ssm = aws_client("ssm", f"http://127.0.0.1:{closed_port()}")
    secrets = SecretResolver(lambda: ssm, lambda: ssm)
    targets = api(http_server, True, headers={"Authorization": {"ssm": "/healthcheck/token"}})
    for minute in range(4):
        assert monitor.run(at(minute), targets, secrets=secrets) is None
    [record, *_] = monitor.records("api")
    assert record.error == "secret /healthcheck/token not readable: EndpointConnectionError"
    assert record.inconclusive is True
    assert monitor.state("api") is None
    assert monitor.alerts() == []


def test_a_refused_message_holds_back_only_its_own_targets(monitor: Monitor, http_server: FaultServer) -> None:
    monitor.alerting = AlertPolicy(failure_threshold=1, success_threshold=1)
    ok, failing = f"{http_server.base_url}/ok", f"{http_server.base_url}/status/503"

    def targets(db: str, others: str) -> list[object]:
        return [{"name": "db", "url": db}, {"name": "api", "url": others}, {"name": "web", "url": others}]

    monitor.run(at(0), targets(failing, ok))
    assert [alert.subject for alert in monitor.alerts()] == ["DOWN: db"]
    monitor.run(at(1), targets(ok, ok), topic_arn=monitor.topic_arn + "-deleted")  # db's RECOVERED waits
    sns = monitor.sns
    monitor.sns = RefusesFirstPublish(sns)  # refuses RECOVERED: db, the earliest
    assert isinstance(monitor.run(at(2), targets(ok, failing)), AlertsNotSentError)
    [alert] = monitor.alerts()  # api and web are not held back behind db
    assert (alert.subject, [entry["target"] for entry in alert.body["targets"]]) == (
        "DOWN: api and 1 more",
        ["api", "web"],
    )
    monitor.sns = sns
    assert monitor.run(at(3), targets(ok, failing)) is None
    [late] = monitor.alerts()
    assert (late.subject, late.body["targets"][0]["eventTime"]) == ("RECOVERED: db", at(1))
    assert monitor.run(at(4), targets(ok, failing)) is None
    assert monitor.alerts() == []
