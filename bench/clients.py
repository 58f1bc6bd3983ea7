"""The three clients the CPU benchmark compares, each run in a fresh process of its own.

``python -m bench.clients <client> <urls.json>`` checks every URL once, all at once as a run
does (128 in flight), and prints one JSON line: the CPU time the process spent checking
(every thread's), the wall time, how many checks passed, and each check's duration in ms.

- ``ours``: :func:`run_checks` with the handler's :class:`Probe`, as deployed.
- ``ours-unpaced``: the same, every check connecting at once (no pacing: what it buys).
- ``urllib3``: a well-written urllib3 client: one ``PoolManager`` sharing one
  ``SSLContext`` (the system's default trust store), threads, no retries.
- ``aiohttp``: asyncio, one ``TCPConnector`` sharing the same kind of context.

The trust store comes from the environment (``SSL_CERT_FILE``/``SSL_CERT_DIR``), as each
client reads it in production. ``TASKSET=<cpu>`` pins the process to one CPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

IN_FLIGHT = 128
TIMEOUT_S = 10.0
Figures = dict[str, Any]


def _shared_context() -> ssl.SSLContext:
    """What a careful urllib3 or aiohttp user builds once: urllib3's settings, the default trust store."""
    from urllib3.util.ssl_ import create_urllib3_context

    context = create_urllib3_context()
    context.load_default_certs()
    return context


def ours(urls: list[str], *, paced: bool = True) -> tuple[list[bool], list[int]]:
    from healthcheck.check.probe import Probe
    from healthcheck.check.runner import PACE_LEASE_S, PACE_SLOTS, run_checks
    from healthcheck.check.targets import Target
    from healthcheck.config import MAX_CONCURRENCY_LIMIT

    probe = Probe(max_connections=MAX_CONCURRENCY_LIMIT)  # as the handler builds it
    targets = [Target(f"t{i}", url, TIMEOUT_S) for i, url in enumerate(urls)]
    pace = (PACE_SLOTS, PACE_LEASE_S) if paced else (IN_FLIGHT, TIMEOUT_S)
    results = run_checks(targets, probe, run_deadline=time.monotonic() + 120, max_workers=IN_FLIGHT, pace=pace)
    return [result.success for result in results], [result.duration_ms for result in results]


def ours_unpaced(urls: list[str]) -> tuple[list[bool], list[int]]:
    return ours(urls, paced=False)


def bare_urllib3(urls: list[str]) -> tuple[list[bool], list[int]]:
    import urllib3

    http = urllib3.PoolManager(num_pools=IN_FLIGHT, ssl_context=_shared_context(), retries=False)

    def check(url: str) -> tuple[bool, int]:
        started = time.monotonic()
        try:
            response = http.request("GET", url, timeout=TIMEOUT_S, retries=False, redirect=False)
        except urllib3.exceptions.HTTPError:
            return False, round((time.monotonic() - started) * 1000)
        return response.status == 200, round((time.monotonic() - started) * 1000)

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as executor:
        outcomes = list(executor.map(check, urls))
    return [ok for ok, _ in outcomes], [ms for _, ms in outcomes]


def aiohttp_client(urls: list[str]) -> tuple[list[bool], list[int]]:
    import aiohttp

    async def run() -> list[tuple[bool, int]]:
        connector = aiohttp.TCPConnector(ssl=_shared_context(), limit=IN_FLIGHT, force_close=True)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def check(url: str) -> tuple[bool, int]:
                started = time.monotonic()
                try:
                    async with session.get(url, allow_redirects=False) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                return ok, round((time.monotonic() - started) * 1000)

            return await asyncio.gather(*(check(url) for url in urls))

    outcomes = asyncio.run(run())
    return [ok for ok, _ in outcomes], [ms for _, ms in outcomes]


CLIENTS: dict[str, Callable[[list[str]], tuple[list[bool], list[int]]]] = {
    "ours": ours,
    "ours-unpaced": ours_unpaced,
    "urllib3": bare_urllib3,
    "aiohttp": aiohttp_client,
}


def measure(client: str, urls: list[str]) -> Figures:
    work = CLIENTS[client]
    cpu, wall = time.process_time(), time.perf_counter()
    passed, durations = work(urls)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_s": cpu, "wall_s": wall, "passed": sum(passed), "durations_ms": durations}


def main() -> None:
    if "TASKSET" in os.environ:
        os.sched_setaffinity(0, {int(os.environ["TASKSET"])})
    client, urls = sys.argv[1], json.loads(Path(sys.argv[2]).read_text())
    if client == "aiohttp":
        import aiohttp  # noqa: F401 - imported before the clock starts, as the others' modules are
    elif client == "urllib3":
        import urllib3  # noqa: F401
    else:
        import healthcheck.check.probe
        import healthcheck.check.runner  # noqa: F401
    print(json.dumps(measure(client, urls)))


if __name__ == "__main__":
    main()
