"""A loopback server that remembers every request and answers by route: demands a header, redirects, fails.

Routes (any method):
  /need/K                   200 only when the header demanded under K has its value, else 401
                            (see demand(): the value never appears in the URL, so a leak test can search it)
  /echo                     200, the request's body echoed back
  /redirect?status=S&to=U   S with Location U
  /leak?header=N            302 to an ftp:// URL quoting header N's value (provokes an error text)
  /hangup                   closes the connection without answering
  /mirror?header=N          200, header N's value in a JSON body {"status": v, "detail": "bad token <v's last word>"}
                            and in the response header X-Echo (provokes expectation failures that quote it);
                            &encoding=E first encodes the value as ENCODINGS[E] does (base64, hex, percent...)
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

from localdev.quiet_http import QuietHandler, QuietServer
from tests.servers import serving_in_thread


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("latin-1")).decode()


def _url64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("latin-1")).decode()


# How servers echo what they were sent (the header's value, as Latin-1 bytes on the wire).
ENCODINGS: dict[str, Callable[[str], str]] = {
    "as-sent": lambda value: value,
    "upper-case": str.upper,
    "lower-case": str.lower,
    "base64": _b64,
    "base64-unpadded": lambda value: _b64(value).rstrip("="),
    "base64url": _url64,
    "base64url-unpadded": lambda value: _url64(value).rstrip("="),
    "base64-in-basic": lambda value: "Basic " + _b64(f"apikey:{value}"),
    "hex": lambda value: value.encode("latin-1").hex(),
    "hex-upper": lambda value: value.encode("latin-1").hex().upper(),
    "percent-safe-none": lambda value: quote(value, safe=""),
    "percent-safe-slash": lambda value: quote(value, safe="/"),
    "percent-lower-hex": lambda value: quote(value, safe="").lower(),
    "quote-plus": quote_plus,
    "encodeURIComponent": lambda value: quote(value, safe="!~*'()"),
}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class EchoHandler(QuietHandler):
    server: EchoServer

    def reply(self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        super().reply(status, b"" if self.command == "HEAD" else body, headers)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        with self.server.lock:
            self.server.seen.append(Seen(self.command, parts.path, headers, body))
        route, _, key = parts.path.strip("/").partition("/")
        if route == "need":
            name, value = self.server.demands[key]
            ok = headers.get(name.lower()) == value
            self.reply(200 if ok else 401, b"ok" if ok else b"who are you?")
        elif route == "echo":
            self.reply(200, body)
        elif route == "redirect":
            self.reply(int(query["status"]), b"", {"Location": query["to"]})
        elif route == "leak":
            value = headers.get(query["header"].lower(), "")
            self.reply(302, b"", {"Location": f"ftp://127.0.0.1/?got={quote(value, safe='')}&raw={value}"})
        elif route == "mirror":
            value = ENCODINGS[query.get("encoding", "as-sent")](headers.get(query["header"].lower(), ""))
            document = {"status": value, "detail": f"bad token {value.split(' ')[-1]}"}
            self.reply(200, json.dumps(document).encode(), {"X-Echo": value})
        elif route == "hangup":
            self.close_connection = True
        else:
            self.reply(404, b"no such route")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle  # noqa: N815


class EchoServer(QuietServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.demands: dict[str, tuple[str, str]] = {}

    def demand(self, name: str, value: str) -> str:
        """The path of a route that answers 200 only to header ``name`` with ``value``."""
        key = str(len(self.demands))
        self.demands[key] = (name, value)
        return f"/need/{key}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if seen.path == path]


@contextlib.contextmanager
def echo_server() -> Iterator[EchoServer]:
    server = EchoServer()
    with serving_in_thread(server):
        yield server
