"""Lambda entrypoint: parse the event, check every target, log and store the records.

The DynamoDB client and the connection pool are built once, at import, so
they live across warm invocations.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Protocol

import boto3

from . import metrics
from .alerting.maintenance import Schedule
from .alerting.notify import Notifier, SnsPublisher
from .alerting.state import parse_time
from .alerting.state_store import StateStore
from .alerting.track import AlertingOutcome, RegionVoting, track
from .budget import CANARY_TIMEOUT_S, Deadlines
from .check.probe import CheckResult, Probe
from .check.runner import run_checks
from .check.secrets import CLIENT_CONFIG as SECRETS_CLIENT_CONFIG
from .check.secrets import SecretResolver, is_transient, resolve_for
from .check.targets import Target, parse_targets, redact_url
from .config import MAX_CONCURRENCY_LIMIT, Settings, region_of
from .event import format_timestamp, parse_event
from .exceptions import ConfigError, RecordsNotWrittenError
from .history.reader import passed_between
from .history.record_store import ResultStore, roster_of
from .history.region_runs import RecentRuns
from .history.rollup_store import RollupStore
from .log_lines import Report, Summary
from .retrying import CLIENT_CONFIG

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["check_and_record", "handler"]

log = logging.getLogger(__name__)

CANARY_NAME: Final = "connectivity check"
# An event further ahead of the function's clock than this (a manual invoke
# with a mistyped "time") would set LastEvent in the future and freeze every
# target's state until then, so it moves no state.
MAX_EVENT_AHEAD: Final = timedelta(minutes=15)
# An event further behind than this is no retry but a stale or sample time (the
# repo's 2015 event made a target "DOWN since 2015"), so it moves no state either.
# A retried event must still count: Scheduler retries delivery for up to 15
# minutes after the scheduled time (the schedule's retry policy, maximum event
# age 900 s), then Lambda keeps it in its asynchronous queue, retries included,
# for up to 15 minutes more (the function's event invoke config, 900 s). So a
# legitimate run starts at most 30 minutes late; an hour leaves that doubled.
MAX_EVENT_BEHIND: Final = timedelta(hours=1)


class LambdaContext(Protocol):
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


def _canary_passes(url: str | None, probe: Probe, deadline: float) -> bool:
    """Whether the function itself can reach the Internet (True when no canary is configured).

    Any answer proves the network: a canary that says 404 or 503 is a canary with a problem of
    its own, and must not blind the monitor to every outage for as long as it lasts.
    """
    if url is None:
        return True
    target = Target(name=CANARY_NAME, url=url, timeout=CANARY_TIMEOUT_S)
    [result] = run_checks([target], probe, run_deadline=deadline)
    if result.status is None:
        log.warning(
            "connectivity check %s got no answer (%s): this run's unanswered checks are inconclusive", url, result.error
        )
        return False
    if not result.success:
        log.warning("connectivity check %s answered but failed (%s): it still proves the network", url, result.error)
    return True


def _marker(schedule: Schedule, moment: datetime, canary_ok: bool) -> Callable[[CheckResult], CheckResult]:
    """Marks results in a maintenance window, and failures while our own connectivity was down.

    A target that answered was reached, canary or not: its failure is its own. Only a failure with no
    answer (no name, no connection, no response in time) may be the monitor's network.
    """

    def mark(result: CheckResult) -> CheckResult:
        maintenance = schedule.covers(result.name, moment)
        unanswered = not result.success and result.status is None
        inconclusive = result.inconclusive or (not canary_ok and unanswered)
        if maintenance == result.maintenance and inconclusive == result.inconclusive:
            return result
        return dataclasses.replace(result, maintenance=maintenance, inconclusive=inconclusive)

    return mark


def check_and_record(
    event: object,
    context: LambdaContext | None,
    *,
    settings: Settings,
    probe: Probe,
    store: ResultStore,
    now: datetime,
    state_store: StateStore | None = None,
    notifier: Notifier | None = None,
    secrets: SecretResolver | None = None,
    rollups: RollupStore | None = None,
) -> dict[str, object]:
    """One run: each result is logged and queued for writing as its check ends; then state and alerts.

    Raises ``InvalidEventError``/``ConfigError`` before checking anything;
    ``RecordsNotWrittenError``, ``StateNotSavedError`` or ``AlertsNotSentError``
    only after every result was logged and every record and state write tried.
    """
    started = time.monotonic()
    deadlines = Deadlines.for_invocation(context, started)
    invocation = parse_event(event, now)
    raw_targets = invocation.targets if invocation.targets is not None else settings.targets
    if raw_targets is None:
        raise ConfigError("no targets: set TARGETS to a JSON list or pass 'targets' in the event")
    parsed = parse_targets(raw_targets)
    report = Report(
        invocation.timestamp, getattr(context, "aws_request_id", None), every_check=settings.log_checks == "all"
    )
    canary_answered = _canary_passes(settings.connectivity_check, probe, deadlines.checks)
    mark = _marker(settings.maintenance, parse_time(invocation.timestamp), canary_answered)
    roster = roster_of(
        [(target.name, target.url) for target in parsed.valid],
        [(bad.label, bad.url) for bad in parsed.invalid if bad.recordable],
    )
    writer = store.run(
        shard=invocation.shard,
        region=settings.region,
        timestamp=invocation.timestamp,
        roster=roster,
        deadline=deadlines.writes,
        retention_days=settings.retention_days,
    )

    def record(result: CheckResult) -> None:
        result = mark(result)
        # Logged first, so the result survives even if DynamoDB does not take it.
        report.check(result)
        writer.record(result)

    try:
        invalid = [
            CheckResult(bad.label, bad.url, False, 0, error=bad.error) for bad in parsed.invalid if bad.recordable
        ]
        for result in invalid:
            record(result)
        for bad in parsed.invalid:
            if not bad.recordable:
                report.unrecorded(bad)
        # A secret that cannot be read fails only the targets that use it. It is a
        # check like any other for state and alerts (a deleted parameter must not go
        # unnoticed), unless AWS was only busy or out of reach: then it is ours.
        ready, unreadable, secret_values = resolve_for(parsed.valid, secrets or _secrets)
        unsent = [
            CheckResult(
                target.name,
                redact_url(target.url),
                False,
                0,
                error=error,
                inconclusive=is_transient(error),
                tls_verified=target.request.verify_tls,
            )
            for target, error in unreadable
        ]
        for result in unsent:
            record(result)
        results = run_checks(
            ready,
            probe,
            run_deadline=deadlines.checks,
            max_workers=settings.max_concurrency,
            on_result=record,
            secrets=secret_values,
        )
        results.extend(unsent)
        checked = [mark(result) for result in results]  # as recorded
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
        # Every record still pending is sent, whatever happened above.
        try:
            writer.finish(canary_answered=canary_answered)
        except RecordsNotWrittenError as exc:
            records_error: RecordsNotWrittenError | None = exc
            report.log_passing_checks()  # passing checks get no line of their own: the table was to hold them
        else:
            records_error = None
    # Records first: whatever happens to state and alerts, the records are already stored.
    outcome: AlertingOutcome | None = None
    ahead = parse_time(invocation.timestamp) - now
    if state_store is not None and not -MAX_EVENT_BEHIND <= ahead <= MAX_EVENT_AHEAD:
        log.warning(
            "event time %s is %s %s the function's clock (%s): checks recorded, no state moved, no alert sent",
            invocation.timestamp,
            timedelta(seconds=round(abs(ahead).total_seconds())),
            "ahead of" if ahead > MAX_EVENT_AHEAD else "behind",
            format_timestamp(now),
        )
    elif state_store is not None:
        voting = None
        if settings.multi_region:
            voting = RegionVoting(
                region=settings.region,
                regions=settings.regions,
                quorum=settings.quorum,
                alert_on_partial=settings.alert_on_partial,
                runs=RecentRuns(store.client, store.table_name, invocation.shard, roster, len(settings.regions)),
                canary_answered=canary_answered,
            )
        outcome = track(
            checked,
            {target.name: target for target in parsed.valid},
            defaults=settings.alerting,
            at=invocation.timestamp,
            store=state_store,
            notifier=notifier,
            deadline=deadlines.writes,
            show=report.alert,
            run_id=getattr(context, "aws_request_id", None) or uuid.uuid4().hex,
            now=now,
            shard=invocation.shard,
            passed_between=functools.partial(
                passed_between,
                store.client,
                settings.table_name,
                invocation.shard,
                settings.region,
                deadline=deadlines.writes,
            ),
            voting=voting,
        )
    for transition in outcome.transitions if outcome is not None else ():
        report.transition(transition)
    if rollups is not None:
        # After the records: a few writes per shard per hour, never a failure of the run.
        # Never past the function's own clock: an event stamped ahead would close hours still to come.
        moment = min(parse_time(invocation.timestamp), now)
        for shard, part in writer.parts:
            rollups.flush(shard, settings.region, part.names, moment, deadlines.writes)
        rollups.record_transitions(outcome.transitions if outcome is not None else (), deadlines.writes)
    report.metrics(
        metrics.documents(
            results,
            timestamp_ms=int(now.timestamp() * 1000),
            run_duration_ms=round((time.monotonic() - started) * 1000),
            targets_down=outcome.down if outcome is not None else None,
            per_target=settings.per_target_metrics,
        )
    )
    if records_error is not None:
        raise records_error
    failure = outcome.failure() if outcome is not None else None
    if failure is not None:
        log.error("%s", failure)
        # A retry re-checks at the same event time: the conditional writes stop it counting twice.
        raise failure
    return summary.as_dict()


_dynamodb: DynamoDBClient = boto3.client("dynamodb", config=CLIENT_CONFIG)


@functools.cache
def _probe_for(region: str) -> Probe:
    """The probe of the region that checks (one per process in Lambda): its User-Agent names the region."""
    return Probe(max_connections=MAX_CONCURRENCY_LIMIT, region=region)


_probe = _probe_for(region_of(os.environ))
# Clients built on first use only, so targets without secrets cost no cold start;
# the cache lives across warm invocations, at most 5 minutes per value.
_secrets = SecretResolver(
    lambda: boto3.client("ssm", config=SECRETS_CLIENT_CONFIG),
    lambda: boto3.client("secretsmanager", config=SECRETS_CLIENT_CONFIG),
)


@functools.cache
def _sns(region: str | None = None) -> SnsPublisher:
    """Built on first use (only stacks with a topic pay for loading SNS's model), then kept warm."""
    client: SnsPublisher = boto3.client("sns", region_name=region, config=CLIENT_CONFIG)
    return client


@functools.cache
def _home_dynamodb(region: str) -> DynamoDBClient:
    """The tables' client when they are in another region (HOME_REGION), kept warm."""
    return boto3.client("dynamodb", region_name=region, config=CLIENT_CONFIG)


@functools.cache
def _home_secrets(region: str) -> SecretResolver:
    return SecretResolver(
        lambda: boto3.client("ssm", region_name=region, config=SECRETS_CLIENT_CONFIG),
        lambda: boto3.client("secretsmanager", region_name=region, config=SECRETS_CLIENT_CONFIG),
    )


def _home(settings: Settings) -> str | None:
    """The region of the tables, topic and secrets when it is not the function's own; None when it is."""
    home = settings.home_region
    return home if home is not None and home != settings.region else None


def handler(event: object, context: LambdaContext | None) -> dict[str, object]:
    """``healthcheck.handler.handler``: the image's CMD (see DESIGN.md for the event and record contracts)."""
    settings = Settings.from_environ(os.environ)
    state_table, topic = settings.state_table_name, settings.alert_topic_arn
    rollup_table = settings.rollup_table_name
    home = _home(settings)
    # Several regions write the same tables and publish to the same topic: those of the home region.
    dynamodb = _dynamodb if home is None else _home_dynamodb(home)
    return check_and_record(
        event,
        context,
        settings=settings,
        probe=_probe_for(settings.region),
        store=ResultStore(dynamodb, settings.table_name),
        now=datetime.now(UTC),
        state_store=StateStore(dynamodb, state_table, regions=settings.multi_region) if state_table else None,
        notifier=Notifier(_sns(home), topic) if topic else None,
        secrets=None if home is None else _home_secrets(home),
        rollups=RollupStore(dynamodb, rollup_table, settings.table_name) if rollup_table else None,
    )
