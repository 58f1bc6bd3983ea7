"""A whole run with planted secrets: each is sent where it belongs and appears in no output channel.

Channels searched: stdout (the JSON lines), stderr, every log record, every
DynamoDB record (results and state), every alert published to SNS in all its
forms (email text, the JSON form, the chat form), the handler's return value,
and the exception texts and expectation failures the checks produced (they
reach the records' Error and Failures). The Pulumi side (schedule
input, environment, every resource input) is searched in test_infra_secrets.py.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
import pytest

from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.notify import Notifier
from healthcheck.policy import AlertPolicy
from healthcheck.probe import Probe
from healthcheck.secrets import SecretResolver
from healthcheck.state_store import StateStore
from healthcheck.store import ResultStore
from localdev.dynamodb import LOCAL_AWS_ENV, create_state_table
from tests.echo_server import echo_server
from tests.servers import closed_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOW = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)


def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(region_name=LOCAL_AWS_ENV["AWS_REGION"])
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]  # service is a str


class RecordingSns:
    """The moto server's real SNS client; every Publish's arguments are kept so each form can be searched."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> Any:
        self.published.append(kwargs)
        return self._client.publish(**kwargs)


def _forms(secret: str) -> set[str]:
    """A secret as it could leak: raw, cut short, percent-encoded, and inside a Basic token."""
    basic = base64.b64encode(f"ops:{secret}".encode()).decode()
    return {secret, secret[:10], quote(secret, safe=""), base64.b64encode(secret.encode()).decode()[:-4], basic[:12]}


