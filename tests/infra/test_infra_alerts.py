"""Issue 6's infrastructure under Pulumi's mock runtime: the alert topic, who hears it, the alarms, the env."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.environment import LAMBDA_ENV_LIMIT_BYTES, MAX_TABLE_NAME, MAX_TOPIC_ARN, measured_size
from infra.schedules import MAX_TARGETS
from infra.settings import SettingsError
from tests.pulumi_harness import ACCOUNT, Deployment, Registered, deploy, deployment_scope

TARGETS: list[dict[str, Any]] = [{"name": "example", "url": "https://example.com/"}]
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts"
HANDLER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:on-alert"
SUBSCRIPTIONS = [
    {"protocol": "https", "endpoint": "https://hooks.example.com/alerts"},
    {"protocol": "sqs", "endpoint": QUEUE},
    {"protocol": "lambda", "endpoint": HANDLER},
]


@pytest.fixture(scope=deployment_scope)
def stack() -> Deployment:
    return deploy(
        {
            "targets": TARGETS,
            "alertEmails": ["ops@example.com", "oncall@example.org"],
            "alertSubscriptions": SUBSCRIPTIONS,
            "retentionDays": 30,
            "connectivityCheck": "https://canary.example.net/",
            "perTargetMetrics": True,
            "logChecks": "all",
        }
    )


def _where(resource: Registered) -> str:
    return f"({resource.urn})"


def _alarms(stack: Deployment) -> dict[str, dict[str, Any]]:
    return {alarm.name: alarm.inputs for alarm in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_each_email_and_subscription_is_subscribed_to_the_topic(stack: Deployment) -> None:
    topic = stack.one("aws:sns/topic:Topic").outputs["arn"]
    subscriptions = stack.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions) == [
        ("email", "oncall@example.org"),
        ("email", "ops@example.com"),
        ("https", "https://hooks.example.com/alerts"),
        ("lambda", HANDLER),
        ("sqs", QUEUE),
    ]
    for subscription in subscriptions:
        assert subscription.inputs["topic"] == topic, _where(subscription)


def test_subscription_names_do_not_depend_on_list_order(stack: Deployment) -> None:
    # A renamed subscription is replaced, and a replaced email one must be confirmed again.
    reordered = deploy({"targets": TARGETS, "alertEmails": ["oncall@example.org", "ops@example.com"]})
    names = sorted(s.name for s in reordered.of_type("aws:sns/topicSubscription:TopicSubscription"))
    assert names == sorted(
        s.name for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["protocol"] == "email"
    )
    assert all(name.startswith("healthcheck-alerts-email-") for name in names)


def test_a_lambda_subscriber_may_be_invoked_by_this_topic_only(stack: Deployment) -> None:
    permission = stack.one("aws:lambda/permission:Permission")
    assert permission.inputs == {
        "action": "lambda:InvokeFunction",
        "function": HANDLER,
        "principal": "sns.amazonaws.com",
        "sourceArn": stack.one("aws:sns/topic:Topic").outputs["arn"],
    }, _where(permission)


def test_topic_is_a_standard_topic_without_the_aws_managed_key(stack: Deployment) -> None:
    topic = stack.one("aws:sns/topic:Topic")
    # CloudWatch alarms cannot publish to a topic under alias/aws/sns: the alerts about the monitor would be lost.
    assert "kmsMasterKeyId" not in topic.inputs, _where(topic)
    assert "fifoTopic" not in topic.inputs, _where(topic)


def test_topic_policy_lets_only_this_stacks_alarms_publish(stack: Deployment) -> None:
    policy = stack.one("aws:sns/topicPolicy:TopicPolicy")
    topic = stack.one("aws:sns/topic:Topic").outputs["arn"]
    alarms = sorted(a.outputs["arn"] for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert policy.inputs["arn"] == topic, _where(policy)
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": alarms},
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                },
            }
        ],
    }, _where(policy)
    assert len(alarms) == 3


def _alarm(
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    statistic: str,
    period: float,
    periods: float,
    threshold: float,
    comparison: str,
    missing: str,
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "metricName": metric,
        "dimensions": dimensions,
        "statistic": statistic,
        "period": period,
        "evaluationPeriods": periods,
        "datapointsToAlarm": periods,
        "threshold": threshold,
        "comparisonOperator": comparison,
        "treatMissingData": missing,
    }


def test_alarms_watch_errors_the_failure_queue_and_missing_runs(stack: Deployment) -> None:
    function = stack.one("aws:lambda/function:Function").outputs["name"]
    queue = stack.one("aws:sqs/queue:Queue").outputs["name"]
    topic = stack.one("aws:sns/topic:Topic").outputs["arn"]
    alarms = _alarms(stack)
    for inputs in alarms.values():
        assert (inputs.pop("alarmActions"), inputs.pop("okActions")) == ([topic], [topic])
        # The mail says which monitor: several stacks may share an inbox.
        assert inputs.pop("alarmDescription").startswith("healthcheck/test: ")
    fn = {"FunctionName": function}
    assert alarms == {
        "healthcheck-errors": _alarm(
            "AWS/Lambda", "Errors", fn, "Sum", 300, 1, 0, "GreaterThanThreshold", "notBreaching"
        ),
        "healthcheck-failed-runs": _alarm(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": queue},
            "Maximum",
            300,
            1,
            0,
            "GreaterThanThreshold",
            "notBreaching",
        ),
        # rate(5 minutes), one schedule: fewer than 1 invocation in each of 2 five-minute periods.
        "healthcheck-stopped": _alarm(
            "AWS/Lambda", "Invocations", fn, "Sum", 300, 2, 1, "LessThanThreshold", "breaching"
        ),
    }


@pytest.mark.parametrize(
    ("schedule", "targets", "period", "threshold"),
    [
        ("rate(1 minute)", 1, 60, 1),
        ("rate(2 hours)", 1, 7200, 1),
        ("rate(12 hours)", 1, 43200, 1),
        ("rate(5 minutes)", 2 * MAX_TARGETS + 50, 300, 3),
        ("cron(0/15 * * * ? *)", 1, 900, 1),
        ("cron(30 */6 * * ? *)", MAX_TARGETS + 1, 21600, 2),
    ],
    ids=["1-minute", "2-hours", "12-hours", "three-schedules", "cron-every-15-minutes", "cron-every-6-hours"],
)
def test_monitor_stopped_expects_one_run_per_schedule_per_interval(
    schedule: str, targets: int, period: int, threshold: int
) -> None:
    many = [{"name": f"site-{i}", "url": f"https://site-{i}.example.com/"} for i in range(targets)]
    stack = deploy({"targets": many, "schedule": schedule})
    stopped = _alarms(stack)["healthcheck-stopped"]
    assert (stopped["period"], stopped["evaluationPeriods"], stopped["threshold"]) == (period, 2, threshold)
    assert len(stack.of_type("aws:scheduler/schedule:Schedule")) == threshold
    assert stack.warnings == []


@pytest.mark.parametrize(
    ("schedule", "warning"),
    [
        (
            "cron(*/10 6-22 ? * MON-FRI *)",
            (
                "healthcheck:schedule cron(*/10 6-22 ? * MON-FRI *) does not run at a fixed interval, so there is no "
                "'monitor stopped' alarm; a rate(...) schedule, or a cron that runs every N minutes or hours all day "
                "every day, gets one"
            ),
        ),
        (
            "rate(13 hours)",
            (
                "healthcheck:schedule rate(13 hours) runs less often than every 43200 s; CloudWatch alarms see at most "
                "86400 s, so there is no 'monitor stopped' alarm"
            ),
        ),
    ],
    ids=["weekday-cron", "13-hours"],
)
def test_without_a_fixed_interval_of_12_hours_or_less_preview_says_there_is_no_stopped_alarm(
    schedule: str, warning: str
) -> None:
    stack = deploy({"targets": TARGETS, "schedule": schedule})
    assert sorted(_alarms(stack)) == ["healthcheck-errors", "healthcheck-failed-runs"]
    assert stack.warnings == [warning]


def test_function_environment_carries_every_setting(stack: Deployment) -> None:
    function = stack.one("aws:lambda/function:Function")
    variables = function.inputs["environment"]["variables"]
    assert {key: value for key, value in variables.items() if key not in ("TABLE_NAME", "TARGETS")} == {
        "STATE_TABLE_NAME": next(r for r in stack.resources if r.name == "healthcheck-state").outputs["name"],
        "ALERT_TOPIC_ARN": stack.one("aws:sns/topic:Topic").outputs["arn"],
        "ROLLUP_TABLE_NAME": next(r for r in stack.resources if r.name == "healthcheck-rollups").outputs["name"],
        "RETENTION_DAYS": "30",
        "CONNECTIVITY_CHECK": "https://canary.example.net/",
        "PER_TARGET_METRICS": "true",
        "LOG_CHECKS": "all",
    }, _where(function)


def _padded_targets(size: int, base: dict[str, str]) -> list[dict[str, str]]:
    """Two targets whose URLs are padded so the environment, names at their longest, measures ``size`` bytes."""
    longest = {
        "TABLE_NAME": "t" * MAX_TABLE_NAME,
        "STATE_TABLE_NAME": "t" * MAX_TABLE_NAME,
        "ALERT_TOPIC_ARN": "a" * MAX_TOPIC_ARN,
        "ROLLUP_TABLE_NAME": "t" * MAX_TABLE_NAME,
        **base,
    }

    def targets(pad: int) -> list[dict[str, str]]:
        return [{"name": f"t{i}", "url": "https://example.com/" + "p" * (pad // 2 + pad % 2 * i)} for i in range(2)]

    def measured(pad: int) -> int:
        listed = [{**target, "timeout": 10.0} for target in targets(pad)]
        return measured_size({**longest, "TARGETS": json.dumps(listed, separators=(",", ":"))})

    pad = size - measured(0)
    assert measured(pad) == size
    return targets(pad)


@pytest.mark.parametrize(("size", "kept"), [(4096, True), (4097, False)], ids=["exactly-4096-bytes", "one-byte-over"])
def test_targets_stay_in_the_environment_only_while_all_variables_fit_4_kb(size: int, kept: bool) -> None:
    assert LAMBDA_ENV_LIMIT_BYTES == 4096
    base = {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"}
    stack = deploy({"targets": _padded_targets(size, base)})
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert ("TARGETS" in variables) is kept


def test_a_connectivity_check_url_takes_its_share_of_the_4_kb() -> None:
    base = {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"}
    targets = _padded_targets(4096, base)
    stack = deploy({"targets": targets, "connectivityCheck": "https://canary.example.net/"})
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert "TARGETS" not in variables
    assert variables["CONNECTIVITY_CHECK"] == "https://canary.example.net/"


BAD: list[tuple[dict[str, object], str]] = [
    ({"retentionDays": 0}, r"^healthcheck:retentionDays must be a whole number from 1 to 36500, got 0$"),
    ({"retentionDays": 36501}, "got 36501$"),
    ({"alertEmails": ["ops"]}, r"^healthcheck:alertEmails\[0\] 'ops' is not an email address"),
    ({"alertEmails": "ops@example.com"}, "'healthcheck:alertEmails' value 'ops@example.com' is not a valid"),
    (
        {"alertSubscriptions": [{"protocol": "sms", "endpoint": "+15555550100"}]},
        r"^healthcheck:alertSubscriptions\[0\]: protocol 'sms' must be one of https, sqs, lambda$",
    ),
    ({"connectivityCheck": "ftp://example.com/"}, "^healthcheck:connectivityCheck 'ftp://example.com/' must"),
    ({"perTargetMetrics": "maybe"}, "perTargetMetrics"),
    ({"logChecks": "everything"}, r"^healthcheck:logChecks must be one of failures, all, got 'everything'$"),
    ({"pointInTimeRecovery": "sometimes"}, "pointInTimeRecovery"),
]


@pytest.mark.parametrize(("config", "message"), BAD, ids=[next(iter(c)) + f"-{i}" for i, (c, _) in enumerate(BAD)])
def test_bad_values_of_the_new_keys_fail_before_any_resource(config: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        deploy({"targets": TARGETS, **config})
