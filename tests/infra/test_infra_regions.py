"""Several regions under Pulumi's mocks: each region's checker, image and IAM; a one-region stack unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.schedules import chunk_targets, schedule_input
from infra.settings import checked_targets
from tests.pulumi_harness import ACCOUNT, DIGEST, Deployment, Registered, deploy_program_config, deployment_scope

HOME = "us-east-1"
AWAY = ("eu-west-1", "ap-southeast-1")
TARGETS: list[dict[str, Any]] = [
    {"name": "example", "url": "https://example.com/"},
    {"name": "api", "url": "https://api.example.com/health", "headers": {"Authorization": {"ssm": "/hc/token"}}},
]
# What one checking region away from home has: its checker, its alarms' topic, and its image repository.
PER_REGION = sorted(
    [
        ("aws:cloudwatch/logGroup:LogGroup", "healthcheck-{r}-logs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "healthcheck-{r}-errors"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "healthcheck-{r}-failed-runs"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "healthcheck-{r}-stopped"),
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "function-{r}-lifecycle"),
        ("aws:ecr/repository:Repository", "function-{r}-repository"),
        ("aws:iam/role:Role", "healthcheck-{r}-function-role"),
        ("aws:iam/role:Role", "healthcheck-{r}-scheduler-role"),
        ("aws:iam/rolePolicy:RolePolicy", "healthcheck-{r}-function-policy"),
        ("aws:iam/rolePolicy:RolePolicy", "healthcheck-{r}-function-secrets"),
        ("aws:iam/rolePolicy:RolePolicy", "healthcheck-{r}-scheduler-policy"),
        ("aws:lambda/function:Function", "healthcheck-{r}-function"),
        ("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "healthcheck-{r}-async"),
        ("aws:scheduler/schedule:Schedule", "healthcheck-{r}-schedule-0"),
        ("aws:sns/topic:Topic", "healthcheck-{r}-alerts"),
        ("aws:sns/topicPolicy:TopicPolicy", "healthcheck-{r}-alerts-policy"),
        ("aws:sns/topicSubscription:TopicSubscription", "healthcheck-{r}-alerts-{email}"),
        ("aws:sqs/queue:Queue", "healthcheck-{r}-failures"),
    ]
)
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
# IAM is global: roles and their policies take no region.
GLOBAL_TYPES = ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy")


def _config(**values: object) -> dict[str, str]:
    base: dict[str, object] = {"targets": TARGETS, "alertEmails": ["ops@example.com"], **values}
    config = {
        f"healthcheck:{key}": value if isinstance(value, str) else json.dumps(value) for key, value in base.items()
    }
    return {"aws:region": HOME, **config}


@pytest.fixture(scope=deployment_scope)
def stack() -> Deployment:
    return deploy_program_config(_config(regions=[HOME, *AWAY]))


def _named(stack: Deployment, name: str) -> Registered:
    [resource] = [r for r in stack.resources if r.name == name]
    return resource


def _statements(document: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(document)["Statement"]
    return statements


def _by_sid(document: str) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in _statements(document)}


def _base(region: str) -> str:
    return "healthcheck" if region == HOME else f"healthcheck-{region}"


def test_a_one_region_stack_is_exactly_todays(stack: Deployment) -> None:
    # Naming the stack's own region, or no region at all: the same resources, names, inputs and outputs.
    today = deploy_program_config({key: value for key, value in _config().items() if key != "aws:region"})
    named = deploy_program_config(_config(regions=[HOME]))
    assert sorted((r.type, r.name) for r in named.resources) == sorted((r.type, r.name) for r in today.resources)
    assert len(named.resources) == len(today.resources) == 24
    assert sorted((r.name, json.dumps(r.inputs, sort_keys=True)) for r in named.resources) == sorted(
        (r.name, json.dumps(r.inputs, sort_keys=True)) for r in today.resources
    )
    assert named.outputs == today.outputs
    assert not [r.urn for r in named.resources if "region" in r.inputs], (
        "nothing placed away from the provider's region"
    )


def test_each_region_away_from_home_adds_exactly_its_own_resources_there(stack: Deployment) -> None:
    today = deploy_program_config(_config())
    added = [r for r in stack.resources if (r.type, r.name) not in {(t.type, t.name) for t in today.resources}]
    [email] = [s.name.removeprefix("healthcheck-alerts-") for s in today.of_type(SUBSCRIPTION)]
    for region in AWAY:
        mine = [r for r in added if f"-{region}-" in r.name]
        assert sorted((r.type, r.name) for r in mine) == [(t, n.format(r=region, email=email)) for t, n in PER_REGION]
        for resource in mine:
            expected = None if resource.type in GLOBAL_TYPES else region
            assert resource.inputs.get("region") == expected, f"({resource.urn})"
    assert len(added) == len(AWAY) * len(PER_REGION), [r.name for r in added if not any(a in r.name for a in AWAY)]


@pytest.mark.parametrize("region", [HOME, *AWAY])
def test_every_regions_function_runs_its_regions_copy_of_the_image_with_the_same_environment(
    stack: Deployment, region: str
) -> None:
    function = _named(stack, f"{_base(region)}-function")
    home = _named(stack, "healthcheck-function")
    repository = _named(stack, "function-repository" if region == HOME else f"function-{region}-repository")
    assert function.inputs["imageUri"] == f"{repository.outputs['repositoryUrl']}@{DIGEST}", f"({function.urn})"
    assert f".dkr.ecr.{region}.amazonaws.com/" in function.inputs["imageUri"]
    # Created only once the push to every region's repository is done.
    assert stack.one("docker-build:index:Image").urn in function.dependencies, f"({function.urn})"
    variables = function.inputs["environment"]["variables"]
    assert variables == home.inputs["environment"]["variables"], f"({function.urn})"
    assert {key: variables[key] for key in ("REGIONS", "QUORUM", "ALERT_ON_PARTIAL", "HOME_REGION")} == {
        "REGIONS": "us-east-1,eu-west-1,ap-southeast-1",
        "QUORUM": "2",
        "ALERT_ON_PARTIAL": "false",
        "HOME_REGION": HOME,
    }
    # The home tables and topic, wherever the function runs.
    assert variables["TABLE_NAME"] == _named(stack, "healthcheck-results").outputs["name"]
    assert variables["ALERT_TOPIC_ARN"] == _named(stack, "healthcheck-alerts").outputs["arn"]
    log_group = _named(stack, f"{_base(region)}-logs")
    assert (
        function.inputs["loggingConfig"]["logGroup"]
        == log_group.inputs["name"]
        == ("/aws/lambda/healthcheck-test-healthcheck")
    )
    assert log_group.urn in function.dependencies, f"({function.urn})"
    invoke = _named(stack, f"{_base(region)}-async")
    queue = _named(stack, f"{_base(region)}-failures")
    assert invoke.inputs["destinationConfig"] == {"onFailure": {"destination": queue.outputs["arn"]}}
    assert queue.outputs["arn"].startswith(f"arn:aws:sqs:{region}:"), f"({queue.urn})"


@pytest.mark.parametrize("region", AWAY)
def test_every_region_runs_the_same_shards_with_the_same_inputs_at_the_same_time(
    stack: Deployment, region: str
) -> None:
    shards = chunk_targets(checked_targets(TARGETS))
    mine = sorted(
        (s for s in stack.of_type("aws:scheduler/schedule:Schedule") if region in s.name), key=lambda s: s.name
    )
    home = sorted(
        (s for s in stack.of_type("aws:scheduler/schedule:Schedule") if s.name.startswith("healthcheck-schedule")),
        key=lambda s: s.name,
    )
    assert (
        [s.inputs["target"]["input"] for s in mine]
        == [s.inputs["target"]["input"] for s in home]
        == [schedule_input(chunk, shard=str(index + 1)) for index, chunk in enumerate(shards)]
    )
    function = _named(stack, f"{_base(region)}-function")
    queue = _named(stack, f"{_base(region)}-failures")
    role = _named(stack, f"{_base(region)}-scheduler-role")
    for schedule in mine:
        assert schedule.inputs["scheduleExpression"] == home[0].inputs["scheduleExpression"]
        assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
        target = schedule.inputs["target"]
        assert (target["arn"], target["roleArn"], target["deadLetterConfig"]["arn"]) == (
            function.outputs["arn"],
            role.outputs["arn"],
            queue.outputs["arn"],
        ), f"({schedule.urn})"
        assert _named(stack, f"{_base(region)}-scheduler-policy").urn in schedule.dependencies


@pytest.mark.parametrize("region", [HOME, *AWAY])
def test_each_regions_function_role_reaches_its_own_logs_and_queue_and_the_home_tables_and_topic(
    stack: Deployment, region: str
) -> None:
    statements = _by_sid(_named(stack, f"{_base(region)}-function-policy").inputs["policy"])
    log_group = _named(stack, f"{_base(region)}-logs").outputs["arn"]
    queue = _named(stack, f"{_base(region)}-failures").outputs["arn"]
    assert statements["WriteOwnLogs"]["Resource"] == [f"{log_group}:log-stream:*"]
    assert log_group.startswith(f"arn:aws:logs:{region}:")
    assert statements["KeepFailedRuns"]["Resource"] == [queue]
    tables = {name: _named(stack, f"healthcheck-{name}").outputs["arn"] for name in ("results", "state", "rollups")}
    assert statements["WriteCheckRecords"]["Resource"] == [tables["results"]]
    assert statements["KeepTargetState"]["Resource"] == [tables["state"]]
    assert statements["KeepRollups"]["Resource"] == [tables["rollups"]]
    assert statements["SendAlerts"]["Resource"] == [_named(stack, "healthcheck-alerts").outputs["arn"]]
    assert all(arn.startswith(f"arn:aws:dynamodb:{HOME}:") for arn in tables.values())
    # The referenced secrets are read from the home region, where the function's SSM client goes.
    secrets = _by_sid(_named(stack, f"{_base(region)}-function-secrets").inputs["policy"])
    assert secrets["ReadSecretParameters"]["Resource"] == [f"arn:aws:ssm:{HOME}:{ACCOUNT}:parameter/hc/token"]
    # Its role and no other region's.
    role = _named(stack, f"{_base(region)}-function-role")
    assert _named(stack, f"{_base(region)}-function").inputs["role"] == role.outputs["arn"]


@pytest.mark.parametrize("region", [HOME, *AWAY])
def test_each_regions_scheduler_may_invoke_its_own_function_only(stack: Deployment, region: str) -> None:
    statements = _by_sid(_named(stack, f"{_base(region)}-scheduler-policy").inputs["policy"])
    assert statements["InvokeMonitor"]["Resource"] == [_named(stack, f"{_base(region)}-function").outputs["arn"]]
    assert statements["KeepUndeliveredEvents"]["Resource"] == [
        _named(stack, f"{_base(region)}-failures").outputs["arn"]
    ]


@pytest.mark.parametrize("region", [HOME, *AWAY])
def test_each_regions_alarms_watch_its_function_and_queue_and_tell_a_topic_in_its_region(
    stack: Deployment, region: str
) -> None:
    function = _named(stack, f"{_base(region)}-function").outputs["name"]
    queue = _named(stack, f"{_base(region)}-failures").outputs["name"]
    topic = _named(stack, f"{_base(region)}-alerts")
    alarms = [_named(stack, f"{_base(region)}-{key}") for key in ("errors", "failed-runs", "stopped")]
    assert [alarm.inputs["dimensions"] for alarm in alarms] == [
        {"FunctionName": function},
        {"QueueName": queue},
        {"FunctionName": function},
    ]
    for alarm in alarms:
        # CloudWatch publishes only to a topic in the alarm's own region.
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [topic.outputs["arn"]], f"({alarm.urn})"
        assert topic.outputs["arn"].startswith(f"arn:aws:sns:{region}:")
        if region != HOME:
            assert f"({region})" in alarm.inputs["alarmDescription"]
    [statement] = _statements(_named(stack, f"{_base(region)}-alerts-policy").inputs["policy"])
    assert statement["Resource"] == topic.outputs["arn"]
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == sorted(alarm.outputs["arn"] for alarm in alarms)
    [subscription] = [s for s in stack.of_type(SUBSCRIPTION) if s.name.startswith(f"{_base(region)}-alerts-email-")]
    assert (subscription.inputs["topic"], subscription.inputs["endpoint"]) == (topic.outputs["arn"], "ops@example.com")


def test_one_build_is_pushed_to_every_regions_repository_with_its_own_credentials(stack: Deployment) -> None:
    image = stack.one("docker-build:index:Image")
    urls = {
        region: _named(stack, "function-repository" if region == HOME else f"function-{region}-repository").outputs[
            "repositoryUrl"
        ]
        for region in (HOME, *AWAY)
    }
    assert image.inputs["tags"] == [f"{urls[region]}:latest" for region in (HOME, *AWAY)]
    assert [registry["address"] for registry in image.inputs["registries"]] == list(urls.values())
    tokens = [args for token, args in stack.invokes if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert sorted(tokens, key=lambda args: args.get("region", "")) == [
        {"registryId": ACCOUNT},
        *({"registryId": ACCOUNT, "region": region} for region in sorted(AWAY)),
    ]
    # The build cache stays at home: one copy, read and written by every build.
    assert image.inputs["cacheFrom"] == [{"registry": {"ref": f"{urls[HOME]}:cache"}}]


def test_the_stack_exports_its_regions_and_each_regions_function(stack: Deployment) -> None:
    assert stack.outputs["regions"] == [HOME, *AWAY]
    assert (stack.outputs["homeRegion"], stack.outputs["quorum"]) == (HOME, 2)
    assert stack.outputs["functionNames"] == {
        region: _named(stack, f"{_base(region)}-function").outputs["name"] for region in (HOME, *AWAY)
    }


def test_a_home_that_does_not_check_keeps_the_tables_topic_and_page_and_runs_no_checker() -> None:
    stack = deploy_program_config(_config(regions=list(AWAY), statusPage="public"))
    functions = sorted(f.name for f in stack.of_type("aws:lambda/function:Function"))
    assert functions == [
        "healthcheck-ap-southeast-1-function",
        "healthcheck-eu-west-1-function",
        "healthcheck-status-function",
    ]
    # Nothing of the home's publishes to its topic as an alarm; the functions publish through their roles.
    assert sorted(p.name for p in stack.of_type("aws:sns/topicPolicy:TopicPolicy")) == sorted(
        f"healthcheck-{region}-alerts-policy" for region in AWAY
    )
    assert sorted(t.name for t in stack.of_type("aws:dynamodb/table:Table")) == [
        "healthcheck-results",
        "healthcheck-rollups",
        "healthcheck-state",
    ]
    status = _named(stack, "healthcheck-status-function")
    assert "region" not in status.inputs
    assert stack.outputs["functionName"] == _named(stack, f"healthcheck-{AWAY[0]}-function").outputs["name"]


def test_preview_warns_when_neighbouring_regions_make_a_quorum_alone() -> None:
    warned = deploy_program_config(_config(regions=[HOME, "us-east-2", "eu-west-1"]))
    assert warned.warnings == [
        (
            "healthcheck:regions: us-east-1 and us-east-2 are next to each other (us-east) and make a quorum of 2 "
            "between them: a network fault near both could page as DOWN; pick regions further apart"
        )
    ]
    assert deploy_program_config(_config(regions=[HOME, *AWAY])).warnings == []


def test_a_lambda_recipient_may_be_invoked_by_each_regions_alarm_topic() -> None:
    handler = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:on-alert"
    stack = deploy_program_config(
        _config(regions=[HOME, *AWAY], alertSubscriptions=[{"protocol": "lambda", "endpoint": handler}])
    )
    permissions = {p.inputs["sourceArn"]: p for p in stack.of_type("aws:lambda/permission:Permission")}
    topics = [_named(stack, f"{_base(region)}-alerts").outputs["arn"] for region in (HOME, *AWAY)]
    assert sorted(permissions) == sorted(topics)
    for permission in permissions.values():
        assert (permission.inputs["function"], permission.inputs["principal"]) == (handler, "sns.amazonaws.com")
        # Where the recipient function is: the provider's region, as for the alert topic's permission.
        assert "region" not in permission.inputs, f"({permission.urn})"
