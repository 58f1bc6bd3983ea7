"""A whole run with planted secrets: each is sent where it belongs and appears in no output channel.

Channels searched: stdout (the JSON lines), stderr, every log record, every
DynamoDB record (results and state), every alert published to SNS in all its
forms (email text, the JSON form, the chat form), the handler's return value,
and the exception texts and expectation failures the checks produced (they
reach the records' Error and Failures). The Pulumi side (schedule
input, environment, every resource input) is searched in test_infra_secrets.py.

Servers echo the secrets back in every encoding of ``ENCODINGS`` (base64,
hex, percent-encoded, upper-cased...), into expectation failures and into the
framing errors (Content-Length, chunk size line) that quote server bytes; each
of those forms, and its first characters (a cut quote), is searched for.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
import pytest

from healthcheck.alerting.notify import Notifier
from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.state_store import StateStore
from healthcheck.check.probe import Probe
from healthcheck.check.secrets import SecretResolver
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from localdev.dynamodb import LOCAL_AWS_ENV, create_state_table
from tests.echo_server import ENCODINGS, echo_server
from tests.hostile import Peer, Request, raw_server
from tests.records import Check, latest_checks
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
    """A secret as it could leak: raw, cut short, in every encoding a server may echo it, inside a Basic token."""
    basic = base64.b64encode(f"ops:{secret}".encode()).decode()
    token = base64.b64encode(f"{secret}:".encode()).decode()
    found = {secret, secret[:10], quote(secret, safe=""), base64.b64encode(secret.encode()).decode()[:-4]}
    found |= {basic[:12], basic[4:16], token[:12]}
    for name, encode in ENCODINGS.items():
        echoed = encode(secret)
        found |= {echoed[16:28]} if name == "base64-in-basic" else {echoed, echoed[:12]}
    return found


@dataclass(frozen=True)
class Planted:
    """Unique values: in moto's SSM (sent as ``Bearer <value>``) and Secrets Manager, and written into URLs."""

    ssm_value: str
    sm_value: str
    password: str
    url_token: str
    """A token as the URL's user name, as GitHub's PATs are sent."""
    token_header: dict[str, object]
    key_header: dict[str, object]
    resolver: SecretResolver

    @property
    def values(self) -> tuple[str, ...]:
        return (self.ssm_value, self.sm_value, self.password, self.url_token)


@pytest.fixture
def planted(dynamodb_endpoint: str) -> Planted:
    mark = uuid.uuid4().hex[:12]
    ssm, sm = _client("ssm", dynamodb_endpoint), _client("secretsmanager", dynamodb_endpoint)
    ssm_value, sm_value = f"ssmLEAK{mark}", f"smLEAK{mark}"
    ssm.put_parameter(Name=f"/leak/{mark}", Value=f"Bearer {ssm_value}", Type="SecureString")
    arn = sm.create_secret(Name=f"leak/{mark}", SecretString=json.dumps({"apiKey": sm_value}))["ARN"]
    return Planted(
        ssm_value,
        sm_value,
        f"pwLEAK{mark}",
        f"ghpLEAK{mark}",
        {"Authorization": {"ssm": f"/leak/{mark}"}},
        {"X-Api-Key": {"secretsManager": arn, "key": "apiKey"}},
        SecretResolver(lambda: ssm, lambda: sm),
    )


@dataclass(frozen=True)
class Outputs:
    """What one run left in every channel."""

    summary: dict[str, Any]
    records: dict[str, Check]
    states: list[dict[str, Any]]
    published: list[dict[str, Any]]
    channels: dict[str, str]

    @property
    def by_id(self) -> dict[str, tuple[bool, str | None]]:
        return {name: (r.success, r.error) for name, r in self.records.items()}

    def alert(self, kind: str) -> dict[str, str]:
        """Every form of the one alert of ``kind`` (``DOWN``...)."""
        [call] = [call for call in self.published if call["Subject"].startswith(f"{kind}: ")]
        forms: dict[str, str] = json.loads(call["Message"])
        return forms

    def assert_hidden(self, secrets: tuple[str, ...]) -> None:
        for secret in secrets:
            for form in _forms(secret):
                hits = [name for name, text in self.channels.items() if form in text]
                assert hits == [], f"{form!r} leaked into {hits}: " + "".join(
                    line for line in self.channels["logs"].splitlines() if form in line
                )


