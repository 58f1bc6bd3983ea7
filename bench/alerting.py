"""State and alerts: the extra DynamoDB and SNS calls per run, and the handler's time with them and without.

100 targets that each take 300 ms, every one UP (the steady state), checked
by the handler alone and by the handler keeping state and alerts, in runs
interleaved so the machine's drift falls on both. Then the worst run: 100
targets going DOWN at once (a transition write, a claim and a clearing
write each, and one publish in all).
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
from healthcheck.alerting.state_store import StateStore
from healthcheck.check.probe import Probe
from healthcheck.config import Settings
from healthcheck.history.record_store import ResultStore
from healthcheck.retrying import CLIENT_CONFIG
from localdev.dynamodb import create_results_table, create_state_table

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
    sns: Any = boto3.client("sns", endpoint_url=endpoint, config=CLIENT_CONFIG)
    topic = sns.create_topic(Name="bench-alerts")["TopicArn"]
    targets: list[object] = [{"name": f"t{i}", "url": f"{base_url}/slow?ms=300"} for i in range(100)]
    plain = Settings("bench-alerting", targets)
    with_state = Settings("bench-alerting", targets, state_table_name="bench-alerting-state", alert_topic_arn=topic)
    store = ResultStore(dynamodb, "bench-alerting")
    probe = Probe()
    minutes = iter(range(10_000))
    last: dict[str, Any] = {}

    def run(settings: Settings) -> None:
        state_store = StateStore(dynamodb, "bench-alerting-state") if settings.state_table_name else None
        notifier = Notifier(sns, topic) if settings.alert_topic_arn else None
        now = START + timedelta(minutes=next(minutes))
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
        assert summary["succeeded"] == len(settings.targets or []), summary
        last.update(store=state_store, notifier=notifier)

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
        finally:
            sys.stdout = stdout
    plain_s, state_s = statistics.median(plain_runs), statistics.median(state_runs)
    print(f"  steady state, 100 targets UP: calls per run {steady[0]}, SNS Publish {steady[1]}")
    print(
        f"  100 targets x 300 ms: handler {plain_s * 1000:.0f} ms without state, {state_s * 1000:.0f} ms with "
        f"state and alerts (medians of 5, interleaved)"
    )
    print(
        f"  100 targets DOWN at once: calls {state_store.calls}, SNS Publish {notifier.calls}, "
        f"handler {down_s * 1000:.0f} ms"
    )
    return state_s / plain_s
