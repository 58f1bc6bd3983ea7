"""`python -m healthcheck.report`: uptime, latency percentiles and incidents per target, from the tables.

Reads the checks through ``history.reader``: the roster items (one ``Query``)
say which shards hold the targets, then each such shard's run items in the
period (one ``Query``, paged) and the failure items of the targets that failed
(one ``Query`` each); never a ``Scan`` of the results. The state table gives
each target's current state. Table names come from ``--table``/``--state-table``,
else from ``pulumi stack output`` (``tableName``, ``stateTableName``). Target
names come from ``--target``, else from the stack's ``targets`` config
(``pulumi config``) together with the state table's items.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from .alerting.policy import DEFAULT_POLICY, AlertPolicy, PolicyValueError, parse_policy
from .alerting.state import TargetState
from .check.targets import parse_targets
from .event import format_timestamp
from .exceptions import ConfigError
from .history.progress import Progress
from .history.reader import checks, read_states, rosters
from .history.report_format import FORMATS, ReportData, TargetReport, render, terminal_text
from .history.uptime import Replay, Sparkline, Tally

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["PERIODS", "StackInfo", "build_report", "main", "no_such_target", "pulumi_config", "stack_tables"]

PERIODS: Final = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
NAMESPACE: Final = "healthcheck:"


@dataclass(frozen=True, slots=True)
class StackInfo:
    """What the report needs to know of the stack: target names and each target's alert policy."""

    names: tuple[str, ...] = ()
    policies: dict[str, AlertPolicy] = field(default_factory=dict)
    default_policy: AlertPolicy = DEFAULT_POLICY

    def policy(self, name: str) -> AlertPolicy:
        return self.policies.get(name, self.default_policy)


def stack_info(config: dict[str, Any]) -> StackInfo:
    """From a stack's config values (keys without the namespace): the targets and alerting settings."""
    try:
        default = parse_policy(config["alerting"]) if "alerting" in config else DEFAULT_POLICY
    except PolicyValueError as exc:
        raise ConfigError(f"alerting: {exc}") from exc
    raw = config.get("targets")
    parsed = parse_targets(raw if isinstance(raw, list) else [])
    names = [target.name for target in parsed.valid] + [bad.label for bad in parsed.invalid if bad.recordable]
    policies = {
        target.name: default.for_target(target.failure_threshold, target.success_threshold, target.remind_every_minutes)
        for target in parsed.valid
    }
    return StackInfo(tuple(names), policies, default)


def no_such_target(name: str, known: Sequence[str], period: str) -> ConfigError:
    """A name nothing knows (no stack target, no state, no roster: no record ever), with the close one."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"the targets are {', '.join(sorted(set(known))[:20])}"
    return ConfigError(f"no target named {name!r} and no records of one in the last {period}: {hint}")


def build_report(
    client: DynamoDBClient,
    table: str,
    state_table: str | None,
    *,
    period: str,
    now: datetime,
    stack: StackInfo,
    only: Sequence[str] = (),
    progress: Progress | None = None,
    page_size: int | None = None,
) -> ReportData:
    """Every target's figures for the ``period`` up to ``now``; ``only`` limits it to those names."""
    end = format_timestamp(now)
    start = format_timestamp(now - PERIODS[period])
    states: dict[str, TargetState] = read_states(client, state_table) if state_table else {}
    names = list(dict.fromkeys(only)) or list(dict.fromkeys([*stack.names, *sorted(states)]))
    if not names:
        raise ConfigError("no targets to report on: pass --target NAME (the stack's targets config was not found)")
    found = rosters(client, table)
    # A target renamed or removed still has its history (its rosters name it); a typo has none.
    known = [*stack.names, *states, *sorted(found.names)]
    for name in names:
        if known and name not in known:
            raise no_such_target(name, known, period)
    progress = progress or Progress()
    tallies = {name: Tally() for name in names}
    by_region: dict[str, dict[str, Tally]] = {name: {} for name in names}
    lines = {name: Sparkline(start, end) for name in names}
    replays: dict[str, Replay] = {}
    for name in names:
        stored = states.get(name)
        # An outage the state table says began before the window is still open at its start.
        initial = None
        if stored is not None and stored.state == "DOWN" and stored.since is not None and stored.since < start:
            initial = TargetState("DOWN", stored.since)
        replays[name] = Replay(name, stack.policy(name), initial)
    read = checks(
        client, table, since=start, until=end, names=names, on_page=progress.page, page_size=page_size, found=found
    )
    for check in read:  # in order of time: each target's checks oldest first, as the state rules want them
        tallies[check.target].add(check)
        by_region[check.target].setdefault(check.region or "-", Tally()).add(check)
        lines[check.target].add(check)
        replays[check.target].add(check)
    progress.close()
    targets: list[TargetReport] = []
    incidents = []
    for name in names:
        replayed = replays[name]
        # The state table is the truth for the current state; without it, the records replayed say it.
        current = states.get(name) or replayed.state
        regions = by_region[name]
        own = tuple((region, regions[region].figures()) for region in sorted(regions)) if len(regions) > 1 else ()
        figures = tallies[name].figures()
        targets.append(TargetReport(name, current.state, current.since, figures, lines[name].text(), own))
        incidents += replayed.incidents()
    incidents.sort(key=lambda incident: (incident.start, incident.target))
    return ReportData(period, start, end, tuple(targets), tuple(incidents))


