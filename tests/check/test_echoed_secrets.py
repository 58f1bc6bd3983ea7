"""A server that echoes a secret back: failure lines and errors quote what it sent, never the secret.

Found by attack: failure lines quote the server's value through show(), which
cuts it at 100 characters and escapes quotes, so a long or quoted secret no
longer matched the scrubber and came out whole or in pieces. Then (issue 14):
framing errors cut the server's Content-Length, Transfer-Encoding or chunk
size line at 60 characters and repr()-escaped it before the scrubber saw it;
and a secret echoed base64-, hex- or percent-encoded, or upper-cased, was
never searched for at all.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

from healthcheck.check.connections import Cancel
from healthcheck.check.probe import CheckResult, Probe
from healthcheck.check.request_spec import SsmRef
from healthcheck.check.targets import parse_target
from tests.echo_server import ENCODINGS, echo_server
from tests.hostile import Peer, Request, raw_server

TOKEN = SsmRef("/healthcheck/token")


def _check(probe: Probe, raw: dict[str, object], secret: str) -> CheckResult:
    started = time.monotonic()
    return probe.check(parse_target(raw), Cancel(), started=started, deadline=started + 5, secrets={TOKEN: secret})


@pytest.mark.parametrize(
    ("secret", "pieces"),
    [
        ("S" * 60 + "LONGSECRETTAIL" + "T" * 60, ["SSSSSSSSSS", "LONGSE", "TTTTTTTTTT"]),  # longer than show() keeps
        ("abc'def\"ghi\\jkl-SECRETQUOTE", ["SECRETQUOTE"]),  # show() escapes it
        ("Bearer TOKENONLY12345", ["TOKENONLY12345"]),  # the server echoes the token alone
    ],
    ids=["long", "quoted", "token-alone"],
)
def test_an_echoed_secret_appears_in_no_failure_line(probe: Probe, secret: str, pieces: list[str]) -> None:
    with echo_server() as server:
        raw: dict[str, object] = {
            "name": "api",
            "url": f"{server.base_url}/mirror?header=X-Api-Key",
            "headers": {"X-Api-Key": {"ssm": TOKEN.name}},
            "expect": {"json": {"status": "UP", "detail": "ok"}, "headers": {"X-Echo": "nope"}},
        }
        result = _check(probe, raw, secret)
    assert not result.success
    assert len(result.failures) == 3  # each expectation quoted the echo: there was something to leak
    text = json.dumps([result.error, *result.failures])
    assert [piece for piece in pieces if piece in text] == []
    assert "***" in text


# Letters of both cases, digits, and what encoders treat differently (/ + ! ~ * ' ( ) and Latin-1).
ECHOED = "Tok/en+1!~*'(\u00e9)-LEAK9"


def _pieces(text: str, size: int = 8) -> set[str]:
    return {text[i : i + size].lower() for i in range(len(text) - size + 1)}


def leaked(output: str, echo: str) -> list[str]:
    """Every 8-character piece of ``echo`` that ``output`` holds, in any case."""
    return sorted(piece for piece in _pieces(echo) if piece in output.lower())


def _secret_part(encoding: str, echo: str) -> str:
    # "Basic " and the base64 of "apikey:" come before the secret's own characters.
    return echo[16:] if encoding == "base64-in-basic" else echo


@pytest.mark.parametrize("encoding", list(ENCODINGS), ids=list(ENCODINGS))
def test_a_secret_echoed_in_any_encoding_appears_in_no_failure_line(probe: Probe, encoding: str) -> None:
    with echo_server() as server:
        raw: dict[str, object] = {
            "name": "api",
            "url": f"{server.base_url}/mirror?header=X-Api-Key&encoding={encoding}",
            "headers": {"X-Api-Key": {"ssm": TOKEN.name}},
            "expect": {"json": {"status": "UP", "detail": "ok"}, "headers": {"X-Echo": "nope"}},
        }
        result = _check(probe, raw, ECHOED)
    assert len(result.failures) == 3  # each expectation quoted the echo: there was something to leak
    text = "\n".join(result.failures)
    echo = ENCODINGS[encoding](ECHOED)
    assert leaked(text, _secret_part(encoding, echo)) == []
    assert leaked(text, ECHOED) == []
    assert "***" in text


# The server's text ahead of the echo: the old 60-character cut fell 20 characters into the secret.
PAD = b"x" * 40
# Long enough to be cut, and with backslashes, which repr() doubles.
FRAMED = "LEAK\\C:\\dir\\9f8e7d6c5b4a3921"
FRAMINGS = {
    "content-length": lambda echo: b"HTTP/1.1 200 OK\r\nContent-Length: " + PAD + echo + b"\r\n\r\nok",
    "transfer-encoding": lambda echo: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + PAD + echo + b"\r\n\r\nok",
    "chunk-size-line": lambda echo: (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + PAD + echo + b"\r\nok\r\n0\r\n\r\n"
    ),
}
FRAMING_PROBLEMS = {
    "content-length": "invalid Content-Length",
    "transfer-encoding": "unsupported Transfer-Encoding",
    "chunk-size-line": "invalid chunk size line",
}


def _framing_check(probe: Probe, place: str, encoding: str) -> CheckResult:
    def echo_into_framing(peer: Peer, request: Request) -> bool:
        echo = ENCODINGS[encoding](request.headers["x-api-key"])
        peer.send(FRAMINGS[place](echo.encode("latin-1")))
        return False

    with raw_server(echo_into_framing) as server:
        raw: dict[str, object] = {
            "name": "api",
            "url": f"{server.base_url}/",
            "headers": {"X-Api-Key": {"ssm": TOKEN.name}},
        }
        return _check(probe, raw, FRAMED)


@pytest.mark.parametrize("encoding", list(ENCODINGS), ids=list(ENCODINGS))
@pytest.mark.parametrize("place", list(FRAMINGS), ids=list(FRAMINGS))
def test_a_secret_echoed_into_the_framing_appears_in_no_error(probe: Probe, place: str, encoding: str) -> None:
    result = _framing_check(probe, place, encoding)
    assert result.success is False
    assert result.error is not None
    assert result.error.startswith(f"protocol error: {FRAMING_PROBLEMS[place]} 'xxxx"), result.error
    echo = ENCODINGS[encoding](FRAMED)
    for secret in (_secret_part(encoding, echo), FRAMED, repr(FRAMED)[1:-1]):
        assert leaked(result.error, secret) == [], result.error


@pytest.mark.parametrize("place", list(FRAMINGS), ids=list(FRAMINGS))
def test_a_framing_error_still_quotes_the_servers_text_around_the_hidden_secret(probe: Probe, place: str) -> None:
    result = _framing_check(probe, place, "as-sent")
    assert result.error == f"protocol error: {FRAMING_PROBLEMS[place]} '{PAD.decode()}***'"


def test_a_secret_free_value_is_still_quoted_as_sent(probe: Probe) -> None:
    with echo_server() as server:
        raw: dict[str, object] = {
            "name": "api",
            "url": f"{server.base_url}/mirror?header=X-Plain",
            "headers": {"X-Plain": "DOWN"},
            "expect": {"json": {"status": "UP"}},
        }
        result = _check(probe, raw, "unused-secret")
    assert result.failures == ("json status is 'DOWN', expected 'UP'",)


@pytest.mark.parametrize("name", ["X-Api-Key", "X-Auth-Token", "Private-Token", "X-Session-Id"])
def test_a_literal_credential_header_never_follows_a_redirect_to_another_origin(probe: Probe, name: str) -> None:
    with echo_server() as home, echo_server() as elsewhere:
        raw: dict[str, object] = {
            "name": "api",
            "url": f"{home.base_url}/redirect?status=302&to={quote(elsewhere.base_url + '/echo')}",
            "headers": {name: "LITERALKEY"},
        }
        result = _check(probe, raw, "unused-secret")
        [moved] = elsewhere.requests_to("/echo")
    assert result.success
    assert name.lower() not in moved.headers
    assert "user-agent" in moved.headers  # the request itself still went on
