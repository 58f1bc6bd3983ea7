"""Real HTTP(S) servers on 127.0.0.1, one route per fault a monitored site can have."""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from localdev.quiet_http import QuietHandler


class Counters:
    """What the server saw, for assertions (requests per path, bytes sent, peak concurrency)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.body_bytes_sent = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.connections = 0


class FaultHandler(QuietHandler):
    server: FaultServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        counters = self.server.counters
        with counters.lock:
            counters.requests[parts.path] = counters.requests.get(parts.path, 0) + 1
            counters.in_flight += 1
            counters.peak_in_flight = max(counters.peak_in_flight, counters.in_flight)
        try:
            route = ROUTES.get(parts.path.rstrip("/").split("/")[1] if parts.path != "/" else "ok")
            if route is None:
                self.reply(404, b"no such route")
            else:
                route(self, parts.path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it was meant to
        finally:
            with counters.lock:
                counters.in_flight -= 1


Route = Callable[[FaultHandler, str, dict[str, str]], None]


def _ok(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.reply(200, b"ok")


def _status(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    code = int(path.split("/")[2])
    headers = {"Retry-After": query["retry_after"]} if "retry_after" in query else None
    handler.reply(code, b"status", headers)


def _slow(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    time.sleep(int(query.get("ms", "300")) / 1000)
    handler.reply(200, b"ok")


def _together(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    """Answers 200 only once `n` requests are in flight at the same time."""
    barrier = handler.server.barrier(int(query["n"]))
    try:
        barrier.wait(timeout=5)
    except threading.BrokenBarrierError:
        handler.reply(503, b"requests did not arrive together")
        return
    handler.reply(200, b"ok")


def _drip_body(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "120")
    handler.end_headers()
    for _ in range(120):  # a byte every half second: no socket timeout of a second ever trips
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.5)


def _drip_headers(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for _ in range(120):
        handler.wfile.write(b"X")
        handler.wfile.flush()
        time.sleep(0.5)


def _endless(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    """Claims a 1 GB body and sends it as fast as the client reads."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(1024**3))
    handler.end_headers()
    chunk = b"x" * 65536
    for _ in range(1024**3 // len(chunk)):
        handler.wfile.write(chunk)
        with handler.server.counters.lock:
            handler.server.counters.body_bytes_sent += len(chunk)


def _redirect(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    hops = int(path.split("/")[2])
    location = "/ok" if hops == 0 else f"/redirect/{hops - 1}"
    handler.reply(302, b"", {"Location": location})


def _redirect_loop(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.reply(301, b"", {"Location": path})


def _redirect_to(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    time.sleep(int(query.get("ms", "0")) / 1000)
    handler.reply(302, b"", {"Location": query["url"]})


def _hang_up(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def _garbage(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    handler.close_connection = True


def _short_body(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.write(b"only a little")
    handler.close_connection = True


def _body(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    """Replies ``text``, gzipped with ``gzip=1``; each ``h-Name=value`` becomes a header."""
    body = query.get("text", "").encode()
    headers = {key[2:]: value for key, value in query.items() if key.startswith("h-")}
    if query.get("gzip") == "1":
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    handler.reply(int(query.get("status", "200")), body, headers)


def _big(handler: FaultHandler, path: str, query: dict[str, str]) -> None:
    """``size`` bytes of 'x', then ``tail``: text placed past a cap."""
    size, tail = int(query["size"]), query.get("tail", "").encode()
    handler.send_response(200)
    handler.send_header("Content-Length", str(size + len(tail)))
    handler.end_headers()
    chunk = b"x" * 65536
    for start in range(0, size, len(chunk)):
        piece = chunk[: min(len(chunk), size - start)]
        handler.wfile.write(piece)
        with handler.server.counters.lock:
            handler.server.counters.body_bytes_sent += len(piece)
    handler.wfile.write(tail)


ROUTES: dict[str, Route] = {
    "ok": _ok,
    "status": _status,
    "slow": _slow,
    "together": _together,
    "drip-body": _drip_body,
    "drip-headers": _drip_headers,
    "endless": _endless,
    "redirect": _redirect,
    "redirect-loop": _redirect_loop,
    "redirect-to": _redirect_to,
    "hang-up": _hang_up,
    "garbage": _garbage,
    "short-body": _short_body,
    "body": _body,
    "big": _big,
}


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.counters = Counters()
        self._barriers: dict[int, threading.Barrier] = {}
        self._barrier_lock = threading.Lock()
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def barrier(self, parties: int) -> threading.Barrier:
        with self._barrier_lock:
            return self._barriers.setdefault(parties, threading.Barrier(parties))

    def finish_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        with self.counters.lock:
            self.counters.connections += 1
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: that is the test
        super().finish_request(request, client_address)

    @property
    def base_url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def serving_in_thread(server: socketserver.BaseServer) -> Iterator[None]:
    """Serve on a thread of its own until the block ends, then stop and close."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def running(tls: ssl.SSLContext | None = None) -> Iterator[FaultServer]:
    server = FaultServer(tls)
    with serving_in_thread(server):
        yield server


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
