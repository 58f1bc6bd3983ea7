"""Sites that close the connection after each answer, over HTTP and HTTPS, as one asyncio process.

``python -m bench.sites <server.pem> <sites> [--cpu N] [--tls-delay-ms D]`` listens on ``sites``
ports per scheme (each port a site of its own, so every check opens a connection to a new
origin, as a run of distinct targets does) and prints one JSON line: ``{"http": [ports],
"https": [ports]}``. ``server.pem`` holds the key and the certificate chain (leaf and
intermediate, as real sites send them). ``?ms=N`` delays the answer N ms. ``--cpu`` pins the
process to one CPU, so that a client pinned to another measures only itself. ``--tls-delay-ms``
answers each ClientHello that much later: the round trips of a site far away, where loopback
has none.

The answer has the head of a real site (a dozen headers) and closes the connection, as a
site does between two checks a minute apart: nothing can be reused, every check pays for
its own connection and handshake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
from urllib.parse import parse_qs, urlsplit

BODY = b'{"status":"ok","checks":{"database":"ok","cache":"ok"}}\n'
ANSWER = (
    b"HTTP/1.1 200 OK\r\n"
    b"Date: Mon, 07 Dec 2026 03:00:00 GMT\r\n"
    b"Server: nginx/1.27.3\r\n"
    b"Content-Type: application/json; charset=utf-8\r\n"
    b"Content-Length: %d\r\n"
    b"Connection: close\r\n"
    b"Cache-Control: no-store, max-age=0\r\n"
    b"Strict-Transport-Security: max-age=63072000; includeSubDomains; preload\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"X-Frame-Options: DENY\r\n"
    b"Referrer-Policy: strict-origin-when-cross-origin\r\n"
    b"Vary: Accept-Encoding\r\n"
    b'ETag: W/"3a-18f2c3d4e5f"\r\n'
    b"X-Request-Id: 5f0c6a8e-2b1d-4c7e-9f3a-1e2d3c4b5a69\r\n"
    b"\r\n"
) % len(BODY) + BODY


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b" ", 2)[1].decode()
        delay_ms = int(parse_qs(urlsplit(target).query).get("ms", ["0"])[0])
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        writer.write(ANSWER)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
        pass  # the client gave up or refused the certificate: not this server's concern
    finally:
        writer.close()


# The loop keeps only weak references to tasks: these keep each connection's task alive to its end.
_TASKS: set[asyncio.Task[None]] = set()


class _LateTls(asyncio.Protocol):
    """Leaves the ClientHello unread for a while, then speaks TLS and answers as the other sites do."""

    def __init__(self, tls: ssl.SSLContext, delay_s: float) -> None:
        self._tls, self._delay_s = tls, delay_s

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._upgrade(transport))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    async def _upgrade(self, transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self._delay_s)
        reader = asyncio.StreamReader()
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            secure = await loop.start_tls(transport, protocol, self._tls, server_side=True)
        except (ConnectionError, ssl.SSLError):
            transport.close()
            return
        assert secure is not None
        await _answer(reader, asyncio.StreamWriter(secure, protocol, reader, loop))


async def _main(chain: str, sites: int, tls_delay_s: float) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(chain)
    loop = asyncio.get_running_loop()
    plain = [await asyncio.start_server(_answer, "127.0.0.1", 0, backlog=1024) for _ in range(sites)]
    if tls_delay_s:
        secure = [
            await loop.create_server(lambda: _LateTls(tls, tls_delay_s), "127.0.0.1", 0, backlog=1024)
            for _ in range(sites)
        ]
    else:
        secure = [await asyncio.start_server(_answer, "127.0.0.1", 0, backlog=1024, ssl=tls) for _ in range(sites)]
    ports = {
        "http": [server.sockets[0].getsockname()[1] for server in plain],
        "https": [server.sockets[0].getsockname()[1] for server in secure],
    }
    print(json.dumps(ports), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in plain + secure))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("chain")
    parser.add_argument("sites", type=int)
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--tls-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    asyncio.run(_main(args.chain, args.sites, args.tls_delay_ms / 1000))
