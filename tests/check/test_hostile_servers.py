"""Servers that misbehave on purpose, byte for byte: a false UP is the worst bug a monitor can have."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest
import trustme
from urllib3.connection import HTTPConnection

from healthcheck.check.connections import Cancel, CheckAbortedError
from healthcheck.check.expectations import parse_expect
from healthcheck.check.probe import CheckResult, Probe
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target
from tests.conftest import server_context
from tests.hostile import Peer, Request, raw_server
from tests.servers import running


def response(status: int, body: bytes = b"", *headers: str, reason: str = "Whatever") -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def in_order(probe: Probe, *urls: str, timeout: float = 5) -> list[CheckResult]:
    """Check the URLs one after another through one pool, as a run with one worker does."""
    targets = [Target(name=f"t{i}", url=url, timeout=timeout) for i, url in enumerate(urls)]
    return run_checks(targets, probe, run_deadline=time.monotonic() + 60, max_workers=1)


# --- interim (1xx) replies -------------------------------------------------------------------

INTERIM = {
    "100": b"HTTP/1.1 100 Continue\r\n\r\n",
    "102": b"HTTP/1.1 102 Processing\r\n\r\n",
    "103": b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n",
    "103x3": b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" * 3,
    "199": b"HTTP/1.1 199 Misc\r\nX-Note: odd but legal\r\n\r\n",
}


def _interim_then_final(peer: Peer, request: Request) -> bool:
    if request.path.startswith("/interim/"):
        peer.send(INTERIM[request.path.rsplit("/", 1)[1]] + response(200, b"ok"))
    else:
        peer.send(response(500, b"broken"))
    return True  # keep-alive: what lets a misread reply desync the next check


@pytest.mark.parametrize("interim", list(INTERIM), ids=list(INTERIM))
def test_interim_replies_are_skipped_and_never_desync_the_next_check(probe: Probe, interim: str) -> None:
    with raw_server(_interim_then_final) as server:
        hinted, broken = in_order(probe, f"{server.base_url}/interim/{interim}", f"{server.base_url}/broken")
        # A connection that carried interim replies is never reused, even when read right.
        assert server.connections == 2
    assert (hinted.success, hinted.status) == (True, 200), hinted
    # Before the fix, the 103 was taken as final and this check read the 200 left in the pipe.
    assert (broken.success, broken.status, broken.error) == (False, 500, "status 500 not in [2xx]"), broken


def test_switching_protocols_that_nobody_asked_for_is_a_protocol_error(probe: Probe) -> None:
    def switch(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        peer.send(response(200, b"ok"))
        return True

    with raw_server(switch) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.error) == (False, "protocol error: unexpected 101 Switching Protocols")


# --- heads cut off by the server closing -------------------------------------------------------

CUT_HEADS = {
    "status-line-only": b"HTTP/1.1 200 OK\r\n",
    "no-line-end": b"HTTP/1.1 200",
    "half-a-header": b"HTTP/1.1 200 OK\r\nContent-Type: te",
    "no-blank-line": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
    "lf-only": b"HTTP/1.1 200 OK\nServer: x\n",
    "interim-then-nothing": b"HTTP/1.1 103 Early Hints\r\n\r\n",
}


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("head", list(CUT_HEADS.values()), ids=list(CUT_HEADS))
def test_a_head_cut_off_by_the_server_closing_is_a_protocol_error(
    probe: Probe, ca: trustme.CA, scheme: str, head: bytes
) -> None:
    def cut(peer: Peer, request: Request) -> bool:
        peer.send(head)
        return False  # FIN

    tls = server_context(ca, "127.0.0.1") if scheme == "https" else None
    with raw_server(cut, tls) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.status, result.error) == (
        False,
        None,
        "protocol error: response ended inside its headers",
    )


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_complete_head_with_a_body_ended_by_close_is_up(probe: Probe, ca: trustme.CA, scheme: str) -> None:
    # HTTP/1.1 allows a body delimited by the close: the strict head must not reject it.
    def close_delimited(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        return False

    tls = server_context(ca, "127.0.0.1") if scheme == "https" else None
    with raw_server(close_delimited, tls) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.status) == (True, 200), result


# --- heads too large -------------------------------------------------------------------------


def _headers(count: int, size: int) -> bytes:
    return b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * size) for i in range(count))


HUGE_HEADS = {
    # http.client alone allows 99 header lines of 64 KB each: 6 MB held per check.
    "99-lines-of-64k": (b"HTTP/1.1 200 OK\r\n" + _headers(99, 64_000) + b"\r\n", "headers too large (over 64 KiB)"),
    "one-line-of-70k": (b"HTTP/1.1 200 OK\r\n" + _headers(1, 70_000) + b"\r\n", "headers too large (over 64 KiB)"),
    "endless-interims": (b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" * 3000, "headers too large (over 64 KiB)"),
    "101-headers": (b"HTTP/1.1 200 OK\r\n" + _headers(101, 4) + b"\r\n", "more than 100 headers"),
}


@pytest.mark.parametrize(("head", "error"), list(HUGE_HEADS.values()), ids=list(HUGE_HEADS))
def test_heads_beyond_the_caps_are_named_protocol_errors(probe: Probe, head: bytes, error: str) -> None:
    def huge(peer: Peer, request: Request) -> bool:
        peer.send(head + b"ok")
        return False

    with raw_server(huge) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.error) == (False, f"protocol error: {error}")


def _head_of(size: int) -> bytes:
    """A 200's head (status line to blank line) of exactly ``size`` bytes, then a 2-byte body."""
    fixed = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: \r\n\r\n"
    return fixed.replace(b"X-Pad: ", b"X-Pad: " + b"v" * (size - len(fixed))) + b"ok"


