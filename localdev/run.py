"""`make run`: one full check cycle on the embedded DynamoDB, printed as a table.

Checks the example stack's targets (Pulumi.dev.yaml), or one URL with --url,
through the real handler, then reads the records back from the table, shows
each target's state, and prints the alerts it would have sent (no topic is
configured locally). ``--runs N`` runs N cycles a minute apart (event time),
so a failing target can reach its failure threshold.

The event times end now, as the schedule's would, so maintenance windows and
the state's "since" read as they will deployed. ``--event FILE`` invokes with
that event and its own time instead: the repo's sample (2015) is recorded, but
moves no state, as a deployed function treats an event that old.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from healthcheck.config import Settings
from healthcheck.event import format_timestamp
from healthcheck.history.reader import Check, checks
from healthcheck.status import page_html
from localdev.dynamodb import (
    create_results_table,
    create_rollup_table,
    create_state_table,
    embedded_dynamodb,
    use_endpoint,
)
from localdev.local_secrets import DEFAULT_FILE, LocalSecrets, LocalSecretsError, describe, load_local_secrets, seed
from localdev.stack import ROOT, FunctionConfig, StackError, load_stack, url_config

TABLE_NAME = "healthcheck-local"
STATE_TABLE_NAME = "healthcheck-local-state"
ROLLUP_TABLE_NAME = "healthcheck-local-rollups"
SAMPLE_EVENT = ROOT / "events" / "eventbridge.json"


def event_times(runs: int, first: datetime | None) -> list[str]:
    """``runs`` event times a minute apart: from ``first`` on, or ending now (whole seconds, as Scheduler sends)."""
    if first is None:
        first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=runs - 1)
    return [format_timestamp(first + timedelta(minutes=run)) for run in range(runs)]


def _event_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # UTC, as the function reads it


def configure(url: str | None, stack: str) -> FunctionConfig:
    """What the function runs with: one --url, or the stack's config; a bad stack: a line per mistake, exit 1."""
    if url:
        return url_config(url)
    try:
        return load_stack(stack)
    except StackError as exc:
        raise SystemExit("\n".join(f"error: {message}" for message in exc.messages)) from None


def local_secrets(path: Path) -> LocalSecrets:
    """The values the embedded SSM and Secrets Manager hold (none without the file); a bad file: one line, exit 1."""
    try:
        return load_local_secrets(path, os.environ)
    except LocalSecretsError as exc:
        raise SystemExit(f"error: {exc}") from None


def secrets_note(config: FunctionConfig, held: LocalSecrets) -> str | None:
    """Say up front where each secret reference is read from, and which targets will fail for want of one."""
    if not config.secret_refs:
        return None
    lines = describe(config.secret_refs, held)
    return "\n".join(
        (
            f"{len(lines)} secret(s) referenced, read from the embedded SSM and Secrets Manager (AWS is never called):",
            *lines,
        )
    )


def format_states(items: list[dict[str, Any]], names: list[str], invalid: frozenset[str] = frozenset()) -> str:
    """Each target's state after the run; a target with no item is UP (nothing has happened to it).

    An ``invalid`` target is never checked, so it has no state to show.
    """
    by_name = {item["Id"]["S"]: item for item in items}
    lines = []
    for name in names:
        item = by_name.get(name)
        if name in invalid:
            lines.append(f"{name}: not checked (invalid target, see its error)")
            continue
        if item is None:
            lines.append(f"{name}: UP")
            continue
        state = item["State"]["S"]
        detail = []
        if item.get("Since"):
            detail.append(f"since {item['Since']['S']}")
        if state == "UP" and item["Failures"]["N"] != "0":
            detail.append(f"{item['Failures']['N']} failure(s) in a row")
        if state == "DOWN" and item["Successes"]["N"] != "0":
            detail.append(f"{item['Successes']['N']} success(es) in a row")
        lines.append(f"{name}: {state}" + (f" ({', '.join(detail)})" if detail else ""))
    return "\n".join(lines)


def _verdict(check: Check) -> str:
    """yes or NO; a failure that moves no state says why (our fault, or a maintenance window)."""
    if check.success:
        return "yes"
    if check.maintenance:
        return "no (maintenance)"
    if check.inconclusive:
        return "no (inconclusive)"
    return "NO"