@dataclass
class Harness:
    """The handler's whole path on the moto server: records, state, alerts (each Publish kept)."""

    endpoint: str
    dynamodb: DynamoDBClient
    table: str
    probe: Probe
    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture

    def run(self, targets: list[dict[str, object]], secrets: SecretResolver) -> Outputs:
        # INFO, as the function is deployed (application_log_level); botocore's DEBUG
        # lines quote whole API responses, this test's own PutParameter included.
        self.caplog.set_level(logging.INFO)
        mark = uuid.uuid4().hex[:12]
        state_table = f"leak-state-{mark}"
        create_state_table(self.endpoint, state_table)
        sns = RecordingSns(_client("sns", self.endpoint))
        topic = sns._client.create_topic(Name=f"leak-{mark}")["TopicArn"]
        settings = Settings(
            self.table,
            None,
            state_table_name=state_table,
            alert_topic_arn=topic,
            alerting=AlertPolicy(failure_threshold=1),  # every failure is announced at once
        )
        summary = check_and_record(
            {"time": "2026-11-28T04:00:00Z", "targets": targets},
            None,
            settings=settings,
            probe=self.probe,
            store=ResultStore(self.dynamodb, self.table),
            now=NOW,
            secrets=secrets,
            state_store=StateStore(self.dynamodb, state_table),
            notifier=Notifier(sns, topic),
        )
        out, err = self.capsys.readouterr()
        records = latest_checks(self.dynamodb, self.table)
        stored = self.dynamodb.scan(TableName=self.table)["Items"]  # every item: runs, failures and rosters
        states = self.dynamodb.scan(TableName=state_table)["Items"]
        channels = {
            "stdout": out,
            "stderr": err,
            "logs": self.caplog.text + "".join(str(r.args) for r in self.caplog.records),
            "records": json.dumps(stored),
            "summary": json.dumps(summary),
            "state": json.dumps(states),
            "alerts": json.dumps(sns.published),
        }
        return Outputs(summary, records, states, sns.published, channels)


