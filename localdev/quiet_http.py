"""The request handler base shared by our loopback servers (Runtime API, invoke URL, test faults)."""

from __future__ import annotations

from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler

__all__ = ["QuietHandler"]


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no access log, and one way to answer."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would bury what the servers are for

    def reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
