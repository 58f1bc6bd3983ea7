"""urllib3 connections that the watchdog can abort, tied to the check that holds them.

The check running on this thread is found through :func:`scoped`; the pool
classes below are what the probe's ``PoolManager`` builds. Every connection
also reads response heads strictly (:mod:`.strict_http`).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ClosedPoolError
from urllib3.response import HTTPResponse

from .strict_http import StrictHTTPResponse

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

__all__ = ["POOL_CLASSES", "Cancel", "CheckAbortedError", "epoch_seconds", "scoped"]


class CheckAbortedError(Exception):
    """The watchdog cancelled this check before it could start a connection."""


class Cancel:
    """Lets the watchdog abort a check by shutting the socket it holds at that moment, and no other.

    A check lets go of its connection (:meth:`let_go`) before the connection
    returns to the pool, so an abort can never reach a socket that another
    check has taken from the pool since. ``on_connected`` is called each time a
    connection of the check is up (TCP, and TLS over HTTPS), from its thread.
    """

    def __init__(self, on_connected: Callable[[], None] | None = None) -> None:
        self.on_connected = on_connected
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        # The socket a response reads from: http.client hands it to the response
        # and drops it from the connection when the body ends with the close.
        self._socket: socket.socket | None = None
        self.aborted = False

    def hold(self, connection: HTTPConnection) -> None:
        with self._lock:
            if self.aborted:
                raise CheckAbortedError
            self._connection = connection
            self._socket = connection.sock

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            live = self._connection.sock if self._connection is not None else None
            for sock in {id(s): s for s in (live, self._socket) if s is not None}.values():
                # socket.socket's own shutdown, not SSLSocket's, which would drop
                # its SSL object under a reader blocked in another thread.
                # OSError: already closed, nothing left to unblock.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
            self._connection = self._socket = None

    def let_go(self) -> None:
        """Forget the connection: it may go back to the pool, out of this check's reach."""
        with self._lock:
            self._connection = self._socket = None


_current = threading.local()


class scoped:  # noqa: N801 - used as the function it replaced (a class costs a check less CPU)
    """``with scoped(cancel):`` makes ``cancel`` the current check's for the connections used on this thread."""

    __slots__ = ("_cancel",)

    def __init__(self, cancel: Cancel) -> None:
        self._cancel = cancel

    def __enter__(self) -> Cancel:
        _current.cancel = self._cancel
        return self._cancel

    def __exit__(self, *exc_info: object) -> None:
        _current.cancel = None


def _hold(connection: HTTPConnection) -> None:
    cancel: Cancel | None = getattr(_current, "cancel", None)
    if cancel is not None:
        cancel.hold(connection)


class _HTTPConnection(HTTPConnection):
    """Registers with the current check at each step that can block, and reads heads strictly."""

    response_class = StrictHTTPResponse

    def connect(self) -> None:
        _hold(self)
        super().connect()
        cancel: Cancel | None = getattr(_current, "cancel", None)
        if cancel is not None and cancel.on_connected is not None:
            cancel.on_connected()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _hold(self)  # a pooled connection skips connect()
        super().request(*args, **kwargs)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3 declares it
        _hold(self)
        return super().getresponse()


# The same behaviour over TLS: the MRO puts our methods before HTTPSConnection's.
class _HTTPSConnection(_HTTPConnection, HTTPSConnection):
    """Also notes when the server's certificate expires, while the socket is still open."""

    cert_not_after: float | None = None
    """The verified peer certificate's notAfter, epoch seconds; None when unverified (nothing to read)."""

    def connect(self) -> None:
        super().connect()
        sock = self.sock
        # Unverified connections get no parsed certificate from the ssl module: {}.
        cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
        not_after = cert.get("notAfter") if cert else None
        self.cert_not_after = epoch_seconds(not_after) if isinstance(not_after, str) else None


# OpenSSL's own month names, whatever the locale.
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1
    )
}


def epoch_seconds(cert_time: str) -> float:
    """``ssl.cert_time_to_seconds``, a tenth of its CPU: it runs ``strptime`` for every HTTPS check.

    OpenSSL prints a certificate's time one way (``Jan  5 09:34:43 2018 GMT``);
    anything else goes to the ssl module's own parser.
    """
    try:
        month, day, clock, year, zone = cert_time.split()
        hours, minutes, seconds = clock.split(":")
        if zone == "GMT":
            moment = datetime(int(year), _MONTHS[month], int(day), int(hours), int(minutes), int(seconds), tzinfo=UTC)
            return moment.timestamp()
    except (ValueError, KeyError):
        pass
    return float(ssl.cert_time_to_seconds(cert_time))


class _HTTPPool(HTTPConnectionPool):
    """Keeps nothing: each request gets a connection of its own, closed once the request is done.

    A reused keep-alive connection is where a server's late or stray reply, an
    idle-timeout 408, or its close just as the next request goes out, gets read
    as another check's answer. A new connection per request also makes every
    Duration include connecting and the TLS handshake, as a user's first visit does.
    The pool's queue stays empty (and as small as urllib3 allows: it is filled
    when a pool is made, once per host per run).
    """

    ConnectionCls = _HTTPConnection

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        if self.pool is None:
            raise ClosedPoolError(self, "Pool is closed.")
        return self._new_conn()

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        if conn is not None:
            conn.close()


# The same pooling over TLS: the MRO puts _put_conn before HTTPSConnectionPool's.
class _HTTPSPool(_HTTPPool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection

    def _validate_conn(self, conn: BaseHTTPConnection) -> None:
        if self.cert_reqs == "CERT_NONE":
            # The target chose verifyTls: false, and its record says TlsVerified: false;
            # urllib3 would warn on every such check. Connect early, as urllib3 does.
            HTTPConnectionPool._validate_conn(self, conn)
            if conn.is_closed:
                conn.connect()
            return
        super()._validate_conn(conn)


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}
