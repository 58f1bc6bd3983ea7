"""`make serve`: the Runtime Interface Emulator's invoke URL on 127.0.0.1, without Docker.

POST /2015-03-31/functions/function/invocations hands the body, as the event,
to the image's CMD run by the real runtime client (awslambdaric) over a local
Runtime API -- the path `docker run -p 9000:8080 IMAGE` takes -- with the
embedded DynamoDB behind it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from healthcheck.status import handler as status_handler
from localdev.dockerfile import Dockerfile, assemble_task_root
from localdev.dynamodb import (
    create_results_table,
    create_rollup_table,
    create_state_table,
    embedded_dynamodb,
    use_endpoint,
)
from localdev.function_url import answer
from localdev.quiet_http import QuietHandler, QuietServer
from localdev.run import ROLLUP_TABLE_NAME, STATE_TABLE_NAME, TABLE_NAME, configure
from localdev.runtime_api import RuntimeAPI, start_function
from localdev.stack import ROOT, FunctionConfig

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# The status function's Function URL, on the same port: /status/, /status/?format=json, /status/badge/<t>.svg.
STATUS_PREFIX = "/status"
JSON = {"Content-Type": "application/json"}
# How long the function may take to go once told to, before it is killed: serve must always stop.
STOP_WAIT_S = 5.0


class _InvokeHandler(QuietHandler):
    server: InvokeServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"
        if self.path != INVOKE_PATH:
            self._misdirected(404)
            return
        # Like the emulator: 200 with the handler's return value, or with its error object.
        result = self.server.api.invoke(body)
        self.reply(200, result.body, JSON)

    def _status_page(self) -> bool:
        path = urlsplit(self.path).path
        if self.command in ("GET", "HEAD") and (path == STATUS_PREFIX or path.startswith(STATUS_PREFIX + "/")):
            answer(self, self.command, status_handler, STATUS_PREFIX)
            return True
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if not self._status_page():
            self._misdirected(405 if self.path == INVOKE_PATH else 404)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        if not self._status_page():
            self.reply(405 if self.path == INVOKE_PATH else 404)

    do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815 - http.server's naming

    def _misdirected(self, status: int) -> None:
        """Say what was asked and what to ask instead: there is one URL here, and it takes POST."""
        message = (
            f"nothing answers {self.command} {self.path} here; invoke the function with POST {INVOKE_PATH}, "
            f"or GET {STATUS_PREFIX}/ for the status page"
        )
        headers = {**JSON, "Allow": "POST"} if status == 405 else JSON
        self.reply(status, json.dumps({"message": message}).encode(), headers)


class InvokeServer(QuietServer):
    def __init__(self, port: int, api: RuntimeAPI) -> None:
        super().__init__(("127.0.0.1", port), _InvokeHandler)
        self.api = api


def serve(port: int, config: FunctionConfig) -> int:
    """Listen first, so a busy port fails in a line before anything else starts; serve until interrupted."""
    dockerfile = Dockerfile.parse(ROOT / "Dockerfile")
    with RuntimeAPI() as api:
        try:
            server = InvokeServer(port, api)
        except OSError as error:
            print(
                f"serve: cannot listen on 127.0.0.1:{port}: {error.strerror}. "
                f"Pick another port: make serve PORT={port + 1}",
                file=sys.stderr,
            )
            return 1
        with server, embedded_dynamodb() as endpoint, tempfile.TemporaryDirectory() as scratch:
            create_results_table(endpoint, TABLE_NAME)
            create_state_table(endpoint, STATE_TABLE_NAME)
            create_rollup_table(endpoint, ROLLUP_TABLE_NAME)
            tables = {
                "TABLE_NAME": TABLE_NAME,
                "STATE_TABLE_NAME": STATE_TABLE_NAME,
                "ROLLUP_TABLE_NAME": ROLLUP_TABLE_NAME,
            }
            # The status handler runs in this process, as the status function would, on the same tables.
            # The function gets the stack's settings as `make run` gives them (alerting, maintenance, canary).
            use_endpoint(endpoint)
            os.environ.update(config.environment(), **tables, STATUS_SHOW_URLS="true")
            env = dict(os.environ)
            env.pop("STATUS_SHOW_URLS")
            env.pop("PYTHONPATH", None)  # the function sees only its task root, as in the image
            task_root = assemble_task_root(dockerfile, ROOT, Path(scratch) / "task")
            function = start_function(dockerfile, task_root, api, env)
            try:
                url = f"http://127.0.0.1:{server.server_address[1]}{INVOKE_PATH}"
                print(f"invoke URL: {url}", flush=True)
                print(f"embedded DynamoDB: {endpoint} (table {TABLE_NAME})", flush=True)
                print(f"try: curl -s -d @events/eventbridge.json {url}", flush=True)
                status = f"http://127.0.0.1:{server.server_address[1]}{STATUS_PREFIX}/"
                print(f"status page: {status} (JSON: {status}?format=json)", flush=True)
                server.serve_forever()
            finally:
                function.terminate()
                try:
                    function.wait(timeout=STOP_WAIT_S)
                except subprocess.TimeoutExpired:  # a function stuck past SIGTERM must not keep serve up
                    function.kill()
                    function.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--url", help="configure this one URL instead of the stack's targets")
    parser.add_argument("--stack", default="dev", help="serve this stack's targets (Pulumi.<stack>.yaml); default dev")
    args = parser.parse_args(argv)

    # Stop as on Ctrl-C, so the function process and the servers are shut down too. SIGINT too, explicitly:
    # a shell starts a background job with it ignored, and Python then leaves it ignored (serve would not stop).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = configure(args.url, args.stack)
    try:
        return serve(args.port, config)
    except KeyboardInterrupt:
        return 0  # Ctrl-C or SIGTERM is how this server stops; everything was shut down on the way out


if __name__ == "__main__":
    sys.exit(main())
