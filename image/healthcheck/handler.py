"""Lambda entrypoint: parse the event, check every target, log and store the records.

The DynamoDB client and the connection pool are built once, at import, so
they live across warm invocations.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import boto3

from .config import MAX_CONCURRENCY_LIMIT, Settings
from .event import parse_event
from .exceptions import ConfigError
from .probe import CheckResult, Probe
from .report import Report, Summary
from .runner import run_checks
from .secrets import CLIENT_CONFIG as SECRETS_CLIENT_CONFIG
from .secrets import SecretResolver, resolve_for
from .store import CLIENT_CONFIG, ResultStore, to_item
from .targets import parse_targets, redact_url

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["check_and_record", "handler"]

log = logging.getLogger(__name__)

# Time kept back from the Lambda timeout for writing records after the checks.
MAX_WRITE_RESERVE_S = 10.0
# Time kept back after the writes, so the handler raises its own error (and
# Lambda retries the event) before Lambda ends the invocation for it.
MAX_FINISH_MARGIN_S = 1.0
# Without a Lambda context (a local run) the run has this long.
LOCAL_RUN_BUDGET_S = 900.0


class LambdaContext(Protocol):
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Monotonic times: checks end by ``checks``, and every write by ``writes``."""

    checks: float
    writes: float

    @classmethod
    def for_invocation(cls, context: LambdaContext | None, start: float) -> Deadlines:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        remaining_s = float(remaining()) / 1000 if remaining is not None else LOCAL_RUN_BUDGET_S
        end = start + remaining_s
        return cls(
            checks=end - min(MAX_WRITE_RESERVE_S, remaining_s / 4),
            writes=end - min(MAX_FINISH_MARGIN_S, remaining_s / 20),
        )


def check_and_record(
    event: object,
    context: LambdaContext | None,
    *,
    settings: Settings,
    probe: Probe,
    store: ResultStore,
    now: datetime,
    secrets: SecretResolver | None = None,
) -> dict[str, object]:
    """One run: each result is logged and queued for writing as its check ends.

    Raises ``InvalidEventError``/``ConfigError`` before checking anything, and
    ``RecordsNotWrittenError`` only after every result was logged.
    """
    deadlines = Deadlines.for_invocation(context, time.monotonic())
    invocation = parse_event(event, now)
    raw_targets = invocation.targets if invocation.targets is not None else settings.targets
    if raw_targets is None:
        raise ConfigError("no targets: set TARGETS to a JSON list or pass 'targets' in the event")
    parsed = parse_targets(raw_targets)
    report = Report(invocation.timestamp, getattr(context, "aws_request_id", None))
    writer = store.writer(deadlines.writes)

    def record(result: CheckResult) -> None:
        # Logged first, so the result survives even if DynamoDB does not take it.
        report.check(result)
        writer.add(to_item(result, invocation.timestamp))

    try:
        invalid = [
            CheckResult(bad.label, bad.url, False, 0, error=bad.error) for bad in parsed.invalid if bad.recordable
        ]
        for result in invalid:
            record(result)
        for bad in parsed.invalid:
            if not bad.recordable:
                report.unrecorded(bad)
        # A secret that cannot be read fails only the targets that use it.
        ready, unreadable, secret_values = resolve_for(parsed.valid, secrets or _secrets)
        for target, error in unreadable:
            result = CheckResult(
                target.name, redact_url(target.url), False, 0, error=error, tls_verified=target.request.verify_tls
            )
            invalid.append(result)
            record(result)
        results = run_checks(
            ready,
            probe,
            run_deadline=deadlines.checks,
            max_workers=settings.max_concurrency,
            on_result=record,
            secrets=secret_values,
        )
        results.extend(invalid)
        succeeded = sum(result.success for result in results)
        summary = Summary(
            timestamp=invocation.timestamp,
            checked=len(results),
            succeeded=succeeded,
            failed=len(results) - succeeded,
            invalid=len(parsed.invalid),
        )
        report.summary(summary)
    finally:
        # Every record still pending is sent, whatever happened above; a failure raises here.
        writer.finish()
    return summary.as_dict()


_dynamodb: DynamoDBClient = boto3.client("dynamodb", config=CLIENT_CONFIG)
_probe = Probe(max_connections=MAX_CONCURRENCY_LIMIT)
# Clients built on first use only, so targets without secrets cost no cold start;
# the cache lives across warm invocations, at most 5 minutes per value.
_secrets = SecretResolver(
    lambda: boto3.client("ssm", config=SECRETS_CLIENT_CONFIG),
    lambda: boto3.client("secretsmanager", config=SECRETS_CLIENT_CONFIG),
)


def handler(event: object, context: LambdaContext | None) -> dict[str, object]:
    """``healthcheck.handler.handler``: the image's CMD (see DESIGN.md for the event and record contracts)."""
    settings = Settings.from_environ(os.environ)
    return check_and_record(
        event,
        context,
        settings=settings,
        probe=_probe,
        store=ResultStore(_dynamodb, settings.table_name),
        now=datetime.now(UTC),
    )