def _pulumi_json(args: list[str], what: str) -> Any:
    if shutil.which("pulumi") is None:
        raise ConfigError(f"the pulumi CLI is not installed, so {what} cannot be read from the stack: {_HINT}")
    command = ["pulumi", *args, "--json"]  # our own arguments; pulumi from PATH, as the user runs it
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise ConfigError(f"`pulumi {' '.join(args)}` failed ({done.stderr.strip()[:300]}): {_HINT}")
    return json.loads(done.stdout or "null")


_HINT: Final = "pass --table (and --state-table), and --target NAME"


def stack_tables() -> tuple[str, str | None]:
    """``tableName`` and ``stateTableName`` from ``pulumi stack output``."""
    outputs = _pulumi_json(["stack", "output"], "the table names") or {}
    table = outputs.get("tableName")
    if not isinstance(table, str):
        raise ConfigError(f"the stack has no tableName output: {_HINT}")
    state = outputs.get("stateTableName")
    return table, state if isinstance(state, str) else None


def pulumi_config() -> tuple[dict[str, Any], str | None]:
    """The stack's config (``pulumi config --json``), keys without the namespace, values parsed; and its aws:region."""
    raw = _pulumi_json(["config"], "the targets") or {}
    region_entry = raw.get("aws:region")
    region = region_entry.get("value") if isinstance(region_entry, dict) else None
    config: dict[str, Any] = {}
    for key, entry in raw.items():
        if not key.startswith(NAMESPACE) or not isinstance(entry, dict):
            continue
        value = entry.get("objectValue", entry.get("value"))
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # a plain string value
                value = json.loads(value)
        config[key.removeprefix(NAMESPACE)] = value
    return config, region if isinstance(region, str) and region else None


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m healthcheck.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", choices=list(PERIODS), default="24h", help="the period up to now; default 24h")
    parser.add_argument("--target", action="append", default=[], help="report on this target only (repeatable)")
    parser.add_argument("--format", choices=FORMATS, default="table", dest="output_format")
    parser.add_argument("--table", help="the results table (default: the stack's tableName output)")
    parser.add_argument("--state-table", help="the state table (default: the stack's stateTableName output)")
    parser.add_argument(
        "--region", help="the tables' AWS region (default: the stack's aws:region, else your AWS configuration's)"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    client: DynamoDBClient | None = None,
    now: datetime | None = None,
    stack: StackInfo | None = None,
) -> int:
    """The CLI. ``client``, ``now`` and ``stack`` are for callers that have them (``make report``, tests)."""
    args = parser().parse_args(argv)
    try:
        if args.table:
            table, state_table = args.table, args.state_table
        else:
            table, state_table = stack_tables()
            state_table = args.state_table or state_table
        region: str | None = args.region
        if stack is None:
            # Named targets with a named table need nothing from the stack (its thresholds are then the defaults).
            if args.target and args.table:
                stack = StackInfo()
            else:
                config, stack_region = pulumi_config()
                stack, region = stack_info(config), region or stack_region
        if client is None:
            import boto3  # here, so --help and argument errors need no AWS setup

            # The stack's region, not whatever the shell's default is: the tables are where the stack is.
            client = boto3.client("dynamodb", region_name=region)
        data = build_report(
            client,
            table,
            state_table,
            period=args.since,
            now=now or datetime.now(UTC),
            stack=stack,
            only=args.target,
        )
    except ConfigError as exc:
        _error(str(exc))  # it may name targets from the stack, the state table or the records
        return 2
    except (ClientError, BotoCoreError) as exc:  # no credentials, no such table, no access: one line, no traceback
        region_name = getattr(getattr(client, "meta", None), "region_name", None)
        where = f"region {region_name}" if region_name else "no region set: pass --region"
        _error(f"reading from DynamoDB failed ({where}): {exc}")
        return 1
    print(render(data, args.output_format))
    for target in data.targets:
        if not target.figures.checks:
            # Without the stack's targets or a state table a typo can't be told apart; say so beside the empty row.
            _error(
                f"no records of {target.name!r} in the last {data.period}: "
                "a misspelt name, a target added since, or a monitor that has not run"
            )
    return 0


def _error(message: str) -> None:
    """One line on stderr, with nothing in it that could drive the terminal."""
    print(f"healthcheck report: {terminal_text(message)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
