"""The scale benchmark: thousands of loopback targets, run as the deployed shards run them.

``make bench-scale`` (``python -m bench.scale``): the targets are 70 % HTTPS, 20 % HTTP, 5 %
slow (answering after 2 s) and 5 % that hang until their timeout (``--mix healthy`` makes the
hanging ones answer at once). They are split as the stack splits them (infra's
``chunk_targets``), and each shard runs as deployed:

- in a process of its own, the image's CMD under the real runtime client (awslambdaric) over a
  local Runtime API, with the environment the Pulumi program gives the function
  (``infra.environment.function_environment`` from the stack's settings) and the shard's
  schedule input (``schedule_input``) as its event;
- against the embedded DynamoDB (moto, in its own process), through a proxy that bills every
  call by DynamoDB's rules (bench/scale_meter.py);
- against sites that close after each answer (bench/scale_sites.py), trusted through the
  system's CA bundle with the test CA appended, as the image's trust store would be.

Each shard runs a first (cold) invocation and a steady one (nothing changes: the hanging targets
are DOWN already, ``failureThreshold: 1``); ``--rollup-shards`` of them first run three
invocations at older event times that close an hour, then a day, of rollups. For each it
measures wall time, CPU-seconds (the process's CPU clock), peak RSS (VmHWM, reset before each
invocation), peak open file descriptors (sampled every 5 ms), read and write units per table,
and the bytes it logs. It projects Lambda's billed duration at 256, 512, 1,024 and 1,769 MB from
the steady run's CPU and wait, and writes everything to ``--out`` for bench/costs.py.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme

from healthcheck.check.targets import DEFAULT_TIMEOUT_S
from healthcheck.event import format_timestamp
from healthcheck.history.item_size import item_bytes
from healthcheck.history.rollup_store import GRACE
from infra.environment import function_environment, targets_in_environment
from infra.schedules import IN_FLIGHT, MAX_TARGETS, SCHEDULED_TIME, chunk_targets, schedule_input, waves
from infra.settings import StackSettings
from localdev.dockerfile import Dockerfile, assemble_task_root
from localdev.dynamodb import create_results_table, create_rollup_table, create_state_table, local_client, use_endpoint
from localdev.runtime_api import RuntimeAPI, start_function

__all__ = ["MEMORY_SIZES", "main"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results"
# The issue's three, and 256 MB: a run that waits costs half as much there, while its checks wait twice as long for CPU.
MEMORY_SIZES = (256, 512, 1024, 1769)
VCPU_MB = 1769  # Lambda: 1,769 MB is the equivalent of one vCPU
# The mix, in a pattern of 20 that spreads each kind through a shard: 14 HTTPS, 4 HTTP, 1 slow, 1 hanging.
PATTERN = (
    "https",
    "https",
    "http",
    "https",
    "https",
    "slow",
    "https",
    "https",
    "http",
    "https",
    "https",
    "hang",
    "https",
    "https",
    "http",
    "https",
    "https",
    "https",
    "http",
    "https",
)
SLOW_S = 2.0
WAITS = {"slow": SLOW_S, "hang": DEFAULT_TIMEOUT_S}
SAMPLE_S = 0.005
NO_ANSWER = "no answer within the function's timeout"
SYSTEM_HASHED_DIRS = ("/etc/pki/ca-trust/extracted/pem/directory-hash", "/etc/ssl/certs")
# DynamoDB bills storage as the items' sizes plus 100 bytes of indexing overhead per item.
STORAGE_OVERHEAD_BYTES = 100
# The bench stack: every minute, targets DOWN at their first failure (so the second run is steady).
ALERTING = {"failureThreshold": 1}


def _kind(index: int, mix: str) -> str:
    kind = PATTERN[index % len(PATTERN)]
    return "https" if kind == "hang" and mix == "healthy" else kind


def bench_targets(count: int, ports: dict[str, list[int]], mix: str) -> list[dict[str, object]]:
    """``count`` targets in the mix, each on one of the sites' ports, so most hosts differ as real ones do."""
    targets: list[dict[str, object]] = []
    for index in range(count):
        kind = _kind(index, mix)
        scheme = "http" if kind == "http" else "https"
        port = ports[scheme][index % len(ports[scheme])]
        path = {"slow": "slow", "hang": "hang"}.get(kind, "ok")
        targets.append({"name": f"t{index:05d}", "url": f"{scheme}://127.0.0.1:{port}/{path}?t={index}"})
    return targets


