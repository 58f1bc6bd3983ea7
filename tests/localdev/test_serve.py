"""`make serve` as a user meets it: a busy port, a wrong URL, a client that leaves, and stopping it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from tests.servers import FaultServer

ROOT = Path(__file__).resolve().parents[2]
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
EVENT = (ROOT / "events" / "eventbridge.json").read_bytes()


def _serve_command(port: int, url: str) -> list[str]:
    return [sys.executable, "-m", "localdev.serve", "--port", str(port), "--url", url]


def _env_without_pythonpath() -> dict[str, str]:
    # As a user runs it from the repo root with the venv's python: no PYTHONPATH.
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@contextmanager
def serving(target_url: str, stack: str | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`python -m localdev.serve` in a session of its own (as in a terminal); yields it and its invoke URL.

    With ``stack``, it serves that stack's config (``Pulumi.<stack>.yaml``) instead of ``target_url``.
    """
    command = _serve_command(0, target_url)
    if stack is not None:
        command = [*command[: command.index("--url")], "--stack", stack]
    serve = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_env_without_pythonpath(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
        assert first.startswith("invoke URL: "), first + serve.communicate(timeout=10)[1]
        yield serve, first.split()[-1]
    finally:
        if serve.poll() is None:
            serve.kill()
        serve.communicate(timeout=10)


def invoke(url: str, body: bytes = EVENT, method: str = "POST") -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def stop(serve: subprocess.Popen[str], how: Callable[[subprocess.Popen[str]], None]) -> tuple[int, str]:
    how(serve)
    _, stderr = serve.communicate(timeout=30)
    return serve.returncode, stderr


def ctrl_c(serve: subprocess.Popen[str]) -> None:
    """What a terminal does on Ctrl-C: SIGINT to the whole foreground process group."""
    # Whatever serve started in its own group would print a KeyboardInterrupt traceback if the race
    # with serve's shutdown let it: only serve itself may get the terminal's SIGINT.
    pids = [child.pid for child in psutil.Process(serve.pid).children()]
    assert pids, "serve started no function process"
    assert [pid for pid in pids if os.getpgid(pid) == serve.pid] == []
    os.killpg(serve.pid, signal.SIGINT)


def sigterm(serve: subprocess.Popen[str]) -> None:
    serve.terminate()


@pytest.mark.parametrize("how", [ctrl_c, sigterm], ids=["ctrl-c", "sigterm"])
def test_stopping_is_quiet(http_server: FaultServer, how: Callable[[subprocess.Popen[str]], None]) -> None:
    with serving(f"{http_server.base_url}/ok") as (serve, url):
        status, _, summary = invoke(url)
        assert status == 200
        assert isinstance(summary, dict)
        assert summary["succeeded"] == 1
        # The function now waits for its next event: stopping cuts that request short.
        assert stop(serve, how) == (0, "")


def test_a_client_that_leaves_mid_invoke_leaves_no_trace(http_server: FaultServer) -> None:
    with serving(f"{http_server.base_url}/slow?ms=100") as (serve, url):
        port = int(url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(
                f"POST {INVOKE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(EVENT)}\r\n\r\n".encode() + EVENT
            )
        # Invocations run one at a time: this one is answered after the abandoned one's answer was written.
        status, _, summary = invoke(url)
        assert status == 200, summary
        assert stop(serve, sigterm) == (0, "")


@pytest.fixture(scope="module")
def invoke_url(http_server: FaultServer) -> Iterator[str]:
    """One server for the tests that only ask it questions."""
    with serving(f"{http_server.base_url}/ok") as (serve, url):
        yield url
        assert stop(serve, sigterm) == (0, "")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/2015-03-31/functions/healthcheck/invocations", 404),
        ("POST", "/", 404),
        ("GET", INVOKE_PATH, 405),
    ],
    ids=["other-function-name", "root", "get-on-the-invoke-url"],
)
def test_a_wrong_request_says_what_was_asked_and_what_to_use(
    invoke_url: str, method: str, path: str, status: int
) -> None:
    got, headers, body = invoke(invoke_url.removesuffix(INVOKE_PATH) + path, method=method)
    assert got == status
    assert body == {
        "message": f"nothing answers {method} {path} here; invoke the function with POST {INVOKE_PATH}, "
        "or GET /status/ for the status page"
    }
    if status == 405:
        assert headers["Allow"] == "POST"


def test_a_busy_port_is_one_line_naming_the_port_and_another(http_server: FaultServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            _serve_command(port, f"{http_server.base_url}/ok"),
            cwd=ROOT,
            env=_env_without_pythonpath(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    expected = f"serve: cannot listen on 127.0.0.1:{port}: Address already in use. Pick another port: make serve PORT="
    assert result.stderr.splitlines() == [f"{expected}{port + 1}"]


def test_the_status_page_is_answered_on_the_same_port_and_shows_an_invoked_run(invoke_url: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _, summary = invoke(invoke_url, json.dumps({**json.loads(EVENT), "time": now}).encode())
    assert status == 200, summary
    base = invoke_url.split("/2015-03-31")[0]
    status, headers, body = invoke(f"{base}/status/?format=json", method="GET")
    assert status == 200, body
    assert headers["cache-control"] == "public, max-age=60"
    assert isinstance(body, dict)
    [target] = body["targets"]
    assert target["state"] == "UP"
    # The run's record is read back raw (its hour is not summarised yet): one check, passed.
    assert target["uptime"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0, "90d": 100.0}
    assert target["days"][-1]["checks"] == 1


def test_the_function_gets_the_stacks_maintenance_windows_as_in_make_run(http_server: FaultServer) -> None:
    # Unquoted 00:00 is a string to the CLI's YAML, as `make check-config` and `make run` read it.
    name = f"test-{uuid.uuid4().hex[:8]}"
    stack = ROOT / f"Pulumi.{name}.yaml"
    stack.write_text(
        "config:\n"
        f"  healthcheck:targets:\n    - {{name: api, url: '{http_server.base_url}/status/503'}}\n"
        "  healthcheck:maintenance:\n    - start: 00:00\n      duration: 1d\n",  # always open
        encoding="utf-8",
    )
    try:
        with serving("", stack=name) as (serve, url):
            now = datetime.now(UTC).replace(microsecond=0)
            for minutes in (2, 1, 0):  # the default failureThreshold: DOWN, were it not for the window
                moment = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
                status, _, summary = invoke(url, json.dumps({"time": moment}).encode())
                assert status == 200, summary
            status, _, body = invoke(f"{url.split('/2015-03-31')[0]}/status/?format=json", method="GET")
            assert stop(serve, sigterm) == (0, "")
    finally:
        stack.unlink()
    assert isinstance(body, dict)
    [target] = body["targets"]
    assert target["state"] == "MAINTENANCE"  # not UP: its every check was inside the window
    assert sum(day["maintenance"] for day in target["days"]) == 3
