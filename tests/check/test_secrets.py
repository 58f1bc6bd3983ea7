"""Secret references read from moto's SSM and Secrets Manager in server mode: batching, caching, rotation, failures."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from healthcheck.check.request_spec import SecretsManagerRef, SsmRef
from healthcheck.check.secrets import MAX_AGE_S, SecretResolver, is_transient, resolve_for
from healthcheck.check.targets import parse_target
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


@pytest.mark.parametrize("size", [2, 3])
def test_one_denied_name_fails_only_itself_not_its_batch(aws: str, clock: Clock, size: int) -> None:
    refs = [_parameter(aws, f"v{i}") for i in range(size)]
    ssm = _DenyOne(_client("ssm", aws), refs[1].name)
    resolver = SecretResolver(lambda: ssm, lambda: _client("secretsmanager", aws), clock=clock)
    resolution = resolver.resolve(refs)
    assert resolution.values == {ref: f"v{i}" for i, ref in enumerate(refs) if i != 1}
    assert resolution.errors == {refs[1]: f"secret {refs[1].name} not readable: AccessDeniedException"}
    assert len(ssm.batches) == 1 + size  # the whole batch, then each name alone


class _Failing:
    """An SSM and Secrets Manager client that fails every call with ``error``, as AWS or botocore would."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def get_parameters(self, **_: object) -> Any:
        raise self._error

    def get_secret_value(self, **_: object) -> Any:
        raise self._error


def _client_error(response: dict[str, Any]) -> ClientError:
    return ClientError(response, "GetParameters")  # type: ignore[arg-type]


ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api-AbC123"
FAILURES = {
    # The code only: AWS's message repeats the ARN and the role, and nothing a user needs.
    "throttled": (
        _client_error({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded for role/hc"}}),
        "ThrottlingException",
        True,
    ),
    "denied": (
        _client_error({"Error": {"Code": "AccessDeniedException", "Message": "role/hc"}}),
        "AccessDeniedException",
        False,
    ),
    "no-error-at-all": (_client_error({}), "unknown error", False),
    "empty-code": (_client_error({"Error": {"Code": ""}}), "unknown error", False),
    "unreachable": (
        EndpointConnectionError(endpoint_url="https://ssm.eu-west-1.amazonaws.com/"),
        "EndpointConnectionError",
        True,
    ),
    "read-timeout": (ReadTimeoutError(endpoint_url="https://ssm.eu-west-1.amazonaws.com/"), "ReadTimeoutError", True),
    "no-credentials": (NoCredentialsError(), "NoCredentialsError", False),
}


@pytest.mark.parametrize(("error", "reason", "transient"), list(FAILURES.values()), ids=list(FAILURES))
def test_an_aws_failure_is_named_by_its_code_and_only_a_passing_one_is_transient(
    error: Exception, reason: str, transient: bool, clock: Clock
) -> None:
    failing = _Failing(error)
    resolver = SecretResolver(lambda: failing, lambda: failing, clock=clock)
    ssm, sm = SsmRef("/healthcheck/api-token"), SecretsManagerRef(ARN, "apiKey: v2")  # a key with ": " in it
    resolution = resolver.resolve([ssm, sm])
    assert resolution.values == {}
    assert resolution.errors == {
        ssm: f"secret /healthcheck/api-token not readable: {reason}",
        sm: f"secret {ARN} (key apiKey: v2) not readable: {reason}",
    }
    assert [is_transient(text) for text in resolution.errors.values()] == [transient, transient]
    assert "role/hc" not in "".join(resolution.errors.values())


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ('["apiKey"]', "no string field 'apiKey' in its JSON"),  # JSON, but not an object
        ("not json at all", "no string field 'apiKey' in its JSON"),
        ('{"apiKey": null}', "no string field 'apiKey' in its JSON"),
    ],
    ids=["json-array", "not-json", "null-field"],
)
def test_a_key_of_a_secret_that_has_no_such_string_field_is_named(
    aws: str, resolver: SecretResolver, stored: str, reason: str
) -> None:
    ref = SecretsManagerRef(_secret(aws, stored), "apiKey")
    assert resolver.resolve([ref]).errors == {ref: f"secret {ref.arn} not readable: {reason}"}


def test_a_binary_secret_is_named_as_one_that_cannot_be_sent(aws: str, resolver: SecretResolver) -> None:
    arn = _client("secretsmanager", aws).create_secret(Name=f"hc/test/b{next(_names)}", SecretBinary=b"\x00\x01")["ARN"]
    ref = SecretsManagerRef(arn)
    resolution = resolver.resolve([ref])
    assert resolution.errors == {
        ref: f"secret {arn} not readable: the secret is binary; only a SecretString can be sent"
    }
    assert not is_transient(resolution.errors[ref])


def test_resolving_nothing_asks_aws_nothing(resolver: SecretResolver) -> None:
    assert resolver.resolve([]) == ({}, {})
    assert resolver.calls == 0
