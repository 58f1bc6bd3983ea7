"""IAM documents as data: the exact grants, statement ids and policy language version each role gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.policies import assume_role_policy, function_policy, scheduler_policy, status_policy, topic_policy


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


@pytest.mark.parametrize(
    ("document", "statements"),
    [
        (
            function_policy("arn:table", "arn:logs", "arn:queue", "arn:state", "arn:topic", "arn:rollups"),
            [
                # No Scan, no DeleteItem, no UpdateItem: records are written whole, once.
                _allow("WriteCheckRecords", ["dynamodb:BatchWriteItem", "dynamodb:PutItem"], ["arn:table"]),
                _allow("SummariseRecords", ["dynamodb:GetItem", "dynamodb:Query"], ["arn:table"]),
                _allow(
                    "KeepRollups",
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                    ["arn:rollups"],
                ),
                # No Scan, no DeleteItem, no PutItem: the state code reads items by key and updates them.
                _allow("KeepTargetState", ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"], ["arn:state"]),
                # A Query of the sparse index only, granted on the index's own ARN (the table's grants no Query).
                _allow("FindStateToRead", ["dynamodb:Query"], ["arn:state/index/Watch"]),
                _allow("SendAlerts", ["sns:Publish"], ["arn:topic"]),
                _allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], ["arn:logs:log-stream:*"]),
                _allow("KeepFailedRuns", ["sqs:SendMessage"], ["arn:queue"]),
            ],
        ),
        (
            status_policy("arn:table", "arn:state", "arn:rollups", "arn:logs"),
            [
                # Reads only: no write, no Scan.
                _allow(
                    "ReadHistory",
                    ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"],
                    ["arn:table", "arn:state", "arn:rollups"],
                ),
                _allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], ["arn:logs:log-stream:*"]),
            ],
        ),
        (
            scheduler_policy("arn:function", "arn:queue"),
            [
                _allow("InvokeMonitor", ["lambda:InvokeFunction"], ["arn:function"]),
                _allow("KeepUndeliveredEvents", ["sqs:SendMessage"], ["arn:queue"]),
            ],
        ),
        (
            assume_role_policy("lambda.amazonaws.com", "123456789012"),
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
                }
            ],
        ),
        (
            assume_role_policy("scheduler.amazonaws.com"),
            [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        ),
        (
            topic_policy("arn:topic", "123456789012", ["arn:alarm:b", "arn:alarm:a"]),
            [
                {
                    "Sid": "AlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": "arn:topic",
                    "Condition": {
                        "ArnLike": {"aws:SourceArn": ["arn:alarm:a", "arn:alarm:b"]},
                        "StringEquals": {"aws:SourceAccount": "123456789012"},
                    },
                }
            ],
        ),
    ],
    ids=["function", "status-page", "scheduler", "assume-for-one-account", "assume-any-account", "alert-topic"],
)
def test_each_document_is_exactly_its_statements_in_the_2012_language(
    document: str, statements: list[dict[str, Any]]
) -> None:
    # 2012-10-17 is the version in which policy variables work; the older one is the default.
    assert json.loads(document) == {"Version": "2012-10-17", "Statement": statements}
    # Keys sorted: the same document is always the same text, so a preview shows no diff.
    assert document == json.dumps(json.loads(document), sort_keys=True)
