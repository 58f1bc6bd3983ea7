"""IAM documents as data: each grants one principal exactly what it uses, on named ARNs.

Pure functions of plain strings, so tests can assert least privilege
without a Pulumi engine; components feed them resolved ARNs via ``apply``.
"""

from __future__ import annotations

import json

from healthcheck.alerting.state_store import WATCH

__all__ = [
    "assume_role_policy",
    "function_policy",
    "parameter_arn",
    "scheduler_policy",
    "secrets_policy",
    "state_index_arn",
    "status_policy",
    "topic_policy",
]

# What the state code does on the state table: batched reads, and updates (conditional on
# what was read, but for a shard's own record of its last full read). Never Scan, never a
# delete, never a PutItem. And a Query of its sparse index, which needs the index's ARN.
STATE_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"]
STATE_INDEX_ACTIONS = ["dynamodb:Query"]
# Records: run and failure items in batches, and a roster once per process (a conditional PutItem).
RECORD_WRITE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
# Read back by the run itself: whether its roster is stored, and, once an hour, the runs to summarise
# (Query) and the failure whose reason a summary keeps (GetItem).
RECORD_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"]
# Rollups: a shard's item (GetItem, UpdateItem), an hour's and a day's item each written once (conditional
# PutItem), a day's hours read back as it closes (Query), incidents (UpdateItem).
ROLLUP_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
# The status page only reads: day items and the unsummarised hours by Query, state by BatchGetItem.
READ_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]

Statement = dict[str, object]


def _document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role_policy(service: str, source_account: str | None = None) -> str:
    """Only ``service`` (e.g. lambda.amazonaws.com) may assume the role; optionally only for this account."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        # Confused-deputy guard: the service may act only on this account's behalf.
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return _document(statement)


def state_index_arn(state_table_arn: str) -> str:
    """The state table's ``Watch`` index: a ``Query`` of an index is granted on its own ARN, not the table's."""
    return f"{state_table_arn}/index/{WATCH}"


def function_policy(
    table_arn: str,
    log_group_arn: str,
    failure_queue_arn: str,
    state_table_arn: str,
    topic_arn: str,
    rollup_table_arn: str,
) -> str:
    """The function writes records, keeps target state and rollups, sends alerts, writes its logs, parks failed runs."""
    return _document(
        {"Sid": "WriteCheckRecords", "Effect": "Allow", "Action": RECORD_WRITE_ACTIONS, "Resource": [table_arn]},
        {"Sid": "SummariseRecords", "Effect": "Allow", "Action": RECORD_READ_ACTIONS, "Resource": [table_arn]},
        {"Sid": "KeepRollups", "Effect": "Allow", "Action": ROLLUP_ACTIONS, "Resource": [rollup_table_arn]},
        {"Sid": "KeepTargetState", "Effect": "Allow", "Action": STATE_ACTIONS, "Resource": [state_table_arn]},
        {
            "Sid": "FindStateToRead",
            "Effect": "Allow",
            "Action": STATE_INDEX_ACTIONS,
            "Resource": [state_index_arn(state_table_arn)],
        },
        {"Sid": "SendAlerts", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic_arn]},
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:log-stream:*"],
        },
        {
            "Sid": "KeepFailedRuns",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [failure_queue_arn],
        },
    )


def status_policy(table_arn: str, state_table_arn: str, rollup_table_arn: str, log_group_arn: str) -> str:
    """The status page reads the three tables and writes its logs; it can change nothing."""
    return _document(
        {
            "Sid": "ReadHistory",
            "Effect": "Allow",
            "Action": READ_ACTIONS,
            "Resource": [table_arn, state_table_arn, rollup_table_arn],
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:log-stream:*"],
        },
    )


def scheduler_policy(function_arn: str, dead_letter_queue_arn: str) -> str:
    """Scheduler may invoke this function only, and park undeliverable events in the queue."""
    return _document(
        {"Sid": "InvokeMonitor", "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [function_arn]},
        {
            "Sid": "KeepUndeliveredEvents",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [dead_letter_queue_arn],
        },
    )


def topic_policy(topic_arn: str, account: str, alarm_arns: list[str]) -> str:
    """CloudWatch may publish to the alert topic, for this stack's alarms only.

    A topic policy replaces SNS's default one; the account's own principals
    (the function's role) still publish through their IAM policies.
    """
    return _document(
        {
            "Sid": "AlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": sorted(alarm_arns)},
                "StringEquals": {"aws:SourceAccount": account},
            },
        }
    )


def parameter_arn(partition: str, region: str, account: str, name: str) -> str:
    """An SSM parameter's ARN: ``/healthcheck/token`` is ``...:parameter/healthcheck/token`` (one slash)."""
    return f"arn:{partition}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def secrets_policy(
    parameter_arns: list[str], secret_arns: list[str], kms_key_arn: str | None, region: str
) -> str | None:
    """The function reads exactly the referenced parameters and secrets; None when there are none.

    ``kms:Decrypt`` only for a customer-managed key the user names, and only
    through the services that read with it: AWS-managed keys need no grant.
    """
    statements: list[Statement] = []
    services = []
    if parameter_arns:
        statements.append(
            {
                "Sid": "ReadSecretParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": sorted(set(parameter_arns)),
            }
        )
        services.append(f"ssm.{region}.amazonaws.com")
    if secret_arns:
        statements.append(
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": sorted(set(secret_arns)),
            }
        )
        services.append(f"secretsmanager.{region}.amazonaws.com")
    if kms_key_arn is not None and services:
        statements.append(
            {
                "Sid": "DecryptSecrets",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": services}},
            }
        )
    return _document(*statements) if statements else None