@dataclass
class Invocation:
    label: str
    event_time: str
    ok: bool = False
    wall_s: float = 0.0
    cpu_s: float = 0.0
    checks_wall_s: float | None = None
    """From the invoke to the run's summary line: the checks (and what overlaps them)."""
    checks_cpu_s: float | None = None
    peak_rss_mb: float = 0.0
    peak_fds: int = 0
    peak_threads: int = 0
    log_bytes: int = 0
    log_lines: int = 0
    log_types: dict[str, list[int]] = field(default_factory=dict)
    """Per line type: [lines, bytes]."""
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per table role (records, state, rollups): write and read units, and calls."""
    summary: dict[str, Any] | None = None
    error: str | None = None

    def add_line(self, kind: str, size: int) -> None:
        self.log_bytes += size
        self.log_lines += 1
        tally = self.log_types.setdefault(kind, [0, 0])
        tally[0] += 1
        tally[1] += size


@dataclass
class Shard:
    shard: str
    targets: int
    invocations: list[Invocation]
    wait_s: float = 0.0
    """How long its slowest target keeps a run waiting (:func:`inherent_wait_s`)."""

    def step(self, label: str) -> Invocation | None:
        return next((i for i in self.invocations if i.label == label), None)


def _units(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], roles: dict[str, str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for table, bill in after.items():
        old = before.get(table, {"write": 0.0, "read": 0.0, "calls": {}})
        calls = {op: n - old["calls"].get(op, 0) for op, n in bill["calls"].items() if n - old["calls"].get(op, 0)}
        entry = {"write": bill["write"] - old["write"], "read": bill["read"] - old["read"], "calls": calls}
        if entry["write"] or entry["read"] or calls:
            out[roles.get(table, table)] = entry
    return out


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own loopback servers
        return json.loads(response.read())


@dataclass(frozen=True, slots=True)
class Line:
    """One line the function logged: its invocation (by request id, when it carries one), kind and size."""

    request_id: str | None
    kind: str
    size: int
    read_at: float
    cpu_at: float


def _line(raw: bytes, read_at: float, cpu_at: float) -> Line:
    kind, request_id = "text", None
    if raw.startswith(b"{"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            request_id = parsed.get("requestId")
            kind = str(parsed.get("type") or parsed.get("level") or "json")
            if kind == "check" and not parsed.get("success"):
                kind = "check-failed"
    # The runtime logs "requestId": "" outside an invocation (at init).
    return Line(request_id if isinstance(request_id, str) and request_id else None, kind, len(raw), read_at, cpu_at)


class FunctionProcess:
    """One shard's execution environment: the runtime client running the image's CMD, watched from outside.

    Lines are told apart by the request id each carries (ours and the runtime's JSON log lines
    both do); a line without one (at init) goes to the invocation after it.
    """

    def __init__(self, dockerfile: Dockerfile, task_root: Path, env: dict[str, str]) -> None:
        self.api = RuntimeAPI()
        self.api.__enter__()
        self.process = start_function(dockerfile, task_root, self.api, env, logs=subprocess.PIPE)
        self.pid = self.process.pid
        self.lines: list[Line] = []
        self.current: Invocation | None = None
        self.starts: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr,), daemon=True),
        ]
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        for thread in (*self._readers, self._sampler):
            thread.start()

    def cpu_s(self) -> float:
        # Linux's process-wide CPU clock of the child: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
        return time.clock_gettime((~self.pid << 3) | 2)

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            try:
                cpu = self.cpu_s()
            except OSError:
                cpu = float("nan")
            line = _line(raw, time.monotonic(), cpu)
            with self._lock:
                self.lines.append(line)

    def _sample(self) -> None:
        fd_dir = Path(f"/proc/{self.pid}/fd")
        status = Path(f"/proc/{self.pid}/status")
        while not self._done.is_set():
            try:
                fds = sum(1 for _ in fd_dir.iterdir())
                threads = int(re.search(r"Threads:\s+(\d+)", status.read_text())[1])  # type: ignore[index]
            except (OSError, TypeError):
                return
            with self._lock:
                if self.current is not None:
                    self.current.peak_fds = max(self.current.peak_fds, fds)
                    self.current.peak_threads = max(self.current.peak_threads, threads)
            time.sleep(SAMPLE_S)

    def high_water_mb(self) -> float:
        text = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", text)[1]) / 1024  # type: ignore[index]

    def invoke(self, invocation: Invocation, event: bytes, timeout_s: int) -> None:
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # peak RSS of this invocation only
        with self._lock:
            self.current = invocation
        cpu_before, started = self.cpu_s(), time.monotonic()
        self.starts.append((started, cpu_before))
        try:
            result = self.api.invoke(event, timeout_s=timeout_s)
        except TimeoutError:
            # Lambda would end it here ("Task timed out"), and start the next run in a fresh environment.
            invocation.wall_s = time.monotonic() - started
            invocation.cpu_s = self.cpu_s() - cpu_before
            invocation.error = f"{NO_ANSWER} ({timeout_s} s)"
            with self._lock:
                self.current = None
            raise
        invocation.wall_s = time.monotonic() - started
        invocation.cpu_s = self.cpu_s() - cpu_before
        invocation.peak_rss_mb = self.high_water_mb()
        invocation.ok = result.ok
        answer = result.json()
        if result.ok and isinstance(answer, dict):
            invocation.summary = answer
        else:
            invocation.error = json.dumps(answer)[:500]
        with self._lock:
            self.current = None

    def close(self, invocations: list[Invocation]) -> None:
        """Stop the process, then give each invocation its log lines (all read by then)."""
        self._done.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        self._sampler.join(timeout=10)
        self.api.__exit__(None, None, None)
        order: dict[str, int] = {}
        for line in self.lines:
            if line.request_id is not None and line.request_id not in order:
                order[line.request_id] = len(order)
        waiting: list[Line] = []
        for line in self.lines:
            if line.request_id is None:
                waiting.append(line)
                continue
            index = order[line.request_id]
            if index >= len(invocations):
                continue
            invocation = invocations[index]
            for early in waiting:
                invocation.add_line(early.kind, early.size)
            waiting = []
            invocation.add_line(line.kind, line.size)
            if line.kind == "summary" and index < len(self.starts):
                started, cpu_before = self.starts[index]
                invocation.checks_wall_s = line.read_at - started
                invocation.checks_cpu_s = line.cpu_at - cpu_before


@dataclass(frozen=True, slots=True)
class Plan:
    """A shard's event times, from the moment it starts (so the last shard's events are as recent as the first's).

    ``warm``: a run in the latest hour the next run finds closed, so that run summarises it (as
    every run after an hour's close does) and the steady run finds its targets summarised, as
    in any hour of a deployed stack but its first. It is over an hour old, so it moves no
    state. ``first`` moves state (the hanging targets go DOWN); ``steady`` changes nothing.
    For the rollup sample, three runs two days back before them: records in an hour, the run
    that closes that hour, and the run that closes the next hour and the day.
    """

    now: datetime

    def steps(self, rollups: bool) -> list[tuple[str, datetime]]:
        first = self.now - timedelta(minutes=1)
        # The latest hour closed at ``first``, as the rollups count it (ended at least GRACE before).
        closed = (first - GRACE).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        day = (self.now - timedelta(days=2)).replace(hour=22, minute=59, second=0, microsecond=0)
        older = [("seed", day), ("close-hour", day + timedelta(hours=1)), ("close-day", day + timedelta(hours=2))]
        current = [("warm", closed + timedelta(minutes=30)), ("first", first), ("steady", self.now)]
        return (older if rollups else []) + current


@dataclass
class Environment:
    endpoint: str
    meter: str
    sites: dict[str, Any]
    dockerfile: Dockerfile
    task_root: Path


def run_shard(
    environment: Environment,
    env: dict[str, str],
    key: str,
    shard: str,
    event_template: str,
    steps: list[tuple[str, datetime]],
    timeout_s: int,
    roles: dict[str, str],
) -> list[Invocation]:
    """The shard's invocations in turn, in one execution environment as Lambda keeps one warm.

    An invocation that does not answer within the function's timeout ends its environment, as
    Lambda's "Task timed out" does; the next one starts cold in a new one.
    """
    env = {**env, "AWS_ENDPOINT_URL_DYNAMODB": f"{environment.meter}/shard/{key}"}
    invocations: list[Invocation] = []
    function: FunctionProcess | None = None
    served: list[Invocation] = []
    try:
        for label, moment in steps:
            if function is None:
                function, served = FunctionProcess(environment.dockerfile, environment.task_root, env), []
            stamp = format_timestamp(moment)
            invocation = Invocation(label, stamp)
            event = event_template.replace(SCHEDULED_TIME, stamp).encode()
            before = _get_json(f"{environment.meter}/units/{key}")
            invocations.append(invocation)
            served.append(invocation)
            try:
                function.invoke(invocation, event, timeout_s)
            except TimeoutError:
                function.close(served)
                function = None
            finally:
                invocation.units = _units(before, _get_json(f"{environment.meter}/units/{key}"), roles)
    finally:
        if function is not None:
            function.close(served)
    return invocations


@contextlib.contextmanager
def _serving(argv: Sequence[str], env: dict[str, str]) -> Iterator[str]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def trust_environment(ca: trustme.CA, folder: Path) -> dict[str, str]:
    """The image's trust store with the sites' CA added, as OpenSSL's own variable names it.

    ``SSL_CERT_DIR``: a hashed directory holding the test CA, then the system's hashed
    directory, so OpenSSL's defaults (the system's CA file too, for code that loads it)
    stay as deployed.
    """
    pem = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    hashed = subprocess.run(
        ["openssl", "x509", "-subject_hash", "-noout", "-in", str(pem)],  # noqa: S607 - OpenSSL's own rehash
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = folder / "hashed"
    ours.mkdir()
    shutil.copy(pem, ours / f"{hashed}.0")
    system = next((path for path in SYSTEM_HASHED_DIRS if Path(path).is_dir()), None)
    return {"SSL_CERT_DIR": os.pathsep.join(str(path) for path in (ours, system) if path)}


def _stored(endpoint: str, table: str) -> dict[str, int]:
    """Items and bytes a table holds, as DynamoDB bills storage: each item's size plus 100 bytes."""
    client = local_client("dynamodb", endpoint)
    items = size = 0
    for page in client.get_paginator("scan").paginate(TableName=table):
        items += len(page["Items"])
        size += sum(item_bytes(item) + STORAGE_OVERHEAD_BYTES for item in page["Items"])
    return {"items": items, "bytes": size}


