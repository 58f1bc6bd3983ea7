"""A server that echoes a secret back: expectation failures quote what it sent, never the secret.

Found by attack: failure lines quote the server's value through show(), which
cuts it at 100 characters and escapes quotes, so a long or quoted secret no
longer matched the scrubber and came out whole or in pieces.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

from healthcheck.connections import Cancel
from healthcheck.probe import CheckResult, Probe
from healthcheck.request_spec import SsmRef
from healthcheck.targets import parse_target
from tests.echo_server import echo_server

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
