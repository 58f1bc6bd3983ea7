"""Several regions under faults found by attack: finishing orders, a canary down everywhere, a deploy reaching
the regions at different times, a quorum lost every other interval, and a stack going back to one region.

The entrypoint as deployed, one embedded DynamoDB and SNS for every region, alerts read back through SQS;
one local site answers each region by its User-Agent.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from healthcheck import handler as entrypoint
from healthcheck.exceptions import HealthcheckError
from localdev.dynamodb import create_results_table, create_state_table
from tests.alerting_harness import aws_client, delivered_alerts
from tests.test_regions_end_to_end import UA, at

NAMES = ("a", "b", "c", "d")


@dataclass
class Site:
    """503 to a region for the paths it fails there (None: every path); a hang-up to the cut regions."""

    failing: dict[str, set[str] | None] = field(default_factory=dict)
    cut: set[str] = field(default_factory=set)
    canary_dead: bool = False


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    state = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            match = UA.match(self.headers.get("User-Agent", ""))
            region = match.group(1) if match else ""
            if region in state.cut or (state.canary_dead and self.path.strip("/") == "canary"):
                self.close_connection = True
                self.connection.close()
                return
            paths = state.failing.get(region, set())
            bad = region in state.failing and (paths is None or self.path.strip("/") in paths)
            self.send_response(503 if bad else 200)
            self.send_header("Content-Length", "2")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Stack:
    dynamodb: Any
    environ: dict[str, str]
    queue_url: str
    sqs: Any
    state_table: str
    regions: tuple[str, ...]

    def run_one(self, region: str, minute: int, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
        with monkeypatch.context() as patch:
            for name, value in {**self.environ, **extra, "AWS_REGION": region}.items():
                patch.setenv(name, value)
            try:
                entrypoint.handler({"time": at(minute), "shard": "1"}, None)
            except HealthcheckError as exc:
                raise AssertionError(f"{region} at {at(minute)}: {exc}") from exc

    def run(self, minute: int, monkeypatch: pytest.MonkeyPatch, order: tuple[str, ...] | None = None) -> None:
        for region in order or self.regions:
            self.run_one(region, minute, monkeypatch)

    def alerts(self) -> list[tuple[str, Any]]:
        return [(alert.subject, alert.body) for alert in delivered_alerts(self.sqs, self.queue_url)]

    def state(self, name: str) -> tuple[str, str] | None:
        item = self.dynamodb.get_item(TableName=self.state_table, Key={"Id": {"S": name}}, ConsistentRead=True)
        found = item.get("Item")
        return None if found is None else (found["State"]["S"], found.get("Regions", {}).get("S", ""))


def make_stack(
    regions: tuple[str, ...],
    alerting: dict[str, int],
    endpoint: str,
    dynamodb: Any,
    base: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Stack:
    number = id(regions) ^ id(alerting)
    results, state = f"atk-results-{number}", f"atk-state-{number}"
    create_results_table(endpoint, results)
    create_state_table(endpoint, state)
    sns, sqs = aws_client("sns", endpoint), aws_client("sqs", endpoint)
    topic = sns.create_topic(Name=f"atk-{number}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"atk-{number}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setattr(entrypoint, "_dynamodb", dynamodb)
    monkeypatch.setattr(entrypoint, "_home_dynamodb", lambda region: dynamodb)
    monkeypatch.setattr(entrypoint, "_sns", lambda region=None: sns)
    environ = {
        "TABLE_NAME": results,
        "STATE_TABLE_NAME": state,
        "ALERT_TOPIC_ARN": topic,
        "TARGETS": json.dumps([{"name": name, "url": f"{base}/{name}"} for name in NAMES]),
        "ALERTING": json.dumps(alerting),
        "CONNECTIVITY_CHECK": f"{base}/canary",
        "REGIONS": ",".join(regions),
        "HOME_REGION": regions[0],
    }
    return Stack(dynamodb, environ, queue, sqs, state, regions)


FOUR = ("us-east-1", "eu-west-1", "ap-southeast-1", "sa-east-1")


@pytest.mark.parametrize(
    "order",
    [FOUR, ("ap-southeast-1", "sa-east-1", "us-east-1", "eu-west-1")],
    ids=["failing-first", "failing-last"],
)
def test_two_of_four_regions_failing_everything_page_nobody_whichever_finish_first(
    order: tuple[str, ...],
    dynamodb_endpoint: str,
    dynamodb: Any,
    site: tuple[Site, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, base = site
    stack = make_stack(
        FOUR, {"failureThreshold": 1, "successThreshold": 1}, dynamodb_endpoint, dynamodb, base, monkeypatch
    )
    stack.run(0, monkeypatch)
    # us and eu fail every target (503; their canary answers); ap and sa see all up. Their own trouble:
    # when us and eu finish first, the two that see everything up are pending.
    server.failing = {"us-east-1": None, "eu-west-1": None}
    stack.run(1, monkeypatch, order=order)
    assert [subject for subject, _ in stack.alerts()] == []
    assert stack.state("a") in (None, ("UP", ""))


def test_thresholds_of_one_read_far_enough_back_to_see_both_regions_report(
    dynamodb_endpoint: str, dynamodb: Any, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, base = site
    two = ("us-east-1", "eu-west-1")
    stack = make_stack(
        two, {"failureThreshold": 1, "successThreshold": 1}, dynamodb_endpoint, dynamodb, base, monkeypatch
    )
    stack.run(0, monkeypatch)
    server.failing = {"eu-west-1": {"a"}}  # one target failing from one region: PARTIAL; both regions report
    for minute in range(1, 5):
        stack.run(minute, monkeypatch)
    assert stack.alerts() == []  # both regions report every interval: nothing to say
    assert stack.state("a") == ("PARTIAL", "eu-west-1")


def test_a_deploy_reaching_the_regions_one_interval_apart_is_no_degradation(
    dynamodb_endpoint: str, dynamodb: Any, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, base = site
    three = ("us-east-1", "eu-west-1", "ap-southeast-1")
    stack = make_stack(
        three, {"failureThreshold": 3, "successThreshold": 2}, dynamodb_endpoint, dynamodb, base, monkeypatch
    )
    server.failing = {"eu-west-1": {"a"}}  # a PARTIAL somewhere in the shard, so runs read the regions' runs
    for minute in range(4):
        stack.run(minute, monkeypatch)
    assert stack.alerts() == []
    new = json.dumps([*json.loads(stack.environ["TARGETS"]), {"name": "e", "url": f"{base}/e"}])
    # `pulumi up` updates us first; eu and ap a minute later (one region after another), then all run the new list.
    stack.run_one("us-east-1", 4, monkeypatch, TARGETS=new)
    stack.run_one("eu-west-1", 4, monkeypatch)
    stack.run_one("ap-southeast-1", 4, monkeypatch)
    for minute in (5, 6, 7):
        for region in three:
            stack.run_one(region, minute, monkeypatch, TARGETS=new)
    assert stack.alerts() == []


@pytest.mark.parametrize("regions", [("us-east-1",), ("us-east-1", "eu-west-1", "ap-southeast-1")], ids=["N1", "N3"])
def test_answered_failures_count_while_the_one_canary_is_down_everywhere(
    regions: tuple[str, ...],
    dynamodb_endpoint: str,
    dynamodb: Any,
    site: tuple[Site, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, base = site
    stack = make_stack(
        regions, {"failureThreshold": 2, "successThreshold": 2}, dynamodb_endpoint, dynamodb, base, monkeypatch
    )
    if len(regions) == 1:
        stack.environ.pop("REGIONS")
        stack.environ.pop("HOME_REGION")
    stack.run(0, monkeypatch)
    server.canary_dead = True  # the one canary URL every region uses is down (no answer)
    server.failing = dict.fromkeys(regions)  # every target answers 503 from everywhere
    for minute in range(1, 6):
        stack.run(minute, monkeypatch)
    # As with one region: the canary's silence makes unanswered checks inconclusive, never answered ones.
    got = [subject for subject, _ in stack.alerts()]
    assert any(subject.startswith("DOWN: a") for subject in got), got
    state = stack.state("a")
    assert state is not None
    assert state[0] == "DOWN"


def test_a_quorum_lost_every_other_interval_says_nothing(
    dynamodb_endpoint: str, dynamodb: Any, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, base = site
    two = ("us-east-1", "eu-west-1")
    stack = make_stack(
        two, {"failureThreshold": 3, "successThreshold": 2}, dynamodb_endpoint, dynamodb, base, monkeypatch
    )
    stack.run(0, monkeypatch)
    server.failing = {"us-east-1": {"a"}}  # something to decide, so runs read the regions' runs
    # eu's function times out every other interval (no run item): the quorum of 2 is lost, found, lost...
    for minute in range(1, 9):
        server.cut = {"eu-west-1"} if minute % 2 else set()
        stack.run(minute, monkeypatch)
    assert [subject for subject, _ in stack.alerts()] == []  # never two event times in a row alike


def test_a_partial_target_of_a_stack_gone_back_to_one_region_pages_its_outage_once(
    dynamodb_endpoint: str, dynamodb: Any, site: tuple[Site, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, base = site
    three = ("us-east-1", "eu-west-1", "ap-southeast-1")
    stack = make_stack(
        three, {"failureThreshold": 2, "successThreshold": 2}, dynamodb_endpoint, dynamodb, base, monkeypatch
    )
    server.failing = {"eu-west-1": {"a"}}
    for minute in range(3):
        stack.run(minute, monkeypatch)
    assert stack.state("a") == ("PARTIAL", "eu-west-1")
    # The stack goes back to one region (`regions` removed, `pulumi up`): REGIONS and HOME_REGION unset.
    stack.environ.pop("REGIONS")
    stack.environ.pop("HOME_REGION")
    server.failing = {"us-east-1": None}  # now a real outage, seen from the one region left
    for minute in range(3, 9):
        stack.run_one("us-east-1", minute, monkeypatch)
    assert [subject for subject, _ in stack.alerts()] == ["DOWN: a and 3 more"]
    state = stack.state("a")
    assert state is not None
    assert state[0] == "DOWN"
    server.failing = {}
    for minute in range(9, 12):
        stack.run_one("us-east-1", minute, monkeypatch)
    assert [subject for subject, _ in stack.alerts()] == ["RECOVERED: a and 3 more"]