def test_planted_secrets_reach_the_server_and_no_output(
    dynamodb_endpoint: str,
    dynamodb: DynamoDBClient,
    table: str,
    probe: Probe,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # INFO, as the function is deployed (application_log_level); botocore's DEBUG
    # lines quote whole API responses, this test's own PutParameter included.
    caplog.set_level(logging.INFO)
    mark = uuid.uuid4().hex[:12]
    ssm_value, sm_value, password = f"ssmLEAK{mark}", f"smLEAK{mark}", f"pwLEAK{mark}"
    ssm, sm = _client("ssm", dynamodb_endpoint), _client("secretsmanager", dynamodb_endpoint)
    ssm.put_parameter(Name=f"/leak/{mark}", Value=f"Bearer {ssm_value}", Type="SecureString")
    arn = sm.create_secret(Name=f"leak/{mark}", SecretString=json.dumps({"apiKey": sm_value}))["ARN"]
    token_header = {"Authorization": {"ssm": f"/leak/{mark}"}}
    key_header = {"X-Api-Key": {"secretsManager": arn, "key": "apiKey"}}
    basic = "Basic " + base64.b64encode(f"ops:{password}".encode()).decode()

    with echo_server() as server, echo_server() as elsewhere:
        host = server.base_url.removeprefix("http://")
        base = server.base_url
        need = base + server.demand("Authorization", f"Bearer {ssm_value}")
        targets: list[dict[str, object]] = [
            {"name": "ssm-ok", "url": need, "headers": token_header},
            {"name": "sm-ok", "url": base + server.demand("X-Api-Key", sm_value), "headers": key_header},
            {"name": "basic-ok", "url": f"http://ops:{password}@{host}{server.demand('Authorization', basic)}"},
            {"name": "leak-header", "url": f"{base}/leak?header=Authorization", "headers": token_header},
            {"name": "leak-key", "url": f"{base}/leak?header=X-Api-Key", "headers": key_header},
            {"name": "leak-basic", "url": f"http://ops:{password}@{host}/leak?header=Authorization"},
            {
                # The expectation's failure line quotes the header the server sent: the echoed secret.
                "name": "leak-expect",
                "url": f"{base}/leak?header=Authorization",
                "headers": token_header,
                "followRedirects": False,
                "expect": {"status": [302], "headers": {"Location": "https://"}},
            },
            {"name": "hangup", "url": f"{base}/hangup", "headers": {**token_header, **key_header}},
            {
                "name": "cross-origin",
                "url": f"{base}/redirect?status=307&to={quote(elsewhere.base_url + '/echo')}",
                "method": "POST",
                "json": {"ping": 1},
                "headers": {**token_header, **key_header},
            },
            {"name": "refused", "url": f"http://ops:{password}@127.0.0.1:{closed_port()}/x"},
            {"url": f"http://ops:{password}@127.0.0.1:{closed_port()}/unnamed", "timeout": 2},
            {"name": "missing", "url": f"{base}/echo", "headers": {"Authorization": {"ssm": f"/leak/{mark}/gone"}}},
            {"name": "bad-entry", "url": f"http://ops:{password}@{host}/x", "timeout": -1},
        ]
        resolver = SecretResolver(lambda: ssm, lambda: sm)
        state_table = f"leak-state-{mark}"
        create_state_table(dynamodb_endpoint, state_table)
        sns = RecordingSns(_client("sns", dynamodb_endpoint))
        topic = sns._client.create_topic(Name=f"leak-{mark}")["TopicArn"]
        settings = Settings(
            table,
            None,
            state_table_name=state_table,
            alert_topic_arn=topic,
            alerting=AlertPolicy(failure_threshold=1),  # every failure is announced at once
        )
        summary = check_and_record(
            {"time": "2026-11-28T04:00:00Z", "targets": targets},
            None,
            settings=settings,
            probe=probe,
            store=ResultStore(dynamodb, table),
            now=NOW,
            secrets=resolver,
            state_store=StateStore(dynamodb, state_table),
            notifier=Notifier(sns, topic),
        )
        sent_elsewhere = elsewhere.requests_to("/echo")
        server_saw = list(server.seen)

    out, err = capsys.readouterr()
    records = {item["Id"]["S"]: item for item in dynamodb.scan(TableName=table)["Items"]}
    by_id = {name: (r["Success"]["BOOL"], r.get("Error", {}).get("S")) for name, r in records.items()}
    states = dynamodb.scan(TableName=state_table)["Items"]
    [down] = [call for call in sns.published if call["Subject"].startswith("DOWN: ")]
    forms = json.loads(down["Message"])

    # The secrets did their job: sent where they belong, and only there.
    assert by_id["ssm-ok"] == (True, None)
    assert by_id["sm-ok"] == (True, None)
    assert by_id["basic-ok"] == (True, None)
    assert by_id["missing"] == (False, f"secret /leak/{mark}/gone not readable: ParameterNotFound")
    assert by_id["leak-header"][1] == "redirect to unsupported URL 'ftp://127.0.0.1/?got=***&raw=***'"
    assert by_id["hangup"][1] == "protocol error: server closed the connection without a response"
    assert by_id["refused"][1] == "connection refused"
    [moved] = sent_elsewhere
    assert "authorization" not in moved.headers
    assert "x-api-key" not in moved.headers
    assert any(seen.headers.get("x-api-key") == sm_value for seen in server_saw)
    assert summary["checked"] == len(targets)
    assert (
        by_id["leak-expect"][1]
        == "header Location is 'ftp://127.0.0.1/?got=***&raw=***', expected to contain 'https://'"
    )
    # The alert went out, and names the targets that failed, in every form.
    assert {"default", "email", "sqs", "lambda", "https"} <= set(forms)
    assert "leak-expect" in forms["default"]
    assert {"leak-expect", "refused", "leak-basic"} <= {item["Id"]["S"] for item in states}

    channels = {
        "stdout": out,
        "stderr": err,
        "logs": caplog.text + "".join(str(r.args) for r in caplog.records),
        "records": json.dumps(records),
        "summary": json.dumps(summary),
        "state": json.dumps(states),
        "alerts": json.dumps(sns.published),
    }
    for secret in (ssm_value, sm_value, password):
        for form in _forms(secret):
            hits = [name for name, text in channels.items() if form in text]
            assert hits == [], f"{form!r} leaked into {hits}: " + "".join(
                line for line in channels["logs"].splitlines() if form in line
            )
    # The record keeps the URL, the password replaced: the check stays recognisable.
    assert records["refused"]["Url"]["S"].startswith("http://ops:***@127.0.0.1:")
    assert any(line.startswith('{"type":"check","id":"http://ops:***@127.0.0.1:') for line in out.splitlines())
