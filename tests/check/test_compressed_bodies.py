"""A compressed body cut short is a protocol error, never UP.

Found by attack: urllib3 decodes what it has and says nothing when a gzip or
deflate stream ends without its end marker, so a body cut at a length or chunk
boundary (a proxy that gave up, a crashed worker) passed as a whole one.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from collections.abc import Callable

import pytest

from healthcheck.check.probe import Probe
from tests.conftest import check_one
from tests.hostile import Peer, RawServer, Request, raw_server

Frame = Callable[[str, bytes], bytes]
WHOLE = b'{"status": "UP"}' + os.urandom(5000).hex().encode()
GZIP = gzip.compress(WHOLE)
DEFLATE = zlib.compress(WHOLE)


def _length_framed(encoding: str, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
        % (
            encoding.encode(),
            len(body),
        )
        + body
    )


def _chunked(encoding: str, body: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % encoding.encode()
    return head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _serve(reply: bytes) -> contextlib.AbstractContextManager[RawServer]:
    def answer(peer: Peer, request: Request) -> bool:
        peer.send(reply)
        return False

    return raw_server(answer)


@pytest.mark.parametrize("frame", [_length_framed, _chunked], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("encoding", "body"), [("gzip", GZIP), ("deflate", DEFLATE)], ids=["gzip", "deflate"])
def test_a_compressed_body_cut_short_is_a_protocol_error(
    probe: Probe, frame: Frame, encoding: str, body: bytes
) -> None:
    # Framed correctly for what was sent: only the compressed stream itself is cut.
    with _serve(frame(encoding, body[:300])) as server:
        result = check_one(probe, f"{server.base_url}/")
    assert (result.success, result.error) == (False, "protocol error: compressed body ended before its stream did")


@pytest.mark.parametrize("frame", [_length_framed, _chunked], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("encoding", "body"),
    [("gzip", GZIP), ("deflate", DEFLATE), ("gzip", gzip.compress(b"a") + gzip.compress(b"b"))],
    ids=["gzip", "deflate", "gzip-two-members"],
)
def test_a_whole_compressed_body_is_up(probe: Probe, frame: Frame, encoding: str, body: bytes) -> None:
    with _serve(frame(encoding, body)) as server:
        result = check_one(probe, f"{server.base_url}/")
    assert (result.success, result.status, result.error) == (True, 200, None)


def test_an_empty_body_labelled_gzip_is_up(probe: Probe) -> None:
    # Some servers label every response gzip, even an empty one: nothing was cut.
    with _serve(_length_framed("gzip", b"")) as server:
        result = check_one(probe, f"{server.base_url}/")
    assert (result.success, result.status) == (True, 200)
