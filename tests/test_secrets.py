"""Secret references read from moto's SSM and Secrets Manager in server mode: batching, caching, rotation, failures."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from healthcheck.request_spec import SecretsManagerRef, SsmRef
from healthcheck.secrets import MAX_AGE_S, SecretResolver, resolve_for
from healthcheck.targets import parse_target
from localdev.dynamodb import LOCAL_AWS_ENV


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(region_name=LOCAL_AWS_ENV["AWS_REGION"])
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]  # service is a str


@pytest.fixture
def aws(dynamodb_endpoint: str) -> str:
    """moto's server answers every service on one port: the DynamoDB one serves SSM and Secrets Manager too."""
    return dynamodb_endpoint


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def resolver(aws: str, clock: Clock) -> SecretResolver:
    return SecretResolver(lambda: _client("ssm", aws), lambda: _client("secretsmanager", aws), clock=clock)


_names = iter(range(10**6))


def _parameter(aws: str, value: str) -> SsmRef:
    name = f"/healthcheck/test/p{next(_names)}"
    _client("ssm", aws).put_parameter(Name=name, Value=value, Type="SecureString")
    return SsmRef(name)


def _secret(aws: str, value: str) -> str:
    arn: str = _client("secretsmanager", aws).create_secret(Name=f"hc/test/s{next(_names)}", SecretString=value)["ARN"]
    return arn


def test_twelve_parameters_take_two_batched_calls(aws: str, resolver: SecretResolver) -> None:
    refs = [_parameter(aws, f"value-{i}") for i in range(12)]
    resolution = resolver.resolve(refs)
    assert resolution.values == {ref: f"value-{i}" for i, ref in enumerate(refs)}
    assert resolution.errors == {}
    assert resolver.calls == 2


def test_secrets_manager_whole_and_by_key(aws: str, resolver: SecretResolver) -> None:
    arn = _secret(aws, json.dumps({"apiKey": "k-1", "n": 5}))
    whole, key, missing, not_text = (
        SecretsManagerRef(arn),
        SecretsManagerRef(arn, "apiKey"),
        SecretsManagerRef(arn, "nope"),
        SecretsManagerRef(arn, "n"),
    )
    resolution = resolver.resolve([whole, key, missing, not_text])
    assert resolution.values == {whole: json.dumps({"apiKey": "k-1", "n": 5}), key: "k-1"}
    assert resolution.errors == {
        missing: f"secret {arn} not readable: no string field 'nope' in its JSON",
        not_text: f"secret {arn} not readable: no string field 'n' in its JSON",
    }
    assert resolver.calls == 1  # one read per secret, whatever the keys


def test_what_cannot_be_read_is_named_with_its_reason(aws: str, resolver: SecretResolver) -> None:
    good = _parameter(aws, "fine")
    missing = SsmRef("/healthcheck/api-token")
    gone = SecretsManagerRef("arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbC123")
    resolution = resolver.resolve([good, missing, gone])
    assert resolution.values == {good: "fine"}
    assert resolution.errors == {
        missing: "secret /healthcheck/api-token not readable: ParameterNotFound",
        gone: f"secret {gone.arn} not readable: ResourceNotFoundException",
    }


def test_values_are_cached_until_max_age_so_a_rotation_is_picked_up(
    aws: str, resolver: SecretResolver, clock: Clock
) -> None:
    ref = _parameter(aws, "old")
    arn = _secret(aws, "old-secret")
    secret = SecretsManagerRef(arn)
    assert resolver.resolve([ref, secret]).values == {ref: "old", secret: "old-secret"}
    _client("ssm", aws).put_parameter(Name=ref.name, Value="new", Type="SecureString", Overwrite=True)
    _client("secretsmanager", aws).put_secret_value(SecretId=arn, SecretString="new-secret")
    calls = resolver.calls

    clock.now += MAX_AGE_S - 1
    assert resolver.resolve([ref, secret]).values == {ref: "old", secret: "old-secret"}
    assert resolver.calls == calls  # a warm invocation within 5 minutes asks AWS nothing

    clock.now += 1
    assert resolver.resolve([ref, secret]).values == {ref: "new", secret: "new-secret"}
    assert resolver.calls == calls + 2


def test_no_references_no_clients(resolver: SecretResolver) -> None:
    def never() -> Any:
        raise AssertionError("a client was built for a run without secrets")

    lazy = SecretResolver(never, never)
    target = parse_target({"url": "https://a.example/"})
    assert resolve_for([target], lazy) == ([target], [], {})


def test_a_missing_secret_fails_only_the_targets_that_use_it(aws: str, resolver: SecretResolver) -> None:
    ref = _parameter(aws, "tok")
    fine = parse_target({"url": "https://a.example/", "headers": {"X-T": ref.to_json()}})
    plain = parse_target({"url": "https://b.example/"})
    broken = parse_target({"url": "https://c.example/", "headers": {"X-T": {"ssm": "/healthcheck/missing"}}})
    ready, failed, values = resolve_for([fine, plain, broken], resolver)
    assert ready == [fine, plain]
    assert failed == [(broken, "secret /healthcheck/missing not readable: ParameterNotFound")]
    assert values == {ref: "tok"}


class _DenyOne:
    """moto's SSM with one name denied, as IAM would: moto does not enforce IAM, so the denial is added here."""

    def __init__(self, client: Any, denied: str) -> None:
        self._client = client
        self._denied = denied
        self.batches: list[list[str]] = []

    def get_parameters(self, *, Names: list[str], WithDecryption: bool) -> Any:  # noqa: N803 - boto3's names
        self.batches.append(list(Names))
        if self._denied in Names:
            error = {"Error": {"Code": "AccessDeniedException", "Message": f"not authorized on {self._denied}"}}
            raise ClientError(error, "GetParameters")  # type: ignore[arg-type]
        return self._client.get_parameters(Names=Names, WithDecryption=WithDecryption)


def test_one_denied_name_fails_only_itself_not_its_batch(aws: str, clock: Clock) -> None:
    refs = [_parameter(aws, f"v{i}") for i in range(3)]
    ssm = _DenyOne(_client("ssm", aws), refs[1].name)
    resolver = SecretResolver(lambda: ssm, lambda: _client("secretsmanager", aws), clock=clock)
    resolution = resolver.resolve(refs)
    assert resolution.values == {refs[0]: "v0", refs[2]: "v2"}
    assert resolution.errors == {refs[1]: f"secret {refs[1].name} not readable: AccessDeniedException"}
    assert len(ssm.batches) == 4  # the batch of three, then each name alone
