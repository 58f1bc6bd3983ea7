"""The function's environment variables, and whether they fit Lambda's 4 KB.

Lambda measures the variables as one compact JSON object, escapes included
(its error reads "exceeded the 4KB limit. String measured: {...}"). Table
names and the topic ARN are unknown until deploy, so each is counted at the
longest value AWS allows: the check then holds whatever names Pulumi picks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeVar

# The function's own names (DESIGN.md's environment), so the two cannot drift apart.
from healthcheck.config import (
    ENV_ALERT_TOPIC_ARN,
    ENV_CONNECTIVITY_CHECK,
    ENV_LOG_CHECKS,
    ENV_PER_TARGET_METRICS,
    ENV_RETENTION_DAYS,
    ENV_ROLLUP_TABLE_NAME,
    ENV_STATE_TABLE_NAME,
    ENV_STATUS_SHOW_URLS,
    ENV_TABLE_NAME,
    ENV_TARGETS,
)

__all__ = [
    "ENV_ALERT_TOPIC_ARN",
    "ENV_CONNECTIVITY_CHECK",
    "ENV_LOG_CHECKS",
    "ENV_PER_TARGET_METRICS",
    "ENV_RETENTION_DAYS",
    "ENV_STATE_TABLE_NAME",
    "LAMBDA_ENV_LIMIT_BYTES",
    "MAX_TABLE_NAME",
    "MAX_TOPIC_ARN",
    "function_environment",
    "function_environment_size",
    "measured_size",
    "status_environment",
    "status_environment_size",
    "targets_in_environment",
]

T = TypeVar("T")

LAMBDA_ENV_LIMIT_BYTES = 4096
# DynamoDB table names: at most 255 characters.
MAX_TABLE_NAME = 255
# arn:<partition>:sns:<region>:<account>:<topic>; a topic name is at most 256
# characters, partitions (aws-us-gov) and regions (ap-southeast-5) well within 16 and 20.
MAX_TOPIC_ARN = len("arn::sns:::") + 16 + 20 + 12 + 256


def measured_size(variables: Mapping[str, str]) -> int:
    """Bytes Lambda counts for ``variables``: their compact JSON, UTF-8 encoded."""
    return len(json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def function_environment(
    table: T,
    state_table: T,
    topic_arn: T,
    rollup_table: T,
    config_variables: Mapping[str, str],
    targets_json: str | None,
) -> dict[str, T | str]:
    """The monitor function's variables (the names are Pulumi outputs at deploy, strings when counted or benched).

    ``targets_json`` is None when the targets do not fit: then they reach the function through the schedules only.
    """
    variables: dict[str, T | str] = {
        ENV_TABLE_NAME: table,
        ENV_STATE_TABLE_NAME: state_table,
        ENV_ALERT_TOPIC_ARN: topic_arn,
        ENV_ROLLUP_TABLE_NAME: rollup_table,
        **config_variables,
    }
    if targets_json is not None:
        variables[ENV_TARGETS] = targets_json
    return variables


def function_environment_size(config_variables: Mapping[str, str], targets_json: str) -> int:
    """Bytes of the monitor function's variables with TARGETS, every table name and the topic ARN at their longest."""
    longest = "t" * MAX_TABLE_NAME
    return measured_size(
        function_environment(longest, longest, "a" * MAX_TOPIC_ARN, longest, config_variables, targets_json)
    )


def targets_in_environment(config_variables: Mapping[str, str], targets_json: str) -> str | None:
    """TARGETS when everything fits Lambda's 4 KB at the longest names AWS allows, else None (schedules only)."""
    fits = function_environment_size(config_variables, targets_json) <= LAMBDA_ENV_LIMIT_BYTES
    return targets_json if fits else None


def status_environment(
    table: T, state_table: T, rollup_table: T, targets_json: str, show_urls: bool
) -> dict[str, T | str]:
    """The status function's variables (the tables' names are Pulumi outputs at deploy, strings when counted)."""
    return {
        ENV_TABLE_NAME: table,
        ENV_STATE_TABLE_NAME: state_table,
        ENV_ROLLUP_TABLE_NAME: rollup_table,
        ENV_TARGETS: targets_json,
        ENV_STATUS_SHOW_URLS: "true" if show_urls else "false",
    }


def status_environment_size(targets_json: str, show_urls: bool) -> int:
    """Bytes of the status function's variables, with every table name at its longest."""
    longest = "t" * MAX_TABLE_NAME
    return measured_size(status_environment(longest, longest, longest, targets_json, show_urls))