def projected_duration_s(invocation: Invocation, memory_mb: int, wait_s: float, timeout_s: float = 900.0) -> float:
    """Lambda's billed duration of this run at ``memory_mb``, from its CPU-seconds and its slowest target.

    A function of ``memory_mb`` gets that share of one vCPU (1,769 MB is one). The checks (up
    to the run's summary line) last as long as the slowest target takes to answer or time out
    (``wait_s``), or as their CPU takes at that share, whichever is longer; what follows them
    (the last writes, state, rollups, metrics) is CPU at that share. Wall time measured on this
    shared machine is not used: its load, not the function, sets it. DynamoDB's round trips
    after the checks (a few, about 10 ms each in a region) are left out.
    """
    if invocation.summary is None and (invocation.error or "").startswith(NO_ANSWER):
        return timeout_s  # Lambda ended it at its timeout, and bills all of it
    share = min(1.0, memory_mb / VCPU_MB)
    checks_cpu = invocation.checks_cpu_s if invocation.checks_cpu_s is not None else invocation.cpu_s
    tail_cpu = max(0.0, invocation.cpu_s - checks_cpu)
    return min(timeout_s, max(wait_s, checks_cpu / share) + tail_cpu / share)


def inherent_wait_s(kinds: Iterable[str]) -> float:
    """How long a shard's slowest target keeps its run waiting: a hanging one its timeout, a slow one 2 s."""
    return max((WAITS.get(kind, 0.0) for kind in kinds), default=0.0)


