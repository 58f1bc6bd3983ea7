"""Write units per run, as deployed: `python -m bench.records` (issue 16's bound: <= 8 for 100 targets at 1 minute).

What the stack gives the function: the targets split into schedules by infra's
``chunk_targets`` (shards of 100), each schedule's input (``schedule_input``,
its scheduled time filled in a minute apart), and the environment the Pulumi
program sets from the stack's config (``StackSettings.environment``:
``RETENTION_DAYS=90``...) with all three tables. Each run is the handler's own
(``check_and_record`` with the stores ``handler()`` builds) against HTTPS sites
answering in 40-600 ms with certificates 60 days from expiry, as real sites do:
a run item's size, and so its write units, depend on the digits of each entry.
Units are billed by DynamoDB's rules from what each call wrote (tests/write_units.py).

Two stacks: 100 targets (one shard) for three hours, so a steady hour and a day's
close are both measured; and 10,000 targets (20 shards of 500), of which the first and
the last shard run for two hours: every shard of a stack costs the same, so the
figure per 100 targets is a shard's, divided by its hundreds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

from healthcheck.alerting.state_store import StateStore
from healthcheck.check.probe import Probe
from healthcheck.config import Settings
from healthcheck.history import record_store, rollup_store
from healthcheck.history.record_store import ResultStore
from healthcheck.history.rollup_store import RollupStore
from infra.schedules import SCHEDULED_TIME, chunk_targets, schedule_input
from infra.settings import StackSettings
from localdev.dynamodb import (
    create_results_table,
    create_rollup_table,
    create_state_table,
    embedded_dynamodb,
    local_client,
    use_endpoint,
)
from tests.conftest import server_context
from tests.servers import FaultServer, running
from tests.write_units import WriteMeter

START = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
REGION = "us-east-1"


def stack_targets(count: int, base_url: str) -> list[dict[str, object]]:
    """``count`` targets as a stack lists them: named, each answering in its own time (40-600 ms)."""
    return [
        {"name": f"service-{number:05d}", "url": f"{base_url}/slow?ms={40 + (number * 37) % 560}"}
        for number in range(count)
    ]


@contextlib.contextmanager
def https_sites() -> Iterator[tuple[FaultServer, str]]:
    """A loopback HTTPS server whose certificate has 60 days left, and the CA file that trusts it."""
    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as scratch:
        ca_file = str(Path(scratch) / "ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        not_after = datetime.now(UTC) + timedelta(days=60, hours=12)
        with running(server_context(ca, "127.0.0.1", not_after=not_after)) as server:
            yield server, ca_file


def run_shard(
    endpoint: str, tables: dict[str, str], events: list[dict[str, object]], environment: dict[str, str], probe: Probe
) -> list[int]:
    """Every event of one shard through the handler, a minute apart from START: the write units of each run."""
    from healthcheck.handler import check_and_record  # builds its client at import: after the environment is set

    client = local_client("dynamodb", endpoint)
    meter = WriteMeter(client)
    settings = Settings.from_environ({**environment, "AWS_REGION": REGION})
    per_run: list[int] = []
    for minute, event in enumerate(events):
        moment = START + timedelta(minutes=minute)
        before = meter.total
        with contextlib.redirect_stdout(io.StringIO()):
            summary = check_and_record(
                {**event, "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")},
                None,
                settings=settings,
                probe=probe,
                store=ResultStore(client, tables["TABLE_NAME"]),
                now=moment,
                state_store=StateStore(client, tables["STATE_TABLE_NAME"]),
                rollups=RollupStore(client, tables["ROLLUP_TABLE_NAME"], tables["TABLE_NAME"]),
            )
        assert summary["failed"] == 0, summary
        per_run.append(meter.total - before)
    return per_run


def stack(count: int, base_url: str) -> tuple[list[dict[str, object]], dict[str, str]]:
    """The schedules' events (one per shard) and the function's environment, as the Pulumi program makes them."""
    settings = StackSettings.from_values(targets=stack_targets(count, base_url), schedule="rate(1 minute)")
    events = []
    for index, chunk in enumerate(chunk_targets(settings.targets)):
        rendered = schedule_input(list(chunk), shard=str(index + 1)).replace(SCHEDULED_TIME, "")
        events.append(json.loads(rendered))
    return events, settings.environment()


def measure(
    endpoint: str, name: str, count: int, shards: list[int], minutes: int, base_url: str, probe: Probe
) -> list[tuple[int, int, list[int]]]:
    """Per shard measured (1 is the first, -1 the last): its number, its targets and its write units per run."""
    tables = {
        key: f"bench-{name}-{key.split('_')[0].lower()}"
        for key in ("TABLE_NAME", "STATE_TABLE_NAME", "ROLLUP_TABLE_NAME")
    }
    create_results_table(endpoint, tables["TABLE_NAME"])
    create_state_table(endpoint, tables["STATE_TABLE_NAME"])
    create_rollup_table(endpoint, tables["ROLLUP_TABLE_NAME"])
    events, environment = stack(count, base_url)
    first = events[0]["targets"]
    assert isinstance(first, list)
    print(f"  {count} targets: {len(events)} schedule(s) of {len(first)} targets (infra's chunk_targets)")
    measured = []
    for shard in shards:
        number = shard if shard > 0 else len(events) + 1 + shard
        event = events[number - 1]
        record_store._stored_rosters.clear()  # a new execution environment for each shard measured
        rollup_store._known.clear()
        started = time.monotonic()
        per_run = run_shard(endpoint, tables, [event] * minutes, {**environment, **tables}, probe)
        targets = event["targets"]
        assert isinstance(targets, list)
        measured.append((number, len(targets), per_run))
        print(f"    shard {number}: {minutes} runs in {time.monotonic() - started:.0f} s")
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-10k", action="store_true", help="measure the 100-target stack only")
    args = parser.parse_args(argv)
    with https_sites() as (server, ca_file), embedded_dynamodb() as endpoint:
        use_endpoint(endpoint)
        probe = Probe(ca_certs=ca_file)
        print("records: write units per run, as deployed")
        [(_, _, hundred)] = measure(endpoint, "100", 100, [1], 180, server.base_url, probe)
        steady = hundred[60:120]  # 23:00-23:59: its 23:50 run summarises 22:00
        day_close = hundred[170] - statistics.median(steady)  # 00:50: 23:00 and the day close
        averaged = statistics.mean(steady) + day_close / 1440
        print(
            f"  100 targets at 1 minute: {statistics.mean(steady):.2f} write units a run in a steady hour "
            f"(run item {min(steady)}, the hour's rollups {max(steady) - min(steady)}), a day's close "
            f"{day_close:.0f} more: {averaged:.2f} a run averaged over a day (first run {hundred[0]}; "
            "issue 16's bound 8, main's 101.7)"
        )
        if not args.skip_10k:
            measured = measure(endpoint, "10k", 10_000, [1, -1], 120, server.base_url, probe)
            for number, targets, per_run in measured:
                hour = per_run[60:120]
                print(
                    f"  10,000 targets, shard {number} ({targets} targets): {statistics.mean(hour):.2f} write units "
                    f"a run, {statistics.mean(hour) * 100 / targets:.2f} per 100 targets in a steady hour "
                    "(issue 16's bound 5)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
