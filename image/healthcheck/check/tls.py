"""The TLS contexts that every HTTPS check shares: one per verification mode, built on first use.

Given no ``ssl_context``, urllib3 builds one for every connection and loads the whole
trust store into it: about 140 CA certificates parsed, some 27 ms of CPU per HTTPS
check, twenty times the rest of the check.

The trust store is the system's (the image's ``ca-certificates``, which its base image
keeps current), and by default only its *hashed directory*: OpenSSL then reads a CA
certificate from it when a handshake first asks for that issuer, and keeps it. Its
usual default also loads the CA bundle file, every certificate at once, whether or not
a target needs it. ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` replace the file and the
directory, as OpenSSL's own rules say; with neither set and no hashed directory on
the system, OpenSSL's default paths are used.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, NamedTuple

from urllib3.util.ssl_ import create_urllib3_context

from ..exceptions import ConfigError

__all__ = [
    "HASHED_DIRS",
    "SharedContext",
    "TlsContexts",
    "TrustStore",
    "TrustStoreError",
    "build_context",
    "trust_store",
]

ENV_CERT_FILE: Final = "SSL_CERT_FILE"
ENV_CERT_DIR: Final = "SSL_CERT_DIR"
HASHED_DIRS: Final = (
    "/etc/pki/ca-trust/extracted/pem/directory-hash",  # Amazon Linux 2023 (the Lambda base image), Fedora, RHEL
    "/etc/ssl/certs",  # Debian, Ubuntu, Alpine
)
# What c_rehash and update-ca-trust name a certificate: its subject's hash, a dot, a sequence number.
_HASHED_NAME: Final = re.compile(r"[0-9a-f]{8}\.[0-9]+")
ALPN: Final = ("http/1.1",)


class TrustStoreError(ConfigError):
    """The trust store cannot be read: no HTTPS check can be judged (each is inconclusive, see probe.py)."""


class TrustStore(NamedTuple):
    """Where verified contexts find CA certificates; ``defaults``: OpenSSL's default paths instead.

    A NamedTuple, as request_spec's records: a dataclass costs a cold start four times as much to build.
    """

    cafile: str | None = None
    capath: str | None = None
    defaults: bool = False

    def describe(self) -> str:
        if self.defaults:
            return "OpenSSL's default paths"
        parts = [f"file {self.cafile}" if self.cafile else "", f"hashed directory {self.capath}" if self.capath else ""]
        return " and ".join(part for part in parts if part) or "nothing"


def _is_hashed(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(_HASHED_NAME.fullmatch(entry.name) for entry in entries)
    except OSError:
        return False


def trust_store(environ: Mapping[str, str], hashed_dirs: Iterable[str] = HASHED_DIRS) -> TrustStore:
    """The trust store a verified context loads, from OpenSSL's variables and what the system has.

    Raises :class:`TrustStoreError` when a variable names a path that is not there: OpenSSL
    would ignore it silently and fail every HTTPS check as if each site were at fault.
    """
    cafile = environ.get(ENV_CERT_FILE) or None
    capath = environ.get(ENV_CERT_DIR) or None
    if cafile is not None and not Path(cafile).is_file():
        raise TrustStoreError(f"{ENV_CERT_FILE} names no file: {cafile}")
    for directory in (capath or "").split(os.pathsep) if capath else ():
        if not Path(directory).is_dir():
            raise TrustStoreError(f"{ENV_CERT_DIR} names no directory: {directory}")
    system_dir = next((directory for directory in hashed_dirs if _is_hashed(directory)), None)
    if cafile is None and capath is None and system_dir is None:
        return TrustStore(defaults=True)
    # As OpenSSL: a variable replaces its own half; the other half stays the system's.
    return TrustStore(cafile, capath or system_dir)


class SharedContext(ssl.SSLContext):
    """An ``SSLContext`` shared by every connection of its mode, its settings fixed once built.

    urllib3 sets the ALPN list and the verification mode on the context before each
    connection. Setting the ALPN list frees the one another thread's ``SSL_new``
    (run without the GIL) may be copying at that moment: a use-after-free (CPython
    gh-141012). So the list is set once, at build time, and a later call with the
    same list does nothing; a call that would change the list or the mode raises
    instead: a verified context turned CERT_NONE would pass every certificate.
    """

    _fixed = False

    def fix(self) -> None:
        """Set the ALPN list, then refuse any change: call once, before the context is shared."""
        super().set_alpn_protocols(list(ALPN))
        self._fixed = True

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        if not self._fixed:
            super().set_alpn_protocols(alpn_protocols)
        elif tuple(alpn_protocols) != ALPN:
            raise ValueError(f"a shared TLS context's ALPN list stays {list(ALPN)}")

    def __setattr__(self, name: str, value: object) -> None:
        if self._fixed and name in ("verify_mode", "check_hostname"):
            if getattr(self, name) != value:
                raise ValueError(f"a shared TLS context's {name} stays {getattr(self, name)!r}")
            return  # unchanged: not even rewritten under another thread's SSL_new
        super().__setattr__(name, value)


def build_context(verify: bool, store: TrustStore | None) -> SharedContext:
    """The context urllib3 itself would build, as a :class:`SharedContext`; a verified one loads ``store``."""
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
    # Same layout (SharedContext adds behaviour only), so the object can take the class it is shared as.
    context.__class__ = SharedContext
    assert isinstance(context, SharedContext)
    if verify and store is not None:
        try:
            if store.defaults:
                context.set_default_verify_paths()
            else:
                context.load_verify_locations(cafile=store.cafile, capath=store.capath)
        except OSError as exc:  # ssl.SSLError too: a file with no certificate in it
            raise TrustStoreError(f"trust store ({store.describe()}) cannot be read: {exc}") from exc
    context.fix()
    return context


class TlsContexts:
    """The probe's two contexts (verified, and ``verifyTls: false``), each built on first use.

    ``ca_certs`` (a PEM file) replaces the whole trust store, as urllib3's own
    ``ca_certs`` did; tests give their CA this way.
    """

    def __init__(
        self,
        ca_certs: str | None = None,
        *,
        environ: Mapping[str, str] = os.environ,
        hashed_dirs: Sequence[str] = HASHED_DIRS,
    ) -> None:
        self._ca_certs = ca_certs
        self._environ = environ
        self._hashed_dirs = hashed_dirs
        self._lock = threading.Lock()
        self._contexts: dict[bool, SharedContext] = {}

    def get(self, verify: bool) -> SharedContext:
        context = self._contexts.get(verify)
        if context is not None:
            return context
        with self._lock:
            context = self._contexts.get(verify)
            if context is None:
                context = build_context(verify, self.store() if verify else None)
                self._contexts[verify] = context
            return context

    def store(self) -> TrustStore:
        """The trust store a verified context loads (read again at each call)."""
        if self._ca_certs is not None:
            return TrustStore(cafile=self._ca_certs)
        return trust_store(self._environ, self._hashed_dirs)
