"""The README's cost table, worked out from the scale benchmark's measured counts and AWS's list prices.

``python -m bench.costs [RESULTS.json]`` (``make bench-scale`` runs it last) reads what
bench/scale.py measured for each size of stack and prints, for each size at 1 and 5 minutes,
a line per cost: every figure is a count the benchmark measured (per run, per shard, per
check) times a published price. Nothing here is assumed but the prices, the month (730 hours,
as AWS's pricing pages count it) and the stack's defaults (512 MB, records kept 90 days, logs
30 days).

Prices are us-east-1 list prices without free tiers:
https://aws.amazon.com/lambda/pricing/ (arm64), https://aws.amazon.com/dynamodb/pricing/on-demand/,
https://aws.amazon.com/eventbridge/pricing/ (Scheduler), https://aws.amazon.com/cloudwatch/pricing/,
https://aws.amazon.com/sns/pricing/, https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer out).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scale import DEFAULT_OUT, MEMORY_SIZES, Invocation, projected_duration_s
from healthcheck import metrics
from healthcheck.check.probe import CheckResult
from infra.alarms import alarm_specs

__all__ = ["PRICES", "Costs", "costs", "main"]

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GB = 1e9
# Per TCP segment a client sends: IPv4 (20) and TCP (20) headers and the timestamp option (12).
SEGMENT_HEADER_BYTES = 52
# Segments loopback does not show: the FIN and the last ACK, and about two ACKs for a
# certificate flight that spans several 1,460-byte segments on the Internet (one on loopback).
UNSEEN_SEGMENTS = 4


@dataclass(frozen=True, slots=True)
class Prices:
    lambda_gb_s: float = 0.0000133334  # arm64
    lambda_request: float = 0.20 / 1e6
    write_unit: float = 0.625 / 1e6
    read_unit: float = 0.125 / 1e6
    storage_gb_month: float = 0.25
    pitr_gb_month: float = 0.20
    scheduler_invocation: float = 1.00 / 1e6
    logs_ingested_gb: float = 0.50
    logs_stored_gb_month: float = 0.03
    metric_month: float = 0.30
    alarm_month: float = 0.10
    sns_publish: float = 0.50 / 1e6
    egress_gb: float = 0.09


PRICES = Prices()


@dataclass(frozen=True, slots=True)
class Costs:
    """One stack size at one interval: dollars a month, per line."""

    targets: int
    interval_min: int
    shards: int
    lambda_: float
    writes: float
    reads: float
    storage: float
    pitr: float
    rollups: float
    logs: float
    scheduler: float
    sns: float
    fixed: float
    egress: float
    egress_bytes_per_check: float

    @property
    def variable(self) -> float:
        """What grows with targets: every line but the alarms and metrics, and egress."""
        return (
            self.lambda_
            + self.writes
            + self.reads
            + self.storage
            + self.pitr
            + self.rollups
            + self.logs
            + self.scheduler
            + self.sns
        )

    @property
    def per_100(self) -> float:
        return self.variable / self.targets * 100


def _invocation(raw: dict[str, Any]) -> Invocation:
    return Invocation(**raw)


def _units(invocation: dict[str, Any], roles: Iterable[str], kind: str) -> float:
    return sum(float(invocation["units"].get(role, {}).get(kind, 0.0)) for role in roles)


def fixed_monthly(shards: int, prices: Prices = PRICES) -> float:
    """The alarms and custom metrics a stack keeps, counted from the code that makes them."""
    run = metrics.documents(
        [CheckResult("t", "https://t.example/", True, 1)],
        timestamp_ms=0,
        run_duration_ms=0,
        targets_down=0,
        per_target=False,
    )
    names = {metric["Name"] for document in run for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}  # type: ignore[index]
    alarms, _ = alarm_specs("rate(1 minute)", shards)
    return len(names) * prices.metric_month + len(alarms) * prices.alarm_month


def egress_per_check(size: dict[str, Any]) -> float:
    """Bytes a check sends out, averaged over the measured mix: payload and TCP/IP headers."""
    total = checks = 0.0
    for tally in size["sites"].values():
        if not tally["answered"]:
            continue
        per_check = tally["answered_payload_bytes"] / tally["answered"]
        segments = tally["segments"] / tally["answered"] + UNSEEN_SEGMENTS
        total += tally["connections"] * (per_check + segments * SEGMENT_HEADER_BYTES)
        checks += tally["connections"]
    return total / checks if checks else 0.0


def costs(size: dict[str, Any], interval_min: int, memory_mb: int = 512, prices: Prices = PRICES) -> Costs:
    """Monthly costs of the measured stack ``size`` run every ``interval_min`` minutes."""
    runs = HOURS_PER_MONTH * 60 / interval_min
    shards = size["shards"]
    steady = [next(i for i in shard["invocations"] if i["label"] == "steady") for shard in shards]
    targets = int(size["targets"])
    lambda_s = sum(
        projected_duration_s(_invocation(run), memory_mb, float(shard["wait_s"]), float(size.get("timeout_s", 900)))
        for shard, run in zip(shards, steady, strict=True)
    )
    lambda_ = (lambda_s * memory_mb / 1024 * prices.lambda_gb_s + len(shards) * prices.lambda_request) * runs
    writes = sum(_units(run, ("records", "state"), "write") for run in steady) * runs * prices.write_unit
    reads = sum(_units(run, ("records", "state"), "read") for run in steady) * runs * prices.read_unit
    # Rollups: every run's share, plus what closing an hour and a day adds (measured on the sampled shards).
    rollups = (
        sum(_units(run, ("rollups",), "write") for run in steady) * prices.write_unit
        + sum(_units(run, ("rollups",), "read") for run in steady) * prices.read_unit
    ) * runs
    sampled = [shard for shard in shards if any(i["label"] == "close-hour" for i in shard["invocations"])]
    if sampled:
        hour = day = 0.0
        for shard in sampled:
            by = {i["label"]: i for i in shard["invocations"]}
            for later, earlier, per_month, into in (
                ("close-hour", "steady", HOURS_PER_MONTH, "hour"),
                ("close-day", "close-hour", DAYS_PER_MONTH, "day"),
            ):
                extra = (_units(by[later], ("rollups",), "write") - _units(by[earlier], ("rollups",), "write")) * (
                    prices.write_unit
                ) + (
                    _units(by[later], ("rollups",), "read") - _units(by[earlier], ("rollups",), "read")
                ) * prices.read_unit
                share = max(0.0, extra) * per_month / shard["targets"]
                if into == "hour":
                    hour += share
                else:
                    day += share
        rollups += (hour + day) / len(sampled) * targets
    # Storage: what the records table held per check recorded, kept retentionDays; the state table as measured.
    recorded = sum(len(shard["invocations"]) * shard["targets"] for shard in shards)
    per_check = size["stored"]["records"]["bytes"] / recorded
    checks_month = targets * runs
    records_gb = per_check * checks_month * size.get("retention_days", 90) / DAYS_PER_MONTH / GB
    state_gb = size["stored"]["state"]["bytes"] / GB
    storage = (records_gb + state_gb) * prices.storage_gb_month
    pitr = (records_gb + state_gb) * prices.pitr_gb_month
    log_bytes = sum(int(run["log_bytes"]) for run in steady) * runs
    logs = (
        log_bytes
        / GB
        * (prices.logs_ingested_gb + prices.logs_stored_gb_month * size.get("log_retention_days", 30) / DAYS_PER_MONTH)
    )
    scheduler = len(shards) * runs * prices.scheduler_invocation
    egress_bytes = egress_per_check(size)
    return Costs(
        targets=targets,
        interval_min=interval_min,
        shards=len(shards),
        lambda_=lambda_,
        writes=writes,
        reads=reads,
        storage=storage,
        pitr=pitr,
        rollups=rollups,
        logs=logs,
        scheduler=scheduler,
        sns=0.0,  # SNS is called only when something changes: nothing does in the steady state
        fixed=fixed_monthly(len(shards), prices),
        egress=egress_bytes * checks_month / GB * prices.egress_gb,
        egress_bytes_per_check=egress_bytes,
    )


def _money(value: float) -> str:
    if value == 0:
        return "$0"
    if value < 0.005:
        return "< $0.01"
    return f"${value:,.2f}"


def table(rows: Sequence[Costs]) -> str:
    header = (
        "| targets | interval | shards | Lambda | DynamoDB writes | reads | storage + PITR | rollups | logs | "
        "Scheduler | SNS | **grows with targets** | per 100 targets | alarms + metrics | egress |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(
                (
                    f"{row.targets:,}",
                    f"{row.interval_min} min",
                    str(row.shards),
                    _money(row.lambda_),
                    _money(row.writes),
                    _money(row.reads),
                    f"{_money(row.storage)} + {_money(row.pitr)}",
                    _money(row.rollups),
                    _money(row.logs),
                    _money(row.scheduler),
                    _money(row.sns),
                    f"**{_money(row.variable)}**",
                    _money(row.per_100),
                    _money(row.fixed),
                    _money(row.egress),
                )
            )
            + " |"
        )
    return "\n".join(lines)


MIXES = {
    "healthy": "Every target answering (5 % of them after 2 s)",
    "issue": "5 % of the targets hanging until their 10 s timeout, 5 % answering after 2 s",
}


# The sizes of stack the README's table shows.
TABLE_SIZES = (10, 100, 1_000, 10_000)


def replicated(size: dict[str, Any], factor: int) -> dict[str, Any]:
    """A stack ``factor`` times ``size``: its shards, each as measured, ``factor`` times over.

    A stack's costs are its shards' added up, and shards of one size measure alike (see the
    per-shard table bench/scale.py prints), so 10,000 targets cost twenty 500-target shards.
    """
    stored = {role: {key: value * factor for key, value in table.items()} for role, table in size["stored"].items()}
    shards = [{**shard, "shard": f"{copy}.{shard['shard']}"} for copy in range(factor) for shard in size["shards"]]
    return {**size, "targets": size["targets"] * factor, "stored": stored, "shards": shards, "replicated": factor}


def stacks(sizes: Sequence[dict[str, Any]], wanted: Sequence[int] = TABLE_SIZES) -> list[dict[str, Any]]:
    """Each wanted size as measured, or else as whole copies of the largest measured size that divides it."""
    by_targets = {int(size["targets"]): size for size in sizes}
    out = []
    for targets in wanted:
        if targets in by_targets:
            out.append(by_targets[targets])
            continue
        divisors = [measured for measured in sorted(by_targets, reverse=True) if targets % measured == 0]
        if divisors:
            out.append(replicated(by_targets[divisors[0]], targets // divisors[0]))
    return out


def _rows(path: Path, memory_mb: int) -> tuple[str, list[Costs]]:
    """The title (mix and when measured) and the rows of one results file."""
    measured = json.loads(path.read_text())
    sizes = stacks(measured["sizes"])
    rows = [costs(size, interval, memory_mb) for size in sizes for interval in (1, 5)]
    mix = MIXES.get(sizes[0]["mix"], sizes[0]["mix"]) if sizes else ""
    copies = [f"{size['targets']:,} as {size['replicated']} copies" for size in sizes if size.get("replicated")]
    note = f"; {', '.join(copies)} of a measured size" if copies else ""
    return f"{mix} (measured {measured['measured']}, {path.name}{note})", rows


def aims(rows: Sequence[Costs]) -> list[str]:
    """Issue 16's aims, each with the figure that meets or misses it."""
    lines = []
    for row in rows:
        if row.interval_min != 1:
            continue
        if row.targets == 100:
            verdict = "met" if row.variable <= 1.0 else "MISSED"
            lines.append(
                f"100 targets at 1 minute: {_money(row.variable)} a month that grows with targets "
                f"(aim $1.00: {verdict})"
            )
            verdict = "met" if row.fixed <= 1.0 else "MISSED"
            lines.append(f"fixed per stack (alarms and custom metrics): {_money(row.fixed)} (aim $1.00: {verdict})")
        if row.targets == 10_000:
            verdict = "met" if row.per_100 <= 1.0 else "MISSED"
            lines.append(
                f"10,000 targets at 1 minute: {_money(row.per_100)} per 100 targets, "
                f"plus {_money(row.egress)} of egress (aim $1.00 per 100: {verdict})"
            )
    return lines


