"""Hashed CA directories, as ``c_rehash`` and ``update-ca-trust`` lay them out, for tests and the bench.

OpenSSL finds a CA in such a directory by the hash of its subject name
(``<hash>.0``); the hash is libcrypto's own, read through the library that
Python's ``ssl`` module itself loaded, so no ``openssl`` command is needed.
"""

from __future__ import annotations

import ctypes
import re
import ssl
from collections.abc import Iterable
from functools import cache
from pathlib import Path

_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")


@cache
def _libcrypto() -> ctypes.CDLL:
    maps = Path("/proc/self/maps").read_text()
    found = re.search(r"(/\S*libcrypto\S*\.so\S*)$", maps, re.MULTILINE)
    if found is None:
        raise RuntimeError("libcrypto is not loaded: Python's ssl module links it statically")
    lib = ctypes.CDLL(found[1])
    lib.d2i_X509.restype = ctypes.c_void_p
    lib.d2i_X509.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
    lib.X509_subject_name_hash.restype = ctypes.c_ulong
    lib.X509_subject_name_hash.argtypes = [ctypes.c_void_p]
    lib.X509_free.argtypes = [ctypes.c_void_p]
    return lib


def subject_hash(pem: str) -> str:
    """The name OpenSSL looks a CA up by in a hashed directory (``openssl x509 -hash``), without the suffix."""
    lib = _libcrypto()
    der = ssl.PEM_cert_to_DER_cert(pem)
    cursor = ctypes.c_char_p(der)
    certificate = lib.d2i_X509(None, ctypes.byref(cursor), len(der))
    if not certificate:
        raise ValueError("not a certificate")
    try:
        return f"{lib.X509_subject_name_hash(certificate):08x}"
    finally:
        lib.X509_free(certificate)


def add_hashed(directory: Path, ca_pem: Path) -> Path:
    """Link ``ca_pem`` into ``directory`` under its hash (the next free suffix); returns the link."""
    stem = subject_hash(ca_pem.read_text())
    suffix = 0
    while (directory / f"{stem}.{suffix}").exists():
        suffix += 1
    link = directory / f"{stem}.{suffix}"
    link.symlink_to(ca_pem.resolve())
    return link


def hashed_copy(source: Path, target: Path, extra: Iterable[Path] = ()) -> None:
    """``target``: the hashed entries of ``source`` (linked, not copied), and each CA in ``extra`` added."""
    target.mkdir()
    for entry in source.iterdir():
        if _HASHED_NAME.fullmatch(entry.name):
            (target / entry.name).symlink_to(entry.resolve())
    for ca_pem in extra:
        add_hashed(target, ca_pem)
