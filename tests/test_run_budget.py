"""A run at the smallest Lambda timeout preview accepts: a hung target still goes DOWN."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

import healthcheck.handler as entrypoint
from healthcheck import budget
from healthcheck.check.secrets import CLIENT_CONFIG as SECRETS_CLIENT_CONFIG
from healthcheck.check.secrets import SecretResolver
from healthcheck.check.targets import parse_target
from infra.schedules import MAX_TARGETS, waves
from infra.settings import SettingsError, StackSettings
from localdev.dynamodb import create_state_table
from tests.alerting_harness import aws_client
from tests.lambda_context import LambdaContext
from tests.records import all_checks
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def preview_minimum(targets: list[object], connectivity_check: str | None) -> int:
    """The smallest healthcheck:timeout preview accepts for these targets, found by asking preview."""
    for timeout in range(1, 901):
        try:
            StackSettings.from_values(targets=targets, timeout=timeout, connectivity_check=connectivity_check)
        except SettingsError:
            continue
        return timeout
    raise AssertionError("preview accepts no timeout at all")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("canary", "timeout", "reserve"),
    [(False, 3.0, 1.0), (True, 1.5, 0.5)],
    ids=["no-canary", "with-canary"],
)
def test_a_hung_target_goes_down_at_the_smallest_timeout_preview_accepts(
    canary: bool,
    timeout: float,
    reserve: float,
    hung_url: str,
    http_server: FaultServer,
    dynamodb: DynamoDBClient,
    dynamodb_endpoint: str,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # At full scale, with a 30 s target the documented minimum was 40 s, and from 40 s on a run
    # keeps 10 s for its writes: its checks ended exactly 30 s after it started, a hair before
    # the target's own timeout. Scaled down (a 3 s target, 1 s kept) the arithmetic is the same:
    # 1 s is also a quarter of a 4 s timeout. Every hung check was "not checked in full", for ever.
    # With a canary, the 5 s it may take was not counted at all.
    monkeypatch.setattr(budget, "MAX_WRITE_RESERVE_S", reserve)  # the handler's and preview's alike
    targets: list[object] = [{"name": "hung", "url": hung_url, "timeout": timeout}]
    canary_url = f"{http_server.base_url}/ok" if canary else None
    minimum = preview_minimum(targets, canary_url)

    state_table = f"{table}-state"
    create_state_table(dynamodb_endpoint, state_table)
    monkeypatch.setattr(entrypoint, "_dynamodb", dynamodb)
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.setenv("STATE_TABLE_NAME", state_table)
    monkeypatch.setenv("TARGETS", json.dumps(targets))
    monkeypatch.setenv("ALERTING", json.dumps({"failureThreshold": 2}))
    if canary_url is not None:
        monkeypatch.setenv("CONNECTIVITY_CHECK", canary_url)
    monkeypatch.delenv("ALERT_TOPIC_ARN", raising=False)

    now = datetime.now(UTC).replace(microsecond=0)
    states = []
    for minute in (1, 0):  # a minute apart, the last one now
        moment = (now - timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        entrypoint.handler({"time": moment}, LambdaContext(minimum))
        item = dynamodb.get_item(TableName=state_table, Key={"Id": {"S": "hung"}}, ConsistentRead=True).get("Item")
        states.append(item["State"]["S"] if item else None)

    records = all_checks(dynamodb, table)
    # The check's own limit, to the millisecond or so (3 s, or 2.99 s on a busy machine): a timeout, not ours.
    outcomes = [(record.inconclusive, (record.error or "").startswith("timed out after ")) for record in records]
    assert outcomes == [(False, True)] * 2
    assert states == ["UP", "DOWN"]  # DOWN at the second failure in a row, as failureThreshold says


def _arn(name: str) -> str:
    return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbC123"


SECRET = _arn("prod/api")


def _target(name: str, timeout: float, *, ssm: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    headers: dict[str, object] = {f"X-P{i}": {"ssm": parameter} for i, parameter in enumerate(ssm)}
    headers |= {f"X-S{i}": {"secretsManager": arn} for i, arn in enumerate(secrets)}
    return {"name": name, "url": f"https://{name}.example/", "timeout": timeout, "headers": headers}


def _many(prefix: str, count: int, timeout: float, **refs: tuple[str, ...]) -> list[dict[str, Any]]:
    return [_target(f"{prefix}{i}", timeout, **refs) for i in range(count)]


@pytest.mark.parametrize(
    ("targets", "canary", "minimum"),
    [
        ([_target("a", 30)], False, 40),
        ([_target("a", 30)], True, 45),
        ([_target("a", 2.5)], False, 13),
        ([_target("a", 30, ssm=("/p/1",))], False, 47),
        ([_target("a", 30, ssm=tuple(f"/p/{i}" for i in range(10)))], False, 47),
        ([_target("a", 30, ssm=tuple(f"/p/{i}" for i in range(11)))], False, 54),
        ([_target("a", 30, ssm=("/p/1",)), _target("b", 1, ssm=("/p/1",), secrets=(SECRET,))], True, 59),
        # A full first schedule of 5 s targets (its turns, no reads), the three reads all in the second's one run.
        (
            [*_many("a", MAX_TARGETS, 5), *_many("b", 1, 5, secrets=(SECRET, _arn("b"), _arn("c")))],
            False,
            max(waves(MAX_TARGETS) * 5 + 10, 5 + 3 * 7 + 10),
        ),
    ],
    ids=[
        "slowest-plus-10",
        "a-canary-adds-its-5-s",
        "a-fraction-rounds-up",
        "one-parameter-one-read",
        "ten-parameters-one-batched-read",
        "eleven-parameters-two-reads",
        "canary-one-parameter-read-once-and-a-secret",
        "each-schedules-run-reads-only-its-own-targets-secrets",
    ],
)
def test_preview_refuses_a_timeout_that_could_cut_the_slowest_target_short(
    targets: list[object], canary: bool, minimum: int
) -> None:
    # In a run: the canary (5 s at most), the secret reads (one after another, 7 s each at
    # most: the client's connect and read timeouts), the checks, and 10 s to write.
    connectivity = "https://checkip.amazonaws.com/" if canary else None
    assert preview_minimum(targets, connectivity) == minimum
    with pytest.raises(SettingsError, match=rf"raise it to at least {minimum}$"):
        StackSettings.from_values(targets=targets, timeout=minimum - 1, connectivity_check=connectivity)


@pytest.mark.parametrize(
    ("targets", "canary", "message"),
    [
        (
            [_target("a", 30)],
            False,
            (
                "healthcheck:timeout 39 s leaves no room for the slowest target (30 s) plus 10 s to write records: "
                "raise it to at least 40"
            ),
        ),
        (
            [_target("a", 30, ssm=("/p/1",), secrets=(SECRET,))],
            True,
            (
                "healthcheck:timeout 39 s leaves no room for the slowest target (30 s) plus 5 s for the connectivity "
                "check, 2 secret read(s) at 7 s each and 10 s to write records: raise it to at least 59"
            ),
        ),
        (
            _many("a", 100, 60, secrets=(SECRET, _arn("b"))),
            False,
            (
                "healthcheck:timeout 39 s leaves no room for the slowest target (60 s) plus 2 secret read(s) at 7 s "
                "each and 10 s to write records: raise it to at least 84"
            ),
        ),
        (
            [_target(f"t{i}", 60, secrets=(_arn(f"{i}a"), _arn(f"{i}b"))) for i in range(100)],
            False,
            (
                "healthcheck:timeout 39 s leaves no room for the slowest target (60 s) plus 200 secret read(s) at 7 s "
                "each and 10 s to write records: raise it to at least 1470 (Lambda allows 900: shorten the targets' "
                "timeouts or use fewer secrets)"
            ),
        ),
    ],
    ids=["writes-only", "canary-and-secrets", "a-shared-secret-is-read-once", "more-than-lambda-allows"],
)
def test_the_refusal_says_what_the_run_spends_its_time_on(targets: list[object], canary: bool, message: str) -> None:
    connectivity = "https://checkip.amazonaws.com/" if canary else None
    with pytest.raises(SettingsError, match=f"^{re.escape(message)}$"):
        StackSettings.from_values(targets=targets, timeout=39, connectivity_check=connectivity)


def test_a_secret_read_is_counted_at_its_clients_connect_and_read_timeouts() -> None:
    config: Any = SECRETS_CLIENT_CONFIG  # botocore's stubs leave its options untyped
    assert config.connect_timeout + config.read_timeout == budget.SECRET_READ_S


def test_the_reads_counted_are_the_calls_a_cold_resolve_makes(dynamodb_endpoint: str) -> None:
    # moto's server answers SSM and Secrets Manager on the DynamoDB port.
    ssm, secretsmanager = aws_client("ssm", dynamodb_endpoint), aws_client("secretsmanager", dynamodb_endpoint)
    names = [f"/budget/p{i}" for i in range(12)]
    for name in names:
        ssm.put_parameter(Name=name, Value="v", Type="SecureString")
    arns = [secretsmanager.create_secret(Name=f"budget/s{i}", SecretString="v")["ARN"] for i in range(2)]
    raw = [
        _target("a", 5, ssm=tuple(names[:7]), secrets=(arns[0],)),
        _target("b", 5, ssm=tuple(names[5:]), secrets=tuple(arns)),
    ]
    targets = [parse_target(target) for target in raw]
    resolver = SecretResolver(lambda: ssm, lambda: secretsmanager)
    resolution = resolver.resolve(ref for target in targets for ref in target.request.secret_refs)
    assert resolution.errors == {}
    assert budget.secret_reads(targets) == resolver.calls == 4  # 12 names in 2 batches, and 2 secrets
