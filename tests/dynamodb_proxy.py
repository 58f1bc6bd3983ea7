"""A loopback HTTP proxy in front of the embedded DynamoDB that throttles or black-holes on demand.

The store is tested over real HTTP, through botocore's real client: the
proxy forwards each request to the moto server unless told to answer with a
throttling error (as DynamoDB does, HTTP 400 with the error's ``__type``) or
to never answer at all.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

from localdev.quiet_http import QuietHandler
from tests.servers import serving_in_thread

__all__ = ["DynamoDBProxy", "dynamodb_proxy"]

THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
    b'"message":"The level of configured provisioned throughput for the table was exceeded."}'
)


class _Handler(QuietHandler):
    server: DynamoDBProxy

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server
        with proxy.lock:
            proxy.calls += 1
            throttle = proxy.throttle_next > 0
            proxy.throttle_next -= throttle
        if proxy.black_hole:
            proxy.released.wait()  # accepted, read, and never answered
            self.close_connection = True  # until the test ends: then the client sees the close
            return
        if throttle:
            self.reply(400, THROTTLED, {"Content-Type": "application/x-amz-json-1.0"})
            return
        forwarded = urllib.request.Request(  # noqa: S310 - the embedded DynamoDB on loopback
            proxy.upstream + self.path,
            data=body,
            headers={key: value for key, value in self.headers.items() if key.lower() != "host"},
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as answer:  # noqa: S310
                status, payload, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, payload, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        self.reply(status, payload, {"Content-Type": kind})


class DynamoDBProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.calls = 0
        self.throttle_next = 0
        self.black_hole = False
        self.released = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def dynamodb_proxy(upstream: str) -> Iterator[DynamoDBProxy]:
    proxy = DynamoDBProxy(upstream)
    try:
        with serving_in_thread(proxy):
            try:
                yield proxy
            finally:
                proxy.released.set()  # before the shutdown, which waits for handlers held in the black hole
    finally:
        # The store leaves threads blocked in calls it stopped waiting for; once the
        # proxy lets go they end, and their last log lines belong to this test.
        for straggler in threading.enumerate():
            if straggler.name.startswith("store"):
                straggler.join(timeout=10)
