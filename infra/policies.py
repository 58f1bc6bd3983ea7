"""IAM documents as data: each grants one principal exactly what it uses, on named ARNs.

Pure functions of plain strings, so tests can assert least privilege
without a Pulumi engine; components feed them resolved ARNs via ``apply``.
"""

from __future__ import annotations

import json

__all__ = [
    "assume_role_policy",
    "function_policy",
    "scheduler_policy",
    "topic_policy",
]

# What the state code does on the state table: batched reads, one read, and
# conditional writes keyed by the event time. Never Scan, never a delete.
STATE_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]

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


def function_policy(
    table_arn: str, log_group_arn: str, failure_queue_arn: str, state_table_arn: str, topic_arn: str
) -> str:
    """The function writes records, keeps target state, sends alerts, writes its logs, and parks failed runs."""
    return _document(
        {"Sid": "WriteCheckRecords", "Effect": "Allow", "Action": ["dynamodb:BatchWriteItem"], "Resource": [table_arn]},
        {"Sid": "KeepTargetState", "Effect": "Allow", "Action": STATE_ACTIONS, "Resource": [state_table_arn]},
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
