"""What a check sends, and how it ends when nobody aborts it: the probe alone, against loopback servers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from healthcheck.connections import Cancel
from healthcheck.probe import USER_AGENT, Probe
from healthcheck.targets import Target
from tests.hostile import Peer, Request, raw_server

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
