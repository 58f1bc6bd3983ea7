"""A target's name is shown raw in alerts and logs: one with a line break could forge a line there.

Found by attack (issue 14): an event target named ``api\\nRECOVERED: db`` put a
"RECOVERED" line inside a DOWN email. Names with control characters are
refused when targets are parsed (and so at ``pulumi preview``), as URLs are;
the entry is recorded as invalid under a label that keeps to one line.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from healthcheck.alerting.notify import Notifier
from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.state_store import StateStore
from healthcheck.check.probe import Probe
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from localdev.dynamodb import LOCAL_AWS_ENV, create_state_table
from tests.records import all_checks
from tests.servers import closed_port
from tests.test_secret_leaks import RecordingSns

if TYPE_CHECKING:
    import pytest
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOW = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)
FORGED = "api\nRECOVERED: db is back up"


def _sns(endpoint: str) -> Any:
    return boto3.session.Session(region_name=LOCAL_AWS_ENV["AWS_REGION"]).client("sns", endpoint_url=endpoint)


def test_a_name_with_a_line_break_forges_no_line_in_the_alert_or_the_log(
    dynamodb_endpoint: str,
    dynamodb: DynamoDBClient,
    table: str,
    probe: Probe,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mark = uuid.uuid4().hex[:12]
    url = f"http://127.0.0.1:{closed_port()}/health"
    state_table = f"names-state-{mark}"
    create_state_table(dynamodb_endpoint, state_table)
    sns = RecordingSns(_sns(dynamodb_endpoint))
    topic = sns._client.create_topic(Name=f"names-{mark}")["TopicArn"]
    settings = Settings(
        table,
        None,
        state_table_name=state_table,
        alert_topic_arn=topic,
        alerting=AlertPolicy(failure_threshold=1),
    )
    check_and_record(
        {"time": "2026-11-28T04:00:00Z", "targets": [{"name": FORGED, "url": url}, {"name": "web", "url": url + "/"}]},
        None,
        settings=settings,
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=NOW,
        state_store=StateStore(dynamodb, state_table),
        notifier=Notifier(sns, topic),
    )

    records = {check.target: check for check in all_checks(dynamodb, table)}
    assert set(records) == {url, "web"}  # labelled by its URL, never by the name that breaks lines
    assert records[url].error == (
        "invalid target: 'name' 'api\\nRECOVERED: db is back up' has a control character (a line break, tab...): "
        "names are shown on one line"
    )
    [down] = sns.published  # "web" is down: the alert that a forged name would have written into
    email = json.loads(down["Message"])["email"]
    assert "web" in email
    assert [line for line in email.splitlines() if "RECOVERED" in line] == []
    out, _ = capsys.readouterr()
    assert all(isinstance(json.loads(line), dict) for line in out.splitlines())  # one JSON object a line
