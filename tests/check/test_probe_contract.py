"""What a check sends, and how it ends when nobody aborts it: the probe alone, against loopback servers."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from urllib3.exceptions import HTTPError, NameResolutionError, NewConnectionError, ProtocolError, SSLError

from healthcheck.check.connections import Cancel
from healthcheck.check.probe import USER_AGENT, Probe, describe_error
from healthcheck.check.targets import Target
from tests.conftest import check_one
from tests.hostile import Peer, Request, raw_server
from tests.servers import FaultServer

HOLD_S = 3.0
"""How long the silent server keeps a connection before closing it: far past any deadline below."""


def test_a_check_is_one_get_that_says_who_is_asking(probe: Probe) -> None:
    # Site owners allow-list or filter monitors by their User-Agent; the README names it.
    seen: list[Request] = []

    def record(peer: Peer, request: Request) -> bool:
        seen.append(request)
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return False

    with raw_server(record) as server:
        started = time.monotonic()
        target = Target("t", f"{server.base_url}/health?x=1")
        result = probe.check(target, Cancel(), started=started, deadline=started + 5)
    assert (result.success, result.status) == (True, 200)
    [request] = seen
    assert (request.method, request.path) == ("GET", "/health?x=1")
    assert request.headers["user-agent"] == USER_AGENT == "healthcheck/1.0 (uptime monitor)"
    assert request.headers["accept"] == "*/*"


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections, reads what comes, never answers; closes each after ``HOLD_S``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def hold(sock: socket.socket) -> None:
        sock.settimeout(0.05)
        give_up = time.monotonic() + HOLD_S
        with sock:
            while not stop.is_set() and time.monotonic() < give_up:
                with contextlib.suppress(TimeoutError):
                    if not sock.recv(65536):
                        return

    def serve() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=hold, args=(sock,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.parametrize("scheme", ["http", "https"], ids=["no-reply", "tls-handshake-never-answered"])
def test_a_silent_server_ends_the_check_at_its_own_deadline_even_without_an_abort(probe: Probe, scheme: str) -> None:
    # No watchdog here. Its abort cannot reach a TLS handshake (urllib3 sets the socket
    # only after it), so the socket timeout, the check's remaining time, must end it; a
    # check that waited for the server instead would hold its thread into the next run.
    with silent_server() as address:
        started = time.monotonic()
        result = probe.check(Target("t", f"{scheme}://{address}/"), Cancel(), started=started, deadline=started + 0.3)
    assert (result.success, result.status, result.error) == (False, None, "timed out after 0.3 s")
    assert result.duration_ms < HOLD_S * 1000 / 2


def test_a_check_whose_deadline_has_passed_opens_no_connection(probe: Probe) -> None:
    # A check that starts late (a slow pool, a frozen invocation) is a timeout, never a request.
    with raw_server(lambda peer, request: False) as server:
        started = time.monotonic() - 1
        target = Target("late", f"{server.base_url}/")
        result = probe.check(target, Cancel(), started=started, deadline=started + 0.5)
        assert server.connections == 0
    assert (result.success, result.url, result.error) == (False, target.url, "timed out after 0.5 s")


def test_a_body_dripped_faster_than_the_socket_timeout_still_ends_at_the_deadline(probe: Probe) -> None:
    # Each byte arrives well within the socket timeout; only the deadline between reads stops it.
    def drip(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        with contextlib.suppress(OSError):
            peer.drip(b"x" * 100, every_s=0.02)
        return False

    with raw_server(drip) as server:
        started = time.monotonic()
        target = Target("drip", f"{server.base_url}/")
        result = probe.check(target, Cancel(), started=started, deadline=started + 0.3)
    assert (result.success, result.status, result.error) == (False, None, "timed out after 0.3 s")


def test_a_body_that_cannot_be_decoded_is_a_named_protocol_error(probe: Probe) -> None:
    def not_gzip(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!")
        return False

    with raw_server(not_gzip) as server:
        started = time.monotonic()
        result = probe.check(Target("gz", f"{server.base_url}/"), Cancel(), started=started, deadline=started + 5)
    assert (result.success, result.error) == (False, "protocol error: body could not be decoded")


def test_300_multiple_choices_is_down(http_server: FaultServer, probe: Probe) -> None:
    # A 300 carries no Location to follow: it is not a 2xx, so the site is down.
    result = check_one(probe, f"{http_server.base_url}/status/300")
    assert (result.success, result.status, result.error) == (False, 300, "status 300 not in [2xx]")


@pytest.mark.parametrize(("hops", "error"), [(5, None), (6, "too many redirects (more than 5)")], ids=["5", "6"])
def test_five_redirects_are_followed_and_a_sixth_is_too_many(
    http_server: FaultServer, probe: Probe, hops: int, error: str | None
) -> None:
    # /redirect/N redirects N+1 times: to /redirect/N-1, ..., /redirect/0, then /ok.
    result = check_one(probe, f"{http_server.base_url}/redirect/{hops - 1}")
    assert (result.success, result.error) == (error is None, error)


def _caused(exc: BaseException, cause: BaseException) -> BaseException:
    """``exc`` as ``raise exc from cause`` inside ``except cause`` leaves it: cause and context both set."""
    exc.__cause__ = exc.__context__ = cause
    return exc


def _looped() -> BaseException:
    first, second = OSError("first"), OSError("second")
    first.__context__, second.__context__ = second, first
    return first


UNREACHABLE = OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH))


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (NameResolutionError("gone.example", None, socket.gaierror("x")), "name not resolved"),  # type: ignore[arg-type]
        (
            _caused(NewConnectionError(None, "Failed to establish a new connection"), UNREACHABLE),  # type: ignore[arg-type]
            "connection failed: Network is unreachable",
        ),
        (
            # The OSError two links down, behind a link repeated as cause and context.
            _caused(NewConnectionError(None, "Failed"), _caused(RuntimeError("wrapped"), UNREACHABLE)),  # type: ignore[arg-type]
            "connection failed: Network is unreachable",
        ),
        (NewConnectionError(None, "no socket error at all"), "connection failed: None: no socket error at all"),  # type: ignore[arg-type]
        (SSLError("handshake refused by policy"), "TLS error: handshake refused by policy"),
        (ProtocolError("Connection aborted.", _looped()), "protocol error: ('Connection aborted.', OSError('first'))"),
        (OSError("no errno"), "OSError: no errno"),
        (HTTPError("something new"), "HTTPError: something new"),
    ],
    ids=[
        "unresolved-without-a-connection",
        "unreachable",
        "unreachable-deep",
        "connect-failed-without-a-cause",
        "tls-without-an-ssl-error",
        "looped-chain",
        "oserror-without-errno",
        "unknown-urllib3-error",
    ],
)
def test_every_error_urllib3_can_raise_gets_a_readable_line(exc: BaseException, error: str) -> None:
    # Faults no loopback server can stage (a route missing, DNS without a connection) as urllib3 raises them.
    assert describe_error(exc) == error
