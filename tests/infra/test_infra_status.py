"""The status page's infrastructure under Pulumi's mocks: its function, URL, permissions per mode, read-only role."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.settings import SettingsError
from tests.pulumi_harness import Deployment, Registered, deploy

ROOT = Path(__file__).resolve().parents[2]
TARGETS: list[dict[str, Any]] = [{"name": "api", "url": "https://api.internal.example/health"}]


def _named(stack: Deployment, name: str) -> Registered:
    [resource] = [r for r in stack.resources if r.name == name]
    return resource


@pytest.fixture(scope="module")
def public() -> Deployment:
    return deploy({"targets": TARGETS, "statusPage": "public"})


@pytest.fixture(scope="module")
def iam() -> Deployment:
    return deploy({"targets": TARGETS, "statusPage": "iam", "statusPageShowUrls": True})


def test_no_status_page_by_default() -> None:
    stack = deploy({"targets": TARGETS})
    assert [r.name for r in stack.of_type("aws:lambda/function:Function")] == ["healthcheck-function"]
    assert stack.of_type("aws:lambda/functionUrl:FunctionUrl") == []
    assert stack.of_type("aws:lambda/permission:Permission") == []
    assert "statusPageUrl" not in stack.outputs


def test_the_page_is_the_same_image_started_with_the_status_handler(public: Deployment) -> None:
    monitor, page = _named(public, "healthcheck-function"), _named(public, "healthcheck-status-function")
    assert page.inputs["imageUri"] == monitor.inputs["imageUri"]
    assert page.inputs["imageConfig"] == {"commands": ["healthcheck.status.handler"]}
    assert page.inputs["architectures"] == ["arm64"]
    variables = page.inputs["environment"]["variables"]
    assert variables["ROLLUP_TABLE_NAME"] == _named(public, "healthcheck-rollups").outputs["name"]
    assert variables["STATE_TABLE_NAME"] == _named(public, "healthcheck-state").outputs["name"]
    assert variables["STATUS_SHOW_URLS"] == "false"
    assert json.loads(variables["TARGETS"]) == ["api"]  # names alone: a page that hides URLs is not given them


def test_views_share_the_accounts_concurrency_unless_capped(public: Deployment) -> None:
    assert _named(public, "healthcheck-status-function").inputs["reservedConcurrentExecutions"] == -1
    # The monitor itself is never capped: a cap would throttle its own runs.
    assert _named(public, "healthcheck-function").inputs.get("reservedConcurrentExecutions", -1) == -1


def test_a_cap_reserves_that_many_views_and_no_more() -> None:
    stack = deploy({"targets": TARGETS, "statusPage": "public", "statusPageConcurrency": 5})
    assert _named(stack, "healthcheck-status-function").inputs["reservedConcurrentExecutions"] == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1001, r"^healthcheck:statusPageConcurrency must be a whole number from 0 to 1000, got 1001$"),
        ("many", r"healthcheck:statusPageConcurrency.*int"),
    ],
)
def test_a_cap_that_is_not_a_count_of_views_is_refused_at_preview(value: object, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        deploy({"targets": TARGETS, "statusPage": "public", "statusPageConcurrency": value})


def test_a_page_that_shows_urls_is_given_them(iam: Deployment) -> None:
    variables = _named(iam, "healthcheck-status-function").inputs["environment"]["variables"]
    assert variables["STATUS_SHOW_URLS"] == "true"
    assert json.loads(variables["TARGETS"]) == TARGETS


@pytest.mark.parametrize(("mode", "auth"), [("public", "NONE"), ("iam", "AWS_IAM")])
def test_url_auth_type_follows_the_config(public: Deployment, iam: Deployment, mode: str, auth: str) -> None:
    stack = public if mode == "public" else iam
    url = stack.one("aws:lambda/functionUrl:FunctionUrl")
    assert url.inputs["authorizationType"] == auth
    assert url.inputs["functionName"] == _named(stack, "healthcheck-status-function").outputs["name"]
    assert "statusPageUrl" in stack.outputs


def test_a_public_url_grants_both_invoke_permissions_to_anyone(public: Deployment) -> None:
    function = _named(public, "healthcheck-status-function").outputs["name"]
    grants = sorted(
        (
            p.inputs["action"],
            p.inputs["principal"],
            p.inputs.get("functionUrlAuthType"),
            p.inputs.get("invokedViaFunctionUrl"),
            p.inputs["function"],
        )
        for p in public.of_type("aws:lambda/permission:Permission")
    )
    assert grants == [
        ("lambda:InvokeFunction", "*", None, True, function),
        ("lambda:InvokeFunctionUrl", "*", "NONE", None, function),
    ]


def test_an_iam_url_grants_nobody_anything(iam: Deployment) -> None:
    assert iam.of_type("aws:lambda/permission:Permission") == []
    assert _named(iam, "healthcheck-status-function").inputs["environment"]["variables"]["STATUS_SHOW_URLS"] == "true"


def test_the_page_role_only_reads_the_tables(public: Deployment) -> None:
    policy = _named(public, "healthcheck-status-policy")
    assert policy.inputs["role"] == _named(public, "healthcheck-status-role").id
    tables = {_named(public, f"healthcheck-{name}").outputs["arn"] for name in ("results", "state", "rollups")}
    logs = _named(public, "healthcheck-status-logs").outputs["arn"]
    grants = {
        (action, resource)
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
    }
    reads = {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
    assert grants == {(a, t) for a in reads for t in tables} | {
        ("logs:CreateLogStream", f"{logs}:log-stream:*"),
        ("logs:PutLogEvents", f"{logs}:log-stream:*"),
    }


def test_rollups_table_is_keyed_by_target_and_day_and_expires(public: Deployment) -> None:
    table = _named(public, "healthcheck-rollups")
    assert (table.inputs["hashKey"], table.inputs["rangeKey"], table.inputs["billingMode"]) == (
        "Id",
        "Day",
        "PAY_PER_REQUEST",
    )
    assert table.inputs["ttl"] == {"attributeName": "ExpiresAt", "enabled": True}


def test_a_bad_mode_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="statusPage must be one of public, iam, off, got 'yes'"):
        deploy({"targets": TARGETS, "statusPage": "yes"})


UNNAMED: list[dict[str, Any]] = [{"url": "https://db.internal.example/health"}]


@pytest.mark.parametrize("mode", ["public", "iam"])
def test_a_page_that_hides_urls_refuses_a_target_named_by_its_url(mode: str) -> None:
    with pytest.raises(SettingsError) as error:
        deploy({"targets": UNNAMED, "statusPage": mode})
    assert str(error.value) == (
        "healthcheck:targets: 'https://db.internal.example/health' has no name of its own, so the status page "
        "would show its URL, which statusPageShowUrls is false to hide: give it a 'name' "
        "(or set statusPageShowUrls to true)"
    )


@pytest.mark.parametrize("config", [{"statusPage": "public", "statusPageShowUrls": True}, {"statusPage": "off"}, {}])
def test_a_target_named_by_its_url_is_fine_where_its_url_may_show(config: dict[str, Any]) -> None:
    stack = deploy({"targets": UNNAMED, **config})
    assert stack.resources


def _many(count: int, length: int) -> list[dict[str, Any]]:
    return [{"name": f"{index:0{length}d}", "url": f"https://{index}.example.com/"} for index in range(count)]


def test_a_target_list_too_large_for_the_page_is_refused_at_preview() -> None:
    # 80 targets of 30-byte names with their URLs: about 5 KB, more than Lambda's 4 KB.
    with pytest.raises(SettingsError) as error:
        deploy({"targets": _many(80, 30), "statusPage": "public", "statusPageShowUrls": True})
    assert re.fullmatch(
        r"healthcheck:statusPage: the page's list of 80 targets takes \d{4} bytes, and Lambda's 4 KB environment "
        r"leaves it \d{4}: shorten the targets' names, or set statusPageShowUrls to false \(names only\)",
        str(error.value),
    ), str(error.value)
    # Names alone fit: 80 x 33 bytes.
    stack = deploy({"targets": _many(80, 30), "statusPage": "public"})
    variables = _named(stack, "healthcheck-status-function").inputs["environment"]["variables"]
    assert len(json.loads(variables["TARGETS"])) == 80
    # And names alone can be too many as well; then there is no URL to leave out.
    with pytest.raises(SettingsError, match=r"shorten the targets' names$"):
        deploy({"targets": _many(150, 30), "statusPage": "public"})


def test_the_refusal_is_exact_at_the_limit() -> None:
    """The largest list that fits deploys; one byte more is refused (the table names counted at 255)."""
    from infra.environment import LAMBDA_ENV_LIMIT_BYTES, status_environment_size

    names = [f"{index:030d}" for index in range(80)]
    size = status_environment_size(json.dumps(names, separators=(",", ":")), show_urls=False)
    spare = LAMBDA_ENV_LIMIT_BYTES - size
    assert spare > 0
    fitting = [{"name": name, "url": "https://x.example/"} for name in names]
    fitting[0]["name"] += "x" * spare
    deploy({"targets": fitting, "statusPage": "public"})
    fitting[0]["name"] += "x"
    with pytest.raises(SettingsError, match=r"shorten the targets' names$"):
        deploy({"targets": fitting, "statusPage": "public"})


def test_an_unquoted_off_in_the_stack_file_is_off(tmp_path: Path) -> None:
    """`statusPage: off` unquoted is YAML's false to the CLI (yaml.v2), so the program gets "false"."""
    from localdev.check_config import load_config

    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  healthcheck:statusPage: off\n  healthcheck:targets:\n    - url: https://a.example/\n"
    )
    config = load_config(tmp_path, "x").config
    assert config["healthcheck:statusPage"] == "false"
    stack = deploy({"targets": UNNAMED, "statusPage": config["healthcheck:statusPage"]})
    assert not [r for r in stack.resources if r.name == "healthcheck-status-function"]
    with pytest.raises(SettingsError, match=r"got 'true' \(unquoted on, yes or true are YAML's true"):
        deploy({"targets": UNNAMED, "statusPage": "true"})