def format_table(recorded: list[Check]) -> str:
    header = ("target", "status", "duration", "success", "error")
    rows = [
        (
            check.target,
            str(check.status) if check.status is not None else "-",
            f"{check.duration_ms} ms",
            _verdict(check),
            check.error or "",
        )
        for check in recorded
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_status_page(path: Path, now: datetime) -> None:
    """The status page as the status function renders it, at the run's event time (the records' clock)."""
    path.write_text(page_html(Settings.from_environ(os.environ), now, time.monotonic() + 30), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="check this one URL instead of the stack's targets")
    parser.add_argument("--stack", default="dev", help="check this stack's targets (Pulumi.<stack>.yaml); default dev")
    parser.add_argument(
        "--event",
        type=Path,
        help="invoke with this event and its own time (e.g. events/eventbridge.json); default: that event, "
        "at the current time",
    )
    parser.add_argument(
        "--secrets",
        type=Path,
        default=ROOT / DEFAULT_FILE,
        help=f"values for the stack's secret references, put in the embedded SSM and Secrets Manager; {DEFAULT_FILE}",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print the JSON lines the function logs, a line for every check"
    )
    parser.add_argument("--runs", type=int, default=1, help="run this many cycles, a minute apart; default 1")
    parser.add_argument(
        "--status-html", type=Path, default=ROOT / "status.html", help="write the status page here; default status.html"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    config = configure(args.url, args.stack)
    held = local_secrets(args.secrets)
    event = json.loads((args.event or SAMPLE_EVENT).read_text())
    times = event_times(args.runs, _event_time(event["time"]) if args.event else None)
    alerts: list[dict[str, Any]] = []
    with embedded_dynamodb() as endpoint:
        use_endpoint(endpoint)
        try:
            seed(held, endpoint)
        except LocalSecretsError as exc:
            raise SystemExit(f"error: {exc}") from None
        create_results_table(endpoint, TABLE_NAME)
        create_state_table(endpoint, STATE_TABLE_NAME)
        create_rollup_table(endpoint, ROLLUP_TABLE_NAME)
        os.environ.update(
            config.environment(),
            TABLE_NAME=TABLE_NAME,
            STATE_TABLE_NAME=STATE_TABLE_NAME,
            ROLLUP_TABLE_NAME=ROLLUP_TABLE_NAME,
            STATUS_SHOW_URLS="true",  # a local page: the URLs are yours
        )
        os.environ.pop("ALERT_TOPIC_ARN", None)  # no topic: the alerts are printed instead
        if args.verbose:
            os.environ["LOG_CHECKS"] = "all"  # a line for every check, not only those that did not pass
        from healthcheck.handler import handler  # after the environment is set: it builds its client at import

        note = secrets_note(config, held)
        if note:
            print(note)
        print(f"checking {len(config.targets)} target(s), embedded DynamoDB at {endpoint}\n")
        for moment in times:
            logged = io.StringIO()
            with contextlib.redirect_stdout(logged):
                summary = handler({**event, "time": moment}, None)
            if args.verbose:
                print(logged.getvalue())
            lines = [json.loads(line) for line in logged.getvalue().splitlines() if line.startswith("{")]
            alerts += [line for line in lines if line.get("type") == "alert"]
        client = boto3.client("dynamodb", endpoint_url=endpoint)
        stamp = str(summary["timestamp"])
        # Read back as every reader of records reads them: the run's item, and the failures' items.
        latest = list(checks(client, TABLE_NAME, since=stamp, until=stamp))
        states = client.scan(TableName=STATE_TABLE_NAME)["Items"]
        write_status_page(args.status_html, datetime.fromisoformat(stamp) + timedelta(seconds=1))
    print(format_table(sorted(latest, key=lambda check: check.target)))
    print(f"\nsummary: {json.dumps(summary)}")
    failures = sum(1 for check in latest if not check.success or check.inconclusive)
    print(f"{len(latest)} check(s) recorded in {TABLE_NAME} at {stamp}: a run item, and {failures} failure item(s)")
    names = sorted(check.target for check in latest)
    invalid = frozenset(check.target for check in latest if (check.error or "").startswith("invalid target: "))
    print(f"\nstate after {args.runs} run(s):\n{format_states(states, names, invalid)}")
    if alerts:
        print("\nno alert topic is configured locally; these alerts would have been sent:")
        for alert in alerts:
            print(f"\n=== {alert['subject']} ===\n{alert['text']}")
    print(f"\nstatus page: {args.status_html.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
