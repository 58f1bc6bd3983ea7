"""What a check sends, seen by a real loopback server: methods, headers, bodies, auth, redirects, TLS."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from urllib.parse import quote

import pytest
import trustme

from healthcheck.check.probe import Cancel, CheckResult, Probe
from healthcheck.check.request_spec import MAX_REQUEST_BODY_BYTES, METHODS, SecretRef, SsmRef
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target, parse_target, parse_targets
from healthcheck.history.record_store import to_item
from tests.conftest import server_context
from tests.echo_server import EchoServer, echo_server
from tests.servers import running

TOKEN = SsmRef("/healthcheck/api-token")


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with echo_server() as server:
        yield server


def _check(probe: Probe, raw: Mapping[str, object], secrets: Mapping[SecretRef, str] | None = None) -> CheckResult:
    [result] = run_checks([parse_target(raw)], probe, run_deadline=time.monotonic() + 30, secrets=secrets)
    return result


@pytest.mark.parametrize("method", METHODS)
def test_each_method_is_sent_as_given(probe: Probe, echo: EchoServer, method: str) -> None:
    result = _check(probe, {"url": f"{echo.base_url}/echo", "method": method.lower()})
    assert (result.success, result.status) == (True, 200)
    [seen] = echo.requests_to("/echo")
    assert seen.method == method


@pytest.mark.parametrize(
    ("fields", "body", "content_type"),
    [
        ({"body": "ping=1"}, b"ping=1", None),
        ({"json": {"query": "{ health }", "n": [1, None]}}, b'{"query":"{ health }","n":[1,null]}', "application/json"),
        ({"json": "é"}, '"é"'.encode(), "application/json"),
        (
            {"json": {"a": 1}, "headers": {"content-type": "application/graphql+json"}},
            b'{"a":1}',
            "application/graphql+json",
        ),
    ],
    ids=["string", "json-object", "json-string-utf8", "json-own-content-type"],
)
def test_bodies_are_sent_exactly(
    probe: Probe, echo: EchoServer, fields: dict[str, object], body: bytes, content_type: str | None
) -> None:
    result = _check(probe, {"url": f"{echo.base_url}/echo", "method": "POST", **fields})
    assert result.success, result.error
    [seen] = echo.requests_to("/echo")
    assert seen.body == body
    assert seen.headers["content-length"] == str(len(body))
    assert seen.headers.get("content-type") == content_type


def test_a_server_that_demands_a_header_gets_it_and_fails_without_it(probe: Probe, echo: EchoServer) -> None:
    url = echo.base_url + echo.demand("X-Api-Key", "k3y-12345")
    assert _check(probe, {"url": url, "headers": {"X-Api-Key": "k3y-12345"}}).success
    refused = _check(probe, {"url": url})
    assert (refused.success, refused.status) == (False, 401)


def test_a_secret_header_is_sent_with_its_resolved_value(probe: Probe, echo: EchoServer) -> None:
    url = echo.base_url + echo.demand("Authorization", "Bearer s3cr3t-t0ken")
    raw = {"url": url, "headers": {"Authorization": {"ssm": TOKEN.name}}}
    assert _check(probe, raw, {TOKEN: "Bearer s3cr3t-t0ken"}).success
    assert not _check(probe, raw, {TOKEN: "Bearer wrong-t0ken"}).success


def test_user_headers_replace_ours_whatever_their_case(probe: Probe, echo: EchoServer) -> None:
    _check(probe, {"url": f"{echo.base_url}/echo", "headers": {"user-agent": "probe/2", "Host": "api.example"}})
    [seen] = echo.requests_to("/echo")
    assert (seen.headers["user-agent"], seen.headers["host"]) == ("probe/2", "api.example")


@pytest.mark.parametrize(
    ("userinfo", "credentials"),
    [
        ("ops:p%40ss%20w0rd", b"ops:p@ss w0rd"),
        ("ghp_t0ken1234", b"ghp_t0ken1234:"),  # a token as the user name: GitHub, many webhooks
        ("ghp_t0ken1234:x-oauth-basic", b"ghp_t0ken1234:x-oauth-basic"),
    ],
    ids=["user-password", "token-alone", "token-beside-password"],
)
def test_basic_auth_in_the_url_is_sent_and_the_credential_shown_nowhere(
    probe: Probe, echo: EchoServer, userinfo: str, credentials: bytes
) -> None:
    expected = "Basic " + base64.b64encode(credentials).decode()
    host = echo.base_url.removeprefix("http://")
    path = echo.demand("Authorization", expected)
    url = f"http://{userinfo}@{host}{path}"
    result = _check(probe, {"url": url})
    assert result.success, result.error
    assert (result.name, result.url) == (f"http://***@{host}{path}", f"http://***@{host}{path}")
    assert to_item(result, "2026-01-01T00:00:00Z")["Url"] == {"S": f"http://***@{host}{path}"}


def test_a_secret_too_short_to_hide_fails_only_its_own_check_by_name(probe: Probe, echo: EchoServer) -> None:
    # A 2-character secret would put *** all over every error text, and where they fall would spell it.
    short, fine = SsmRef("/healthcheck/short"), SsmRef("/healthcheck/fine")
    targets = [
        parse_target({"name": "short", "url": f"{echo.base_url}/echo", "headers": {"X-Api-Key": short.to_json()}}),
        parse_target({"name": "fine", "url": f"{echo.base_url}/echo", "headers": {"X-Api-Key": fine.to_json()}}),
        parse_target({"name": "plain", "url": f"{echo.base_url}/echo"}),
    ]
    results = run_checks(targets, probe, run_deadline=time.monotonic() + 30, secrets={short: "k9", fine: "k9-long-key"})
    assert [(r.name, r.success, r.error, r.inconclusive) for r in results] == [
        (
            "short",
            False,
            "secret /healthcheck/short: the value has fewer than 8 characters: too short to hide from error texts",
            False,
        ),
        ("fine", True, None, False),
        ("plain", True, None, False),
    ]
    assert [seen.headers.get("x-api-key") for seen in echo.requests_to("/echo")].count("k9") == 0


@pytest.mark.parametrize(
    "body",
    ["x" * MAX_REQUEST_BODY_BYTES, "é" * (MAX_REQUEST_BODY_BYTES // 2)],
    ids=["64-KiB-of-ASCII", "64-KiB-of-2-byte-characters"],
)
def test_a_body_of_exactly_64_kib_reaches_the_server_whole(probe: Probe, echo: EchoServer, body: str) -> None:
    result = _check(probe, {"url": f"{echo.base_url}/echo", "method": "POST", "body": body})
    assert (result.success, result.status, result.error) == (True, 200, None)
    [seen] = echo.requests_to("/echo")
    assert seen.body == body.encode()
    assert seen.headers["content-length"] == "65536"


def test_a_body_one_byte_over_64_kib_is_refused_by_name_and_never_sent(probe: Probe, echo: EchoServer) -> None:
    [bad] = parse_targets([{"url": f"{echo.base_url}/echo", "method": "POST", "body": "é" * 32_767 + "xxx"}]).invalid
    assert bad.error == "invalid target: the body is 65537 bytes; at most 65536 (64 KiB) are sent"
    assert echo.requests_to("/echo") == []


def test_a_redirect_is_the_final_status_when_not_followed(probe: Probe, echo: EchoServer) -> None:
    raw = {"url": f"{echo.base_url}/redirect?status=302&to=/echo", "followRedirects": False}
    result = _check(probe, raw)
    assert (result.success, result.status, result.error) == (False, 302, "status 302 not in [2xx]")
    assert echo.requests_to("/echo") == []


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [(303, "GET", b""), (301, "GET", b""), (302, "GET", b""), (307, "POST", b"x=1"), (308, "POST", b"x=1")],
)
def test_a_post_redirected_continues_as_browsers_do(
    probe: Probe, echo: EchoServer, status: int, method: str, body: bytes
) -> None:
    raw = {"url": f"{echo.base_url}/redirect?status={status}&to=/echo", "method": "POST", "body": "x=1"}
    assert _check(probe, raw).success
    [seen] = echo.requests_to("/echo")
    assert (seen.method, seen.body) == (method, body)


def test_credentials_follow_a_redirect_within_the_origin_only(probe: Probe, echo: EchoServer) -> None:
    headers = {"Authorization": {"ssm": TOKEN.name}, "X-Token": {"ssm": TOKEN.name}, "X-Plain": "kept"}
    with echo_server() as elsewhere:
        for target in (f"{echo.base_url}/echo", f"{elsewhere.base_url}/echo"):
            raw = {"url": f"{echo.base_url}/redirect?status=307&to={quote(target)}", "headers": headers}
            assert _check(probe, raw, {TOKEN: "Bearer s3cr3t-t0ken"}).success
        [same] = echo.requests_to("/echo")
        [other] = elsewhere.requests_to("/echo")
    assert (same.headers["authorization"], same.headers["x-token"]) == ("Bearer s3cr3t-t0ken", "Bearer s3cr3t-t0ken")
    assert "authorization" not in other.headers
    assert "x-token" not in other.headers
    assert other.headers["x-plain"] == "kept"


def test_credentials_go_where_the_connection_goes_not_where_urlsplit_reads(probe: Probe, echo: EchoServer) -> None:
    # By urlsplit, http://localhost:P\\@127.0.0.1:Q/echo is 127.0.0.1:Q, the same origin; urllib3 connects to
    # localhost:P. Credentials are kept or dropped by where the request really goes.
    headers = {"Authorization": {"ssm": TOKEN.name}}
    with echo_server() as elsewhere:
        other_port = elsewhere.base_url.rsplit(":", 1)[1]
        own = echo.base_url.removeprefix("http://")
        location = f"http://localhost:{other_port}\\@{own}/echo"
        raw = {"url": f"{echo.base_url}/redirect?status=307&to={quote(location)}", "headers": headers}
        _check(probe, raw, {TOKEN: "Bearer s3cr3t-t0ken"})
        [other] = elsewhere.seen
    assert "authorization" not in other.headers


@pytest.mark.parametrize(
    "location",
    ["http://[::1", "http://h:99999/", "http://[foo]/", "https://h:80x/"],
    ids=["cut-ipv6", "port-out-of-range", "bad-ipv6", "bad-port"],
)
def test_a_redirect_no_client_could_follow_is_the_sites_failure(probe: Probe, echo: EchoServer, location: str) -> None:
    # Never the monitor's own fault (inconclusive, so never DOWN): browsers can't follow it either.
    result = _check(probe, {"url": f"{echo.base_url}/redirect?status=302&to={quote(location)}"})
    assert (result.success, result.inconclusive) == (False, False)
    assert result.error == f"redirect to invalid URL {location!r}"


def test_a_secret_echoed_into_a_redirects_host_is_hidden_though_lower_cased(probe: Probe, echo: EchoServer) -> None:
    secret = "Zq9KeyABCdef"
    raw = {
        "url": f"{echo.base_url}/redirect?status=302&to=http://{secret}.invalid/",
        "headers": {"X-Key": {"ssm": TOKEN.name}},
    }
    result = _check(probe, raw, {TOKEN: secret})
    assert result.error is not None
    assert secret.lower() not in result.error.lower(), result.error


def test_verify_tls_false_checks_an_untrusted_server_and_never_lends_its_pool(ca: trustme.CA) -> None:
    probe = Probe()  # trusts the system CAs only: the test CA's certificate is untrusted
    other_ca = trustme.CA()
    with running(server_context(other_ca, "127.0.0.1")) as server:
        url = f"{server.base_url}/ok"
        insecure = _check(probe, {"url": url, "verifyTls": False})
        verified = _check(probe, {"url": url})
    assert (insecure.success, insecure.tls_verified) == (True, False)
    assert to_item(insecure, "2026-01-01T00:00:00Z")["TlsVerified"] == {"BOOL": False}
    assert (verified.success, verified.tls_verified) == (False, True)
    assert verified.error is not None
    assert verified.error.startswith("TLS error: certificate verify failed")
    assert "TlsVerified" not in to_item(verified, "2026-01-01T00:00:00Z")


def test_an_error_text_that_quotes_a_secret_is_scrubbed(probe: Probe, echo: EchoServer) -> None:
    raw = {"url": f"{echo.base_url}/leak?header=X-Token", "headers": {"X-Token": {"ssm": TOKEN.name}}}
    result = _check(probe, raw, {TOKEN: "tok-5ecret"})
    assert result.error == "redirect to unsupported URL 'ftp://127.0.0.1/?got=***&raw=***'"


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "caf\u00e9 \u2603"], ids=["crlf", "not-latin-1"])
def test_a_secret_that_cannot_be_a_header_fails_its_check_without_showing_it(
    probe: Probe, echo: EchoServer, value: str
) -> None:
    raw = {"url": f"{echo.base_url}/echo", "headers": {"X-Token": {"ssm": TOKEN.name}}}
    result = _check(probe, raw, {TOKEN: value})
    assert result.success is False
    assert result.error is not None
    assert result.error.startswith("secret /healthcheck/api-token has")
    assert value not in result.error
    assert echo.requests_to("/echo") == []


def test_a_fault_inside_a_check_is_logged_without_the_secret(
    probe: Probe, echo: EchoServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception no handler expects (here: a bug reading the body) still never carries a secret out."""

    def broken(self: Probe, response: object, deadline: float, *, keep: bool) -> None:
        raise RuntimeError(f"bug while sending {json.dumps(dict(response.headers))} with tok-5ecret")  # type: ignore[attr-defined]

    monkeypatch.setattr(Probe, "_read_body", broken)
    raw = {"url": f"{echo.base_url}/echo", "headers": {"X-Token": {"ssm": TOKEN.name}}}
    result = _check(probe, raw, {TOKEN: "tok-5ecret"})
    assert result.error is not None
    assert result.error.startswith("internal error: ProbeFaultError")
    assert "tok-5ecret" not in result.error
    assert "tok-5ecret" not in caplog.text
    assert "***" in caplog.text


def test_head_and_no_content_answers_have_no_body(probe: Probe, echo: EchoServer) -> None:
    assert _check(probe, {"url": f"{echo.base_url}/echo", "method": "HEAD"}).status == 200
    assert _check(probe, {"url": f"{echo.base_url}/redirect?status=204&to=/x"}).status == 204


def test_probe_check_without_secrets_still_checks(probe: Probe, echo: EchoServer) -> None:
    started = time.monotonic()
    target = Target(name="plain", url=f"{echo.base_url}/echo")
    result = probe.check(target, Cancel(), started=started, deadline=started + 5)
    assert result.success
