"""The roles' DynamoDB grants cover every call the code makes: moto enforces no IAM, so this test does.

The monitor runs through a day's close (rosters, failures, rollups, state, incidents) and the status page
is read, each call's (action, table) recorded from botocore's own events, then looked up in the policy
documents the stack gives each role (infra/policies.py), with the tables' names standing in for their ARNs.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck.alerting.state_store import StateStore
from healthcheck.check.probe import Probe
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history import record_store, rollup_store
from healthcheck.history.record_store import ResultStore
from healthcheck.history.rollup_store import RollupStore
from healthcheck.page.data import ShownTarget, load
from infra.policies import function_policy, status_policy
from localdev.dynamodb import create_rollup_table, create_state_table
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_numbers = itertools.count()


def _grants(document: str) -> set[tuple[str, str]]:
    statements = json.loads(document)["Statement"]
    return {
        (action, resource)
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


@pytest.fixture
def calls(dynamodb: DynamoDBClient) -> set[tuple[str, str]]:
    """Each DynamoDB (action, table) the client is asked for from now on."""
    made: set[tuple[str, str]] = set()

    def remember(model: Any, params: dict[str, Any], **_: object) -> None:
        tables = [params["TableName"]] if "TableName" in params else list(params.get("RequestItems", {}))
        if "IndexName" in params:  # granted on the index's own ARN: <table ARN>/index/<name>
            tables = [f"{table}/index/{params['IndexName']}" for table in tables]
        made.update((f"dynamodb:{model.name}", table) for table in tables)

    dynamodb.meta.events.register("before-parameter-build.dynamodb", remember)
    return made


def test_the_monitor_and_the_page_are_granted_every_call_they_make(
    http_server: FaultServer,
    probe: Probe,
    dynamodb: DynamoDBClient,
    dynamodb_endpoint: str,
    table: str,
    calls: set[tuple[str, str]],
) -> None:
    number = next(_numbers)
    state, rollups = f"grants-state-{number}", f"grants-rollups-{number}"
    create_state_table(dynamodb_endpoint, state)
    create_rollup_table(dynamodb_endpoint, rollups)
    record_store._stored_rosters.clear()
    rollup_store._known.clear()
    targets: list[object] = [
        {"name": "up", "url": f"{http_server.base_url}/ok"},
        {"name": "down", "url": f"{http_server.base_url}/status/503", "failureThreshold": 1},
    ]
    start = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
    store, rollup = StateStore(dynamodb, state), RollupStore(dynamodb, rollups, table)
    for minutes in (0, 110, 170):  # 22:00, 23:50 (22:00 closes), 00:50 (23:00 closes, and the day)
        moment = start + timedelta(minutes=minutes)
        with contextlib.redirect_stdout(io.StringIO()):
            check_and_record(
                {"time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "shard": "1"},
                None,
                settings=Settings(table, targets, state_table_name=state, region="us-east-1"),
                probe=probe,
                store=ResultStore(dynamodb, table),
                now=moment,
                state_store=store,
                rollups=rollup,
            )
    monitor = _grants(function_policy(table, "logs", "queue", state, "topic", rollups))
    made = set(calls)
    assert {action for action, _ in made} >= {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"}
    assert ("dynamodb:Query", f"{state}/index/Watch") in made  # the state's sparse index
    assert made <= monitor, sorted(made - monitor)
    calls.clear()
    shown = [ShownTarget("up", "up"), ShownTarget("down", "down")]
    data = load(shown, rollup, store, start + timedelta(minutes=171), time.monotonic() + 60)
    assert [target.state for target in data.targets] == ["UP", "DOWN"]
    page = _grants(status_policy(table, state, rollups, "logs"))
    assert calls <= page, sorted(calls - page)
