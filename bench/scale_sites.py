"""The scale benchmark's sites: many loopback ports that answer as real sites do, in a process of their own.

``python -m bench.scale_sites --cert C --key K --https-ports N --http-ports M`` prints one JSON
line (the ports, and a control port), then serves until killed. Every port answers three paths:
``/ok`` at once, ``/slow`` after 2 s, and ``/hang`` never (the connection is held until the
client gives up). Each answer closes its connection, as a site does between runs, so every
check pays its TCP and TLS handshakes.

TLS is done through ``ssl.MemoryBIO`` rather than asyncio's own layer so the raw bytes each
client sends are counted: a check's internet egress (AWS bills data out, not in). With each
answered connection's ``TCP_INFO`` segment count, ``GET /stats`` on the control port gives,
per kind of site, connections, client payload bytes and client segments.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import socket
import ssl
import struct
from collections import defaultdict
from dataclasses import dataclass, field

__all__ = ["SLOW_S", "main"]

SLOW_S = 2.0
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
MAX_HEAD = 64 * 1024
# struct tcp_info (linux/tcp.h): tcpi_bytes_received is a u64 at byte 128, tcpi_segs_in a u32 at 140.
TCP_INFO_BYTES = 144
_RECEIVED = struct.Struct("=Q4xI")


@dataclass
class Tally:
    connections: int = 0
    answered: int = 0
    payload_bytes: int = 0
    """Bytes the clients sent (TLS records or plain HTTP): what leaves AWS for each check."""
    segments: int = 0
    """Segments the answered connections' clients sent up to the answer, SYN and handshake ACK included."""
    answered_payload_bytes: int = 0


@dataclass
class Stats:
    kinds: defaultdict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def as_json(self) -> dict[str, dict[str, int]]:
        return {kind: vars(tally) for kind, tally in sorted(self.kinds.items())}


def _segments_in(sock: socket.socket | None) -> tuple[int, int] | None:
    """(payload bytes received, segments received) from the kernel's TCP_INFO, when it has them."""
    if sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_BYTES)
    except OSError:
        return None
    if len(info) < TCP_INFO_BYTES:
        return None
    received, segments = _RECEIVED.unpack_from(info, 128)
    return int(received), int(segments)


class Site(asyncio.Protocol):
    """One connection: read the request head, then answer (now, after 2 s, or never) and close."""

    def __init__(self, scheme: str, context: ssl.SSLContext | None, stats: Stats) -> None:
        self.scheme = scheme
        self.stats = stats
        self.kind = f"{scheme}-unknown"
        self.received = 0
        self.head = b""
        self.answering = False
        self.transport: asyncio.Transport | None = None
        self.tls: ssl.SSLObject | None = None
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        if context is not None:
            self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.handshaken = context is None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        if self.tls is None:
            self._head(data)
            return
        self.incoming.write(data)
        try:
            if not self.handshaken:
                self.tls.do_handshake()
                self.handshaken = True
            while True:
                chunk = self.tls.read(65536)
                if not chunk:
                    break
                self._head(chunk)
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLError, OSError):
            self._close()
            return
        self._flush()

    def _head(self, chunk: bytes) -> None:
        if self.answering:
            return
        self.head += chunk
        if b"\r\n\r\n" not in self.head:
            if len(self.head) > MAX_HEAD:
                self._close()
            return
        self.answering = True
        path = self.head.split(b" ", 2)[1].split(b"?", 1)[0].decode("ascii", "replace")
        kind = path.strip("/") or "ok"
        self.kind = f"{self.scheme}-{kind}"
        self.stats.kinds[self.kind].connections += 1
        if kind == "hang":
            return  # held until the client gives up
        delay = SLOW_S if kind == "slow" else 0.0
        self.timer = asyncio.get_running_loop().call_later(delay, self._answer)

    def _answer(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        tally = self.stats.kinds[self.kind]
        measured = _segments_in(self.transport.get_extra_info("socket"))
        tally.answered += 1
        tally.answered_payload_bytes += self.received
        if measured is not None:
            tally.segments += measured[1]
        self._send(ANSWER)
        self._close()

    def _send(self, data: bytes) -> None:
        if self.tls is None:
            assert self.transport is not None
            self.transport.write(data)
            return
        try:
            self.tls.write(data)
        except (ssl.SSLError, OSError):
            return
        self._flush()

    def _flush(self) -> None:
        pending = self.outgoing.read()
        if pending and self.transport is not None and not self.transport.is_closing():
            self.transport.write(pending)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.stats.kinds[self.kind].payload_bytes += self.received


class Control(asyncio.Protocol):
    """``GET /stats``: the tallies as JSON; ``GET /reset``: zeroed first."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.head = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.head += data
        if b"\r\n\r\n" not in self.head or self.transport is None:
            return
        if self.head.startswith(b"GET /reset"):
            self.stats.kinds.clear()
        body = json.dumps(self.stats.as_json()).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()


async def _serve(args: argparse.Namespace) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    stats = Stats()
    loop = asyncio.get_running_loop()
    servers = []
    ports: dict[str, list[int]] = {"https": [], "http": []}
    kinds: tuple[tuple[str, int, ssl.SSLContext | None], ...] = (
        ("https", args.https_ports, context),
        ("http", args.http_ports, None),
    )
    for scheme, count, tls in kinds:
        for _ in range(count):
            server = await loop.create_server(functools.partial(Site, scheme, tls, stats), "127.0.0.1", 0, backlog=1024)
            servers.append(server)
            ports[scheme].append(server.sockets[0].getsockname()[1])
    control = await loop.create_server(lambda: Control(stats), "127.0.0.1", 0)
    print(json.dumps({**ports, "control": control.sockets[0].getsockname()[1]}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--https-ports", type=int, default=100)
    parser.add_argument("--http-ports", type=int, default=30)
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
