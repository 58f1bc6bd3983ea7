"""Secret references in the stack, under Pulumi mocks: exact read grants, and no credential in any input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.policies import parameter_arn, secrets_policy
from infra.settings import SettingsError
from tests.pulumi_harness import ACCOUNT, REGION, Deployment, deploy

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/api-AbC123"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TARGETS: list[dict[str, Any]] = [
    {
        "name": "api",
        "url": "https://api.example/health",
        "headers": {"Authorization": {"ssm": "/healthcheck/api-token"}},
    },
    {
        "name": "graphql",
        "url": "https://gql.example/",
        "method": "POST",
        "json": {"query": "{ ok }"},
        "headers": {
            "X-Api-Key": {"secretsManager": SECRET_ARN, "key": "apiKey"},
            "X-Other": {"secretsManager": SECRET_ARN, "key": "other"},
            "X-Plain-Name": {"ssm": "plain-name"},
        },
    },
    {"name": "public", "url": "https://example.com/"},
]


def _secrets_policy(stack: Deployment) -> dict[str, Any] | None:
    found = [r for r in stack.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "healthcheck-function-secrets"]
    if not found:
        return None
    [policy] = found
    role = next(r for r in stack.of_type("aws:iam/role:Role") if r.id == policy.inputs["role"])
    assert role.name == "healthcheck-function-role", f"granted to the function's role ({policy.urn})"
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


def test_the_function_may_read_exactly_the_referenced_parameters_and_secrets() -> None:
    stack = deploy({"targets": TARGETS, "secretsKmsKeyArn": KEY_ARN})
    assert _secrets_policy(stack) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecretParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": [
                    f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/healthcheck/api-token",
                    f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/plain-name",
                ],
            },
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [SECRET_ARN],
            },
            {
                "Sid": "DecryptSecrets",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [KEY_ARN],
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [f"ssm.{REGION}.amazonaws.com", f"secretsmanager.{REGION}.amazonaws.com"]
                    }
                },
            },
        ],
    }
    function = stack.one("aws:lambda/function:Function")
    grant = next(r for r in stack.resources if r.name == "healthcheck-function-secrets")
    assert grant.urn in function.dependencies, "the grant exists before the first run"


def test_no_wildcard_anywhere_in_the_grant() -> None:
    document = _secrets_policy(deploy({"targets": TARGETS, "secretsKmsKeyArn": KEY_ARN}))
    assert document is not None
    for statement in document["Statement"]:
        for value in [*statement["Action"], *statement["Resource"]]:
            assert not set("*?") & set(value), statement


def test_aws_managed_keys_need_no_kms_grant() -> None:
    document = _secrets_policy(deploy({"targets": TARGETS}))
    assert document is not None
    assert [s["Sid"] for s in document["Statement"]] == ["ReadSecretParameters", "ReadSecrets"]


@pytest.mark.parametrize(
    "config",
    [{"targets": TARGETS[2:]}, {"targets": TARGETS[2:], "secretsKmsKeyArn": KEY_ARN}],
    ids=["no-references", "key-but-no-references"],
)
def test_no_references_no_grant(config: dict[str, object]) -> None:
    assert _secrets_policy(deploy(config)) is None


def test_only_references_travel_to_the_schedule_and_environment() -> None:
    stack = deploy({"targets": TARGETS})
    [schedule] = stack.of_type("aws:scheduler/schedule:Schedule")
    sent = json.loads(schedule.inputs["target"]["input"])["targets"]
    assert sent[0]["headers"] == {"Authorization": {"ssm": "/healthcheck/api-token"}}
    env = json.loads(stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]["TARGETS"])
    assert env == sent


PLANTED = "hunter2-planted-7f3a"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"name": "basic", "url": f"https://ops:{PLANTED}@api.example/"},
            r"healthcheck:targets: basic: the URL's user information \(a credential\) would be stored in the sche",
        ),
        (
            {"url": f"https://ops:{PLANTED}@api.example/"},
            r"healthcheck:targets: https://\*\*\*@api.example/: the URL's user information",
        ),
        (
            # A token as the user name: GitHub's PATs, many webhooks.
            {"name": "token", "url": f"https://{PLANTED}@api.example/"},
            r"healthcheck:targets: token: the URL's user information \(a credential\) would be stored",
        ),
        (
            {"name": "login", "url": "https://monitoring@api.example/"},
            r"healthcheck:targets: login: the URL's user information \(a credential\) would be stored",
        ),
        (
            {"name": "bearer", "url": "https://api.example/", "headers": {"authorization": f"Bearer {PLANTED}"}},
            r"header 'authorization' holds a credential in plain text",
        ),
        (
            {"name": "cookie", "url": "https://api.example/", "headers": {"Cookie": f"sid={PLANTED}"}},
            r"header 'Cookie' holds a credential in plain text",
        ),
        (
            # Issue 7's own example: a credential by its name, not by HTTP's definition.
            {"name": "key", "url": "https://api.example/", "headers": {"X-Api-Key": PLANTED}},
            r"header 'X-Api-Key' holds a credential in plain text",
        ),
        (
            {"name": "gitlab", "url": "https://api.example/", "headers": {"Private-Token": PLANTED}},
            r"header 'Private-Token' holds a credential in plain text",
        ),
    ],
    ids=[
        "url-password",
        "url-password-unnamed",
        "url-token",
        "url-user-name",
        "authorization",
        "cookie",
        "x-api-key",
        "private-token",
    ],
)
def test_a_credential_in_plain_text_stops_preview_without_being_repeated(target: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        deploy({"targets": [target]})
    assert PLANTED not in str(raised.value)


def test_a_kms_alias_is_refused() -> None:
    with pytest.raises(SettingsError, match="healthcheck:secretsKmsKeyArn must be a KMS key's ARN"):
        deploy({"targets": TARGETS, "secretsKmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/mine"})


def test_every_resource_input_carries_references_only() -> None:
    """The Pulumi channel of the leak test: secrets are never in config, only their references."""
    stack = deploy({"targets": TARGETS})
    everything = json.dumps([r.inputs for r in stack.resources], default=str)
    assert "/healthcheck/api-token" in everything
    for form in (PLANTED, "Bearer ", "Basic "):
        assert form not in everything


@pytest.mark.parametrize(
    ("name", "arn"),
    [
        ("/healthcheck/api-token", "arn:aws:ssm:eu-west-1:111122223333:parameter/healthcheck/api-token"),
        ("api-token", "arn:aws:ssm:eu-west-1:111122223333:parameter/api-token"),
    ],
)
def test_parameter_arns_have_one_slash_after_parameter(name: str, arn: str) -> None:
    assert parameter_arn("aws", "eu-west-1", "111122223333", name) == arn


def test_no_statements_no_document() -> None:
    assert secrets_policy([], [], KEY_ARN, REGION) is None
