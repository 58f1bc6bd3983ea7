"""The image's CMD run by the real runtime client (awslambdaric) against a local Runtime API,
as the base image's entrypoint does in Lambda and under the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from localdev.dockerfile import Dockerfile, assemble_task_root
from localdev.dynamodb import use_endpoint
from localdev.runtime_api import RuntimeAPI, start_function
from tests.records import all_checks
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def function_env(dynamodb_endpoint: str, table: str, http_server: FaultServer) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    use_endpoint(dynamodb_endpoint, env)
    env["TABLE_NAME"] = table
    env["TARGETS"] = json.dumps([{"name": "local", "url": f"{http_server.base_url}/ok"}])
    return env


@pytest.fixture
def dockerfile() -> Dockerfile:
    return Dockerfile.parse(ROOT / "Dockerfile")


@pytest.fixture
def function(
    dockerfile: Dockerfile, function_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[RuntimeAPI, subprocess.Popen[bytes]]]:
    """The image's CMD started as in the image, and the Runtime API it polls."""
    task_root = assemble_task_root(dockerfile, ROOT, tmp_path / "task")
    with RuntimeAPI() as api:
        process = start_function(dockerfile, task_root, api, function_env)
        try:
            yield api, process
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def runtime(function: tuple[RuntimeAPI, subprocess.Popen[bytes]]) -> RuntimeAPI:
    return function[0]


def assert_started_with_the_dockerfiles_env(pid: int, dockerfile: Dockerfile) -> None:
    """What the process's C library sees, read from the process itself."""
    environ = psutil.Process(pid).environ()
    assert "RES_OPTIONS" in dockerfile.env, "the Dockerfile bounds DNS lookups"
    assert {name: environ.get(name) for name in dockerfile.env} == dict(dockerfile.env)


def test_the_function_process_starts_with_the_dockerfiles_env(
    function: tuple[RuntimeAPI, subprocess.Popen[bytes]], dockerfile: Dockerfile
) -> None:
    assert_started_with_the_dockerfiles_env(function[1].pid, dockerfile)


def test_scheduled_event_through_the_runtime_client_writes_a_record(
    runtime: RuntimeAPI, dynamodb: DynamoDBClient, table: str
) -> None:
    result = runtime.invoke((ROOT / "events" / "eventbridge.json").read_bytes(), timeout_s=60)
    assert result.ok, result.body
    assert result.json() == {
        "timestamp": "2015-10-08T16:53:06Z",
        "checked": 1,
        "succeeded": 1,
        "failed": 0,
        "invalid": 0,
    }
    [check] = all_checks(dynamodb, table)
    assert (check.target, check.time, check.success) == ("local", "2015-10-08T16:53:06Z", True)


def test_scheduler_input_through_the_runtime_client(
    runtime: RuntimeAPI, http_server: FaultServer, dynamodb: DynamoDBClient, table: str
) -> None:
    event = {
        "time": "2026-11-27T18:00:00Z",
        "targets": [{"name": "from-schedule", "url": f"{http_server.base_url}/ok"}],
    }
    result = runtime.invoke(json.dumps(event).encode(), timeout_s=60)
    assert result.ok, result.body
    assert [check.target for check in all_checks(dynamodb, table)] == ["from-schedule"]


def test_a_bad_event_is_a_named_function_error(runtime: RuntimeAPI, dynamodb: DynamoDBClient, table: str) -> None:
    result = runtime.invoke(b'{"time": "tomorrow"}', timeout_s=60)
    assert not result.ok
    error = result.json()
    assert isinstance(error, dict)
    assert error["errorType"] == "InvalidEventError"
    assert "event 'time' 'tomorrow'" in error["errorMessage"]
    assert dynamodb.scan(TableName=table)["Items"] == []


def test_make_serve_answers_the_emulator_invoke_url(http_server: FaultServer, dockerfile: Dockerfile) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}  # as from a shell in the repo
    serve = subprocess.Popen(
        [sys.executable, "-m", "localdev.serve", "--port", "0", "--url", f"{http_server.base_url}/ok"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().split()[-1]
        assert url.endswith("/2015-03-31/functions/function/invocations")
        request = urllib.request.Request(url, data=(ROOT / "events" / "eventbridge.json").read_bytes())  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            summary = json.load(response)
        assert summary == {"timestamp": "2015-10-08T16:53:06Z", "checked": 1, "succeeded": 1, "failed": 0, "invalid": 0}
        # Read after it answered: before its exec, a busy machine shows the forked parent's environment.
        [function] = psutil.Process(serve.pid).children()
        assert_started_with_the_dockerfiles_env(function.pid, dockerfile)
    finally:
        serve.terminate()
        try:
            # Stopping takes serve's embedded moto server and its function down too: on a busy
            # machine that took more than 10 s. 60 s still catches a serve that ignores SIGTERM.
            stopped = serve.wait(timeout=60)
        finally:
            # Never leave it running: its pipe and Popen, left to the garbage collector, failed
            # the next test (test_secret_leaks) with ResourceWarnings.
            if serve.poll() is None:
                serve.kill()
                serve.wait()
            assert serve.stdout is not None
            serve.stdout.close()
        assert stopped == 0, "make serve stops cleanly on SIGTERM"