def _fmt_units(units: dict[str, dict[str, Any]], kind: str) -> str:
    return f"{sum(entry[kind] for entry in units.values()):g}"


def _mb(value: float) -> str:
    return f"{value:.0f}" if value else "-"  # "-": the invocation did not answer, its process was ended


def _print_shards(shards: list[Shard]) -> None:
    header = (
        "shard",
        "targets",
        "wall s",
        "CPU s",
        "cold CPU s",
        "peak RSS MB",
        "peak fds",
        "threads",
        "WCU",
        "RRU",
        "log B",
        "log B/check",
    )
    rows = []
    for shard in shards:
        steady, cold = shard.step("steady"), shard.invocations[0]
        if steady is None:
            continue
        rows.append(
            (
                shard.shard,
                str(shard.targets),
                f"{steady.wall_s:.2f}",
                f"{steady.cpu_s:.2f}",
                f"{cold.cpu_s:.2f}",
                f"{_mb(steady.peak_rss_mb)} ({_mb(cold.peak_rss_mb)})",
                f"{steady.peak_fds} ({cold.peak_fds})",
                str(steady.peak_threads),
                _fmt_units(steady.units, "write"),
                _fmt_units(steady.units, "read"),
                str(steady.log_bytes),
                f"{steady.log_bytes / shard.targets:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print("  " + "  ".join(cell.rjust(width) for cell, width in zip(header, widths, strict=True)))
    for row in rows:
        print("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print("  (steady run; in brackets: the cold, first invocation of the process)")


def run_size(
    environment: Environment, count: int, args: argparse.Namespace, base_env: dict[str, str]
) -> dict[str, Any]:
    label = f"{args.mix}-{count}"
    names = {role: f"scale-{label}-{role}" for role in ("records", "state", "rollups")}
    create_results_table(environment.endpoint, names["records"])
    create_state_table(environment.endpoint, names["state"])
    create_rollup_table(environment.endpoint, names["rollups"])
    roles = {name: role for role, name in names.items()}
    topic = local_client("sns", environment.endpoint).create_topic(Name=f"scale-{label}")["TopicArn"]
    raw = bench_targets(count, environment.sites, args.mix)
    settings = StackSettings.from_values(targets=raw, schedule="rate(1 minute)", alerting=ALERTING)
    if args.log_checks:
        settings = StackSettings.from_values(
            targets=raw, schedule="rate(1 minute)", alerting=ALERTING, log_checks=args.log_checks
        )
    variables = function_environment(
        names["records"],
        names["state"],
        topic,
        names["rollups"],
        settings.environment(),
        targets_in_environment(settings.environment(), settings.targets_json()),
    )
    env = {**base_env, **variables}
    size = args.shard_size or MAX_TARGETS
    chunks = chunk_targets(settings.targets, max_targets=size)
    _get_json(f"http://127.0.0.1:{environment.sites['control']}/reset")
    print(
        f"\n{count} targets ({args.mix} mix), {len(chunks)} shard(s) of at most {size}, "
        f"{args.parallel} at a time; {settings.memory_size} MB, timeout {settings.timeout} s",
        flush=True,
    )
    started = time.monotonic()

    def one(index: int) -> Shard:
        chunk = chunks[index]
        shard = str(index + 1)
        steps = Plan(datetime.now(UTC).replace(second=0, microsecond=0)).steps(rollups=index < args.rollup_shards)
        invocations = run_shard(
            environment,
            env,
            f"{label}-{shard}",
            shard,
            schedule_input(chunk, shard=shard),
            steps,
            args.deadline,
            roles,
        )
        first = sum(map(len, chunks[:index]))  # chunks are consecutive runs of the targets
        kinds = [_kind(first + offset, args.mix) for offset in range(len(chunk))]
        done = Shard(shard, len(chunk), invocations, inherent_wait_s(kinds))
        failed = [i.label for i in invocations if not i.ok]
        note = f" FAILED {failed}" if failed else ""
        print(f"  shard {shard}: {len(chunk)} targets, {len(invocations)} invocation(s){note}", flush=True)
        return done

    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        shards = list(pool.map(one, range(len(chunks))))
    elapsed = time.monotonic() - started
    sites = _get_json(f"http://127.0.0.1:{environment.sites['control']}/stats")
    stored = {role: _stored(environment.endpoint, name) for role, name in names.items()}
    result = {
        "targets": count,
        "mix": args.mix,
        "shard_size": size,
        "in_flight": IN_FLIGHT,
        "waves": waves(size),
        "memory_mb": settings.memory_size,
        "timeout_s": settings.timeout,
        "retention_days": settings.retention_days,
        "log_retention_days": settings.log_retention_days,
        "log_checks": settings.log_checks,
        "elapsed_s": elapsed,
        "load": os.getloadavg(),
        "sites": sites,
        "stored": stored,
        "shards": [
            {
                "shard": s.shard,
                "targets": s.targets,
                "wait_s": s.wait_s,
                "invocations": [asdict(i) for i in s.invocations],
            }
            for s in shards
        ],
    }
    report(result, shards)
    return result


def report(result: dict[str, Any], shards: list[Shard]) -> None:
    count = result["targets"]
    print(f"  per shard ({result['elapsed_s']:.0f} s for the whole size; load average {result['load'][0]:.1f}):")
    _print_shards(shards)
    measured = [(shard, run) for shard in shards if (run := shard.step("steady")) is not None]
    runs = [run for _, run in measured]
    if not runs:
        return
    answered = [run for run in runs if run.summary]
    if len(answered) < len(runs):
        print(f"  {len(runs) - len(answered)} steady run(s) did not answer: their logs are left out below")
    total_logs = sum(run.log_bytes for run in answered)
    checked = sum(int(run.summary["checked"]) for run in answered if run.summary)
    healthy = sum(int(run.summary["succeeded"]) for run in answered if run.summary)
    failure_bytes = sum(
        size
        for run in answered
        for kind, (_, size) in run.log_types.items()
        if kind in ("check-failed", "state", "alert")
    )
    if checked:
        print(
            f"  logs, steady run: {total_logs} bytes for {checked} checks ({total_logs / checked:.1f} B/check); "
            f"{(total_logs - failure_bytes) / max(healthy, 1):.1f} B per healthy check without the failures' own lines"
        )
    print("  Lambda, steady runs of every shard, at 1-minute runs (43,800 a month):")
    for memory in MEMORY_SIZES:
        seconds = sum(projected_duration_s(run, memory, shard.wait_s, result["timeout_s"]) for shard, run in measured)
        gb_s = seconds * memory / 1024
        dollars = gb_s * 43_800 * 0.0000133334 + len(runs) * 43_800 * 0.20 / 1e6
        print(
            f"    {memory:>5} MB: {seconds:7.1f} s, {gb_s:7.1f} GB-s per minute; "
            f"${dollars:,.2f} a month (${dollars / count * 100:.2f} per 100 targets)"
        )
    concurrency = sum(math.ceil(run.wall_s / 60) for run in runs)
    print(
        f"  concurrency: {len(runs)} invocations a minute, each under "
        f"{max(run.wall_s for run in runs):.0f} s: {concurrency} at once of Lambda's default 1,000 "
        f"({1000 / max(concurrency, 1):.0f}x headroom); Scheduler fires {len(runs)} at the minute, of 1,000 "
        f"a second ({1000 / len(runs):.0f}x)"
    )
    for kind, tally in result["sites"].items():
        if tally["answered"]:
            print(
                f"  egress, {kind}: {tally['answered_payload_bytes'] / tally['answered']:.0f} payload bytes and "
                f"{tally['segments'] / tally['answered']:.1f} segments per check (client to site, to the answer)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="10000", help="comma-separated target counts, run in turn (10000)")
    parser.add_argument("--mix", choices=("issue", "healthy"), default="issue")
    parser.add_argument("--shard-size", type=int, help=f"targets per shard (default: the stack's, {MAX_TARGETS})")
    parser.add_argument("--parallel", type=int, default=4, help="shards run at once (4)")
    parser.add_argument("--rollup-shards", type=int, default=1, help="shards that also close an hour and a day (1)")
    parser.add_argument("--log-checks", choices=("failures", "all"), help="override the stack's logChecks")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON results go (bench/results)")
    parser.add_argument("--code", type=Path, help="run this image/healthcheck instead of the tree's own")
    parser.add_argument(
        "--deadline",
        type=int,
        default=900,
        help="seconds an invocation may take here (900, Lambda's most): this machine's load is not Lambda's; "
        "the projection holds each run to the stack's own timeout",
    )
    args = parser.parse_args(argv)
    counts = sorted({int(part) for part in args.targets.split(",")})
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "image"), str(ROOT)])
    ca = trustme.CA()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_pem.write_to_path(str(folder / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
        trust = trust_environment(ca, folder)
        dockerfile = Dockerfile.parse(ROOT / "Dockerfile")
        task_root = assemble_task_root(dockerfile, ROOT, folder / "task")
        if args.code is not None:  # another tree's function code, e.g. a branch before it is merged
            shutil.rmtree(task_root / "healthcheck")
            shutil.copytree(args.code, task_root / "healthcheck", ignore=shutil.ignore_patterns("__pycache__"))
        compileall.compile_dir(task_root, quiet=1)  # as the image's build does
        sites_argv = [sys.executable, "-m", "bench.scale_sites", "--cert", str(folder / "cert.pem")]
        sites_argv += ["--key", str(folder / "key.pem"), "--https-ports", "200", "--http-ports", "60"]
        with (
            _serving(sites_argv, env) as sites_line,
            _serving([sys.executable, "-m", "localdev.dynamodb"], env) as endpoint,
            _serving([sys.executable, "-m", "bench.scale_meter", "--upstream", endpoint], env) as meter,
        ):
            base_env = {key: value for key, value in env.items() if key != "PYTHONPATH"}
            use_endpoint(endpoint, base_env)
            base_env.update(trust, AWS_LAMBDA_LOG_LEVEL="INFO")
            environment = Environment(endpoint, meter, json.loads(sites_line), dockerfile, task_root)
            results = [run_size(environment, count, args, base_env) for count in counts]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scale-{args.mix}{'-all' if args.log_checks == 'all' else ''}.json"
    path.write_text(json.dumps({"measured": format_timestamp(now), "sizes": results}, indent=1))
    print(f"\nresults: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
