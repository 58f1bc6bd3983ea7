"""TLS contexts: one per verification mode, shared by every connection; the trust store and its overrides.

Every check here is a real handshake with a real server on 127.0.0.1; the spies
only count calls on the real ``ssl`` objects and pass them through.
"""

from __future__ import annotations

import ssl
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from healthcheck.check.connections import epoch_seconds
from healthcheck.check.probe import Probe
from healthcheck.check.request_spec import RequestSpec
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target
from healthcheck.check.tls import SharedContext, TlsContexts, TrustStore, TrustStoreError, build_context, trust_store
from tests.conftest import check_one, server_context
from tests.servers import FaultServer, running
from tests.trust_store import add_hashed, hashed_copy

LOADS = ("load_verify_locations", "load_default_certs", "set_default_verify_paths")
COUNTED = (*LOADS, "set_alpn_protocols")


class Spy:
    """Counts SSLContexts created, calls that load or change one, and the contexts client connections use."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.created = 0
        self.calls: Counter[str] = Counter()
        self.wrapped_with: Counter[int] = Counter()
        real_new = ssl.SSLContext.__new__

        def new(cls: type[ssl.SSLContext], *args: Any, **kwargs: Any) -> ssl.SSLContext:
            self.created += 1
            return real_new(cls, *args, **kwargs)

        monkeypatch.setattr(ssl.SSLContext, "__new__", new)
        for name in COUNTED:
            monkeypatch.setattr(ssl.SSLContext, name, self._counting(name, getattr(ssl.SSLContext, name)))
        real_wrap = ssl.SSLContext.wrap_socket

        def wrap(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
            if not kwargs.get("server_side"):  # the test servers' own accepts are not counted
                self.wrapped_with[id(context)] += 1
            return real_wrap(context, *args, **kwargs)

        monkeypatch.setattr(ssl.SSLContext, "wrap_socket", wrap)

    def _counting(self, name: str, real: Any) -> Any:
        def load(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return real(context, *args, **kwargs)

        return load


@pytest.fixture
def sites(ca: trustme.CA) -> Iterator[list[FaultServer]]:
    """Three HTTPS sites trusted through the test CA, and a fourth whose CA nobody trusts."""
    stranger = trustme.CA()
    with (
        running(server_context(ca, "127.0.0.1", "localhost")) as one,
        running(server_context(ca, "127.0.0.1", "localhost")) as two,
        running(server_context(ca, "127.0.0.1", "localhost")) as three,
        running(server_context(stranger, "127.0.0.1")) as untrusted,
    ):
        yield [one, two, three, untrusted]


def test_fifty_checks_to_several_hosts_share_one_context_per_mode_and_load_the_trust_store_once(
    sites: list[FaultServer], ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    *trusted, untrusted = sites
    port = [server.server_address[1] for server in trusted]
    # Six origins (two host names on each of three servers), and verifyTls: false on a fourth.
    origins = [f"https://{host}:{p}" for p in port for host in ("127.0.0.1", "localhost")]
    targets = [Target(f"v{i}", f"{origins[i % len(origins)]}/ok") for i in range(40)]
    unverified = RequestSpec(verify_tls=False)
    targets += [Target(f"u{i}", f"{untrusted.base_url}/ok", request=unverified) for i in range(10)]
    spy = Spy(monkeypatch)
    probe = Probe(ca_certs=ca_file)

    results = run_checks(targets, probe, run_deadline=time.monotonic() + 60)

    assert [r.error for r in results if not r.success] == []
    assert [r.tls_verified for r in results] == [True] * 40 + [False] * 10
    assert spy.created == 2  # one verified, one unverified: not one per connection
    # The unverified context loads nothing; each sets its ALPN list once (urllib3's call before
    # each connection, on a context other threads are using, must not reach OpenSSL).
    assert spy.calls == Counter({"load_verify_locations": 1, "set_alpn_protocols": 2})
    assert sorted(spy.wrapped_with.values()) == [10, 40]


def test_http_checks_build_no_tls_context(http_server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Built on first HTTPS use: a cold start, or a stack of plain-HTTP targets, pays nothing for it.
    spy = Spy(monkeypatch)
    result = check_one(Probe(), f"{http_server.base_url}/ok")
    assert result.success
    assert (spy.created, spy.calls) == (0, Counter())


@pytest.fixture
def ca_pem(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.cert_pem.bytes())
    return path


def _hashed_dir(tmp_path: Path, name: str, *cas: Path) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    for ca_pem in cas:
        add_hashed(directory, ca_pem)
    return directory


def _bundle(tmp_path: Path, ca_pem: Path) -> Path:
    system = ssl.get_default_verify_paths().cafile
    assert system is not None, "the tests need the system's CA bundle (package ca-certificates)"
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(system).read_bytes() + b"\n" + ca_pem.read_bytes())
    return bundle


def test_the_default_trust_store_is_the_systems_hashed_directory_with_nothing_loaded_up_front(
    https_server: FaultServer, ca_pem: Path, tmp_path: Path
) -> None:
    # The system's hashed directory with the test CA added, given as the image gives it: no variable set.
    system = ssl.get_default_verify_paths().capath
    assert system is not None, "the tests need the system's hashed CA directory (package ca-certificates)"
    hashed = tmp_path / "hashed"
    hashed_copy(Path(system), hashed, extra=[ca_pem])
    contexts = TlsContexts(environ={}, hashed_dirs=[str(tmp_path / "absent"), str(hashed)])

    assert contexts.store() == TrustStore(capath=str(hashed))
    assert contexts.get(True).get_ca_certs() == []  # nothing parsed until a handshake asks
    assert check_one(Probe(tls=contexts), f"{https_server.base_url}/ok").success
    assert len(contexts.get(True).get_ca_certs()) == 1  # the one CA that handshake needed


@pytest.mark.parametrize(
    ("variables", "passes"),
    [
        ({"SSL_CERT_DIR": "{with_ca}"}, True),
        ({"SSL_CERT_FILE": "{bundle}"}, True),
        ({"SSL_CERT_DIR": "{without_ca}"}, False),
        ({"SSL_CERT_DIR": "{without_ca}:{with_ca}"}, True),
    ],
    ids=["dir", "file", "dir-without-the-ca", "dir-list"],
)
def test_ssl_cert_file_and_dir_choose_the_trust_store(
    https_server: FaultServer,
    ca_pem: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    passes: bool,
) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(trustme.CA().cert_pem.bytes())
    paths = {
        "with_ca": str(_hashed_dir(tmp_path, "with", ca_pem)),
        "without_ca": str(_hashed_dir(tmp_path, "without", stranger)),
        "bundle": str(_bundle(tmp_path, ca_pem)),
    }
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(**paths))

    result = check_one(Probe(), f"{https_server.base_url}/ok")

    refused = "TLS error: certificate verify failed: unable to get local issuer certificate"
    assert (result.success, result.error) == ((True, None) if passes else (False, refused))


@pytest.mark.parametrize(
    ("environ", "system", "expected"),
    [
        ({}, ["hashed"], TrustStore(capath="{hashed}")),
        ({}, ["plain", "hashed"], TrustStore(capath="{hashed}")),
        ({}, ["plain", "absent"], TrustStore(defaults=True)),
        ({"SSL_CERT_FILE": "{file}"}, ["hashed"], TrustStore(cafile="{file}", capath="{hashed}")),
        ({"SSL_CERT_FILE": "{file}"}, ["plain"], TrustStore(cafile="{file}")),
        ({"SSL_CERT_DIR": "{plain}"}, ["hashed"], TrustStore(capath="{plain}")),
        ({"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}, ["hashed"], TrustStore(capath="{hashed}")),
    ],
    ids=["system-dir", "first-hashed-dir", "openssl-defaults", "file-and-system-dir", "file", "dir", "empty-variables"],
)
def test_trust_store_follows_openssl_rules(
    tmp_path: Path, environ: dict[str, str], system: list[str], expected: TrustStore
) -> None:
    (tmp_path / "hashed").mkdir()
    (tmp_path / "hashed" / "0123abcd.0").write_text("")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "ca-bundle.crt").write_text("")
    (tmp_path / "file.pem").write_text("")
    paths = {"hashed": str(tmp_path / "hashed"), "plain": str(tmp_path / "plain"), "file": str(tmp_path / "file.pem")}
    paths["absent"] = str(tmp_path / "absent")
    given = {name: value.format(**paths) for name, value in environ.items()}
    wanted = TrustStore(
        expected.cafile and expected.cafile.format(**paths),
        expected.capath and expected.capath.format(**paths),
        expected.defaults,
    )
    assert trust_store(given, [paths[name] for name in system]) == wanted


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("SSL_CERT_FILE", "SSL_CERT_FILE names no file: .*/absent"),
        ("SSL_CERT_DIR", "SSL_CERT_DIR names no directory: .*/absent"),
    ],
)
def test_a_trust_store_variable_naming_nothing_is_an_error(tmp_path: Path, variable: str, message: str) -> None:
    # OpenSSL would ignore it, and every HTTPS site would look broken.
    with pytest.raises(TrustStoreError, match=message):
        trust_store({variable: str(tmp_path / "absent")})


def test_an_unreadable_trust_store_makes_https_checks_inconclusive_never_down(
    https_server: FaultServer, http_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    targets = [Target("secure", f"{https_server.base_url}/ok"), Target("plain", f"{http_server.base_url}/ok")]

    secure, plain = run_checks(targets, Probe(), run_deadline=time.monotonic() + 30)

    assert (secure.success, secure.inconclusive) == (False, True)
    assert secure.error is not None
    assert "trust store (file " in secure.error
    assert plain.success


def test_a_shared_context_keeps_its_settings(ca_file: str) -> None:
    verified = build_context(True, TrustStore(cafile=ca_file))
    unverified = build_context(False, None)
    assert isinstance(verified, SharedContext)
    # What urllib3 sets before every connection, unchanged: accepted, and not rewritten.
    verified.set_alpn_protocols(["http/1.1"])
    verified.verify_mode = ssl.CERT_REQUIRED
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="ALPN list stays"):
        verified.set_alpn_protocols(["h2"])
    # A verified context turned CERT_NONE would pass every certificate of every check.
    with pytest.raises(ValueError, match="verify_mode stays"):
        verified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="check_hostname stays"):
        verified.check_hostname = False
    assert (verified.verify_mode, verified.check_hostname) == (ssl.CERT_REQUIRED, True)
    assert (unverified.verify_mode, unverified.check_hostname) == (ssl.CERT_NONE, False)


@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(9999, 12, 31)))
def test_certificate_times_read_as_the_ssl_module_reads_them(moment: datetime) -> None:
    # As OpenSSL prints them (the day padded with a space); epoch_seconds skips ssl's strptime.
    printed = f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} {moment.year} GMT"
    assert epoch_seconds(printed) == ssl.cert_time_to_seconds(printed)


@pytest.mark.parametrize("printed", ["Jan  5 09:34:43 2018 UTC", "2018-01-05 09:34:43", "Foo  5 09:34:43 2018 GMT"])
def test_a_certificate_time_printed_otherwise_goes_to_the_ssl_module(printed: str) -> None:
    with pytest.raises(ValueError, match="time data"):
        epoch_seconds(printed)
