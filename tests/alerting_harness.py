"""A monitor with state and alerts on the moto server: the handler's own path, alerts read back through SNS→SQS."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3

from healthcheck.alerting.maintenance import NO_WINDOWS, Schedule
from healthcheck.alerting.notify import Notifier
from healthcheck.alerting.policy import DEFAULT_POLICY, AlertPolicy
from healthcheck.alerting.state_store import WATCH, StateStore, shard_key
from healthcheck.check.probe import Probe
from healthcheck.check.secrets import SecretResolver
from healthcheck.config import Settings
from healthcheck.event import DEFAULT_SHARD
from healthcheck.exceptions import HealthcheckError
from healthcheck.handler import check_and_record
from healthcheck.history.reader import Check
from healthcheck.history.record_store import ResultStore
from healthcheck.retrying import CLIENT_CONFIG
from localdev.dynamodb import LOCAL_AWS_ENV, create_results_table, create_state_table
from tests.records import all_checks

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()


def aws_client(service: str, endpoint: str) -> Any:
    """A client for ``service`` on the moto server, built with the handler's CLIENT_CONFIG."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=CLIENT_CONFIG,
    )


class Context:
    """Lambda's context as the handler reads it: the request id and the time left."""

    def __init__(self, budget_s: float, request_id: str) -> None:
        self.aws_request_id = request_id
        self._ends = time.monotonic() + budget_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    body: dict[str, Any]
    """The ``sqs`` form of the message, as the queue subscribed to the topic received it."""


@dataclass
class Monitor:
    endpoint: str
    dynamodb: DynamoDBClient
    probe: Probe
    alerting: AlertPolicy = DEFAULT_POLICY
    maintenance: Schedule = NO_WINDOWS
    connectivity_check: str | None = None
    per_target_metrics: bool = False
    sns: Any = None
    sqs: Any = None
    results_table: str = ""
    state_table: str = ""
    topic_arn: str = ""
    queue_url: str = ""
    state_store: StateStore | None = None
    notifiers: list[Notifier] = field(default_factory=list)

    @classmethod
    def create(cls, endpoint: str, dynamodb: DynamoDBClient, probe: Probe) -> Monitor:
        number = next(_numbers)
        monitor = cls(endpoint, dynamodb, probe)
        monitor.results_table, monitor.state_table = f"alert-results-{number}", f"alert-state-{number}"
        create_results_table(endpoint, monitor.results_table)
        create_state_table(endpoint, monitor.state_table)
        monitor.sns, monitor.sqs = aws_client("sns", endpoint), aws_client("sqs", endpoint)
        monitor.topic_arn = monitor.sns.create_topic(Name=f"alerts-{number}")["TopicArn"]
        monitor.queue_url = monitor.sqs.create_queue(QueueName=f"alerts-{number}")["QueueUrl"]
        queue_arn = monitor.sqs.get_queue_attributes(QueueUrl=monitor.queue_url, AttributeNames=["QueueArn"])
        monitor.sns.subscribe(TopicArn=monitor.topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        monitor.state_store = StateStore(dynamodb, monitor.state_table)
        return monitor

    def run(
        self,
        at: str,
        targets: Sequence[object],
        *,
        topic_arn: str | None = None,
        probe: Probe | None = None,
        now: datetime | None = None,
        secrets: SecretResolver | None = None,
        budget_s: float | None = None,
        request_id: str | None = None,
        shard: str | None = None,
    ) -> HealthcheckError | None:
        """One scheduled run at event time ``at`` (clock: ``now``, else ``at``); the error it raised, if any.

        ``budget_s``: the invocation's time, as Lambda's context gives it (a local run's 900 s without it).
        ``shard``: the schedule's, as its event names it (none: ``default``, as a manual invoke).
        """
        notifier = Notifier(self.sns, topic_arn or self.topic_arn, sleep=lambda _: None)
        self.notifiers.append(notifier)
        settings = Settings(
            self.results_table,
            list(targets),
            state_table_name=self.state_table,
            alert_topic_arn=notifier.topic_arn,
            alerting=self.alerting,
            maintenance=self.maintenance,
            connectivity_check=self.connectivity_check,
            per_target_metrics=self.per_target_metrics,
        )
        context = Context(budget_s, request_id or f"run-{next(_numbers)}") if budget_s else None
        try:
            check_and_record(
                {"time": at} if shard is None else {"time": at, "shard": shard},
                context,
                settings=settings,
                probe=probe or self.probe,
                store=ResultStore(self.dynamodb, self.results_table),
                now=now or datetime.fromisoformat(at),
                state_store=self.state_store,
                notifier=notifier,
                secrets=secrets,
            )
        except HealthcheckError as exc:
            return exc
        return None

    def alerts(self) -> list[Alert]:
        """Every alert delivered to the queue since the last call, oldest first."""
        return delivered_alerts(self.sqs, self.queue_url)

    def put_state(self, item: dict[str, Any]) -> None:
        """An item written as a user would in the console (the README tells them how)."""
        self.dynamodb.put_item(TableName=self.state_table, Item=item)

    def indexed(self, shard: str = DEFAULT_SHARD) -> set[str]:
        """The targets whose items the state table's ``Watch`` index holds for ``shard`` (not the shard's own item)."""
        response = self.dynamodb.query(
            TableName=self.state_table,
            IndexName=WATCH,
            KeyConditionExpression="Watch = :shard",
            ExpressionAttributeValues={":shard": {"S": shard}},
        )
        return {item["Id"]["S"] for item in response["Items"]} - {shard_key(shard)}

    def state(self, name: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.state_table, Key={"Id": {"S": name}}, ConsistentRead=True)
        return item.get("Item")

    def records(self, name: str) -> list[Check]:
        """Every check of ``name`` stored, oldest first."""
        return [check for check in all_checks(self.dynamodb, self.results_table) if check.target == name]


def delivered_alerts(sqs: Any, queue_url: str) -> list[Alert]:
    """Every alert SNS delivered to the queue since the last call, oldest first (each taken off the queue)."""
    received: list[Alert] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return received
        for message in batch:
            envelope = json.loads(message["Body"])
            received.append(Alert(envelope["Subject"], json.loads(envelope["Message"])))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
