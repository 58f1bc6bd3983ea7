"""The monitor: tables, function, its role and logs, failure queue, schedules, alert topic and alarms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from healthcheck.alerting.state_store import WATCH
from healthcheck.history.record_store import HASH_KEY, RANGE_KEY
from healthcheck.history.rollup_store import DAY_KEY

from .alarms import AlarmSpec, alarm_specs
from .environment import function_environment, targets_in_environment
from .policies import (
    assume_role_policy,
    function_policy,
    parameter_arn,
    scheduler_policy,
    secrets_policy,
    topic_policy,
)
from .schedules import chunk_targets, schedule_input
from .settings import StackSettings
from .status_page import StatusPage, StatusPageArgs
from .subscriptions import Subscription

__all__ = ["Checker", "Monitor", "MonitorArgs"]

# The record attribute DynamoDB's TTL deletes by: the event time plus RETENTION_DAYS.
EXPIRES_AT = "ExpiresAt"
# A run that failed is retried twice by Lambda; after that, or once the event
# is 15 minutes old, it goes to the failure queue rather than being dropped.
ASYNC_RETRIES = 2
MAX_EVENT_AGE_S = 900
# Scheduler retries delivery (e.g. while Lambda throttles) for as long.
SCHEDULER_RETRIES = 20
QUEUE_RETENTION_S = 14 * 24 * 3600  # SQS's maximum


@dataclass
class MonitorArgs:
    settings: StackSettings
    image_uri: pulumi.Input[str]
    """The image in the home region's repository."""
    image_uris: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The same image in each other checking region's repository: Lambda runs images from its own region only."""


@dataclass
class Checker:
    """What one checking region has: ``region`` None is the stack's own."""

    region: str | None
    function: aws.lambda_.Function
    failures: aws.sqs.Queue
    log_group: aws.cloudwatch.LogGroup
    schedules: list[aws.scheduler.Schedule]
    alarms: list[aws.cloudwatch.MetricAlarm]
    topic: aws.sns.Topic
    """Where its alarms go: the alert topic at home, a topic of its own region elsewhere."""


