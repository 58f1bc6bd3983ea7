"""State and alerts: the extra DynamoDB and SNS calls per run, and the handler's time with them and without.

100 targets that each take 300 ms, every one UP (the steady state), checked
by the handler alone and by the handler keeping state and alerts, in runs
interleaved so the machine's drift falls on both. Then an incident (10 of
the 100 failing, until DOWN), and the worst run: 100 targets going DOWN at
once (a transition write, a claim and a clearing write each, and one
publish in all). State read and write units are counted from the items each
call read or wrote (moto's own figures are flat), index writes included.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from healthcheck.alerting.notify import Notifier
from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.state_store import WATCH, StateStore
from healthcheck.check.probe import Probe
from healthcheck.config import Settings
from healthcheck.history.record_store import ResultStore
from healthcheck.retrying import CLIENT_CONFIG
from localdev.dynamodb import create_results_table, create_state_table
from tests.alerting.write_units import WriteMeter
from tests.read_units import ReadMeter

START = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def alerting(base_url: str, endpoint: str, closed_url: str) -> float:
    from healthcheck.handler import check_and_record  # builds its client at import: after the environment is set

    create_results_table(endpoint, "bench-alerting")
    create_state_table(endpoint, "bench-alerting-state")
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, config=CLIENT_CONFIG)
    reads = ReadMeter(dynamodb)
    writes = WriteMeter(dynamodb, boto3.client("dynamodb", endpoint_url=endpoint), "bench-alerting-state", WATCH)
    sns: Any = boto3.client("sns", endpoint_url=endpoint, config=CLIENT_CONFIG)
    topic = sns.create_topic(Name="bench-alerts")["TopicArn"]
    targets: list[object] = [{"name": f"t{i}", "url": f"{base_url}/slow?ms=300"} for i in range(100)]
    plain = Settings("bench-alerting", targets)
    with_state = Settings("bench-alerting", targets, state_table_name="bench-alerting-state", alert_topic_arn=topic)
    store = ResultStore(dynamodb, "bench-alerting")
    probe = Probe()
    minutes = iter(range(10_000))
    last: dict[str, Any] = {}

    state_reads: list[float] = []

    def run(settings: Settings, failing: int = 0) -> None:
        state_store = StateStore(dynamodb, "bench-alerting-state") if settings.state_table_name else None
        notifier = Notifier(sns, topic) if settings.alert_topic_arn else None
        now = START + timedelta(minutes=next(minutes))
        before = reads.units["bench-alerting-state"]
        summary = check_and_record(
            {"time": now.isoformat()},
            None,
            settings=settings,
            probe=probe,
            store=store,
            now=now,
            state_store=state_store,
            notifier=notifier,
        )
        assert summary["succeeded"] == len(settings.targets or []) - failing, summary
        last.update(store=state_store, notifier=notifier)
        if state_store is not None:
            state_reads.append(reads.units["bench-alerting-state"] - before)

    plain_runs: list[float] = []
    state_runs: list[float] = []
    with open(os.devnull, "w") as devnull:  # noqa: PTH123 - the JSON lines are not what is measured
        stdout, sys.stdout = sys.stdout, devnull
        try:
            for i in range(5):
                pair = [(plain, plain_runs), (with_state, state_runs)]
                for settings, runs in pair if i % 2 == 0 else reversed(pair):
                    runs.append(_timed(lambda settings=settings: run(settings)))  # type: ignore[misc]
            steady = (dict(last["store"].calls), last["notifier"].calls)
            full_read, steady_reads = state_reads[0], state_reads[1:]
            failing: list[object] = [{"name": f"t{i}", "url": closed_url} for i in range(10)]
            incident = Settings(
                "bench-alerting",
                [*failing, *targets[10:]],
                state_table_name="bench-alerting-state",
                alert_topic_arn=topic,
            )
            state_reads.clear()
            incident_writes = (writes.table_units, writes.index_units)
            for _ in range(4):  # DOWN at the third failure
                run(incident, failing=10)
            incident_writes = (writes.table_units - incident_writes[0], writes.index_units - incident_writes[1])
            incident_reads = list(state_reads)
            down_targets: list[object] = [
                {"name": f"d{i}", "url": closed_url, "failureThreshold": 1} for i in range(100)
            ]
            down = Settings(
                "bench-alerting",
                down_targets,
                state_table_name="bench-alerting-state",
                alert_topic_arn=topic,
                alerting=AlertPolicy(),
            )
            state_store = StateStore(dynamodb, "bench-alerting-state")
            notifier = Notifier(sns, topic)
            now = START + timedelta(minutes=next(minutes))
            down_writes = (writes.calls, writes.table_units, writes.index_units)
            down_s = _timed(
                lambda: check_and_record(
                    {"time": now.isoformat()},
                    None,
                    settings=down,
                    probe=probe,
                    store=store,
                    now=now,
                    state_store=state_store,
                    notifier=notifier,
                )
            )
            down_writes = (
                writes.calls - down_writes[0],
                writes.table_units - down_writes[1],
                writes.index_units - down_writes[2],
            )
        finally:
            sys.stdout = stdout
    plain_s, state_s = statistics.median(plain_runs), statistics.median(state_runs)
    print(
        f"  steady state, 100 targets UP: calls per run {steady[0]}, SNS Publish {steady[1]}; state read units "
        f"{'/'.join(f'{units:g}' for units in steady_reads)} a run (was 50), the hour's full read {full_read:g}"
    )
    print(
        f"  incident, 10 of the 100 failing until DOWN: state read units {'/'.join(f'{u:g}' for u in incident_reads)} "
        f"a run; write units {incident_writes[0]} to the table, {incident_writes[1]} to its index"
    )
    print(
        f"  100 targets x 300 ms: handler {plain_s * 1000:.0f} ms without state, {state_s * 1000:.0f} ms with "
        f"state and alerts (medians of 5, interleaved)"
    )
    print(
        f"  100 targets DOWN at once: calls {state_store.calls}, SNS Publish {notifier.calls}, "
        f"handler {down_s * 1000:.0f} ms; {down_writes[0]} state writes: {down_writes[1]} write units to the table, "
        f"{down_writes[2]} to its index"
    )
    return state_s / plain_s
