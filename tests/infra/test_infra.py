"""The deploy path under Pulumi's mock runtime: every resource and property, phrased as policies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from healthcheck.alerting.maintenance import parse_windows
from healthcheck.check.targets import Target
from healthcheck.config import Settings
from infra.schedules import MAX_INPUT_CHARS, MAX_TARGETS, chunk_targets, schedule_input
from infra.settings import SettingsError
from localdev.pulumi_workspace import apply_project_config, load_project, load_stack_config, program_config
from tests.pulumi_harness import (
    ACCOUNT,
    DIGEST,
    ROOT,
    Deployment,
    Registered,
    deploy,
    deploy_program_config,
    deployment_scope,
)

TARGETS: list[dict[str, Any]] = [
    {"name": "example", "url": "https://example.com/"},
    {"url": "https://api.example.com/health", "timeout": 5},
]


@pytest.fixture(scope=deployment_scope)
def stack() -> Deployment:
    return deploy({"targets": TARGETS, "schedule": "rate(1 minute)", "memorySize": 256, "timeout": 60})


def _named(stack: Deployment, name: str) -> Registered:
    [resource] = [r for r in stack.resources if r.name == name]
    return resource


def _where(resource: Registered) -> str:
    return f"({resource.urn})"


def _statements(document: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(document)["Statement"]
    return statements


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_function_is_an_arm64_image_pinned_by_digest(stack: Deployment) -> None:
    function = stack.one("aws:lambda/function:Function")
    inputs = function.inputs
    assert inputs["packageType"] == "Image", _where(function)
    assert inputs["architectures"] == ["arm64"], _where(function)
    repository = stack.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert inputs["imageUri"] == f"{repository}@{DIGEST}", _where(function)
    assert (inputs["memorySize"], inputs["timeout"]) == (256, 60), _where(function)


def test_function_environment_names_the_table_and_carries_small_target_lists(stack: Deployment) -> None:
    function = stack.one("aws:lambda/function:Function")
    table = _named(stack, "healthcheck-results")
    variables = function.inputs["environment"]["variables"]
    assert variables["TABLE_NAME"] == table.outputs["name"], _where(function)
    assert [t["url"] for t in json.loads(variables["TARGETS"])] == [t["url"] for t in TARGETS], _where(function)
    # The defaults: records kept 90 days, no per-target metrics, no connectivity canary, a line per failed check.
    assert {key: value for key, value in variables.items() if key not in ("TABLE_NAME", "TARGETS")} == {
        "STATE_TABLE_NAME": _named(stack, "healthcheck-state").outputs["name"],
        "ALERT_TOPIC_ARN": stack.one("aws:sns/topic:Topic").outputs["arn"],
        "ROLLUP_TABLE_NAME": _named(stack, "healthcheck-rollups").outputs["name"],
        "RETENTION_DAYS": "90",
        "PER_TARGET_METRICS": "false",
        "LOG_CHECKS": "failures",
    }, _where(function)


def test_function_logs_json_to_a_retained_group_created_first(stack: Deployment) -> None:
    function = stack.one("aws:lambda/function:Function")
    log_group = stack.one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["retentionInDays"] == 30, _where(log_group)
    # The name Lambda itself would pick, so `aws logs tail /aws/lambda/<project>-<stack>-healthcheck` works.
    assert log_group.inputs["name"] == "/aws/lambda/healthcheck-test-healthcheck", _where(log_group)
    assert function.inputs["loggingConfig"] == {
        "logFormat": "JSON",
        "logGroup": log_group.inputs["name"],
        "applicationLogLevel": "INFO",
        "systemLogLevel": "WARN",
    }, _where(function)
    assert log_group.urn in function.dependencies, f"the log group must exist before {function.urn}"


def test_resource_names_are_stable(stack: Deployment) -> None:
    # Pulumi keys resources by name: a renamed one is deleted and created anew (a new table, empty).
    assert sorted((r.type, r.name) for r in stack.resources) == [
        ("aws:cloudwatch/logGroup:LogGroup", "healthcheck-logs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "healthcheck-errors"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "healthcheck-failed-runs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "healthcheck-stopped"),
        ("aws:dynamodb/table:Table", "healthcheck-results"),
        ("aws:dynamodb/table:Table", "healthcheck-rollups"),
        ("aws:dynamodb/table:Table", "healthcheck-state"),
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "function-lifecycle"),
        ("aws:ecr/repository:Repository", "function-repository"),
        ("aws:iam/role:Role", "healthcheck-function-role"),
        ("aws:iam/role:Role", "healthcheck-scheduler-role"),
        ("aws:iam/rolePolicy:RolePolicy", "healthcheck-function-policy"),
        ("aws:iam/rolePolicy:RolePolicy", "healthcheck-scheduler-policy"),
        ("aws:lambda/function:Function", "healthcheck-function"),
        ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "healthcheck-async"),
        ("aws:scheduler/schedule:Schedule", "healthcheck-schedule-0"),
        ("aws:sns/topic:Topic", "healthcheck-alerts"),
        ("aws:sns/topicPolicy:TopicPolicy", "healthcheck-alerts-policy"),
        ("aws:sqs/queue:Queue", "healthcheck-failures"),
        ("docker-build:index:Image", "function-image"),
        ("healthcheck:index:FunctionImage", "function"),
        ("healthcheck:index:Monitor", "healthcheck"),
    ]


def test_schedules_wait_for_their_role_policy(stack: Deployment) -> None:
    # Without it the first invocation may be refused, and land in the failure queue.
    policy = _policy_of(stack, _role_for(stack, "scheduler.amazonaws.com"))
    for schedule in stack.of_type("aws:scheduler/schedule:Schedule"):
        assert policy.urn in schedule.dependencies, f"{policy.urn} must exist before {schedule.urn}"


def test_function_waits_for_its_role_policy(stack: Deployment) -> None:
    # Without it the first run may start before its role may write records or logs.
    function = stack.one("aws:lambda/function:Function")
    policy = _policy_of(stack, _role_for(stack, "lambda.amazonaws.com"))
    assert policy.urn in function.dependencies, f"{policy.urn} must exist before {function.urn}"


def test_image_is_built_for_exactly_linux_arm64_and_pushed_to_ecr(stack: Deployment) -> None:
    image = stack.one("docker-build:index:Image")
    repository = stack.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    inputs = image.inputs
    assert inputs["platforms"] == ["linux/arm64"], _where(image)
    assert inputs["push"] is True, _where(image)
    assert inputs["buildOnPreview"] is False, _where(image)
    assert inputs["context"] == {"location": str(ROOT)}, _where(image)
    assert inputs["dockerfile"] == {"location": str(ROOT / "Dockerfile")}, _where(image)
    assert inputs["tags"] == [f"{repository}:latest"], _where(image)
    # The push credentials are for the repository's own registry.
    assert ("aws:ecr/getAuthorizationToken:getAuthorizationToken", {"registryId": ACCOUNT}) in stack.invokes
    [registry] = inputs["registries"]
    assert (registry["address"], registry["username"], registry["password"]) == (repository, "AWS", "ecr-password")
    assert inputs["cacheFrom"] == [{"registry": {"ref": f"{repository}:cache"}}], _where(image)
    cache_to = inputs["cacheTo"][0]["registry"]
    assert (cache_to["ref"], cache_to["imageManifest"], cache_to["ociMediaTypes"]) == (
        f"{repository}:cache",
        True,
        True,
    ), _where(image)
    assert cache_to["mode"] == "max", f"every layer is cached, not only the final stage's {_where(image)}"


def test_repository_scans_on_push_and_expires_old_images(stack: Deployment) -> None:
    repository = stack.one("aws:ecr/repository:Repository")
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, _where(repository)
    # `latest` and `cache` move with each build; `pulumi destroy` takes the images with the repository.
    assert (repository.inputs["imageTagMutability"], repository.inputs["forceDelete"]) == ("MUTABLE", True), _where(
        repository
    )
    lifecycle = stack.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    [rule] = json.loads(lifecycle.inputs["policy"])["rules"]
    assert rule == {
        "rulePriority": 1,
        "description": "keep the 10 newest untagged images",
        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 10},
        "action": {"type": "expire"},
    }, _where(lifecycle)


def test_table_is_on_demand_with_id_and_timestamp_keys(stack: Deployment) -> None:
    table = _named(stack, "healthcheck-results")
    inputs = table.inputs
    assert inputs["billingMode"] == "PAY_PER_REQUEST", _where(table)
    assert (inputs["hashKey"], inputs["rangeKey"]) == ("Id", "Timestamp"), _where(table)
    assert sorted((a["name"], a["type"]) for a in inputs["attributes"]) == [("Id", "S"), ("Timestamp", "S")]
    assert inputs["pointInTimeRecovery"] == {"enabled": True}, f"point-in-time recovery {_where(table)}"


def test_records_expire_by_ttl_on_expires_at(stack: Deployment) -> None:
    table = _named(stack, "healthcheck-results")
    assert table.inputs["ttl"] == {"attributeName": "ExpiresAt", "enabled": True}, _where(table)


def test_state_table_is_on_demand_keyed_by_id_alone_with_a_sparse_index_by_shard(stack: Deployment) -> None:
    table = _named(stack, "healthcheck-state")
    inputs = table.inputs
    assert inputs["billingMode"] == "PAY_PER_REQUEST", _where(table)
    assert inputs["hashKey"] == "Id", _where(table)
    assert "rangeKey" not in inputs, _where(table)
    assert inputs["attributes"] == [{"name": "Id", "type": "S"}, {"name": "Watch", "type": "S"}], _where(table)
    # Each item that is not clean carries Watch = its shard: one Query of the index finds a run's (alerting/watch.py).
    assert inputs["globalSecondaryIndexes"] == [
        {"name": "Watch", "keySchemas": [{"attributeName": "Watch", "keyType": "HASH"}], "projectionType": "ALL"}
    ], _where(table)
    assert inputs["pointInTimeRecovery"] == {"enabled": True}, f"point-in-time recovery {_where(table)}"
    # State items are overwritten in place, never expired.
    assert "ttl" not in inputs, _where(table)


def _role_for(stack: Deployment, service: str) -> Registered:
    return next(
        role
        for role in stack.of_type("aws:iam/role:Role")
        if _statements(role.inputs["assumeRolePolicy"])[0]["Principal"] == {"Service": service}
    )


def _policy_of(stack: Deployment, role: Registered) -> Registered:
    return next(p for p in stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id)


@pytest.mark.parametrize("service", ["lambda.amazonaws.com", "scheduler.amazonaws.com"])
def test_roles_are_assumable_only_by_their_service_for_this_account(stack: Deployment, service: str) -> None:
    role = _role_for(stack, service)
    [statement] = _statements(role.inputs["assumeRolePolicy"])
    assert statement["Action"] == "sts:AssumeRole", _where(role)
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, _where(role)


def test_every_statement_allows_none_denies(stack: Deployment) -> None:
    # A Deny would silently take away a grant the other tests count on.
    for resource, document in [
        *((p, p.inputs["policy"]) for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")),
        *((r, r.inputs["assumeRolePolicy"]) for r in stack.of_type("aws:iam/role:Role")),
    ]:
        for statement in _statements(document):
            assert statement["Effect"] == "Allow", f"{statement} {_where(resource)}"


def test_no_policy_grants_wildcard_actions_or_resources(stack: Deployment) -> None:
    for policy in [*stack.of_type("aws:iam/rolePolicy:RolePolicy"), *stack.of_type("aws:sns/topicPolicy:TopicPolicy")]:
        for statement in _statements(policy.inputs["policy"]):
            for action in _as_list(statement["Action"]):
                assert "*" not in action, f"wildcard action {action} {_where(policy)}"
            for resource in _as_list(statement["Resource"]):
                assert resource != "*", f"Resource '*' {_where(policy)}"
                assert resource.startswith("arn:aws:"), f"unscoped resource {resource} {_where(policy)}"


def test_function_may_only_write_records_state_alerts_its_logs_and_failed_runs(stack: Deployment) -> None:
    policy = _policy_of(stack, _role_for(stack, "lambda.amazonaws.com"))
    table = _named(stack, "healthcheck-results").outputs["arn"]
    logs = stack.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    queue = stack.one("aws:sqs/queue:Queue").outputs["arn"]
    state = _named(stack, "healthcheck-state").outputs["arn"]
    topic = stack.one("aws:sns/topic:Topic").outputs["arn"]
    rollups = _named(stack, "healthcheck-rollups").outputs["arn"]
    grants = {(a, r) for s in _statements(policy.inputs["policy"]) for a in s["Action"] for r in s["Resource"]}
    assert grants == {
        ("dynamodb:BatchWriteItem", table),
        ("dynamodb:PutItem", table),
        ("dynamodb:GetItem", table),
        ("dynamodb:Query", table),
        ("dynamodb:GetItem", rollups),
        ("dynamodb:PutItem", rollups),
        ("dynamodb:Query", rollups),
        ("dynamodb:UpdateItem", rollups),
        ("dynamodb:BatchGetItem", state),
        ("dynamodb:UpdateItem", state),
        ("dynamodb:Query", f"{state}/index/Watch"),
        ("sns:Publish", topic),
        ("logs:CreateLogStream", f"{logs}:log-stream:*"),
        ("logs:PutLogEvents", f"{logs}:log-stream:*"),
        ("sqs:SendMessage", queue),
    }, _where(policy)


def test_scheduler_may_only_invoke_this_function_and_park_failures(stack: Deployment) -> None:
    policy = _policy_of(stack, _role_for(stack, "scheduler.amazonaws.com"))
    function = stack.one("aws:lambda/function:Function").outputs["arn"]
    queue = stack.one("aws:sqs/queue:Queue").outputs["arn"]
    grants = {(a, r) for s in _statements(policy.inputs["policy"]) for a in s["Action"] for r in s["Resource"]}
    assert grants == {("lambda:InvokeFunction", function), ("sqs:SendMessage", queue)}, _where(policy)


def test_schedule_invokes_the_function_on_time_with_scheduled_time_and_targets(stack: Deployment) -> None:
    [schedule] = stack.of_type("aws:scheduler/schedule:Schedule")
    inputs = schedule.inputs
    function = stack.one("aws:lambda/function:Function").outputs["arn"]
    assert inputs["scheduleExpression"] == "rate(1 minute)", _where(schedule)
    assert inputs["flexibleTimeWindow"] == {"mode": "OFF"}, _where(schedule)
    assert inputs["description"] == "healthcheck: 2 targets, part 1", _where(schedule)
    target = inputs["target"]
    assert target["arn"] == function, _where(schedule)
    assert target["roleArn"] == _role_for(stack, "scheduler.amazonaws.com").outputs["arn"], _where(schedule)
    event = json.loads(target["input"])
    assert event["time"] == "<aws.scheduler.scheduled-time>", _where(schedule)
    assert event["shard"] == "1", _where(schedule)
    assert [t["url"] for t in event["targets"]] == [t["url"] for t in TARGETS], _where(schedule)


def test_undelivered_and_failed_runs_are_kept_not_dropped(stack: Deployment) -> None:
    queue = stack.one("aws:sqs/queue:Queue")
    [schedule] = stack.of_type("aws:scheduler/schedule:Schedule")
    target = schedule.inputs["target"]
    assert target["deadLetterConfig"] == {"arn": queue.outputs["arn"]}, _where(schedule)
    # The README promises: delivery retried for up to 15 minutes, 20 attempts.
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 900, "maximumRetryAttempts": 20}, _where(schedule)
    invoke = stack.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert invoke.inputs["destinationConfig"] == {"onFailure": {"destination": queue.outputs["arn"]}}, _where(invoke)
    # ... and a failed run retried twice, up to 15 minutes after the event.
    assert invoke.inputs["maximumRetryAttempts"] == 2, _where(invoke)
    assert invoke.inputs["maximumEventAgeInSeconds"] == 900, _where(invoke)


def test_failure_queue_keeps_messages_14_days_encrypted(stack: Deployment) -> None:
    queue = stack.one("aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600 == 1209600, _where(queue)
    assert queue.inputs["sqsManagedSseEnabled"] is True, f"server-side encryption {_where(queue)}"


def test_resources_are_children_of_their_components(stack: Deployment) -> None:
    components = {r.urn for r in stack.resources if r.type.startswith("healthcheck:index:")}
    # The type tokens are in every child's URN: renaming one would replace every resource.
    assert sorted(stack.by_urn(urn).type for urn in components) == [
        "healthcheck:index:FunctionImage",
        "healthcheck:index:Monitor",
    ]
    for resource in stack.resources:
        if resource.urn not in components:
            assert resource.parent in components, f"{resource.urn} is not inside a component"


def test_components_register_the_outputs_pulumi_shows_for_them(stack: Deployment) -> None:
    [image] = stack.of_type("healthcheck:index:FunctionImage")
    [monitor] = stack.of_type("healthcheck:index:Monitor")
    repository = stack.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert stack.component_outputs[image.urn] == {"repositoryUrl": repository, "imageUri": f"{repository}@{DIGEST}"}
    assert stack.component_outputs[monitor.urn] == {
        "tableName": _named(stack, "healthcheck-results").outputs["name"],
        "stateTableName": _named(stack, "healthcheck-state").outputs["name"],
        "alertTopicArn": stack.one("aws:sns/topic:Topic").outputs["arn"],
        "functionName": stack.one("aws:lambda/function:Function").outputs["name"],
        "failureQueueUrl": stack.one("aws:sqs/queue:Queue").outputs["url"],
        "scheduleNames": [stack.one("aws:scheduler/schedule:Schedule").outputs["name"]],
    }


def test_stack_exports(stack: Deployment) -> None:
    assert stack.outputs["schedule"] == "rate(1 minute)"
    assert stack.outputs["imageUri"].endswith(f"@{DIGEST}")
    assert stack.outputs["tableName"] == _named(stack, "healthcheck-results").outputs["name"]
    assert stack.outputs["functionName"] == stack.one("aws:lambda/function:Function").outputs["name"]
    assert stack.outputs["stateTableName"] == _named(stack, "healthcheck-state").outputs["name"]
    assert stack.outputs["alertTopicArn"] == stack.one("aws:sns/topic:Topic").outputs["arn"]
    assert stack.outputs["scheduleNames"] == [stack.one("aws:scheduler/schedule:Schedule").outputs["name"]]
    assert stack.outputs["failureQueueUrl"] == stack.one("aws:sqs/queue:Queue").outputs["url"]


def test_main_program_builds_the_same_stack(stack: Deployment) -> None:
    via_main = deploy(
        {"targets": TARGETS, "schedule": "rate(1 minute)", "memorySize": 256, "timeout": 60}, via_main=True
    )
    assert sorted(r.urn for r in via_main.resources) == sorted(r.urn for r in stack.resources)
    assert via_main.outputs.keys() == stack.outputs.keys()


def test_defaults_apply_when_config_leaves_them_out() -> None:
    stack = deploy({"targets": TARGETS})
    function = stack.one("aws:lambda/function:Function")
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (512, 120)
    assert stack.one("aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "rate(5 minutes)"
    assert stack.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30


def test_the_dev_stack_as_the_cli_hands_it_over_deploys_with_pulumi_yamls_defaults() -> None:
    # Pulumi.dev.yaml sets no memory, timeout or retention: the CLI fills them in from Pulumi.yaml.
    project = load_project(ROOT / "Pulumi.yaml")
    config = apply_project_config("dev", project, load_stack_config(project, ROOT / "Pulumi.dev.yaml"))
    stack = deploy_program_config(program_config(config, project.name)[0], via_main=True)
    function = stack.one("aws:lambda/function:Function")
    assert (function.inputs["memorySize"], function.inputs["timeout"]) == (512, 120)
    assert stack.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30
    assert stack.one("aws:scheduler/schedule:Schedule").inputs["scheduleExpression"] == "rate(5 minutes)"
    assert stack.warnings == []


def test_preview_refuses_a_misspelt_key_naming_the_right_one_with_every_other_mistake() -> None:
    # Issue 14: alertEmail for alertEmails was a warning, and the deployed stack alerted nobody.
    with pytest.raises(SettingsError) as caught:
        deploy({"targets": TARGETS, "alertEmail": ["ops@example.com"], "memorySize": 64})
    assert caught.value.messages == (
        "healthcheck:alertEmail is not a setting of this project; did you mean 'alertEmails'?",
        "healthcheck:memorySize must be a whole number from 128 to 10240, got 64",
    )


def test_many_targets_are_split_across_schedules_and_kept_out_of_the_environment() -> None:
    many = [{"name": f"site-{i}", "url": f"https://site-{i}.example.com/health"} for i in range(2 * MAX_TARGETS + 50)]
    stack = deploy({"targets": many})
    schedules = sorted(stack.of_type("aws:scheduler/schedule:Schedule"), key=lambda s: int(s.name.rsplit("-", 1)[1]))
    events = [json.loads(s.inputs["target"]["input"]) for s in schedules]
    carried = [t["name"] for event in events for t in event["targets"]]
    assert carried == [t["name"] for t in many]
    # Each schedule's runs are recorded and summarised as a shard of their own.
    assert [event["shard"] for event in events] == ["1", "2", "3"]
    assert [s.inputs["description"] for s in schedules] == [
        f"healthcheck: {MAX_TARGETS} targets, part 1",
        f"healthcheck: {MAX_TARGETS} targets, part 2",
        "healthcheck: 50 targets, part 3",
    ]
    assert "TARGETS" not in stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert stack.notes == [
        (
            f"{len(many)} targets do not fit Lambda's environment; they reach the function through the schedules only "
            "(invoke it with 'targets' in the event)"
        )
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "healthcheck:targets must be a list"),
        ({"targets": []}, "healthcheck:targets is empty"),
        ({"targets": [{"url": "ftp://example.com/"}]}, r"healthcheck:targets: ftp://example.com/: .*http://"),
        ({"targets": [{"name": "x"}]}, r"healthcheck:targets: x: 'url' is required"),
        ({"targets": TARGETS, "schedule": "every 5 minutes"}, "healthcheck:schedule 'every 5 minutes'"),
        ({"targets": TARGETS, "schedule": "rate(1 minutes)"}, r"write 'rate\(1 minute\)'"),
        ({"targets": TARGETS, "memorySize": 64}, "healthcheck:memorySize must be a whole number from 128"),
        ({"targets": TARGETS, "timeout": 15}, "healthcheck:timeout 15 s leaves no room"),
        ({"targets": TARGETS, "logRetentionDays": 10}, "healthcheck:logRetentionDays must be one of"),
        ({"targets": TARGETS, "memorySize": "lots"}, "memorySize"),
        ({"targets": TARGETS, "timeout": 0}, "healthcheck:timeout must be a whole number from 1 to 900, got 0"),
        ({"targets": TARGETS, "memorySize": 0}, "healthcheck:memorySize must be a whole number from 128"),
        ({"targets": TARGETS, "logRetentionDays": 0}, "healthcheck:logRetentionDays must be one of .*, got 0"),
        ({"targets": TARGETS, "schedule": "rate(5 minute)"}, r"write 'rate\(1 minute\)' or 'rate\(5 minutes\)'"),
        ({"targets": TARGETS, "schedule": "cron(a b c d e f)"}, "healthcheck:schedule 'cron.*minutes 'a'"),
    ],
    ids=[
        "no-targets",
        "empty",
        "bad-scheme",
        "no-url",
        "bad-schedule",
        "rate-grammar",
        "memory",
        "timeout",
        "retention",
        "memory-not-int",
        "timeout-0",
        "memory-0",
        "retention-0",
        "rate-5-minute",
        "cron-letters",
    ],
)
def test_bad_config_fails_before_any_resource(config: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        deploy(config)


def _target(i: int, large: bool = False) -> Target:
    if large:  # 1000 bytes of name (6 JSON characters each, escaped) and a 2000-character URL
        return Target(name=f"{i:04d}" + "é" * 498, url=f"https://t{i}.example.com/" + "p" * 1975)
    return Target(name=f"{i:04d}", url=f"https://t{i}.example.com/")


def test_chunks_keep_order_and_the_count_limit() -> None:
    targets = tuple(_target(i) for i in range(MAX_TARGETS * 2 + 1))
    chunks = chunk_targets(targets)
    assert [len(c) for c in chunks] == [MAX_TARGETS, MAX_TARGETS, 1]
    assert tuple(t for c in chunks for t in c) == targets


def test_chunks_stay_under_the_input_size_limit_with_large_targets() -> None:
    targets = tuple(_target(i, large=True) for i in range(MAX_TARGETS))
    chunks = chunk_targets(targets)
    assert len(chunks) > 1
    assert all(len(schedule_input(c)) <= MAX_INPUT_CHARS for c in chunks)
    assert tuple(t for c in chunks for t in c) == targets
    assert re.search(r'"time":"<aws.scheduler.scheduled-time>"', schedule_input(chunks[0]))


def _exactly(characters: int, count: int, start: int = 0) -> tuple[Target, ...]:
    """``count`` targets whose schedule input is exactly ``characters`` long, padded in their URLs."""
    targets = [_target(i) for i in range(start, start + count)]
    missing = characters - len(schedule_input(targets))
    share, extra = divmod(missing, count)
    padded = tuple(
        Target(name=t.name, url=t.url + "p" * (share + (1 if i < extra else 0))) for i, t in enumerate(targets)
    )
    assert len(schedule_input(padded)) == characters
    return padded


@pytest.mark.parametrize(
    ("inputs", "sizes"),
    [
        ([(196_608, 100)], [100]),
        ([(196_609, 100)], [99, 1]),
        ([(196_608, 2)], [2]),
        ([(196_609, 2)], [1, 1]),
        ([(196_608, 100), (196_608, 100)], [100, 100]),
        ([(196_608, 60), (196_608, 40)], [60, 40]),
    ],
    ids=["100-fill-it", "one-character-over", "2-fill-it", "2-one-over", "two-full-chunks", "60-then-40"],
)
def test_a_schedule_input_is_filled_to_196608_characters_and_no_further(
    inputs: list[tuple[int, int]], sizes: list[int]
) -> None:
    targets: tuple[Target, ...] = ()
    for characters, count in inputs:
        targets += _exactly(characters, count, start=len(targets))
    chunks = chunk_targets(targets)
    assert [len(chunk) for chunk in chunks] == sizes
    assert tuple(t for c in chunks for t in c) == targets


SCHEDULER_INPUT_LIMIT_BYTES = 262144  # Scheduler's Target.Input: 256 KB


def _worst_case_target(i: int) -> dict[str, object]:
    """The largest target the model accepts, in the characters JSON makes longest."""
    prefix = f"https://t{i}.example.com/"
    return {
        "name": f"{i:04d}" + "\N{GRINNING FACE}" * 255,  # 1024 bytes of UTF-8, 3064 characters once JSON-escaped
        "url": prefix + "\N{GRINNING FACE}" * (2048 - len(prefix)),
        "timeout": 60,
    }


def test_every_schedule_input_fits_schedulers_limit_in_bytes() -> None:
    targets = [_worst_case_target(i) for i in range(MAX_TARGETS)]
    stack = deploy({"targets": targets})
    schedules = sorted(stack.of_type("aws:scheduler/schedule:Schedule"), key=lambda s: int(s.name.rsplit("-", 1)[1]))
    inputs = [schedule.inputs["target"]["input"] for schedule in schedules]
    assert len(inputs) > 1
    for schedule, text in zip(schedules, inputs, strict=True):
        assert len(text.encode("utf-8")) <= SCHEDULER_INPUT_LIMIT_BYTES, _where(schedule)
    assert [t["name"] for text in inputs for t in json.loads(text)["targets"]] == [t["name"] for t in targets]


def test_alerting_and_maintenance_reach_the_function_as_the_function_reads_them() -> None:
    alerting = {"failureThreshold": 2, "remindEveryMinutes": 30}
    maintenance = [{"start": "02:00", "duration": "1h", "timezone": "Europe/Berlin"}]
    stack = deploy({"targets": TARGETS, "alerting": alerting, "maintenance": maintenance})
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    settings = Settings.from_environ(variables)
    assert (settings.alerting.failure_threshold, settings.alerting.remind_every_minutes) == (2, 30)
    assert settings.maintenance == parse_windows(maintenance)
    assert (
        "ALERTING"
        not in deploy({"targets": TARGETS}).one("aws:lambda/function:Function").inputs["environment"]["variables"]
    )


def test_the_dev_stack_gets_pulumi_yamls_alerting_defaults() -> None:
    project = load_project(ROOT / "Pulumi.yaml")
    config = apply_project_config("dev", project, load_stack_config(project, ROOT / "Pulumi.dev.yaml"))
    stack = deploy_program_config(program_config(config, project.name)[0], via_main=True)
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert json.loads(variables["ALERTING"]) == {"failureThreshold": 3, "successThreshold": 2, "remindEveryMinutes": 0}
    assert variables["MAINTENANCE"] == "[]"
