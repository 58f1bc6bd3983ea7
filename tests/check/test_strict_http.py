"""The strict head reader gives the headers exactly as http.client's own parser would, for every head it accepts.

It builds the header message itself (the email parser http.client uses cost more
CPU than the rest of a check's head); hypothesis holds it to http.client's result.
"""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcheck.check.strict_http import MalformedHeaderError, StrictHTTPResponse

# Field names, but not the two that frame the body: the reader refuses framing http.client would guess at
# (an empty Content-Length, found by hypothesis in CI), which tests/check/test_hostile_servers.py holds.
TOKEN = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1
).filter(lambda name: name.lower() not in ("content-length", "transfer-encoding"))
# Field text, as bytes read as latin-1: visible ASCII, space, tab, and obs-text (0x80-0xFF).
VALUE = st.text(alphabet="".join(map(chr, [9, *range(0x20, 0x7F), *range(0x80, 0x100)])), max_size=40)
EOL = st.sampled_from(["\r\n", "\n"])
FOLD = st.sampled_from([" ", "\t"])


@st.composite
def fields(draw: st.DrawFn) -> list[str]:
    """One header: ``name:value``, with obs-fold continuation lines now and then."""
    lines = [f"{draw(TOKEN)}:{draw(VALUE)}{draw(EOL)}"]
    for _ in range(draw(st.integers(0, 2))):
        lines.append(f"{draw(FOLD)}{draw(VALUE)}{draw(EOL)}")
    return lines


class _Socket:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))


def _read(head: bytes) -> StrictHTTPResponse:
    response = StrictHTTPResponse(_Socket(head))  # type: ignore[arg-type]
    response.begin()
    return response


@given(st.lists(fields(), max_size=20))
def test_headers_are_what_http_client_would_parse(head: list[list[str]]) -> None:
    lines = b"".join(line.encode("latin-1") for field in head for line in field)
    response = _read(b"HTTP/1.1 204 No Content\r\n" + lines + b"\r\n")
    expected = http.client.parse_headers(io.BytesIO(lines + b"\r\n"))
    assert response.msg.items() == expected.items()
    assert response.msg.defects == expected.defects == []
    assert response.msg.get_payload() in ("", None)


@pytest.mark.parametrize(
    "head",
    [b" folded: first\r\n", b"Name : space before the colon\r\n", b"no colon\r\n", b"Bell: \x07\r\n"],
    ids=["continuation-first", "space-before-colon", "no-colon", "control-character"],
)
def test_a_line_http_clients_parser_would_guess_at_is_refused(head: bytes) -> None:
    with pytest.raises(MalformedHeaderError):
        _read(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n")
