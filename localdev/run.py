"""`make run`: one full check cycle on the embedded DynamoDB, printed as a table.

Checks the example stack's targets (Pulumi.dev.yaml), or one URL with --url,
through the real handler, then reads the records back from the table, shows
each target's state, and prints the alerts it would have sent (no topic is
configured locally). ``--runs N`` runs N cycles a minute apart (event time),
so a failing target can reach its failure threshold.

``--regions a,b,c`` runs each region's checker as deployed (the handler with that
region's environment: its AWS_REGION, REGIONS, HOME_REGION the local stack's) against the
one embedded DynamoDB, every region at each event time in turn; ``--cut b`` makes
that region's network fail inside this process only (every connection it opens,
its canary's included, goes to a closed port), as a region's own outage would.

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
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from healthcheck.config import Settings
from healthcheck.event import format_timestamp
from healthcheck.history.reader import Check, checks
from healthcheck.status import page_html
from localdev.dynamodb import (
    LOCAL_AWS_ENV,
    create_results_table,
    create_rollup_table,
    create_state_table,
    embedded_dynamodb,
    use_endpoint,
)
from localdev.local_secrets import DEFAULT_FILE, LocalSecrets, LocalSecretsError, describe, load_local_secrets, seed
from localdev.quiet_http import QuietHandler, QuietServer
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
        if item.get("Regions"):
            detail.append(f"failing from {item['Regions']['S'].replace(',', ', ')}")
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


def parse_regions(text: str | None, cut: str | None) -> tuple[str, ...]:
    """The --regions list (none: the one local region, as before); --cut must name one of them."""
    regions = tuple(name.strip() for name in (text or "").split(",") if name.strip())
    if len(set(regions)) != len(regions):
        raise SystemExit(f"error: --regions names a region twice: {text}")
    # By the stack's own rules (a typo would reach the embedded DynamoDB as a region it does not know).
    from infra.regions import region_mistakes

    mistakes = [
        mistake.replace("healthcheck:regions", "--regions") for mistake in region_mistakes(list(regions), HOME_REGION)
    ]
    if mistakes:
        raise SystemExit("\n".join(f"error: {mistake}" for mistake in mistakes))
    if cut is not None and cut not in regions:
        raise SystemExit(f"error: --cut {cut} is not one of --regions ({', '.join(regions) or 'none given'})")
    return regions


# Nothing listens here: every connection through it is refused, as a cut region's are.
CLOSED_PORT_PROXY = "http://127.0.0.1:9"


def cut_network(region: str) -> None:
    """Make every check of ``region``'s probe (canary included) fail to connect: this process only."""
    from urllib3 import ProxyManager

    from healthcheck import handler as entrypoint

    probe = entrypoint._probe_for(region)
    probe._http = ProxyManager(CLOSED_PORT_PROXY, retries=False)


class _CanaryHandler(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.reply(204)


@contextlib.contextmanager
def local_canary() -> Iterator[str]:
    """A connectivity check every region's network reaches, unless it is cut: a server on 127.0.0.1."""
    server = QuietServer(("127.0.0.1", 0), _CanaryHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# The local stack's own region: where the embedded DynamoDB's tables are, whichever regions check.
HOME_REGION = LOCAL_AWS_ENV["AWS_REGION"]


def region_environment(region: str, regions: tuple[str, ...]) -> dict[str, str]:
    """What the stack gives a region's function (issue 17): its own AWS_REGION, the same REGIONS and HOME_REGION."""
    return {"AWS_REGION": region, "REGIONS": ",".join(regions), "HOME_REGION": HOME_REGION}


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
    parser.add_argument("--regions", help="run each of these regions' checkers (comma-separated), as deployed")
    parser.add_argument("--cut", help="make this region's network fail (one of --regions)")
    parser.add_argument(
        "--status-html", type=Path, default=ROOT / "status.html", help="write the status page here; default status.html"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    regions = parse_regions(args.regions, args.cut)
    config = configure(args.url, args.stack)
    held = local_secrets(args.secrets)
    event = json.loads((args.event or SAMPLE_EVENT).read_text())
    times = event_times(args.runs, _event_time(event["time"]) if args.event else None)
    alerts: list[dict[str, Any]] = []
    with embedded_dynamodb() as endpoint, contextlib.ExitStack() as servers:
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

        if regions and not os.environ.get("CONNECTIVITY_CHECK"):
            # Without a canary, a cut region's failures are not known to be its own (see README, "Regions").
            os.environ["CONNECTIVITY_CHECK"] = servers.enter_context(local_canary())
            print(f"connectivity check: {os.environ['CONNECTIVITY_CHECK']} (a local stand-in: the stack sets none)")
        if args.cut:
            cut_network(args.cut)
        note = secrets_note(config, held)
        if note:
            print(note)
        where = f" from {len(regions)} regions ({', '.join(regions)})" if regions else ""
        print(f"checking {len(config.targets)} target(s){where}, embedded DynamoDB at {endpoint}\n")
        if args.cut:
            print(f"{args.cut}: network cut (every connection refused, its canary's too)\n")
        for moment in times:
            for region in regions or (None,):
                if region is not None:
                    os.environ.update(region_environment(region, regions))
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
    if regions:
        for region in regions:
            own = [check for check in latest if check.region == region]
            blind = bool(own) and all(check.inconclusive for check in own)
            note = " (network cut)" if region == args.cut else ""
            print(f"{region}:{note}" + (" impaired: no answer, canary included; it does not vote" if blind else ""))
            print(format_table(sorted(own, key=lambda check: check.target)) + "\n")
        latest = [check for check in latest if check.region == regions[-1]]  # the names, once
    else:
        print(format_table(sorted(latest, key=lambda check: check.target)))
    print(f"\nsummary: {json.dumps(summary)}")
    failures = sum(1 for check in latest if not check.success or check.inconclusive)
    if not regions:
        print(f"{len(latest)} check(s) recorded in {TABLE_NAME} at {stamp}: a run item, and {failures} failure item(s)")
    else:
        print(f"{len(regions)} run item(s) recorded in {TABLE_NAME} at {stamp}, one per region")
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
