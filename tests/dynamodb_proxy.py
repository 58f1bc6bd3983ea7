"""A loopback HTTP proxy in front of the embedded AWS services that misbehaves on demand.

The stores and the notifier are tested over real HTTP, through botocore's
real client: the proxy forwards each request to the moto server unless told
to throttle it (as DynamoDB does, HTTP 400 with the error's ``__type``), to
never answer at all, or, by a ``Fault`` matched against the request, to
refuse it, to answer late, or to garble or cut the answer. moto's server
answers DynamoDB and SNS alike, so one proxy serves both.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Literal

from localdev.quiet_http import QuietHandler
from tests.servers import serving_in_thread

__all__ = ["DynamoDBProxy", "Fault", "dynamodb_proxy"]

THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
    b'"message":"The level of configured provisioned throughput for the table was exceeded."}'
)
DENIED = b'{"__type":"com.amazonaws.dynamodb.v20120810#AccessDeniedException","message":"not allowed"}'
SNS_THROTTLED = (
    b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
)

FaultKind = Literal["throttle", "deny", "sns-throttle", "server-error", "garble", "cut", "slow"]


@dataclass
class Fault:
    """What to do, ``times`` times, to a request whose operation header or body contains every string of ``match``.

    ``throttle``, ``deny``, ``sns-throttle`` and ``server-error`` answer without
    forwarding (nothing happens upstream); ``garble``, ``cut`` and ``slow``
    forward first, so the request takes effect and only its answer is lost,
    replaced by garbage, cut short, or held ``delay_s`` seconds.
    """

    match: tuple[str, ...]
    kind: FaultKind
    times: int = 1
    delay_s: float = 0.0
    seen: int = 0

    def matches(self, request: bytes) -> bool:
        return all(part.encode() in request for part in self.match)


class _Handler(QuietHandler):
    server: DynamoDBProxy

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server
        request = (self.headers.get("X-Amz-Target", "") + " ").encode() + body
        with proxy.lock:
            proxy.calls += 1
            throttle = proxy.throttle_next > 0
            proxy.throttle_next -= throttle
            fault = next((f for f in proxy.faults if f.matches(request) and f.seen < f.times), None)
            if fault is not None:
                fault.seen += 1
        if proxy.black_hole:
            proxy.released.wait()  # accepted, read, and never answered
            self.close_connection = True  # until the test ends: then the client sees the close
            return
        if throttle or (fault is not None and fault.kind == "throttle"):
            self.reply(400, THROTTLED, {"Content-Type": "application/x-amz-json-1.0"})
            return
        if fault is not None and fault.kind in ("deny", "sns-throttle", "server-error"):
            answers = {"deny": (400, DENIED), "sns-throttle": (400, SNS_THROTTLED), "server-error": (500, b"oops")}
            status, payload = answers[fault.kind]
            self.reply(status, payload, {"Content-Type": "application/x-amz-json-1.0"})
            return
        status, payload, kind = self._forward(body)
        if fault is None:
            self.reply(status, payload, {"Content-Type": kind})
        elif fault.kind == "slow":
            proxy.released.wait(fault.delay_s)  # taken upstream; the answer comes late, or never
            with contextlib.suppress(OSError):  # the client gave up waiting
                self.reply(status, payload, {"Content-Type": kind})
        elif fault.kind == "garble":
            self.reply(status, b"\xff\xfe<{garbled" + payload[: len(payload) // 3], {"Content-Type": kind})
        else:  # cut: the length of the whole answer announced, half of it sent, then the connection closed
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True

    def _forward(self, body: bytes) -> tuple[int, bytes, str]:
        forwarded = urllib.request.Request(  # noqa: S310 - the embedded moto server on loopback
            self.server.upstream + self.path,
            data=body,
            headers={key: value for key, value in self.headers.items() if key.lower() != "host"},
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as answer:  # noqa: S310
                return answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")


class DynamoDBProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.calls = 0
        self.throttle_next = 0
        self.black_hole = False
        self.faults: list[Fault] = []
        self.released = threading.Event()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fault(self, *match: str, kind: FaultKind, times: int = 1, delay_s: float = 0.0) -> Fault:
        added = Fault(match, kind, times, delay_s)
        with self.lock:
            self.faults.append(added)
        return added


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
