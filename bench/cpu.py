"""CPU per check as deployed, side by side with bare urllib3 and aiohttp, and a slow target's Duration under load.

As deployed means: the system's whole trust store plus the loopback sites' test CA, given
the way a user gives one (``SSL_CERT_DIR``, a hashed directory, or ``SSL_CERT_FILE``, a
bundle); sites that close the connection after each answer, each on a port of its own
(every check a new origin, a new connection and a full handshake, as checks a minute
apart are); a certificate chain of leaf and intermediate. Each client runs in a fresh
process and is charged the CPU its own process spent (the sites run in another).

1. CPU per check: ``CHECKS`` checks over HTTP, then HTTPS, by each client, rounds
   interleaved so the machine's drift falls on all alike; medians.
2. Trust store both ways: our context built from the hashed directory and from the
   bundle: the CPU it costs to build, and the CPU per HTTPS check after.
3. Honest latency: the recorded Duration of one target that answers in 300 ms, checked
   alone and then among ``LOADED`` HTTPS targets (first in the list, or in the middle),
   on one CPU (the sites on the other); ours paced (as deployed) and unpaced, and the others.
4. Far sites: ``LOADED`` HTTPS targets whose handshakes take ``FAR_MS`` more (a round
   trip loopback lacks): how long the run takes and the Durations recorded, paced or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from tests.trust_store import hashed_copy

CHECKS = 1000
ROUNDS = 3
LOADED = 500
SLOW_MS = 300
FAR_MS = 50
CLIENTS = ("ours", "urllib3", "aiohttp")


@dataclass(frozen=True)
class Material:
    """The sites' certificate chain and the two forms of trust store that hold their CA."""

    chain: Path
    bundle: Path
    hashed: Path


def tls_material(directory: Path) -> Material:
    """A CA with an intermediate, a leaf for 127.0.0.1, and the system's trust store with the CA added."""
    root = trustme.CA()
    leaf = root.create_child_ca().issue_cert("127.0.0.1", "localhost")
    chain = directory / "server.pem"
    chain.write_bytes(leaf.private_key_and_cert_chain_pem.bytes())
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(root.cert_pem.bytes())
    system = ssl.get_default_verify_paths()
    if system.cafile is None or system.capath is None:
        raise SystemExit("the bench needs the system's CA bundle and hashed directory (package ca-certificates)")
    bundle = directory / "bundle.pem"
    bundle.write_bytes(Path(system.cafile).read_bytes() + b"\n" + ca_pem.read_bytes())
    hashed = directory / "hashed"
    hashed_copy(Path(system.capath), hashed, extra=[ca_pem])
    return Material(chain, bundle, hashed)


@contextlib.contextmanager
def sites(
    env: dict[str, str], chain: Path, count: int, cpu: int | None = None, tls_delay_ms: float = 0
) -> Iterator[dict[str, list[int]]]:
    """The sites in a process of their own (pinned to ``cpu``); yields their ports per scheme."""
    args = [sys.executable, "-m", "bench.sites", str(chain), str(count), f"--tls-delay-ms={tls_delay_ms}"]
    args += [f"--cpu={cpu}"] if cpu is not None else []
    # Its stderr is asyncio's chatter about clients that hang up mid-handshake: the benchmark's own doing.
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        process.kill()
        process.wait()