class Monitor(pulumi.ComponentResource):
    table: aws.dynamodb.Table
    state_table: aws.dynamodb.Table
    topic: aws.sns.Topic
    alarms: list[aws.cloudwatch.MetricAlarm]
    function: aws.lambda_.Function
    failures: aws.sqs.Queue
    schedules: list[aws.scheduler.Schedule]

    def __init__(self, name: str, args: MonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("healthcheck:index:Monitor", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        account_id = aws.get_caller_identity_output().account_id

        self.table = aws.dynamodb.Table(
            f"{name}-results",
            billing_mode="PAY_PER_REQUEST",
            hash_key=HASH_KEY,
            range_key=RANGE_KEY,
            attributes=[{"name": HASH_KEY, "type": "S"}, {"name": RANGE_KEY, "type": "S"}],
            # The stack's choice: billed per GB-month of records (README "Costs").
            point_in_time_recovery={"enabled": settings.point_in_time_recovery},
            ttl={"attribute_name": EXPIRES_AT, "enabled": True},
            opts=child,
        )
        # One item per target: its debounced UP/DOWN state and any alert not yet sent. Always
        # recoverable: it holds what nothing else does (pending alerts), and is under 1 KB per target.
        # The sparse index holds the items that are not clean, by shard: what a run reads (alerting/watch.py).
        self.state_table = aws.dynamodb.Table(
            f"{name}-state",
            billing_mode="PAY_PER_REQUEST",
            hash_key=HASH_KEY,
            attributes=[{"name": HASH_KEY, "type": "S"}, {"name": WATCH, "type": "S"}],
            global_secondary_indexes=[
                {
                    "name": WATCH,
                    "key_schemas": [{"attribute_name": WATCH, "key_type": "HASH"}],
                    "projection_type": "ALL",
                }
            ],
            point_in_time_recovery={"enabled": True},
            opts=child,
        )
        # Hourly summaries, one item per target per day: what the status page reads instead of raw history.
        self.rollup_table = aws.dynamodb.Table(
            f"{name}-rollups",
            billing_mode="PAY_PER_REQUEST",
            hash_key=HASH_KEY,
            range_key=DAY_KEY,
            attributes=[{"name": HASH_KEY, "type": "S"}, {"name": DAY_KEY, "type": "S"}],
            ttl={"attribute_name": EXPIRES_AT, "enabled": True},
            opts=child,
        )
        # Not KMS-encrypted: CloudWatch alarms cannot publish to a topic under the
        # AWS-managed key (alias/aws/sns), and a customer key costs $1 a month.
        self.topic = aws.sns.Topic(f"{name}-alerts", opts=child)
        for subscription in (*settings.alert_emails, *settings.alert_subscriptions):
            self._subscribe(name, self.topic, subscription)
        # Said once, whichever regions check: every region's function and schedules are alike.
        if targets_in_environment(settings.environment(), settings.targets_json()) is None:
            pulumi.log.info(
                f"{len(settings.targets)} targets do not fit Lambda's environment; they reach the "
                "function through the schedules only (invoke it with 'targets' in the event)",
                resource=self,
            )
        _, note = alarm_specs(settings.schedule, len(chunk_targets(settings.targets)))
        for warning in ([note] if note is not None else []) + settings.regions.warnings():
            pulumi.log.warn(warning, resource=self)
        self.checkers = [
            self._checker(name, region, args.image_uris[region] if region else args.image_uri, settings, account_id)
            for region in settings.regions.checkers()
        ]
        # The first region's, as a one-region stack has always had them.
        first = self.checkers[0]
        self.function, self.failures, self.schedules, self.alarms = (
            first.function,
            first.failures,
            first.schedules,
            first.alarms,
        )
        home_alarms = [alarm for checker in self.checkers if checker.region is None for alarm in checker.alarms]
        if home_alarms:  # none when the home region does not check: nothing of its own publishes to its topic
            self._allow_alarms(name, self.topic, home_alarms, account_id)
        self.status_page: StatusPage | None = None
        if settings.status_page != "off":
            self.status_page = StatusPage(
                f"{name}-status",
                StatusPageArgs(
                    mode=settings.status_page,
                    show_urls=settings.status_page_show_urls,
                    concurrency=settings.status_page_concurrency,
                    image_uri=args.image_uri,
                    targets_json=settings.status_targets_json(),
                    table=self.table,
                    state_table=self.state_table,
                    rollup_table=self.rollup_table,
                    log_retention_days=settings.log_retention_days,
                ),
                opts=child,
            )
        self.register_outputs(
            {
                "tableName": self.table.name,
                "stateTableName": self.state_table.name,
                "alertTopicArn": self.topic.arn,
                "functionName": self.function.name,
                "failureQueueUrl": self.failures.url,
                "scheduleNames": [schedule.name for schedule in self.schedules],
            }
        )

    def _checker(
        self,
        name: str,
        region: str | None,
        image_uri: pulumi.Input[str],
        settings: StackSettings,
        account_id: pulumi.Output[str],
    ) -> Checker:
        """One region's checker: its function, schedules, logs, failure queue and self-watching alarms.

        ``region`` None is the stack's own region: today's names, and no ``region`` argument (the provider's).
        Another region's resources are named ``<name>-<region>-...`` and placed there by pulumi-aws 7's
        per-resource ``region``. Every region's role reaches the home tables and topic, and its own region's
        logs and queue only.
        """
        base = name if region is None else f"{name}-{region}"
        child = pulumi.ResourceOptions(parent=self)
        failures = aws.sqs.Queue(
            f"{base}-failures",
            message_retention_seconds=QUEUE_RETENTION_S,
            sqs_managed_sse_enabled=True,
            opts=child,
            region=region,
        )
        # The same name in every region: `aws logs tail <name> --region <r>` reads any region's runs.
        log_group = aws.cloudwatch.LogGroup(
            f"{base}-logs",
            name=f"/aws/lambda/{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            retention_in_days=settings.log_retention_days,
            opts=child,
            region=region,
        )

        role, role_policy = self._service_role(
            f"{base}-function",
            "lambda.amazonaws.com",
            account_id,
            pulumi.Output.all(
                self.table.arn,
                log_group.arn,
                failures.arn,
                self.state_table.arn,
                self.topic.arn,
                self.rollup_table.arn,
            ).apply(lambda arns: function_policy(*arns)),
        )

        grants: list[pulumi.Resource] = [role_policy]
        secrets_grant = self._secrets_grant(f"{base}-function", role, settings, account_id)
        if secrets_grant is not None:
            grants.append(secrets_grant)

        # TARGETS lets a legacy "Scheduled Event" or a manual invoke without targets work too; it is
        # counted at the longest names AWS allows, so the deploy cannot exceed 4 KB.
        targets_env = targets_in_environment(settings.environment(), settings.targets_json())
        variables: dict[str, pulumi.Output[str] | str] = function_environment(
            self.table.name,
            self.state_table.name,
            self.topic.arn,
            self.rollup_table.name,
            settings.environment(),
            targets_env,
        )

        function = aws.lambda_.Function(
            f"{base}-function",
            package_type="Image",
            image_uri=image_uri,
            architectures=["arm64"],
            role=role.arn,
            memory_size=settings.memory_size,
            timeout=settings.timeout,
            environment={"variables": variables},
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": "INFO",
                "system_log_level": "WARN",
            },
            # The log group (with its retention) and the permissions exist before the first run.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, *grants]),
            region=region,
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{base}-async",
            function_name=function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_S,
            destination_config={"on_failure": {"destination": failures.arn}},
            opts=child,
            region=region,
        )

        scheduler_role, scheduler_role_policy = self._service_role(
            f"{base}-scheduler",
            "scheduler.amazonaws.com",
            account_id,
            pulumi.Output.all(function.arn, failures.arn).apply(lambda arns: scheduler_policy(arns[0], arns[1])),
        )
        # The same shards, inputs and expression in every region: shard s at time T runs once per region.
        schedules = [
            aws.scheduler.Schedule(
                f"{base}-schedule-{index}",
                description=f"healthcheck: {len(chunk)} targets, part {index + 1}"
                + (f", from {region}" if region else ""),
                schedule_expression=settings.schedule,
                flexible_time_window={"mode": "OFF"},  # checks run on time, not spread
                target={
                    "arn": function.arn,
                    "role_arn": scheduler_role.arn,
                    "input": schedule_input(chunk, shard=str(index + 1)),
                    "retry_policy": {
                        "maximum_event_age_in_seconds": MAX_EVENT_AGE_S,
                        "maximum_retry_attempts": SCHEDULER_RETRIES,
                    },
                    "dead_letter_config": {"arn": failures.arn},
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_role_policy]),
                region=region,
            )
            for index, chunk in enumerate(chunk_targets(settings.targets))
        ]
        specs, _ = alarm_specs(settings.schedule, len(schedules))
        topic = self.topic
        if region is not None:
            # CloudWatch alarms publish only to a topic in their own region: one for this region's alarms,
            # with the same recipients as the alert topic.
            topic = aws.sns.Topic(f"{base}-alerts", region=region, opts=child)
            for subscription in (*settings.alert_emails, *settings.alert_subscriptions):
                self._subscribe(base, topic, subscription, region=region)
        alarms = [self._alarm(base, spec, function, failures, topic, region) for spec in specs]
        if region is not None:
            self._allow_alarms(base, topic, alarms, account_id, region=region)
        return Checker(region, function, failures, log_group, schedules, alarms, topic)

    def _allow_alarms(
        self,
        name: str,
        topic: aws.sns.Topic,
        alarms: list[aws.cloudwatch.MetricAlarm],
        account_id: pulumi.Output[str],
        region: str | None = None,
    ) -> None:
        """The topic's policy: CloudWatch may publish to it for these alarms only."""
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account_id, *(alarm.arn for alarm in alarms)).apply(
                lambda values: topic_policy(values[0], values[1], list(values[2:]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
            region=region,
        )

    def _subscribe(
        self, name: str, topic: aws.sns.Topic, subscription: Subscription, region: str | None = None
    ) -> None:
        """Subscribe one recipient; a Lambda recipient is also allowed to be invoked by the topic."""
        aws.sns.TopicSubscription(
            f"{name}-alerts-{subscription.key}",
            topic=topic.arn,
            protocol=subscription.protocol,
            endpoint=subscription.endpoint,
            opts=pulumi.ResourceOptions(parent=self),
            region=region,
        )
        if subscription.protocol == "lambda":
            # In the recipient function's own region (the provider's, as for the alert topic).
            aws.lambda_.Permission(
                f"{name}-alerts-{subscription.key}-invoke",
                action="lambda:InvokeFunction",
                function=subscription.endpoint,
                principal="sns.amazonaws.com",
                source_arn=topic.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _alarm(
        self,
        name: str,
        spec: AlarmSpec,
        function: aws.lambda_.Function,
        failures: aws.sqs.Queue,
        topic: aws.sns.Topic,
        region: str | None,
    ) -> aws.cloudwatch.MetricAlarm:
        """One alarm on the function or the failure queue, telling the topic both ways."""
        watched = function.name if spec.dimension == "FunctionName" else failures.name
        where = "" if region is None else f" ({region})"
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.key}",
            alarm_description=f"{pulumi.get_project()}/{pulumi.get_stack()}{where}: {spec.description}",
            namespace=spec.namespace,
            metric_name=spec.metric_name,
            dimensions={spec.dimension: watched},
            statistic=spec.statistic,
            period=spec.period,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.evaluation_periods,
            threshold=spec.threshold,
            comparison_operator=spec.comparison_operator,
            treat_missing_data=spec.treat_missing_data,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
            region=region,
        )

    def _secrets_grant(
        self, name: str, role: aws.iam.Role, settings: StackSettings, account_id: pulumi.Output[str]
    ) -> aws.iam.RolePolicy | None:
        """Read access to exactly the parameters and secrets the targets reference; none when there are none.

        Only references travel (ARNs from the config at preview); the values are read at run time.
        """
        names, secret_arns = settings.parameter_names, settings.secret_arns
        if not names and not secret_arns:
            return None
        region = aws.get_region_output().region
        partition = aws.get_partition_output().partition
        policy = pulumi.Output.all(partition, region, account_id).apply(
            lambda v: (
                secrets_policy(
                    [parameter_arn(v[0], v[1], v[2], n) for n in names], secret_arns, settings.secrets_kms_key_arn, v[1]
                )
                or ""
            )
        )
        return aws.iam.RolePolicy(
            f"{name}-secrets", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=self)
        )

    def _service_role(
        self, name: str, service: str, account_id: pulumi.Output[str], policy: pulumi.Output[str]
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """A role only ``service`` may assume, for this account, with one inline policy."""
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=account_id.apply(lambda account: assume_role_policy(service, account)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=self)
        )
        return role, role_policy
