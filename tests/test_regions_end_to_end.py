"""Three regions end to end: each region's checker run as deployed (the Lambda entrypoint with that region's
environment) against one moto server, alerts read back through SNS→SQS (issue 17).

The site is a real HTTP server on 127.0.0.1 that tells the regions apart by the User-Agent each check sends,
as a site's firewall would: it answers 503 to the regions it "blocks", and closes the connection without
a word (canary included) to the regions it "cuts".
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck import handler as entrypoint
from healthcheck.exceptions import HealthcheckError
from tests.alerting_harness import Alert, aws_client, delivered_alerts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

from localdev.dynamodb import create_results_table, create_state_table

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")
# Event times a few minutes old, as scheduled runs' are (an event an hour off moves no state).
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
UA = re.compile(r"^healthcheck/[0-9.]+ \(\+region ([a-z0-9-]+)\)$")


def at(minute: int) -> str:
    return (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Site:
    """Answers 200, or 503 to the blocked regions; hangs up on the cut ones. Keeps each request's User-Agent."""

    blocked: set[str] = field(default_factory=set)
    cut: set[str] = field(default_factory=set)
    agents: list[str] = field(default_factory=list)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            agent = self.headers.get("User-Agent", "")
            state.agents.append(agent)
            match = UA.match(agent)
            region = match.group(1) if match else ""
            if region in state.cut:
                self.close_connection = True
                self.connection.close()
                return
            status = 503 if region in state.blocked else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Stack:
    dynamodb: DynamoDBClient
    environ: dict[str, str]
    queue_url: str
    sqs: Any
    state_table: str
    homes: list[str | None]
    """The region each client of the tables or the topic was asked for (None: the function's own)."""

    def run(self, minute: int, monkeypatch: pytest.MonkeyPatch) -> None:
        """The event of ``minute``, run by each region in turn, as its schedule would (the same shard and time)."""
        for region in REGIONS:
            with monkeypatch.context() as patch:
                for name, value in {**self.environ, "AWS_REGION": region}.items():
                    patch.setenv(name, value)
                try:
                    entrypoint.handler({"time": at(minute), "shard": "1"}, None)
                except HealthcheckError as exc:
                    raise AssertionError(f"{region} at {at(minute)}: {exc}") from exc

    def alerts(self) -> list[Alert]:
        return delivered_alerts(self.sqs, self.queue_url)

    def state(self, name: str) -> tuple[str, str] | None:
        item = self.dynamodb.get_item(TableName=self.state_table, Key={"Id": {"S": name}}, ConsistentRead=True)
        found = item.get("Item")
        if found is None:
            return None
        return found["State"]["S"], found.get("Regions", {}).get("S", "")


