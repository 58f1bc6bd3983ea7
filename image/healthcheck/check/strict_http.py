"""A response head read strictly and within bounds, for the connections the probe uses.

``http.client`` is lenient in ways that make a monitor lie:

- it skips only ``100 Continue``, so a ``103 Early Hints`` is taken as the final
  answer and the real one is left in the pipe for the next check to read;
- a head cut off by the server closing reads as complete, so ``HTTP/1.1 200``
  followed by a FIN is a 200;
- it allows 100 header lines of 64 KB each, 6 MB held per check;
- in a chunked body it discards the two bytes after each chunk's data unread,
  takes whatever ``int(x, 16)`` takes as a chunk size (``0x2``, ``+2``, ``0_2``)
  and a FIN where the last chunk or the trailer section should be as the end,
  so a body of the wrong length, or cut short, reads as complete.

:class:`StrictHTTPResponse` replaces ``begin()`` (reading the head) and the
chunked framing (http.client's ``_get_chunk_left``, under every way it reads a
chunked body: ``read``, ``read1``, ``readinto``, ``peek``); the bytes of a
body are still read by ``http.client``. urllib3's own ``read_chunked`` (behind
its ``stream()``) parses chunks itself, as leniently, and is not covered: the
probe reads with ``read1``, which goes through this class.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from typing import Final

__all__ = [
    "MAX_CHUNK_LINE_BYTES",
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_QUOTED_CHARS",
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
# RFC 9112 7.1: a chunk size is 1*HEXDIG (int(x, 16) also takes "0x2", "+2", "0_2", " 2"),
# at most 20 of them (as h11), then extensions, then CRLF. Whitespace before the
# CRLF is tolerated, as h11 does: some servers send it.
_CHUNK_LINE: Final = re.compile(rb"(?P<size>[0-9A-Fa-f]{1,20})(?:;" + _TEXT + rb")?[ \t]*\r\n")
# A chunk size line is a few bytes; extensions are all but unused.
MAX_CHUNK_LINE_BYTES: Final = 4096
_CUT_CHUNKED: Final = "response ended inside its chunked body"
# Digits, and few enough that int() never meets its 4300-digit limit (no body is an exabyte).
_CONTENT_LENGTH: Final = re.compile(r"[0-9]{1,18}", re.ASCII)
_FRAMING: Final = frozenset({"transfer-encoding", "content-length"})
# How much of the server's text a framing error quotes.
MAX_QUOTED_CHARS: Final = 60


class IncompleteHeadError(http.client.HTTPException):
    """The connection ended after part of the head: nothing after it can be trusted."""


class HeadersTooLargeError(http.client.HTTPException):
    """The head went past :data:`MAX_HEAD_BYTES`."""


class TooManyHeadersError(http.client.HTTPException):
    """The head had more than :data:`MAX_HEADERS` header lines."""


class MalformedHeaderError(http.client.HTTPException):
    """A header line that is not ``name: value``, or holds control characters."""


class BadFramingError(http.client.HTTPException):
    """Framing that leaves the end of the body in doubt.

    Content-Length and Transfer-Encoding that disagree or can't be read, or a
    chunked body that breaks RFC 9112's grammar or is cut short.

    The message names the problem only; the server's text at fault is kept
    apart, in ``quoted``, and only :meth:`describe` shows it. It may echo a
    secret the check sent, which must be hidden BEFORE the text is cut and
    escaped: cut or escaped, a secret no longer matches, and its pieces leak.
    """

    def __init__(self, problem: str, quoted: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.quoted = quoted

    def describe(self, hide: Callable[[str], str]) -> str:
        """The problem, quoting the server's text with ``hide`` applied first, then cut and escaped."""
        if self.quoted is None:
            return self.problem
        return f"{self.problem} {hide(self.quoted)[:MAX_QUOTED_CHARS]!r}"


class UnexpectedSwitchError(http.client.HTTPException):
    """A ``101 Switching Protocols`` the client never asked for."""


