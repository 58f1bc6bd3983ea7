"""`make run`: one full check cycle on the embedded DynamoDB, printed as a table.

Checks the example stack's targets (Pulumi.dev.yaml), or one URL with --url,
through the real handler, then reads the records back from the table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import yaml

from localdev.dynamodb import create_results_table, embedded_dynamodb, use_endpoint

ROOT = Path(__file__).resolve().parent.parent
TABLE_NAME = "healthcheck-local"


def stack_targets(stack: str) -> list[object]:
    """The targets of stack ``stack`` (``Pulumi.<stack>.yaml``), as written there; the handler validates them."""
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise SystemExit(f"no {stack_file.name} here: STACK= names a stack whose Pulumi.<stack>.yaml is in {ROOT}")
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    # A bare key in a stack file is the project's, as the CLI reads it.
    targets = config.get("healthcheck:targets", config.get("targets"))
    if not isinstance(targets, list):
        raise SystemExit(f"{stack_file.name}: healthcheck:targets must be a list of targets")
    return targets


def format_table(items: list[dict[str, Any]]) -> str:
    header = ("target", "status", "duration", "success", "error")
    rows = [
        (
            item["Id"]["S"],
            item.get("Status", {}).get("N", "-"),
            f"{item['Duration']['N']} ms",
            "yes" if item["Success"]["BOOL"] else "NO",
            item.get("Error", {}).get("S", ""),
        )
        for item in items
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="check this one URL instead of the stack's targets")
    parser.add_argument("--stack", default="dev", help="check this stack's targets (Pulumi.<stack>.yaml); default dev")
    parser.add_argument("--event", type=Path, default=ROOT / "events" / "eventbridge.json")
    parser.add_argument("--verbose", action="store_true", help="also print the JSON line logged per check")
    args = parser.parse_args(argv)

    targets = [{"url": args.url}] if args.url else stack_targets(args.stack)
    event = json.loads(args.event.read_text())
    with embedded_dynamodb() as endpoint:
        use_endpoint(endpoint)
        create_results_table(endpoint, TABLE_NAME)
        os.environ["TABLE_NAME"] = TABLE_NAME
        os.environ["TARGETS"] = json.dumps(targets)
        from healthcheck.handler import handler  # after the environment is set: it builds its client at import

        print(f"checking {len(targets)} target(s), embedded DynamoDB at {endpoint}\n")
        logged = io.StringIO()
        with contextlib.redirect_stdout(logged):
            summary = handler(event, None)
        if args.verbose:
            print(logged.getvalue())
        items = boto3.client("dynamodb", endpoint_url=endpoint).scan(TableName=TABLE_NAME)["Items"]
    print(format_table(sorted(items, key=lambda item: item["Id"]["S"])))
    print(f"\nsummary: {json.dumps(summary)}")
    print(f"{len(items)} record(s) written to {TABLE_NAME} at {summary['timestamp']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
