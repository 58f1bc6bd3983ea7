"""urllib3 connections scoped to the check that holds them.

Connections are pooled and pass from check to check, so anything a check may
do to a connection (abort it at its deadline, ask whether it was reused) is
tied to the one check holding it *now*. The check running on this thread is
found through :func:`scoped`; the pool classes below are what the probe's
``PoolManager`` builds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

from .strict_http import StrictHTTPResponse

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

__all__ = ["POOL_CLASSES", "Cancel", "CheckAbortedError", "CheckScope", "scoped"]


class CheckAbortedError(Exception):
    """The watchdog cancelled this check before it could start a connection."""


class Cancel:
    """Lets the watchdog abort a check by shutting the socket it holds at that moment, and no other.

    A check lets go of its connection (:meth:`let_go`) before the connection
    returns to the pool, so an abort can never reach a socket that another
    check has taken from the pool since.
    """

    def __init__(self) -> None:
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

    def let_go(self) -> bool:
        """Forget the connection (it may go back to the pool); True if the check was aborted first."""
        with self._lock:
            self._connection = self._socket = None
            return self.aborted


@dataclass(slots=True)
class CheckScope:
    """What the connections learn about the check on this thread, and what it asks of them."""

    cancel: Cancel = field(default_factory=Cancel)
    reused: bool = False
    """The last request went out on a connection that had already carried a reply."""
    fresh_only: bool = False
    """Take no idle connection from the pool: the next request opens a new one."""


_current = threading.local()


@contextlib.contextmanager
def scoped(scope: CheckScope) -> Iterator[CheckScope]:
    """Make ``scope`` the current check's for the connections used on this thread."""
    _current.scope = scope
    try:
        yield scope
    finally:
        _current.scope = None


def _scope() -> CheckScope | None:
    scope: CheckScope | None = getattr(_current, "scope", None)
    return scope


class _HTTPConnection(HTTPConnection):
    """Registers with the current check, reads heads strictly, and counts replies on its socket."""

    response_class = StrictHTTPResponse
    _replies = 0  # on the current socket

    def connect(self) -> None:
        if (scope := _scope()) is not None:
            scope.cancel.hold(self)
        self._replies = 0
        super().connect()

    def close(self) -> None:
        self._replies = 0
        super().close()

    def request(self, *args: Any, **kwargs: Any) -> None:
        if (scope := _scope()) is not None:
            scope.cancel.hold(self)
            scope.reused = self.sock is not None and self._replies > 0
        super().request(*args, **kwargs)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # as urllib3 declares it
        if (scope := _scope()) is not None:
            scope.cancel.hold(self)
        response = super().getresponse()
        self._replies += 1
        return response


# The same behaviour over TLS: the MRO puts our methods before HTTPSConnection's.
class _HTTPSConnection(_HTTPConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        conn = super()._get_conn(timeout)
        scope = _scope()
        if scope is not None and scope.fresh_only and not conn.is_closed:
            conn.close()  # an idle connection: the request will open a new one
        return conn


class _HTTPSPool(_HTTPPool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}
