"""`make export`: every check as `python -m healthcheck.export` prints it, on the embedded DynamoDB, with no AWS.

As `make report` does, it first runs its own short history: RUNS real check
cycles (default 3) of the stack's targets (or --url) through the real handler,
a minute apart ending now; then it prints the export over them, one JSON
object a line (or CSV), exactly as against a deployed stack's table.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from healthcheck.export import FORMATS, PERIODS
from healthcheck.export import main as export_main
from localdev.report import event_times, history, left_out
from localdev.run import TABLE_NAME, configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="check this one URL instead of the stack's targets")
    parser.add_argument("--stack", default="dev", help="the stack whose targets are checked; default dev")
    parser.add_argument("--runs", type=int, default=3, help="check cycles to run first, a minute apart; default 3")
    parser.add_argument("--target", action="append", default=[], help="this target's checks only (repeatable)")
    parser.add_argument("--since", choices=list(PERIODS), default="24h")
    parser.add_argument("--format", choices=FORMATS, default="jsonl")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    config = configure(args.url, args.stack)
    now = datetime.now(UTC)
    with history(config, args.runs, now) as client:
        left_out(args.runs, now, PERIODS[args.since], args.since)
        targets = [part for name in args.target for part in ("--target", name)]
        return export_main(
            ["--table", TABLE_NAME, "--since", args.since, "--format", args.format, *targets],
            client=client,
            now=event_times(args.runs, now)[-1],
        )


if __name__ == "__main__":
    sys.exit(main())
