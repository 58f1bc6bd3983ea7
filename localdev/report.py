"""`make report`: the uptime report on the embedded DynamoDB, with no AWS at all.

The embedded DynamoDB lives in `make run`'s process and its data dies with
it, so this runs its own short history first: RUNS real check cycles (default
20) of the stack's targets (or --url) through the real handler, into the
results and state tables, with event times a minute apart ending now. Then it
prints `python -m healthcheck.report` over them, with the stack's targets and
alerting settings, exactly as against a deployed stack. The figures are those
of real checks made by this machine a moment ago.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from healthcheck.history.report_format import FORMATS
from healthcheck.report import PERIODS, stack_info
from healthcheck.report import main as report_main
from localdev.dynamodb import create_results_table, create_state_table, embedded_dynamodb, use_endpoint
from localdev.run import STATE_TABLE_NAME, TABLE_NAME, configure
from localdev.stack import FunctionConfig

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent


def event_times(runs: int, now: datetime) -> list[datetime]:
    """``runs`` event times a minute apart, the last at ``now`` (whole seconds, as EventBridge sends)."""
    last = now.replace(microsecond=0)
    return [last - timedelta(minutes=runs - 1 - run) for run in range(runs)]


@contextlib.contextmanager
def history(config: FunctionConfig, runs: int, now: datetime) -> Iterator[DynamoDBClient]:
    """An embedded DynamoDB holding ``runs`` real check cycles of ``config``'s targets, the last at ``now``."""
    targets = config.targets
    event = json.loads((ROOT / "events" / "eventbridge.json").read_text())
    with embedded_dynamodb() as endpoint:
        use_endpoint(endpoint)
        create_results_table(endpoint, TABLE_NAME)
        create_state_table(endpoint, STATE_TABLE_NAME)
        os.environ.update(config.environment(), TABLE_NAME=TABLE_NAME, STATE_TABLE_NAME=STATE_TABLE_NAME)
        os.environ.pop("ALERT_TOPIC_ARN", None)
        from healthcheck.handler import handler  # after the environment is set: it builds its client at import

        times = event_times(runs, now)
        live = sys.stderr.isatty()  # a pipe or CI log gets one line, not a carriage-return per cycle
        for run, moment in enumerate(times, start=1):
            if live:
                print(f"\rcheck cycle {run}/{len(times)} ({len(targets)} target(s))", end="", file=sys.stderr)
            with contextlib.redirect_stdout(io.StringIO()):  # the function's JSON lines: not the report
                handler({**event, "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}, None)
        print(("\r" if live else "") + f"ran {len(times)} check cycle(s) of {len(targets)} target(s)", file=sys.stderr)
        yield boto3.client("dynamodb", endpoint_url=endpoint)


def left_out(runs: int, now: datetime, period: timedelta, label: str) -> None:
    """Say so when some of the cycles run fall before the period shown."""
    times = event_times(runs, now)
    outside = sum(1 for moment in times if moment < times[-1] - period)
    if outside:
        print(f"{outside} check cycle(s) fall before the last {label}: the report leaves them out", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="check this one URL instead of the stack's targets")
    parser.add_argument("--stack", default="dev", help="the stack whose targets are checked; default dev")
    parser.add_argument("--runs", type=int, default=20, help="check cycles to run first, a minute apart; default 20")
    parser.add_argument("--since", choices=list(PERIODS), default="1h")
    parser.add_argument("--format", choices=FORMATS, default="table")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    config = configure(args.url, args.stack)
    now = datetime.now(UTC)
    with history(config, args.runs, now) as client:
        left_out(args.runs, now, PERIODS[args.since], args.since)
        return report_main(
            ["--table", TABLE_NAME, "--state-table", STATE_TABLE_NAME, "--since", args.since, "--format", args.format],
            client=client,
            now=event_times(args.runs, now)[-1],
            stack=stack_info(config.report_config()),
        )


if __name__ == "__main__":
    sys.exit(main())
