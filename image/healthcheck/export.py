"""`python -m healthcheck.export`: every check of the period, one JSON object a line (or CSV), from the results table.

The contract for whoever reads records without our code (README "Export"):
each object has ``target``, ``time``, ``url``, ``success``, ``durationMs``,
``status``, ``error``, ``failures``, ``inconclusive``, ``maintenance``,
``certDaysLeft``, ``tlsVerified`` and ``region``, a key left out when it does
not apply (``status`` without a response, ``error`` and ``failures`` for a
pass, ``certDaysLeft`` but over verified HTTPS). Lines come in order of time,
then region, then target, as they are read: a long export never waits for
the end of the table, nor holds it in memory. Reads go through
``history.reader`` (rosters, run items, failure items; never a ``Scan``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from .event import format_timestamp
from .exceptions import ConfigError
from .history.reader import Check, checks, rosters
from .history.report_format import csv_cell, json_line, terminal_text
from .report import no_such_target, pulumi_config, stack_tables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["FIELDS", "PERIODS", "main", "write_csv", "write_jsonl"]

PERIODS: Final = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
FORMATS: Final = ("jsonl", "csv")
# Every key of the contract, in the order CSV columns take.
FIELDS: Final = (
    "target",
    "time",
    "url",
    "success",
    "durationMs",
    "status",
    "error",
    "failures",
    "inconclusive",
    "maintenance",
    "certDaysLeft",
    "tlsVerified",
    "region",
)


def write_jsonl(read: Iterable[Check], out: TextIO) -> int:
    """One object a line; returns how many."""
    count = 0
    for check in read:
        out.write(json_line(check.to_json()) + "\n")
        count += 1
    return count


def _csv_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the JSON says it
    if isinstance(value, list):
        return " | ".join(str(line) for line in value)
    return value


def write_csv(read: Iterable[Check], out: TextIO) -> int:
    """A header, then a row per check (an empty cell: the key does not apply); a text that a spreadsheet
    would run as a formula starts with ``'``, and nothing in a cell can drive a terminal."""
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for check in read:
        writer.writerow({key: csv_cell(_csv_value(value)) for key, value in check.to_json().items()})
        count += 1
    return count


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m healthcheck.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", help="the results table (default: the stack's tableName output)")
    parser.add_argument("--target", action="append", default=[], help="this target's checks only (repeatable)")
    parser.add_argument("--since", choices=list(PERIODS), default="24h", help="the period up to now; default 24h")
    parser.add_argument("--format", choices=FORMATS, default="jsonl", dest="output_format")
    parser.add_argument(
        "--region", help="the table's AWS region (default: the stack's aws:region, else your AWS configuration's)"
    )
    return parser


def export(
    client: DynamoDBClient,
    table: str,
    *,
    since: str,
    now: datetime,
    only: Sequence[str],
    output_format: str,
    out: TextIO,
) -> int:
    """Write the checks from ``now - since`` to ``now`` (both included); returns how many."""
    found = rosters(client, table)
    for name in only:
        if name not in found.names:
            raise no_such_target(name, sorted(found.names), since)
    read = checks(
        client,
        table,
        since=format_timestamp(now - PERIODS[since]),
        until=format_timestamp(now),
        names=list(only) or None,
        found=found,
    )
    return (write_csv if output_format == "csv" else write_jsonl)(read, out)


def main(
    argv: Sequence[str] | None = None,
    *,
    client: DynamoDBClient | None = None,
    now: datetime | None = None,
    out: TextIO | None = None,
) -> int:
    """The CLI. ``client`` and ``now`` are for callers that have them (``make export``, tests)."""
    args = parser().parse_args(argv)
    out = out or sys.stdout
    try:
        table = args.table
        region: str | None = args.region
        if not table:
            table = stack_tables()[0]
            region = region or pulumi_config()[1]
        if client is None:
            import boto3  # here, so --help and argument errors need no AWS setup

            # The stack's region, not whatever the shell's default is: the table is where the stack is.
            client = boto3.client("dynamodb", region_name=region)
        export(
            client,
            table,
            since=args.since,
            now=now or datetime.now(UTC),
            only=args.target,
            output_format=args.output_format,
            out=out,
        )
    except ConfigError as exc:
        _error(str(exc))
        return 2
    except (ClientError, BotoCoreError) as exc:  # no credentials, no such table, no access: one line, no traceback
        region_name = getattr(getattr(client, "meta", None), "region_name", None)
        where = f"region {region_name}" if region_name else "no region set: pass --region"
        _error(f"reading from DynamoDB failed ({where}): {exc}")
        return 1
    except BrokenPipeError:
        # `... | head` has all it wanted: stop, and leave the exit no flush into the closed pipe (Python's advice).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def _error(message: str) -> None:
    """One line on stderr, with nothing in it that could drive the terminal."""
    print(f"healthcheck export: {terminal_text(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