def run_client(client: str, urls: Sequence[str], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    listing = workdir / "urls.json"
    listing.write_text(json.dumps(list(urls)))
    args = [sys.executable, "-m", "bench.clients", client, str(listing)]
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    figures: dict[str, Any] = json.loads(out.stdout)
    return figures


def _env(base: dict[str, str], **tls: str) -> dict[str, str]:
    env = {key: value for key, value in base.items() if key not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    return {**env, **tls}


def cpu_per_check(base: dict[str, str], material: Material, workdir: Path, clients: Sequence[str]) -> dict[str, Any]:
    """Median CPU ms per check for each client and scheme, the trust store given as a hashed directory."""
    env = _env(base, SSL_CERT_DIR=str(material.hashed))
    table: dict[str, dict[str, float]] = {}
    with sites(base, material.chain, CHECKS) as ports:
        for scheme in ("http", "https"):
            urls = [f"{scheme}://127.0.0.1:{port}/health" for port in ports[scheme]]
            runs: dict[str, list[float]] = {client: [] for client in clients}
            for round_ in range(ROUNDS):
                order = list(clients[round_ % len(clients) :]) + list(clients[: round_ % len(clients)])
                for client in order:
                    figures = run_client(client, urls, env, workdir)
                    assert figures["passed"] == len(urls), (client, scheme, figures["passed"])
                    runs[client].append(figures["cpu_s"] * 1000 / len(urls))
            table[scheme] = {client: statistics.median(values) for client, values in runs.items()}
    return table


TRUST_CHILD = """
import json, time
from healthcheck.check.tls import TlsContexts
started = time.process_time()
context = TlsContexts().get(True)
built = time.process_time() - started
print(json.dumps({"build_ms": built * 1000, "loaded": len(context.get_ca_certs())}))
"""


def trust_store_both_ways(base: dict[str, str], material: Material, workdir: Path) -> dict[str, dict[str, float]]:
    """Our verified context from the hashed directory and from the bundle: build CPU, CPU per HTTPS check."""
    ways = {
        "hashed directory (SSL_CERT_DIR)": _env(base, SSL_CERT_DIR=str(material.hashed)),
        "bundle file (SSL_CERT_FILE)": _env(base, SSL_CERT_FILE=str(material.bundle)),
    }
    results: dict[str, dict[str, float]] = {}
    builds: dict[str, list[float]] = {way: [] for way in ways}
    loaded: dict[str, int] = {}
    checks: dict[str, list[float]] = {way: [] for way in ways}
    with sites(base, material.chain, CHECKS) as ports:
        urls = [f"https://127.0.0.1:{port}/health" for port in ports["https"]]
        for _ in range(ROUNDS):
            for way, env in ways.items():
                out = subprocess.run(
                    [sys.executable, "-c", TRUST_CHILD], env=env, check=True, capture_output=True, text=True
                )
                built = json.loads(out.stdout)
                builds[way].append(built["build_ms"])
                loaded[way] = built["loaded"]
                figures = run_client("ours", urls, env, workdir)
                assert figures["passed"] == len(urls), (way, figures["passed"])
                checks[way].append(figures["cpu_s"] * 1000 / len(urls))
    for way in ways:
        results[way] = {
            "build_ms": statistics.median(builds[way]),
            "loaded": loaded[way],
            "per_check_ms": statistics.median(checks[way]),
        }
    return results


def latency_under_load(
    base: dict[str, str], material: Material, workdir: Path, clients: Sequence[str]
) -> dict[str, dict[str, float]]:
    """A 300 ms target's recorded Duration alone, and among LOADED HTTPS targets, on one CPU; medians."""
    env = {**_env(base, SSL_CERT_DIR=str(material.hashed)), "TASKSET": "0"}
    figures: dict[str, dict[str, float]] = {}
    with sites(base, material.chain, LOADED + 1, cpu=1) as ports:
        slow = f"https://127.0.0.1:{ports['https'][-1]}/health?ms={SLOW_MS}"
        fast = [f"https://127.0.0.1:{port}/health" for port in ports["https"][:LOADED]]
        placements = {"first": [slow, *fast], "middle": [*fast[: LOADED // 2], slow, *fast[LOADED // 2 :]]}
        for client in clients:
            alone: list[int] = []
            loaded: dict[str, list[int]] = {where: [] for where in placements}
            for _ in range(ROUNDS):
                alone.append(run_client(client, [slow], env, workdir)["durations_ms"][0])
                for where, urls in placements.items():
                    result = run_client(client, urls, env, workdir)
                    assert result["passed"] == len(urls), (client, where, result["passed"])
                    loaded[where].append(result["durations_ms"][urls.index(slow)])
            row = {"alone": float(statistics.median(alone))}
            row.update({where: float(statistics.median(values)) for where, values in loaded.items()})
            figures[client] = row
    return figures


def far_sites(base: dict[str, str], material: Material, workdir: Path) -> dict[str, dict[str, float]]:
    """LOADED HTTPS sites whose handshakes take FAR_MS more, on one CPU: run time and Durations, paced or not."""
    env = {**_env(base, SSL_CERT_DIR=str(material.hashed)), "TASKSET": "0"}
    figures: dict[str, dict[str, float]] = {}
    with sites(base, material.chain, LOADED, cpu=1, tls_delay_ms=FAR_MS) as ports:
        urls = [f"https://127.0.0.1:{port}/health" for port in ports["https"]]
        for client in ("ours", "ours-unpaced"):
            runs = [run_client(client, urls, env, workdir) for _ in range(ROUNDS)]
            assert all(run["passed"] == len(urls) for run in runs), (client, [run["passed"] for run in runs])
            durations = sorted(ms for run in runs for ms in run["durations_ms"])
            figures[client] = {
                "run_s": statistics.median(run["wall_s"] for run in runs),
                "p50_ms": durations[len(durations) // 2],
                "p95_ms": durations[len(durations) * 95 // 100],
            }
    return figures


def available_clients() -> tuple[str, ...]:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        print("  (aiohttp is not installed: `make install` installs requirements-dev.txt; left out)")
        return tuple(client for client in CLIENTS if client != "aiohttp")
    return CLIENTS


def run(env: dict[str, str]) -> None:
    """Every section, printed; the ratios the README quotes."""
    clients = available_clients()
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as scratch:
        workdir = Path(scratch)
        material = tls_material(workdir)
        print(f"cpu per check ({CHECKS} checks per client and scheme, median of {ROUNDS}; sites that close each time)")
        table = cpu_per_check(env, material, workdir, clients)
        for scheme, row in table.items():
            print(f"  {scheme}: " + ", ".join(f"{client} {ms:.2f} ms" for client, ms in row.items()))
        https = table["https"]
        print(f"  ratio ours / urllib3 (HTTPS) = {https['ours'] / https['urllib3']:.2f} (aim <= 1.0)")
        if "aiohttp" in https:
            print(f"  ratio ours / aiohttp (HTTPS) = {https['ours'] / https['aiohttp']:.2f} (stretch <= 1.0)")
        print(f"trust store both ways ({CHECKS} HTTPS checks by ours, median of {ROUNDS})")
        for way, row in trust_store_both_ways(env, material, workdir).items():
            print(
                f"  {way}: context built in {row['build_ms']:.1f} ms of CPU with {row['loaded']:.0f} CAs loaded, "
                f"then {row['per_check_ms']:.2f} ms per check"
            )
        print(f"honest latency (a {SLOW_MS} ms target alone, then among {LOADED} HTTPS targets; one CPU)")
        latency = latency_under_load(env, material, workdir, ("ours", "ours-unpaced", *clients[1:]))
        for client, row in latency.items():
            shown = ", ".join(f"{where} {row[where]:.0f} ms ({row[where] / row['alone'] - 1:+.0%})" for where in row)
            print(f"  {client}: " + shown.replace(" (+0%)", "", 1))
        worst = max(latency["ours"][where] for where in ("first", "middle")) / latency["ours"]["alone"]
        print(f"  ratio ours loaded / alone (the worse placement) = {worst:.2f} (aim <= 1.2)")
        print(f"far sites ({LOADED} HTTPS targets whose handshakes take {FAR_MS} ms more; one CPU)")
        for client, row in far_sites(env, material, workdir).items():
            durations = f"Duration p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms"
            print(f"  {client}: run {row['run_s']:.2f} s, {durations}")


if __name__ == "__main__":
    ROOT = Path(__file__).resolve().parent.parent
    run({**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "image"), str(ROOT)])})
