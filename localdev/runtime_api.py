"""The Lambda Runtime API's invocation endpoints on 127.0.0.1: what the Runtime
Interface Emulator offers the base image's runtime client (awslambdaric).

`invoke` hands an event to whichever runtime client polls `/next`, and waits for
its `/response` or `/error`, as Lambda itself does.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from localdev.dockerfile import Dockerfile
from localdev.quiet_http import QuietHandler, QuietServer

__all__ = ["Invocation", "InvocationResult", "RuntimeAPI", "start_function"]

API = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:healthcheck-local"


@dataclass(frozen=True, slots=True)
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class InvocationResult:
    ok: bool
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path != f"{API}/invocation/next":
            self.reply(404)
            return
        invocation = self.server.api.next_invocation()
        if invocation is None:  # shutting down
            self.reply(503)
            return
        self.reply(
            200,
            invocation.event,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0",
            },
        )

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.removeprefix(API).strip("/").split("/")
        if parts == ["init", "error"]:
            self.server.api.fail_all(body)
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            self.server.api.complete(parts[1], InvocationResult(ok=parts[2] == "response", body=body))
        else:
            self.reply(404)
            return
        self.reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})


class _Server(QuietServer):
    def __init__(self, api: RuntimeAPI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api


class RuntimeAPI:
    def __init__(self) -> None:
        self._queue: queue.Queue[Invocation] = queue.Queue()
        self._futures: dict[str, Future[InvocationResult]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(self)
        # A short poll: stopping waits for it, and tests start and stop many of these.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def address(self) -> str:
        """What AWS_LAMBDA_RUNTIME_API holds: host:port."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def __enter__(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.fail_all(b'{"errorMessage": "runtime API stopped", "errorType": "Runtime.Stopped"}')
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def invoke(self, event: bytes, timeout_s: float = 900) -> InvocationResult:
        """Queue an event, as an invoke does, and wait for the function's answer."""
        invocation = Invocation(uuid.uuid4().hex, event, int((time.time() + timeout_s) * 1000))
        future: Future[InvocationResult] = Future()
        with self._lock:
            self._futures[invocation.request_id] = future
        self._queue.put(invocation)
        return future.result(timeout=timeout_s)

    def next_invocation(self) -> Invocation | None:
        while not self._stopping.is_set():
            try:
                return self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def complete(self, request_id: str, result: InvocationResult) -> None:
        with self._lock:
            future = self._futures.pop(request_id, None)
        if future is not None:
            future.set_result(result)

    def fail_all(self, body: bytes) -> None:
        """An init error (or shutdown) answers every waiting invoke."""
        with self._lock:
            futures, self._futures = self._futures, {}
        for future in futures.values():
            future.set_result(InvocationResult(ok=False, body=body))


def start_function(
    dockerfile: Dockerfile,
    task_root: Path,
    api: RuntimeAPI,
    env: Mapping[str, str],
    *,
    logs: int | None = None,
) -> subprocess.Popen[bytes]:
    """Run the image's CMD the way the base image's entrypoint does: `python -m awslambdaric CMD`.

    The process starts with the Dockerfile's ENV, overridden by ``env`` as a
    function's configuration overrides its image's ENV in Lambda. ``logs``
    (e.g. ``subprocess.PIPE``) takes its stdout and stderr, what Lambda would
    send to CloudWatch Logs; by default they are this process's own.
    """
    environment = {
        **dockerfile.env,
        **env,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "healthcheck-local",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }
    # The command is our own Dockerfile's CMD. In a process group of its own, as in a container: a
    # terminal's Ctrl-C reaches only whoever started it, which stops it quietly (no KeyboardInterrupt
    # traceback from the function mid-wait for its next event).
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "awslambdaric", *dockerfile.cmd],
        cwd=task_root,
        env=environment,
        process_group=0,
        stdout=logs,
        stderr=logs,
    )