def _spread(values: Sequence[float], fmt: str) -> str:
    """Median (min-max) of the schedules' figures, one figure when they agree."""
    ordered = sorted(values)
    middle = ordered[len(ordered) // 2]
    if fmt.format(ordered[0]) == fmt.format(ordered[-1]):
        return fmt.format(middle)
    return f"{fmt.format(middle)} ({fmt.format(ordered[0])} to {fmt.format(ordered[-1])})"


def shard_summary(path: Path) -> str:
    """The scale benchmark's per-schedule figures for its largest size, as a markdown table, and its projection."""
    measured = json.loads(path.read_text())
    size = max(measured["sizes"], key=lambda size: size["targets"])
    shards = size["shards"]
    steady = [next(i for i in shard["invocations"] if i["label"] == "steady") for shard in shards]
    cold = [shard["invocations"][0] for shard in shards]
    answered = [run for run in steady if run.get("summary")]
    timeout = float(size.get("timeout_s", 900))
    fits = sum(
        projected_duration_s(_invocation(run), int(size.get("memory_mb", 512)), float(shard["wait_s"]), math.inf)
        <= timeout
        for shard, run in zip(shards, steady, strict=True)
    )
    figures = [
        ("targets", [shard["targets"] for shard in shards], "{:,.0f}"),
        (f"runs done within the {timeout:g} s timeout at 512 MB (projected)", [fits], "{:.0f} of " + str(len(steady))),
        ("wall time here, s", [run["wall_s"] for run in steady], "{:.1f}"),
        ("CPU-seconds", [run["cpu_s"] for run in steady], "{:.2f}"),
        ("CPU-seconds, cold (imports and first run)", [run["cpu_s"] for run in cold], "{:.2f}"),
        ("peak memory (VmHWM), MB", [run["peak_rss_mb"] for run in steady if run["peak_rss_mb"]] or [0], "{:.0f}"),
        ("peak open file descriptors (of 1,024)", [run["peak_fds"] for run in steady], "{:.0f}"),
        ("peak threads", [run["peak_threads"] for run in steady], "{:.0f}"),
        ("write units", [_units(run, ("records", "state", "rollups"), "write") for run in steady], "{:,.1f}"),
        ("read units", [_units(run, ("records", "state", "rollups"), "read") for run in steady], "{:,.1f}"),
        ("log bytes", [run["log_bytes"] for run in answered] or [0], "{:,.0f}"),
    ]
    lines = [
        (
            f"{size['targets']:,} targets, {len(shards)} schedules (measured {measured['measured']}); per schedule, "
            "the steady run, median (least to most):"
        ),
        "",
        "| | per schedule |",
        "|---|---|",
        *(f"| {name} | {_spread(values, fmt)} |" for name, values, fmt in figures),
        "",
        "Lambda, every schedule's steady run, projected:",
        "",
        "| memory | GB-s a minute | a month at 1 minute | per 100 targets |",
        "|---|---|---|---|",
    ]
    for memory in MEMORY_SIZES:
        seconds = sum(
            projected_duration_s(_invocation(run), memory, float(shard["wait_s"]), float(size.get("timeout_s", 900)))
            for shard, run in zip(shards, steady, strict=True)
        )
        gb_s = seconds * memory / 1024
        runs = HOURS_PER_MONTH * 60
        dollars = (gb_s * PRICES.lambda_gb_s + len(shards) * PRICES.lambda_request) * runs
        lines.append(f"| {memory:,} MB | {gb_s:,.1f} | {_money(dollars)} | {_money(dollars / size['targets'] * 100)} |")
    return "\n".join(lines)


def _replace(text: str, marker: str, content: str) -> str:
    """``text`` with what lies between ``<!-- marker -->`` and ``<!-- end marker -->`` replaced by ``content``."""
    start, end = f"<!-- {marker} -->", f"<!-- end {marker} -->"
    if start not in text:
        raise SystemExit(f"no {start} in the README: put it (and {end}) where the table goes")
    before, _, after = text.partition(start)
    after = after.partition(end)[2] if end in after else after
    return f"{before}{start}\n{content}\n{end}{after}"


def _section(title: str, rows: Sequence[Costs], extra: Sequence[str] = ()) -> str:
    return "\n".join((f"{title}, at 512 MB:", "", table(rows), "", *(f"- {line}" for line in (*aims(rows), *extra))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", type=Path, default=DEFAULT_OUT / "scale-healthy.json")
    parser.add_argument("--issue", type=Path, help="the issue mix's results (5 %% hanging), shown after")
    parser.add_argument("--memory", type=int, default=512, help="the function's memory in MB (512)")
    parser.add_argument("--readme", type=Path, help="also write the tables into this README, between its markers")
    args = parser.parse_args(argv)
    title, rows = _rows(args.results, args.memory)
    egress = ", ".join(f"{row.targets:,}: {row.egress_bytes_per_check:.0f}" for row in rows if row.interval_min == 1)
    notes = [f"egress per check, bytes (handshake, request and TCP/IP headers, over the mix): {egress}"]
    notes += [
        f"point-in-time recovery at {row.targets:,} targets every minute: {_money(row.pitr)} a month"
        for row in rows
        if row.interval_min == 1
    ]
    healthy = _section(title, rows, notes)
    print(healthy)
    sections = {"bench.costs: healthy": healthy}
    if args.issue is not None:
        title, issue = _rows(args.issue, args.memory)
        sections["bench.costs: issue"] = _section(
            title, [row for row in issue if row.targets == max(r.targets for r in issue)]
        )
        sections["bench.scale: issue"] = shard_summary(args.issue)
        print(f"\n{sections['bench.costs: issue']}\n\n{sections['bench.scale: issue']}")
    if args.readme is not None:
        text = args.readme.read_text(encoding="utf-8")
        for marker, content in sections.items():
            text = _replace(text, marker, content)
        args.readme.write_text(text, encoding="utf-8")
        print(f"\nwritten into {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
