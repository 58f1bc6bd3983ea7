"""A Lambda Function URL on loopback: HTTP requests in, payload 2.0 events to a handler, its response out.

`make serve` answers the status handler this way under ``/status``, and the
browser test loads the page through it, so both go through the handler's
real event and response shapes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localdev.quiet_http import QuietHandler

__all__ = ["FunctionUrlHandler", "answer", "function_url_event"]

Handler = Callable[[Mapping[str, Any], object], Mapping[str, Any]]


def function_url_event(method: str, target: str, headers: Mapping[str, str], prefix: str = "") -> dict[str, Any]:
    """The payload 2.0 event a Function URL delivers for ``method target`` (``prefix`` removed from the path)."""
    parts = urlsplit(target)
    path = parts.path.removeprefix(prefix) or "/"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.query,
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"}},
        "isBase64Encoded": False,
    }
    if parts.query:
        event["queryStringParameters"] = dict(parse_qsl(parts.query))
    return event


def answer(request: BaseHTTPRequestHandler, method: str, handler: Handler, prefix: str = "") -> None:
    """Answer ``request`` (already read) with what ``handler`` returns for it as a Function URL event."""
    event = function_url_event(method, request.path, dict(request.headers.items()), prefix)
    response = handler(event, None)
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    request.send_response(int(response.get("statusCode", 200)))
    for name, value in dict(response.get("headers") or {}).items():
        request.send_header(name, str(value))
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    if method != "HEAD":
        request.wfile.write(data)


class FunctionUrlHandler(QuietHandler):
    """Hands GET and HEAD under ``prefix`` to ``handler``; subclasses set both."""

    prefix: str = ""
    handler: Handler

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._invoke("GET")

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._invoke("HEAD")

    def _invoke(self, method: str) -> None:
        if not urlsplit(self.path).path.startswith(self.prefix or "/"):
            self.reply(404, b"not found\n", {"Content-Type": "text/plain"})
            return
        answer(self, method, type(self).handler, self.prefix)