@pytest.mark.parametrize(
    ("size", "error"),
    [(64 * 1024, None), (64 * 1024 + 1, "protocol error: headers too large (over 64 KiB)")],
    ids=["exactly-64KiB", "one-byte-over"],
)
def test_the_head_cap_is_exactly_64_kib(probe: Probe, size: int, error: str | None) -> None:
    def sized(peer: Peer, request: Request) -> bool:
        peer.send(_head_of(size))
        return False

    with raw_server(sized) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.error) == (error is None, error), result


def test_an_endless_header_line_on_an_open_connection_fails_at_the_cap_not_the_timeout(probe: Probe) -> None:
    # The line is read at most to the cap: waiting for its end would hold 64 KiB+ until the deadline.
    def endless(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 200 OK\r\nX-Long: " + b"v" * 70_000)
        return True  # and keep the connection open, the line never ending

    with raw_server(endless) as server:
        [result] = in_order(probe, f"{server.base_url}/", timeout=3)
    assert (result.success, result.error) == (False, "protocol error: headers too large (over 64 KiB)")
    assert result.duration_ms < 1000


def test_a_large_but_reasonable_head_is_up(probe: Probe) -> None:
    # 100 headers, 60 KB in all (a big CSP and many cookies): within both caps.
    def large(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + _headers(99, 580) + b"\r\nok")
        return True

    with raw_server(large) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.status) == (True, 200), result


# --- keep-alive: a connection is never reused, so nothing a server does on one reaches another check --