class StrictHTTPResponse(http.client.HTTPResponse):
    """``http.client``'s response, reading the head and any chunked framing strictly.

    The head reader skips every 1xx and trusts no partial head; a chunked body
    is complete only once its last chunk and its trailer section's blank line arrived.
    """

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
            raise http.client.BadStatusLine("malformed status line")  # never the server's bytes: see BadFramingError
        return status["version"].decode(), int(status["code"]), (status["reason"] or b"").decode("iso-8859-1")

    def _header_lines(self) -> list[bytes]:
        # _line() inlined: a head has a dozen lines, and this loop is a fair share of a check's CPU.
        lines: list[bytes] = []
        readline, budget = self.fp.readline, self._budget
        while True:
            line: bytes = readline(budget + 1)
            if len(line) > budget:
                raise HeadersTooLargeError(f"response head over {MAX_HEAD_BYTES} bytes")
            budget -= len(line)
            if not line.endswith(b"\n"):
                raise IncompleteHeadError("the connection ended inside the response head")
            if line in _LINE_ENDS:
                break
            # A continuation (obs-fold) only ever follows a header.
            if _FIELD_LINE.fullmatch(line) is None and not (lines and _CONTINUATION.fullmatch(line)):
                raise MalformedHeaderError("malformed header line")
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                raise TooManyHeadersError(f"more than {MAX_HEADERS} headers")
        self._budget = budget
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
        self.headers = self.msg = _message(self._header_lines(), framing := {})
        self._frame(status, framing)

    def _frame(self, status: int, framing: dict[str, list[str]]) -> None:
        """How the body ends, as ``http.client`` decides it, but refusing framing RFC 9112 calls an error.

        http.client ignores a Content-Length it cannot read and then takes the
        body to end with the close, so a broken ``Content-Length: -1`` read as UP.
        """
        sent_encodings = framing.get("transfer-encoding")
        sent_lengths = framing.get("content-length")
        encodings = _elements(sent_encodings)
        lengths = set(_elements(sent_lengths))
        self.chunked = encodings == ["chunked"]
        # Quoted as the server sent them: split, lower-cased or sorted, an echoed secret would not be found.
        if encodings and not self.chunked:
            raise BadFramingError("unsupported Transfer-Encoding", ", ".join(sent_encodings or ()))
        if self.chunked and lengths:
            raise BadFramingError("both Transfer-Encoding and Content-Length")
        if len(lengths) > 1 or not all(_CONTENT_LENGTH.fullmatch(value) for value in lengths):
            raise BadFramingError("invalid Content-Length", ", ".join(sent_lengths or ()))
        self.length = int(lengths.pop()) if lengths else None
        self.chunk_left = None
        if status in (204, 304) or self._method == "HEAD":  # type: ignore[attr-defined]
            # Always ends at the blank line, whatever the headers say (RFC 9112, 6.3).
            self.chunked, self.length = False, 0
        # Every connection is closed after its one request (connections.py), whatever the
        # server's Connection header says: the response owns the socket from here on.
        self.will_close = True

    # --- chunked framing: http.client's read, read1, readinto and peek all go through _get_chunk_left

    def _get_chunk_left(self) -> int | None:
        """The bytes left in the current chunk, reading the next size line once it is done; None at the body's end."""
        chunk_left = self.chunk_left
        if chunk_left:
            return chunk_left
        if chunk_left == 0:  # a chunk's data was read to its end: its CRLF must follow
            ending = self.fp.read(2)
            if ending != b"\r\n":
                raise self._broken(_CUT_CHUNKED if b"\r\n".startswith(ending) else "no CRLF after a chunk's data")
        chunk_left = self._read_next_chunk_size()
        if chunk_left == 0:
            self._read_and_discard_trailer()
            self._close_conn()  # type: ignore[attr-defined]
            chunk_left = None
        self.chunk_left = chunk_left
        return chunk_left

    def _read_next_chunk_size(self) -> int:
        line = self.fp.readline(MAX_CHUNK_LINE_BYTES + 1)
        if len(line) > MAX_CHUNK_LINE_BYTES:
            raise self._broken(f"chunk size line over {MAX_CHUNK_LINE_BYTES} bytes")
        if not line.endswith(b"\n"):
            raise self._broken(_CUT_CHUNKED)
        size = _CHUNK_LINE.fullmatch(line)
        if size is None:
            shown = line.removesuffix(b"\r\n").decode("iso-8859-1")  # a bare LF shows
            raise self._broken("invalid chunk size line", shown)
        return int(size["size"], 16)

    def _read_and_discard_trailer(self) -> None:
        """Read the trailer section to its blank line, within the head's caps; its fields are not used."""
        budget, fields = MAX_HEAD_BYTES, 0
        while True:
            line = self.fp.readline(budget + 1)
            if len(line) > budget:
                raise self._broken(f"trailer section over {MAX_HEAD_BYTES // 1024} KiB")
            budget -= len(line)
            if not line.endswith(b"\n"):
                raise self._broken(_CUT_CHUNKED)
            if line in _LINE_ENDS:
                return
            if _FIELD_LINE.fullmatch(line) is None and not (fields and _CONTINUATION.fullmatch(line)):
                raise self._broken("malformed trailer line")
            fields += 1
            if fields > MAX_HEADERS:
                raise self._broken(f"more than {MAX_HEADERS} trailer fields")

    def _broken(self, problem: str, quoted: str | None = None) -> BadFramingError:
        """The error for a chunked body read wrong, closing the response: nothing after it can be trusted."""
        self._close_conn()  # type: ignore[attr-defined]
        return BadFramingError(problem, quoted)


def _message(lines: list[bytes], framing: dict[str, list[str]]) -> http.client.HTTPMessage:
    """The headers as ``http.client`` gives them, built from lines already checked, without its email parser.

    The parser (``http.client.parse_headers``) costs more CPU than the rest of the
    head; for lines that passed :data:`_FIELD_LINE` it only groups each header with
    its continuation lines and stores what the policy makes of them, as here.
    ``framing`` receives the values of the headers that say where the body ends.
    """
    message = http.client.HTTPMessage()
    fields: list[list[str]] = []
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if line[0] in " \t":  # a continuation: checked to follow a header
            fields[-1].append(line)
        else:
            fields.append([line])
    for field in fields:
        name, value = message.policy.header_source_parse(field)
        message.set_raw(name, value)
        if (key := name.lower()) in _FRAMING:
            framing.setdefault(key, []).append(value)
    return message


def _elements(values: list[str] | None) -> list[str]:
    """A header's comma-separated elements across all its lines, lower-cased; an empty one stays, as ''."""
    return [element.strip().lower() for element in ",".join(values).split(",")] if values else []
