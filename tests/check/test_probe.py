"""One check per fault, each against a real server on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import pytest
import trustme

from healthcheck.check.probe import Probe
from tests.conftest import check_one, server_context
from tests.servers import FaultServer, closed_port, running


def test_2xx_is_up_with_status_and_duration(http_server: FaultServer, probe: Probe) -> None:
    result = check_one(probe, f"{http_server.base_url}/slow?ms=50")
    assert result.success
    assert result.status == 200
    assert result.error is None
    assert result.duration_ms >= 50


@pytest.mark.parametrize("code", [404, 500, 503], ids=str)
def test_non_2xx_is_down_and_says_which(http_server: FaultServer, probe: Probe, code: int) -> None:
    result = check_one(probe, f"{http_server.base_url}/status/{code}")
    assert not result.success
    assert result.status == code
    assert result.error == f"status {code} not in [2xx]"


def test_no_retry_even_when_server_asks_for_one(http_server: FaultServer, probe: Probe) -> None:
    before = http_server.counters.requests.get("/status/503", 0)
    result = check_one(probe, f"{http_server.base_url}/status/503?retry_after=3600", timeout=5)
    assert result.error == "status 503 not in [2xx]"
    assert http_server.counters.requests["/status/503"] == before + 1


def test_redirects_are_followed_to_the_final_status(http_server: FaultServer, probe: Probe) -> None:
    result = check_one(probe, f"{http_server.base_url}/redirect/3")
    assert (result.success, result.status) == (True, 200)


def test_redirect_loop_is_too_many_redirects(http_server: FaultServer, probe: Probe) -> None:
    result = check_one(probe, f"{http_server.base_url}/redirect-loop")
    assert not result.success
    assert result.error == "too many redirects (more than 5)"


def test_redirect_to_a_non_http_url_is_an_error(http_server: FaultServer, probe: Probe) -> None:
    result = check_one(probe, f"{http_server.base_url}/redirect-to?url=ftp://files.example/x")
    assert result.error == "redirect to unsupported URL 'ftp://files.example/x'"


def test_connection_refused(probe: Probe) -> None:
    result = check_one(probe, f"http://127.0.0.1:{closed_port()}/")
    assert (result.success, result.status, result.error) == (False, None, "connection refused")


def test_name_not_resolved(probe: Probe) -> None:
    result = check_one(probe, "https://no-such-host.invalid/")
    assert result.error == "name not resolved: no-such-host.invalid"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/hang-up", "protocol error: server closed the connection without a response"),
        ("/garbage", "protocol error: malformed status line"),
        ("/short-body", "protocol error: response ended before its declared length"),
    ],
    ids=["hang-up", "not-http", "short-body"],
)
def test_protocol_errors(http_server: FaultServer, probe: Probe, path: str, error: str) -> None:
    result = check_one(probe, http_server.base_url + path)
    assert (result.success, result.error) == (False, error)


def test_https_with_a_trusted_certificate_is_up(https_server: FaultServer, probe: Probe) -> None:
    assert check_one(probe, f"{https_server.base_url}/ok").success


def test_tls_untrusted_certificate(https_server: FaultServer) -> None:
    result = check_one(Probe(), f"{https_server.base_url}/ok")  # system CAs don't know the test CA
    assert result.error is not None
    assert result.error.startswith("TLS error: certificate verify failed: ")
    assert "issuer" in result.error or "self-signed" in result.error


def test_tls_certificate_for_another_host(ca: trustme.CA, probe: Probe) -> None:
    with running(server_context(ca, "other.example")) as server:
        result = check_one(probe, f"{server.base_url}/ok")
    assert result.error is not None
    assert result.error.startswith("TLS error: certificate verify failed: IP address mismatch")


def test_tls_expired_certificate(ca: trustme.CA, probe: Probe) -> None:
    import datetime

    expired = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    with running(server_context(ca, "127.0.0.1", not_after=expired)) as server:
        result = check_one(probe, f"{server.base_url}/ok")
    assert result.error == "TLS error: certificate verify failed: certificate has expired"


def test_tls_spoken_to_a_plain_http_server(http_server: FaultServer, probe: Probe) -> None:
    result = check_one(probe, http_server.base_url.replace("http://", "https://") + "/ok")
    # OpenSSL's reason, WRONG_VERSION_NUMBER, in words.
    assert result.error == "TLS error: wrong version number"


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"], ids=["body", "headers"])
def test_timeout_bounds_a_drip_feeding_server(http_server: FaultServer, probe: Probe, path: str) -> None:
    # The server would take 60 s, a byte every 0.5 s: no urllib3 timeout alone stops it.
    started = time.monotonic()
    result = check_one(probe, http_server.base_url + path, timeout=1)
    elapsed = time.monotonic() - started
    assert (result.success, result.error) == (False, "timed out after 1 s")
    assert result.status is None
    assert 1000 <= result.duration_ms < 3000
    assert elapsed < 3
    # The check itself stopped too: its socket was shut, so no thread is left
    # holding the connection into the next (frozen, then thawed) invocation.
    assert _no_check_threads_within(seconds=2)


def test_a_check_cut_at_its_deadline_stops_reading_and_leaves_no_thread(http_server: FaultServer, probe: Probe) -> None:
    # The fast twin of the test above: the watchdog shuts the socket the check is blocked on.
    result = check_one(probe, http_server.base_url + "/drip-body", timeout=0.2)
    assert (result.success, result.error) == (False, "timed out after 0.2 s")
    assert _no_check_threads_within(seconds=1)


def _no_check_threads_within(seconds: float) -> bool:
    give_up = time.monotonic() + seconds
    while any(t.name.startswith("check") for t in threading.enumerate()):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True


def test_body_read_is_capped(http_server: FaultServer, ca_file: str) -> None:
    # A 1 GB body would time out (or exhaust memory) if read whole.
    probe = Probe(ca_certs=ca_file, max_body_bytes=256 * 1024)
    result = check_one(probe, f"{http_server.base_url}/endless", timeout=10)
    assert (result.success, result.status) == (True, 200)
    assert http_server.counters.body_bytes_sent < 64 * 1024 * 1024


def test_a_redirect_error_never_repeats_a_password_and_is_bounded(http_server: FaultServer, probe: Probe) -> None:
    location = "ftp://deploy:hunter2@files.example/" + "x" * 60_000
    result = check_one(probe, f"{http_server.base_url}/redirect-to?url={location}")
    assert result.error is not None
    assert result.error.startswith("redirect to unsupported URL 'ftp://***@files.example/xxx")
    assert "hunter2" not in result.error
    assert len(result.error.encode()) <= 1024