def _keep_alive_then(second: str) -> Callable[[Peer, Request], bool]:
    """Answers the first request on a connection and keeps it open; a second one gets ``second``."""

    def behaviour(peer: Peer, request: Request) -> bool:
        if peer.served == 0:
            peer.send(response(200, b"ok"))
            if request.path == "/stray":  # a late duplicate reply, after the client read the first
                time.sleep(0.05)
                peer.send(response(200, b"ok"))
            return True
        if second == "408":  # Apache, HAProxy and Jetty announce an idle close this way
            peer.send(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        elif second == "reset":
            peer.reset()
        return False  # "fin": closed as the request went out, without a reply

    return behaviour


@pytest.mark.parametrize("second", ["fin", "reset", "408"])
def test_a_server_closing_an_idle_keep_alive_connection_costs_no_check(probe: Probe, second: str) -> None:
    with raw_server(_keep_alive_then(second)) as server:
        first, then = in_order(probe, f"{server.base_url}/a", f"{server.base_url}/b")
        assert (first.success, then.success, then.status) == (True, True, 200), (first, then)
        # /b went out once, on a connection of its own.
        assert (server.requests, server.connections) == (["/a", "/b"], 2)


def test_a_stray_reply_left_on_a_connection_is_never_read_as_another_checks_answer(probe: Probe) -> None:
    def stray_then_broken(peer: Peer, request: Request) -> bool:
        if request.path == "/broken":
            peer.send(response(500, b"broken"))
            return True
        return _keep_alive_then("fin")(peer, request)

    with raw_server(stray_then_broken) as server:
        first, broken = in_order(probe, f"{server.base_url}/stray", f"{server.base_url}/broken")
    assert first.success
    assert (broken.success, broken.status) == (False, 500), broken


def test_a_connection_closed_without_a_reply_is_not_retried(probe: Probe) -> None:
    def never(peer: Peer, request: Request) -> bool:
        return False

    with raw_server(never) as server:
        [result] = in_order(probe, f"{server.base_url}/")
        assert result.error == "protocol error: server closed the connection without a response"
        assert server.requests == ["/"]


# --- one check's timeout must never touch another check's connection --------------------------


@pytest.mark.slow
def test_a_timed_out_check_never_shuts_a_connection_another_check_now_holds(probe: Probe) -> None:
    # Both servers are real http.server ones; the pools are per host and port.
    with running() as home, running() as elsewhere:
        # "slow-hop": a fast redirect on `home` (its connection goes back to the pool), then a
        # drip on `elsewhere` that times out after 1 s.
        slow_hop = f"{home.base_url}/redirect-to?url={elsewhere.base_url}/drip-body"
        # "healthy": 200 ms on `elsewhere`, then a redirect to `home`, where it takes the pooled
        # connection and waits 1.5 s for a 200 -- across slow-hop's timeout.
        healthy = f"{elsewhere.base_url}/redirect-to?ms=200&url={home.base_url}/slow?ms=1500"
        targets = [Target("slow-hop", slow_hop, timeout=1), Target("healthy", healthy, timeout=5)]
        timed_out, fine = run_checks(targets, probe, run_deadline=time.monotonic() + 30)
        assert timed_out.error == "timed out after 1 s"
        assert (fine.success, fine.status, fine.error) == (True, 200, None)
        # Each request had a connection of its own: none was shared to be shut under another check.
        assert home.counters.connections == 2


# --- heads that break RFC 9112's grammar or leave the body's end in doubt ----------------------

MALFORMED = {
    "negative-length": (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length '-1'"),
    "two-lengths": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        "invalid Content-Length '2, 3'",
    ),
    "gzip-transfer": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok", "unsupported Transfer-Encoding 'gzip'"),
    "length-and-chunked": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "both Transfer-Encoding and Content-Length",
    ),
    "no-colon": (b"HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nok", "malformed header line"),
    "no-colon-after-a-good-header": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Bad header\r\n\r\nok",
        "malformed header line",
    ),
    "space-before-colon": (b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", "malformed header line"),
    "nul-in-value": (b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", "malformed header line"),
    "nul-in-reason": (b"HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok", "malformed status line"),
    "http-2-version": (b"HTTP/2 200\r\nContent-Length: 2\r\n\r\nok", "malformed status line"),
    "signed-status": (b"HTTP/1.1 +20 OK\r\nContent-Length: 2\r\n\r\nok", "malformed status line"),
    "empty-length": (b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok", "invalid Content-Length ''"),
    "trailing-comma-length": (b"HTTP/1.1 200 OK\r\nContent-Length: 2,\r\n\r\nok", "invalid Content-Length"),
    "5000-digit-length": (
        b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\nok",
        "invalid Content-Length '" + "9" * 57,
    ),
    "empty-transfer-encoding": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\nContent-Length: 2\r\n\r\nok",
        "unsupported Transfer-Encoding ''",
    ),
}


@pytest.mark.parametrize(("head", "error"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_head_is_a_named_protocol_error_never_up(probe: Probe, head: bytes, error: str) -> None:
    def malformed(peer: Peer, request: Request) -> bool:
        peer.send(head)
        return False

    with raw_server(malformed) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert not result.success
    assert result.error is not None
    assert result.error.startswith(f"protocol error: {error}"), result.error


# The offending value is quoted in the Error, cut at 60 characters.
FRAMING_ERRORS = {
    "two-transfer-codings": (b"Transfer-Encoding: gzip, chunked", "unsupported Transfer-Encoding 'gzip, chunked'"),
    "long-transfer-coding": (b"Transfer-Encoding: " + b"x" * 100, "unsupported Transfer-Encoding '" + "x" * 60 + "'"),
    "long-length": (b"Content-Length: " + b"9" * 100, "invalid Content-Length '" + "9" * 60 + "'"),
    # As the server sent them: neither lower-cased nor split nor sorted (an echoed secret must still be found).
    "transfer-coding-as-sent": (b"Transfer-Encoding: GZip,  X", "unsupported Transfer-Encoding 'GZip,  X'"),
    "lengths-as-sent": (b"Content-Length: 3,2", "invalid Content-Length '3,2'"),
}


@pytest.mark.parametrize(("header", "error"), list(FRAMING_ERRORS.values()), ids=list(FRAMING_ERRORS))
def test_bad_framing_is_quoted_exactly_and_bounded(probe: Probe, header: bytes, error: str) -> None:
    def framing(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 200 OK\r\n" + header + b"\r\n\r\nok")
        return False

    with raw_server(framing) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.error) == (False, f"protocol error: {error}")


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_status_ends_at_the_blank_line_whatever_its_headers_say(probe: Probe, status: int) -> None:
    # RFC 9112 6.3: 204 and 304 never have a body; some stacks still add Transfer-Encoding: chunked.
    def bodiless(peer: Peer, request: Request) -> bool:
        peer.send(b"HTTP/1.1 %d Whatever\r\nTransfer-Encoding: chunked\r\n\r\n" % status)
        return True  # and keep the connection open: a wait for chunks would time out

    with raw_server(bodiless) as server:
        [result] = in_order(probe, f"{server.base_url}/", timeout=3)
    assert (result.status, result.error) == (status, None if status == 204 else "status 304 not in [2xx]")
    assert result.duration_ms < 1000


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",  # no reason phrase at all
        b"HTTP/1.0 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",  # a repeated length that agrees
        b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 2\r\n\r\nok",  # obsolete line folding
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    ids=["no-reason", "agreeing-lengths", "obs-fold", "chunked-any-case"],
)
def test_unusual_but_valid_heads_are_up(probe: Probe, head: bytes) -> None:
    def unusual(peer: Peer, request: Request) -> bool:
        peer.send(head)
        return False

    with raw_server(unusual) as server:
        [result] = in_order(probe, f"{server.base_url}/")
    assert (result.success, result.status) == (True, 200), result


# --- the watchdog's abort: it must unblock a check wherever it waits, and be harmless otherwise --

STALLS = {
    "tls-head-line-never-ended": ("https", b"HTTP/1.1 200 OK\r\nX-Slow: "),
    "head-line-never-ended": ("http", b"HTTP/1.1 200 OK\r\nX-Slow: "),
    # A body ended by the close: http.client has already dropped the socket from the connection.
    "close-delimited-body": ("http", b"HTTP/1.1 200 OK\r\n\r\npartial"),
}


@pytest.mark.parametrize(("scheme", "sent"), list(STALLS.values()), ids=list(STALLS))
def test_an_abort_unblocks_a_stalled_check_at_once(probe: Probe, ca: trustme.CA, scheme: str, sent: bytes) -> None:
    def stall(peer: Peer, request: Request) -> bool:
        peer.send(sent)
        return True  # and hold the connection open, silent

    tls = server_context(ca, "127.0.0.1") if scheme == "https" else None
    with raw_server(stall, tls) as server:
        cancel = Cancel()
        target = Target("stalled", f"{server.base_url}/")
        started = time.monotonic()
        threading.Timer(0.2, cancel.abort).start()  # the watchdog, 0.2 s in
        result = probe.check(target, cancel, started=started, deadline=started + 5)
    assert (result.success, result.status, result.error) == (False, None, "timed out after 5 s")
    assert result.duration_ms < 1000  # not the 5 s socket timeout


def test_a_check_aborted_before_it_starts_opens_no_connection(probe: Probe) -> None:
    with raw_server(lambda peer, request: False) as server:
        cancel = Cancel()
        cancel.abort()
        started = time.monotonic()
        result = probe.check(Target("late", f"{server.base_url}/"), cancel, started=started, deadline=started + 5)
        assert (result.success, result.error) == (False, "timed out after 5 s")
        assert server.connections == 0


def test_an_abort_after_the_check_ended_changes_nothing(probe: Probe) -> None:
    # The watchdog can fire just as a check finishes: its abort must not raise on the watchdog's thread.
    def ok(peer: Peer, request: Request) -> bool:
        peer.send(response(200, b"ok"))
        return False

    with raw_server(ok) as server:
        cancel = Cancel()
        started = time.monotonic()
        result = probe.check(Target("done", f"{server.base_url}/"), cancel, started=started, deadline=started + 5)
    cancel.abort()
    assert (result.success, result.status) == (True, 200)


def test_an_abort_of_a_socket_that_is_already_gone_is_harmless() -> None:
    connection = HTTPConnection("127.0.0.1")
    connection.sock = socket.socket()  # never connected: shutdown() raises OSError
    cancel = Cancel()
    cancel.hold(connection)
    cancel.abort()
    with pytest.raises(CheckAbortedError):
        cancel.hold(connection)
    connection.sock.close()


# --- chunked bodies: framing read strictly, whether or not an expectation reads the body ----------

CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def _trailers(count: int, size: int) -> bytes:
    return b"".join(b"X-Trailer-%d: %s\r\n" % (i, b"v" * size) for i in range(count))


BAD_CHUNKS = {
    # http.client discarded the 2 bytes after a chunk's data unread: a wrong chunk size passed.
    "no-crlf-after-data": (b"2\r\nokXX0\r\n\r\n", "no CRLF after a chunk's data"),
    "size-too-small": (b"1\r\nok\r\n0\r\n\r\n", "no CRLF after a chunk's data"),
    # int(x, 16) takes what RFC 9112's chunk-size (1*HEXDIG) does not.
    "0x-size": (b"0x2\r\nok\r\n0\r\n\r\n", "invalid chunk size line '0x2'"),
    "plus-size": (b"+2\r\nok\r\n0\r\n\r\n", "invalid chunk size line '+2'"),
    "underscore-size": (b"0_2\r\nok\r\n0\r\n\r\n", "invalid chunk size line '0_2'"),
    "space-before-size": (b" 2\r\nok\r\n0\r\n\r\n", "invalid chunk size line ' 2'"),
    "lf-only-size-line": (b"2\nok\r\n0\r\n\r\n", "invalid chunk size line '2\\n'"),
    "empty-size-line": (b"\r\nok\r\n0\r\n\r\n", "invalid chunk size line ''"),
    "long-size-line": (b"2;" + b"x" * 5000 + b"\r\nok\r\n0\r\n\r\n", "chunk size line over 4096 bytes"),
    # A FIN where the last chunk, its CRLF or the trailer section's blank line should be.
    "cut-in-data": (b"2\r\no", "response ended before its declared length"),
    "cut-before-crlf": (b"2\r\nok", "response ended inside its chunked body"),
    "cut-before-last-chunk": (b"2\r\nok\r\n", "response ended inside its chunked body"),
    "cut-in-last-chunk": (b"2\r\nok\r\n0", "response ended inside its chunked body"),
    "cut-before-blank-line": (b"2\r\nok\r\n0\r\n", "response ended inside its chunked body"),
    "cut-in-trailers": (b"2\r\nok\r\n0\r\nX-Sum: 1\r\n", "response ended inside its chunked body"),
    # Trailers follow the head's grammar and caps.
    "malformed-trailer": (b"2\r\nok\r\n0\r\nnot a field\r\n\r\n", "malformed trailer line"),
    "101-trailers": (b"2\r\nok\r\n0\r\n" + _trailers(101, 4) + b"\r\n", "more than 100 trailer fields"),
    "huge-trailer": (b"2\r\nok\r\n0\r\n" + _trailers(1, 70_000) + b"\r\n", "trailer section over 64 KiB"),
}


@pytest.mark.parametrize("expect", [None, {"bodyContains": "ok"}], ids=["no-expect", "body-expected"])
@pytest.mark.parametrize(("body", "error"), list(BAD_CHUNKS.values()), ids=list(BAD_CHUNKS))
def test_a_malformed_or_cut_chunked_body_is_a_named_protocol_error_never_up(
    probe: Probe, body: bytes, error: str, expect: dict[str, str] | None
) -> None:
    # Every check reads the body to its end (up to the 1 MiB cap), kept or not: its framing is judged either way.
    def chunked(peer: Peer, request: Request) -> bool:
        peer.send(CHUNKED + body)
        return False

    with raw_server(chunked) as server:
        target = Target("chunked", f"{server.base_url}/", timeout=5, expect=parse_expect(expect))
        [result] = run_checks([target], probe, run_deadline=time.monotonic() + 60)
    assert (result.success, result.status, result.error) == (False, None, f"protocol error: {error}")


def test_an_endless_trailer_on_an_open_connection_fails_at_the_cap_not_the_timeout(probe: Probe) -> None:
    def endless(peer: Peer, request: Request) -> bool:
        peer.send(CHUNKED + b"2\r\nok\r\n0\r\nX-Long: " + b"v" * 70_000)
        return True  # and keep the connection open, the line never ending

    with raw_server(endless) as server:
        [result] = in_order(probe, f"{server.base_url}/", timeout=3)
    assert (result.success, result.error) == (False, "protocol error: trailer section over 64 KiB")
    assert result.duration_ms < 1000


@pytest.mark.parametrize(
    "body",
    [
        b"0\r\n\r\n",  # an empty body
        b"2\r\nok\r\n0\r\n\r\n",
        b"A\r\n0123456789\r\n00\r\n\r\n",  # upper-case hex, a padded last chunk
        b"002;name=value\r\nok\r\n0;last\r\n\r\n",  # leading zeros and chunk extensions
        b"2  \r\nok\r\n0\r\n\r\n",  # whitespace before the CRLF, which some servers send
        b"2\r\nok\r\n0\r\nX-Checksum: abc\r\nX-Folded: a\r\n  b\r\n\r\n",  # trailer fields, one folded
        b"2\r\nok\r\n0\r\n\n",  # the trailer section ended by a bare LF, as a head may be
    ],
    ids=["empty", "one-chunk", "upper-hex", "extensions", "trailing-space", "trailers", "lf-blank-line"],
)
def test_valid_chunked_bodies_are_up(probe: Probe, body: bytes) -> None:
    def chunked(peer: Peer, request: Request) -> bool:
        peer.send(CHUNKED + body)
        return True  # keep-alive: the body's end is known from its framing alone

    with raw_server(chunked) as server:
        [result] = in_order(probe, f"{server.base_url}/", timeout=3)
    assert (result.success, result.status, result.error) == (True, 200, None)
    assert result.duration_ms < 1000