@pytest.fixture
def harness(
    dynamodb_endpoint: str,
    dynamodb: DynamoDBClient,
    table: str,
    probe: Probe,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Harness:
    return Harness(dynamodb_endpoint, dynamodb, table, probe, capsys, caplog)


def test_planted_secrets_reach_the_server_and_no_output(harness: Harness, planted: Planted) -> None:
    password, url_token = planted.password, planted.url_token
    token_header, key_header = planted.token_header, planted.key_header
    basic = "Basic " + base64.b64encode(f"ops:{password}".encode()).decode()
    token_basic = "Basic " + base64.b64encode(f"{url_token}:".encode()).decode()

    with echo_server() as server, echo_server() as elsewhere:
        host = server.base_url.removeprefix("http://")
        base = server.base_url
        need = base + server.demand("Authorization", f"Bearer {planted.ssm_value}")
        targets: list[dict[str, object]] = [
            {"name": "ssm-ok", "url": need, "headers": token_header},
            {"name": "sm-ok", "url": base + server.demand("X-Api-Key", planted.sm_value), "headers": key_header},
            {"name": "basic-ok", "url": f"http://ops:{password}@{host}{server.demand('Authorization', basic)}"},
            {"name": "token-ok", "url": f"http://{url_token}@{host}{server.demand('Authorization', token_basic)}"},
            {"name": "leak-header", "url": f"{base}/leak?header=Authorization", "headers": token_header},
            {"name": "leak-key", "url": f"{base}/leak?header=X-Api-Key", "headers": key_header},
            {"name": "leak-basic", "url": f"http://ops:{password}@{host}/leak?header=Authorization"},
            {"url": f"http://{url_token}@{host}/leak?header=Authorization"},  # unnamed: named by its URL
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
            {"name": "token-refused", "url": f"http://{url_token}@127.0.0.1:{closed_port()}/x"},
            {"url": f"http://ops:{password}@127.0.0.1:{closed_port()}/unnamed", "timeout": 2},
            {"name": "missing", "url": f"{base}/echo", "headers": {"Authorization": {"ssm": "/leak/gone"}}},
            {"name": "bad-entry", "url": f"http://ops:{password}@{host}/x", "timeout": -1},
        ]
        run = harness.run(targets, planted.resolver)
        sent_elsewhere = elsewhere.requests_to("/echo")
        server_saw = list(server.seen)

    by_id = run.by_id
    # The secrets did their job: sent where they belong, and only there.
    assert by_id["ssm-ok"] == (True, None)
    assert by_id["sm-ok"] == (True, None)
    assert by_id["basic-ok"] == (True, None)
    assert by_id["token-ok"] == (True, None)
    assert by_id["missing"] == (False, "secret /leak/gone not readable: ParameterNotFound")
    assert by_id["leak-header"][1] == "redirect to unsupported URL 'ftp://127.0.0.1/?got=***&raw=***'"
    leak_by_token = f"http://***@{host}/leak?header=Authorization"
    assert by_id[leak_by_token] == (
        False,
        "redirect to unsupported URL 'ftp://127.0.0.1/?got=Basic%20***&raw=Basic ***'",
    )
    assert by_id["hangup"][1] == "protocol error: server closed the connection without a response"
    assert by_id["refused"][1] == "connection refused"
    [moved] = sent_elsewhere
    assert "authorization" not in moved.headers
    assert "x-api-key" not in moved.headers
    assert any(seen.headers.get("x-api-key") == planted.sm_value for seen in server_saw)
    assert run.summary["checked"] == len(targets)
    assert (
        by_id["leak-expect"][1]
        == "header Location is 'ftp://127.0.0.1/?got=***&raw=***', expected to contain 'https://'"
    )
    # The alert went out, and names the targets that failed, in every form.
    down = run.alert("DOWN")
    assert {"default", "email", "sqs", "lambda", "https"} <= set(down)
    assert "leak-expect" in down["default"]
    assert leak_by_token in down["default"]
    assert {"leak-expect", "refused", "leak-basic", leak_by_token} <= {item["Id"]["S"] for item in run.states}

    run.assert_hidden(planted.values)
    # The record keeps the URL, its user information replaced: the check stays recognisable.
    assert run.records["refused"].url.startswith("http://***@127.0.0.1:")
    assert run.records["token-refused"].url.startswith("http://***@127.0.0.1:")
    assert any(
        line.startswith('{"type":"check","id":"http://***@127.0.0.1:') for line in run.channels["stdout"].splitlines()
    )


def _echo_into_framing(peer: Peer, request: Request) -> bool:
    """The secret header named in the path, as sent or base64-encoded, echoed into the response's framing.

    ``/<length|chunk>/<header>[/base64]``: into a Content-Length, or a chunk size line.
    """
    place, header, *encoding = request.path.strip("/").split("/")
    value = request.headers.get(header.lower(), "")
    echoed = (base64.b64encode(value.encode()).decode() if encoding else value).encode()
    pad = b"x" * 40  # so that the 60-character quote is cut inside the echo
    if place == "length":
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: " + pad + echoed + b"\r\n\r\nok")
    else:
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + pad + echoed + b"\r\nok\r\n0\r\n\r\n")
    return False


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_secrets_echoed_in_every_encoding_and_into_the_framing_reach_no_output(
    harness: Harness, planted: Planted, header: str
) -> None:
    headers = planted.token_header if header == "Authorization" else planted.key_header
    with echo_server() as server, raw_server(_echo_into_framing) as framing:
        targets: list[dict[str, object]] = [
            {
                "name": f"echo-{encoding}",
                "url": f"{server.base_url}/mirror?header={header}&encoding={encoding}",
                "headers": headers,
                "expect": {"json": {"status": "UP", "detail": "ok"}, "headers": {"X-Echo": "nope"}},
            }
            for encoding in ENCODINGS
        ]
        targets += [
            {
                "name": f"framing/{place}{suffix}",
                "url": f"{framing.base_url}/{place}/{header}{suffix}",
                "headers": headers,
            }
            for place in ("length", "chunk")
            for suffix in ("", "/base64")
        ]
        run = harness.run(targets, planted.resolver)

    pad = "x" * 40
    assert run.by_id["framing/length"] == (False, f"protocol error: invalid Content-Length '{pad}***'")
    assert run.by_id["framing/length/base64"] == (False, f"protocol error: invalid Content-Length '{pad}***'")
    assert run.by_id["framing/chunk"] == (False, f"protocol error: invalid chunk size line '{pad}***'")
    assert run.by_id["framing/chunk/base64"] == (False, f"protocol error: invalid chunk size line '{pad}***'")
    for encoding in ENCODINGS:
        failures = list(run.records[f"echo-{encoding}"].failures)
        assert len(failures) == 3, failures  # each expectation quoted what the server echoed
        assert all("***" in line for line in failures), failures
    down = run.alert("DOWN")["default"]
    assert all(str(target["name"]) in down for target in targets)  # every failure went out: none hidden by the cap
    run.assert_hidden(planted.values)