@pytest.fixture
def stack(
    dynamodb_endpoint: str, dynamodb: DynamoDBClient, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> Stack:
    _, base = site
    number = id(site)
    results, state = f"regions-results-{number}", f"regions-state-{number}"
    create_results_table(dynamodb_endpoint, results)
    create_state_table(dynamodb_endpoint, state)
    sns, sqs = aws_client("sns", dynamodb_endpoint), aws_client("sqs", dynamodb_endpoint)
    topic = sns.create_topic(Name=f"regions-{number}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"regions-{number}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    # The module's clients are built for AWS; point them at the moto server (the tables' home region's).
    monkeypatch.setattr(entrypoint, "_dynamodb", dynamodb)
    homes: list[str | None] = []

    def home_dynamodb(region: str) -> DynamoDBClient:
        homes.append(region)
        return dynamodb

    def home_sns(region: str | None = None) -> Any:
        homes.append(region)
        return sns

    monkeypatch.setattr(entrypoint, "_home_dynamodb", home_dynamodb)
    monkeypatch.setattr(entrypoint, "_sns", home_sns)
    environ = {
        "TABLE_NAME": results,
        "STATE_TABLE_NAME": state,
        "ALERT_TOPIC_ARN": topic,
        "TARGETS": json.dumps([{"name": "api", "url": f"{base}/api"}, {"name": "web", "url": f"{base}/web"}]),
        "ALERTING": json.dumps({"failureThreshold": 2, "successThreshold": 2}),
        "CONNECTIVITY_CHECK": f"{base}/canary",
        "REGIONS": ",".join(REGIONS),
        "HOME_REGION": "us-east-1",
    }
    return Stack(dynamodb, environ, queue, sqs, state, homes)


def test_every_check_names_its_region_in_its_user_agent(
    stack: Stack, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = site
    stack.run(0, monkeypatch)
    assert sorted(set(server.agents)) == sorted(f"healthcheck/1.0 (+region {region})" for region in REGIONS)
    assert len(server.agents) == 3 * 3  # two targets and the canary, from each region
    assert stack.homes == [None, *["us-east-1"] * 4]  # us: its own clients; eu, ap: the home region's


def test_three_regions_partial_then_down_in_the_same_interval_then_recovered(
    stack: Stack, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = site
    stack.run(0, monkeypatch)
    assert stack.state("api") is None  # steady UP everywhere: no item written
    server.blocked = {"eu-west-1"}
    stack.run(1, monkeypatch)
    assert stack.state("api") == ("UP", "eu-west-1")  # one FAIL in one region: below its threshold
    stack.run(2, monkeypatch)
    assert stack.state("api") == ("PARTIAL", "eu-west-1")
    assert stack.alerts() == []  # PARTIAL is not paged without alertOnPartial
    server.blocked = {"eu-west-1", "ap-southeast-1"}
    stack.run(3, monkeypatch)
    assert stack.state("api") == ("PARTIAL", "ap-southeast-1,eu-west-1")  # ap's first FAIL
    stack.run(4, monkeypatch)
    assert stack.state("api") == ("DOWN", "ap-southeast-1,eu-west-1")  # decided at minute 4, in its own interval
    [down] = stack.alerts()
    assert down.subject == "DOWN: api and 1 more"
    entries = {entry["target"]: entry for entry in down.body["targets"]}
    assert entries["api"]["regions"] == ["ap-southeast-1", "eu-west-1"]
    assert entries["api"]["since"] == at(1)  # eu's first FAIL
    server.blocked = set()
    stack.run(5, monkeypatch)
    assert stack.state("api") == ("DOWN", "")
    stack.run(6, monkeypatch)
    assert stack.state("api") == ("UP", "")
    [recovered] = stack.alerts()
    assert recovered.subject == "RECOVERED: api and 1 more"


def test_a_cut_region_is_impaired_and_pages_nobody(
    stack: Stack, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = site
    server.cut = {"eu-west-1"}
    for minute in range(4):
        stack.run(minute, monkeypatch)
    assert stack.state("api") is None
    assert stack.alerts() == []


def test_fewer_than_a_quorum_reporting_holds_every_state_and_says_so_once(
    stack: Stack, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = site
    stack.run(0, monkeypatch)
    server.cut = {"eu-west-1", "ap-southeast-1"}
    server.blocked = {"us-east-1"}
    for minute in range(1, 5):
        stack.run(minute, monkeypatch)
    assert stack.state("api") == ("UP", "us-east-1")  # us fails it 4 times in a row: alone, it is no quorum
    [degraded] = stack.alerts()
    assert degraded.subject == "DEGRADED: only 1 of 3 regions reporting"
    assert degraded.body["reporting"] == ["us-east-1"]
    server.cut = set()
    server.blocked = set()
    for minute in range(5, 8):
        stack.run(minute, monkeypatch)
    [ended] = stack.alerts()
    assert ended.subject == "DEGRADED: ended, 3 of 3 regions reporting"
    assert stack.state("api") == ("UP", "")


def test_what_each_region_costs_per_run(stack: Stack, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls to DynamoDB per run of all three regions: steady, a region failing a target, and DOWN."""
    server, _ = site
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    stack.dynamodb.meta.events.register("before-call.dynamodb.*", count)

    def interval(minute: int) -> dict[str, int]:
        calls.clear()
        stack.run(minute, monkeypatch)
        return {name: calls.count(name) for name in sorted(set(calls))}

    interval(0)  # rosters stored once per process and shard
    interval(1)
    # Steady UP: per region what one region costs alone: its run item, and one Query of the state index.
    assert interval(2) == {"BatchWriteItem": 3, "Query": 3}
    server.blocked = {"eu-west-1"}
    first = interval(3)
    # eu fails both targets: it reads their items and every region's runs (one Query), and marks both failing.
    # eu fails both targets: it reads their items and every region's runs (one Query), and marks both failing;
    # ap, after it, finds them in the index and decides too (one Query of the runs, nothing to write).
    assert first == {"BatchGetItem": 1, "BatchWriteItem": 3, "Query": 5, "UpdateItem": 2}
    assert interval(4) == {"BatchGetItem": 1, "BatchWriteItem": 3, "Query": 6, "UpdateItem": 2}  # both PARTIAL
    # PARTIAL held: each region reads every region's runs once; eu its items too; nothing written.
    assert interval(5) == {"BatchGetItem": 1, "BatchWriteItem": 3, "Query": 6}
