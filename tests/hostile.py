"""A raw-socket loopback server that misbehaves on purpose, byte for byte.

``http.server`` always answers with a well-formed head; the faults a monitor
must survive (interim replies, heads cut by FIN, huge heads, stale keep-alive
closes, resets) need a server that writes exactly the bytes a test names.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["Peer", "RawServer", "Request", "raw_server"]

MAX_REQUEST_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Peer:
    """One accepted connection; ``served`` counts the requests answered on it so far."""

    sock: socket.socket
    served: int = 0
    _buffer: bytes = b""

    def read_request(self) -> Request | None:
        """The next request on this connection, or None when the client closed it."""
        while b"\r\n\r\n" not in self._buffer:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk or len(self._buffer) > MAX_REQUEST_HEAD:
                return None
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return Request(method, path, headers, body)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self, data: bytes, every_s: float) -> None:
        for byte in data:
            self.sock.sendall(bytes([byte]))
            time.sleep(every_s)

    def finish(self) -> None:
        """Close with a FIN, as a server that ends the connection cleanly."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def reset(self) -> None:
        """Close with a RST (SO_LINGER 0), as a crashed or firewalled server."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


# Returns False to close the connection after this request, True to keep it alive.
Behaviour = Callable[[Peer, Request], bool]


@dataclass
class RawServer:
    behaviour: Behaviour
    tls: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    _listener: socket.socket = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self._listener.settimeout(0.05)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"

    def serve_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
            peer = Peer(sock)
            while (request := peer.read_request()) is not None:
                with self._lock:
                    self.requests.append(request.path)
                keep_alive = self.behaviour(peer, request)
                peer.served += 1
                if not keep_alive:
                    peer.finish()
                    break
            # Wait for the client to close, so a FIN never races a reply still in flight.
            with contextlib.suppress(OSError):
                while sock.recv(65536):
                    pass
        except (OSError, ssl.SSLError):
            pass  # the client gave up, or was refused: what several tests are for
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()


@contextlib.contextmanager
def raw_server(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> Iterator[RawServer]:
    server = RawServer(behaviour, tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join()
