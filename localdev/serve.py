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
import sys
import tempfile
from http.server import ThreadingHTTPServer
from pathlib import Path

from localdev.dockerfile import Dockerfile, assemble_task_root
from localdev.dynamodb import create_results_table, embedded_dynamodb, use_endpoint
from localdev.quiet_http import QuietHandler
from localdev.run import ROOT, TABLE_NAME, stack_targets
from localdev.runtime_api import RuntimeAPI, start_function

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
JSON = {"Content-Type": "application/json"}


class _InvokeHandler(QuietHandler):
    server: InvokeServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"
        if self.path != INVOKE_PATH:
            self.reply(404, b'{"message": "not found: POST ' + INVOKE_PATH.encode() + b'"}', JSON)
            return
        # Like the emulator: 200 with the handler's return value, or with its error object.
        result = self.server.api.invoke(body)
        self.reply(200, result.body, JSON)


class InvokeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, api: RuntimeAPI) -> None:
        super().__init__(("127.0.0.1", port), _InvokeHandler)
        self.api = api


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--url", help="configure this one URL instead of the stack's targets")
    parser.add_argument("--stack", type=Path, default=ROOT / "Pulumi.dev.yaml")
    args = parser.parse_args(argv)

    # Stop as on Ctrl-C, so the function process and the servers are shut down too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    targets = [{"url": args.url}] if args.url else stack_targets(args.stack)
    dockerfile = Dockerfile.parse(ROOT / "Dockerfile")
    with embedded_dynamodb() as endpoint, RuntimeAPI() as api, tempfile.TemporaryDirectory() as scratch:
        create_results_table(endpoint, TABLE_NAME)
        env = dict(os.environ)
        use_endpoint(endpoint, env)
        env.update({"TABLE_NAME": TABLE_NAME, "TARGETS": json.dumps(targets)})
        env.pop("PYTHONPATH", None)  # the function sees only its task root, as in the image
        task_root = assemble_task_root(dockerfile, ROOT, Path(scratch) / "task")
        function = start_function(dockerfile, task_root, api, env)
        server = InvokeServer(args.port, api)
        url = f"http://127.0.0.1:{server.server_address[1]}{INVOKE_PATH}"
        print(f"invoke URL: {url}", flush=True)
        print(f"embedded DynamoDB: {endpoint} (table {TABLE_NAME})", flush=True)
        print(f"try: curl -s -d @events/eventbridge.json {url}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            function.terminate()
            function.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
