"""A response head read strictly and within bounds, for the connections the probe uses.

``http.client`` is lenient in ways that make a monitor lie:

- it skips only ``100 Continue``, so a ``103 Early Hints`` is taken as the final
  answer and the real one is left in the pipe for the next check to read;
- a head cut off by the server closing reads as complete, so ``HTTP/1.1 200``
  followed by a FIN is a 200;
- it allows 100 header lines of 64 KB each, 6 MB held per check.

:class:`StrictHTTPResponse` replaces only ``begin()`` (reading the head); the
body is read by ``http.client`` as before.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Final

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "BadFramingError",
    "HeadersTooLargeError",
    "IncompleteHeadError",
    "MalformedHeaderError",
    "StrictHTTPResponse",
    "TooManyHeadersError",
    "UnexpectedSwitchError",
]

# Every status line and header of one response, interim replies included.
# nginx proxies pass 4-8 KB by default; 64 KiB leaves ample room for real sites.
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_HEADERS: Final = 100
_LINE_ENDS: Final = (b"\r\n", b"\n")
# RFC 9112's grammar for the head. A status code is three digits, 100-999
# (int() alone would take "+200" or "2_00"); the reason and field values hold
# no control characters but tab; a field name is a token, right against its colon.
_TEXT: Final = rb"[^\x00-\x08\x0a-\x1f\x7f]*"
_EOL: Final = rb"\r?\n"
_STATUS_LINE: Final = re.compile(
    rb"(?P<version>HTTP/1\.[0-9]) (?P<code>[1-9][0-9]{2})(?: (?P<reason>" + _TEXT + rb"))?" + _EOL
)
_FIELD_LINE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:" + _TEXT + _EOL)
_CONTINUATION: Final = re.compile(rb"[ \t]" + _TEXT + _EOL)
# Digits, and few enough that int() never meets its 4300-digit limit (no body is an exabyte).
_CONTENT_LENGTH: Final = re.compile(r"[0-9]{1,18}", re.ASCII)


class IncompleteHeadError(http.client.HTTPException):
    """The connection ended after part of the head: nothing after it can be trusted."""


class HeadersTooLargeError(http.client.HTTPException):
    """The head went past :data:`MAX_HEAD_BYTES`."""


class TooManyHeadersError(http.client.HTTPException):
    """The head had more than :data:`MAX_HEADERS` header lines."""


class MalformedHeaderError(http.client.HTTPException):
    """A header line that is not ``name: value``, or holds control characters."""


class BadFramingError(http.client.HTTPException):
    """Content-Length and Transfer-Encoding that leave the end of the body in doubt."""


class UnexpectedSwitchError(http.client.HTTPException):
    """A ``101 Switching Protocols`` the client never asked for."""


class StrictHTTPResponse(http.client.HTTPResponse):
    """``http.client``'s response with a head reader that skips every 1xx and trusts no partial head."""

    _budget = MAX_HEAD_BYTES

    def _line(self) -> bytes:
        """One line of the head; raises if it would exceed the budget or the connection ended inside it."""
        line: bytes = self.fp.readline(self._budget + 1)
        if len(line) > self._budget:
            raise HeadersTooLargeError(f"response head over {MAX_HEAD_BYTES} bytes")
        self._budget -= len(line)
        if not line.endswith(b"\n"):
            raise IncompleteHeadError("the connection ended inside the response head")
        return line

    def _status(self, first: bool) -> tuple[str, int, str]:
        # Not one byte of a reply is RemoteDisconnected, as http.client calls it;
        # anything else that ends early is an incomplete head.
        if first and not self.fp.peek(1):
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        line = self._line()
        status = _STATUS_LINE.fullmatch(line)
        if status is None:
            raise http.client.BadStatusLine(repr(line[:100]))
        return status["version"].decode(), int(status["code"]), (status["reason"] or b"").decode("iso-8859-1")

    def _header_lines(self) -> list[bytes]:
        lines: list[bytes] = []
        while (line := self._line()) not in _LINE_ENDS:
            # A continuation (obs-fold) only ever follows a header.
            if _FIELD_LINE.fullmatch(line) is None and not (lines and _CONTINUATION.fullmatch(line)):
                raise MalformedHeaderError(repr(line[:100]))
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                raise TooManyHeadersError(f"more than {MAX_HEADERS} headers")
        return lines

    def begin(self) -> None:
        if self.headers is not None:
            return  # already read
        self._budget = MAX_HEAD_BYTES
        version, status, reason = self._status(first=True)
        while 100 <= status < 200:
            if status == 101:
                raise UnexpectedSwitchError("101 Switching Protocols without an Upgrade request")
            self._header_lines()  # an interim reply's headers (e.g. Early Hints' Link) are not ours
            version, status, reason = self._status(first=False)

        self.code = self.status = status
        self.reason = reason.strip()
        self.version = 10 if version == "HTTP/1.0" else 11
        text = b"".join(self._header_lines()).decode("iso-8859-1")
        self.headers = self.msg = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
        self._frame(status)

    def _frame(self, status: int) -> None:
        """How the body ends, as ``http.client`` decides it, but refusing framing RFC 9112 calls an error.

        http.client ignores a Content-Length it cannot read and then takes the
        body to end with the close, so a broken ``Content-Length: -1`` read as UP.
        """
        encodings = _elements(self.headers.get_all("transfer-encoding"))
        lengths = set(_elements(self.headers.get_all("content-length")))
        self.chunked = encodings == ["chunked"]
        if encodings and not self.chunked:
            raise BadFramingError(f"unsupported Transfer-Encoding {', '.join(encodings)[:60]!r}")
        if self.chunked and lengths:
            raise BadFramingError("both Transfer-Encoding and Content-Length")
        if len(lengths) > 1 or not all(_CONTENT_LENGTH.fullmatch(value) for value in lengths):
            raise BadFramingError(f"invalid Content-Length {', '.join(sorted(lengths))[:60]!r}")
        self.length = int(lengths.pop()) if lengths else None
        self.chunk_left = None
        if status in (204, 304) or self._method == "HEAD":  # type: ignore[attr-defined]
            # Always ends at the blank line, whatever the headers say (RFC 9112, 6.3).
            self.chunked, self.length = False, 0
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


def _elements(values: list[str] | None) -> list[str]:
    """A header's comma-separated elements across all its lines, lower-cased; an empty one stays, as ''."""
    return [element.strip().lower() for element in ",".join(values).split(",")] if values else []
