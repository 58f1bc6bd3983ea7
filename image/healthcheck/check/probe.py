"""The only module that speaks HTTP: one check of one URL, bounded and classified.

urllib3's timeouts bound each socket operation, not a check: a server that
drips one byte a second never trips them, and DNS ignores them. So a check
runs against a monotonic deadline (body reads test it between chunks) and a
:class:`Cancel` token lets the watchdog shut the socket a check is blocked on.
"""

from __future__ import annotations

import http.client
import math
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple
from urllib.parse import urljoin

from urllib3 import PoolManager
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    LocationValueError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse, DeflateDecoder, GzipDecoder, GzipDecoderState
from urllib3.util import parse_url

from ..text import clip, show
from ..version import VERSION
from .connections import POOL_CLASSES, Cancel, CheckAbortedError, scoped
from .expectations import ResponseFacts, evaluate
from .redaction import scrub
from .request_spec import Prepared, SecretRef, SecretValueError, prepare, redirected
from .strict_http import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    BadFramingError,
    HeadersTooLargeError,
    IncompleteHeadError,
    MalformedHeaderError,
    TooManyHeadersError,
    UnexpectedSwitchError,
)
from .targets import SCHEMES, Target, redact_url
from .tls import TlsContexts

__all__ = [
    "BASE_HEADERS",
    "Cancel",
    "CheckResult",
    "Probe",
    "describe_error",
    "is_timeout",
    "timed_out",
    "user_agent",
]

MAX_BODY_BYTES: Final = 1024 * 1024
SECONDS_PER_DAY: Final = 86400
MAX_REDIRECTS: Final = 5
TIMED_OUT: Final = "timed out after"
READ_CHUNK: Final = 64 * 1024
# Per host; urllib3 fills a queue of this size for every new pool. Ours keep no connection (connections.py).
POOL_SIZE_PER_HOST: Final = 1
USER_AGENT: Final = f"healthcheck/{VERSION} (uptime monitor)"
"""What a probe built without a region says (tests, benchmarks); the function's always names its region."""
BASE_HEADERS: Final = {"User-Agent": USER_AGENT, "Accept": "*/*"}


def user_agent(region: str) -> str:
    """``healthcheck/<version> (+region <region>)``: a site's logs and firewalls can tell our checkers apart."""
    return f"healthcheck/{VERSION} (+region {region})"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check found. ``status`` is set when a response arrived, ``error`` when it failed.

    A failed check always has both: ``failures`` lists every reason (the unmet
    expectations, or the one transport error) and ``error`` is the first of them.
    Give either and the other is filled in, so every maker of a result keeps this.
    """

    name: str
    url: str
    success: bool
    duration_ms: int
    status: int | None = None
    error: str | None = None
    failures: tuple[str, ...] = ()
    """One line per unmet expectation (the record's ``Failures``); ``error`` is the first, or the transport error."""
    cert_days_left: int | None = None
    """Whole days the server's certificate has left (HTTPS only)."""
    inconclusive: bool = False
    """The failure was ours, not the target's: recorded, but it never moves state."""
    maintenance: bool = False
    """Checked inside a maintenance window: recorded, but state is frozen and nothing is sent."""
    tls_verified: bool = True
    """False when the target turned TLS verification off (``verifyTls: false``); the record says so."""

    def __post_init__(self) -> None:
        if self.error is not None and not self.failures:
            object.__setattr__(self, "failures", (self.error,))
        elif self.error is None and self.failures:
            object.__setattr__(self, "error", self.failures[0])


def timed_out(target: Target, limit_s: float, duration_ms: int, *, cut_short: bool = False) -> CheckResult:
    """A check that ran out of time: the target's fault, unless the run's own deadline cut it short.

    ``cut_short``: the check had materially less than its timeout, because it
    started late in the run (queued behind others, or after slow secret reads).
    Running out of that is ours, so the result is inconclusive and never counts
    against the target. A check that had all but a sliver of its timeout is not
    cut short (the runner decides): its ``limit_s`` is what it had.
    """
    error = (
        f"not checked in full: the invocation ran out of time after {limit_s:.3g} s "
        f"(the target's timeout is {target.timeout:g} s)"
        if cut_short
        else f"{TIMED_OUT} {limit_s:.3g} s"
    )
    return CheckResult(
        target.name,
        redact_url(target.url),
        False,
        duration_ms,
        error=error,
        inconclusive=cut_short,
        tls_verified=target.request.verify_tls,
    )


def is_timeout(result: CheckResult) -> bool:
    """Whether ``result`` is a check that ran out of its time (as :func:`timed_out` words it)."""
    return not result.success and result.status is None and (result.error or "").startswith(TIMED_OUT)


class CheckTimedOutError(Exception):
    """The check's deadline passed between two reads."""


class ProbeFaultError(Exception):
    """An unexpected fault inside a check, its text already scrubbed of secrets."""


class RedirectError(Exception):
    """A redirect chain that cannot be followed (too long, or to a non-HTTP URL)."""


def _next_url(request: Prepared, location: str) -> str:
    """Where a redirect leads, parsed as urllib3 connects: a Location no client could follow is the site's fault.

    Location is the server's text: a bad host, port or IPv6 literal there is a failed check, never a
    fault of ours (which would leave the target inconclusive, never DOWN, for as long as it lasts).
    """
    # Scrubbed before show() cuts it: a cut secret would no longer match.
    try:
        next_url = urljoin(request.url, location)
        parts = parse_url(next_url)
    except ValueError:  # urljoin's bad IPv6 literal; urllib3's LocationParseError (a bad host or port)
        raise RedirectError(f"redirect to invalid URL {show(scrub(redact_url(location), request.secrets))}") from None
    if (parts.scheme or "").lower() not in SCHEMES:
        raise RedirectError(f"redirect to unsupported URL {show(scrub(redact_url(next_url), request.secrets))}")
    if not parts.host:
        raise RedirectError(f"redirect to invalid URL {show(scrub(redact_url(next_url), request.secrets))}")
    return next_url


class CutEncodingError(http.client.HTTPException):
    """The body ended inside its gzip or deflate stream: the server sent less than it compressed."""


def _encoding_cut_short(response: BaseHTTPResponse) -> bool:
    """Whether a gzip/deflate body ended before its stream did.

    zlib only knows a stream is whole when its end marker (and gzip's CRC
    trailer) arrives; urllib3 returns what it could decode and says nothing, so
    a body cut at a chunk or length boundary would otherwise pass as complete.
    Brotli and zstd are not inspected.
    """
    decoder = getattr(response, "_decoder", None)
    if decoder is None or not getattr(response, "_fp_bytes_read", 0):
        return False
    for part in getattr(decoder, "_decoders", [decoder]):
        stream = getattr(part, "_obj", None)
        if isinstance(part, GzipDecoder) and part._state == GzipDecoderState.SWALLOW_DATA:
            continue  # trailing garbage after a whole member, which gzip tools accept too
        if isinstance(part, GzipDecoder | DeflateDecoder) and stream is not None and not stream.eof:
            return True
    return False


class _Final(NamedTuple):
    """The final response of a check, with only what its expectations need kept (a NamedTuple: see tls.TrustStore)."""

    status: int
    body: bytes | None = None
    body_truncated: bool = False
    headers: Mapping[str, str] | None = None
    cert_not_after: float | None = None


class Probe:
    """Checks URLs with one shared connection pool.

    No retries inside a check: retrying hides the flakiness users want to see,
    and urllib3's retries would sleep on a server's ``Retry-After``.
    """

    def __init__(
        self,
        *,
        max_connections: int = 128,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        ca_certs: str | None = None,
        tls: TlsContexts | None = None,
        region: str | None = None,
    ) -> None:
        """``ca_certs`` (a PEM file) replaces the trust store; ``tls`` gives the contexts themselves.

        ``region``: the region that checks, named in every request's User-Agent.
        """
        self.headers: Mapping[str, str] = (
            BASE_HEADERS if region is None else {**BASE_HEADERS, "User-Agent": user_agent(region)}
        )
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        # One context per verification mode, shared by every connection: see tls.py.
        self._tls = tls if tls is not None else TlsContexts(ca_certs)
        self._http = PoolManager(
            num_pools=max_connections,
            maxsize=POOL_SIZE_PER_HOST,
            cert_reqs="CERT_REQUIRED",
            retries=False,
            headers=dict(self.headers),
        )
        self._http.pool_classes_by_scheme = POOL_CLASSES

    def check(
        self,
        target: Target,
        cancel: Cancel,
        *,
        started: float,
        deadline: float,
        secrets: Mapping[SecretRef, str] | None = None,
    ) -> CheckResult:
        """Check one target; every failure is a result, never an exception.

        ``secrets`` holds the run's resolved values for the target's references.
        No text this returns or raises holds a secret value or the URL's password.
        """
        final: _Final | None = None
        error: str | None = None
        expired = False
        url = redact_url(target.url)
        verified = target.request.verify_tls
        hidden: frozenset[str] = frozenset()
        try:
            request = prepare(target.url, target.request, secrets or {}, self.headers)
            hidden = request.secrets
            with scoped(cancel):
                final = self._fetch(request, target, cancel, deadline)
        except (CheckAbortedError, CheckTimedOutError):
            expired = True
        except SecretValueError as exc:
            error = clip(str(exc))
        except (RedirectError, HTTPError, OSError, http.client.HTTPException) as exc:
            expired = _is_timeout(exc)
            error = describe_error(exc, hidden)
        except Exception as exc:  # noqa: BLE001 - re-raised at once, scrubbed
            # Not handled here, but its text may quote a header or the URL: the
            # runner logs and records it, so only a scrubbed copy may travel on.
            raise ProbeFaultError(scrub(f"{type(exc).__name__}: {exc}", hidden)) from None
        finally:
            cancel.let_go()
        duration_ms = round((time.monotonic() - started) * 1000)
        if expired or cancel.aborted:
            # A shut socket can surface as an empty 200: it is a timeout, never UP.
            return timed_out(target, deadline - started, duration_ms)
        if error is not None:
            error = clip(scrub(error, hidden))
            return CheckResult(target.name, url, False, duration_ms, error=error, tls_verified=verified)
        assert final is not None
        facts = ResponseFacts(
            final.status, duration_ms, body=final.body, body_truncated=final.body_truncated, headers=final.headers
        )
        # A failure line may quote the body or a header, which may echo a secret:
        # hidden before it is quoted, and the whole line again after.
        lines = evaluate(target.expect, facts, hide=lambda text: scrub(text, hidden))
        failures = tuple(clip(scrub(line, hidden)) for line in lines)
        return CheckResult(
            target.name,
            url,
            not failures,
            duration_ms,
            status=final.status,
            failures=failures,
            cert_days_left=_days_left(final.cert_not_after),
            tls_verified=verified,
        )

    def _fetch(self, request: Prepared, target: Target, cancel: Cancel, deadline: float) -> _Final:
        """Send ``request``, following redirects (if the target does), and return the final response.

        Each request goes out on a new connection.
        """
        expect = target.expect
        for _hop in range(self.max_redirects + 1):
            response = self._urlopen(request, target.request.verify_tls, deadline)
            location = response.get_redirect_location() if target.request.follow_redirects else None
            # Read now: the connection (and its socket) is gone once the response is released.
            cert_not_after = getattr(response.connection, "cert_not_after", None)
            keep = expect.needs_body and not location
            try:
                body, truncated = self._read_body(response, deadline, keep=keep)
            finally:
                cancel.let_go()  # before the connection goes back to the pool (closed: see connections.py)
                response.close()
                response.release_conn()
            if not location:
                return _Final(
                    response.status,
                    body=body if keep else None,
                    body_truncated=truncated,
                    headers=response.headers if expect.headers else None,
                    cert_not_after=cert_not_after,
                )
            request = redirected(request, response.status, _next_url(request, location))
        raise RedirectError(f"too many redirects (more than {self.max_redirects})")

    def _urlopen(self, request: Prepared, verify_tls: bool, deadline: float) -> BaseHTTPResponse:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CheckTimedOutError
        parts = parse_url(request.url)
        # cert_reqs and ssl_context are part of urllib3's pool key: an unverified target
        # gets pools of its own, and a verified target never reuses one of them.
        tls = (
            {"ssl_context": self._tls.get(verify_tls), "cert_reqs": "CERT_REQUIRED" if verify_tls else "CERT_NONE"}
            if parts.scheme == "https"
            else None
        )
        pool = self._http.connection_from_host(parts.host, port=parts.port, scheme=parts.scheme, pool_kwargs=tls)
        return pool.urlopen(
            request.method,
            parts.request_uri,
            body=request.body,
            headers=request.headers,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
            timeout=remaining,  # connect and each read; urllib3 makes the Timeout
        )

    def _read_body(self, response: BaseHTTPResponse, deadline: float, *, keep: bool) -> tuple[bytes, bool]:
        """Read the decoded body to its end, or to ``max_body_bytes``, before the deadline.

        Returns what was read when ``keep`` (else nothing: most checks need no
        body in memory), and whether reading stopped at the cap (the body may go on).
        """
        kept: list[bytes] = []
        read = 0
        while read < self.max_body_bytes:
            if time.monotonic() >= deadline:
                raise CheckTimedOutError
            chunk = response.read1(min(READ_CHUNK, self.max_body_bytes - read))
            if not chunk:
                if _encoding_cut_short(response):
                    raise CutEncodingError
                return b"".join(kept), False
            read += len(chunk)
            if keep:
                kept.append(chunk)
        return b"".join(kept), True


def _days_left(not_after: float | None) -> int | None:
    """Whole days from now until ``not_after`` (negative once it has passed); None for no certificate."""
    if not_after is None:
        return None
    return math.floor((not_after - time.time()) / SECONDS_PER_DAY)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (urllib3 wraps in args as well as causes)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _tls_error(exc: BaseException) -> str:
    verify = _find(exc, ssl.SSLCertVerificationError)
    if isinstance(verify, ssl.SSLCertVerificationError):
        return f"TLS error: certificate verify failed: {verify.verify_message}"
    tls = _find(exc, ssl.SSLError)
    if isinstance(tls, ssl.SSLError) and tls.reason:
        return f"TLS error: {tls.reason.lower().replace('_', ' ')}"
    return f"TLS error: {exc}"


_PROTOCOL_CAUSES: Final[tuple[tuple[type[BaseException], str], ...]] = (
    (IncompleteHeadError, "response ended inside its headers"),
    (CutEncodingError, "compressed body ended before its stream did"),
    (HeadersTooLargeError, f"headers too large (over {MAX_HEAD_BYTES // 1024} KiB)"),
    (TooManyHeadersError, f"more than {MAX_HEADERS} headers"),
    (UnexpectedSwitchError, "unexpected 101 Switching Protocols"),
    (MalformedHeaderError, "malformed header line"),
    (http.client.RemoteDisconnected, "server closed the connection without a response"),
    (ConnectionResetError, "connection reset by the server"),
    (http.client.IncompleteRead, "response ended before its declared length"),
    (http.client.LineTooLong, "line too long"),
    (http.client.BadStatusLine, "malformed status line"),
)


def _protocol_error(exc: BaseException, hide: Callable[[str], str]) -> str:
    framing = _find(exc, BadFramingError)
    if isinstance(framing, BadFramingError):
        return f"protocol error: {framing.describe(hide)}"
    for kind, text in _PROTOCOL_CAUSES:
        if _find(exc, kind) is not None:
            return f"protocol error: {text}"
    return f"protocol error: {exc}"


def _is_timeout(exc: BaseException) -> bool:
    # NewConnectionError subclasses ConnectTimeoutError but means refused/unreachable.
    return isinstance(exc, ConnectTimeoutError | ReadTimeoutError | TimeoutError) and not isinstance(
        exc, NewConnectionError
    )


def describe_error(exc: BaseException, secrets: frozenset[str] = frozenset()) -> str:
    """A short, human ``Error`` for a failed check, bounded whatever the exception holds, without ``secrets``.

    Server text the error quotes is scrubbed before it is cut or escaped, and the whole text again after.
    """
    return clip(scrub(_describe(exc, lambda text: scrub(text, secrets)), secrets))


def _describe(exc: BaseException, hide: Callable[[str], str]) -> str:
    # Order matters: NameResolutionError ⊂ NewConnectionError ⊂ ConnectTimeoutError.
    if isinstance(exc, RedirectError):
        return str(exc)
    if isinstance(exc, NameResolutionError):
        return f"name not resolved: {exc.conn.host}" if exc.conn is not None else "name not resolved"
    if isinstance(exc, NewConnectionError):
        if _find(exc, ConnectionRefusedError) is not None:
            return "connection refused"
        cause = _find(exc, OSError)
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(exc)
        return f"connection failed: {reason}"
    if isinstance(exc, SSLError | ssl.SSLError):
        return _tls_error(exc)
    if isinstance(exc, DecodeError):
        return "protocol error: body could not be decoded"
    if isinstance(exc, ProtocolError | http.client.HTTPException):
        return _protocol_error(exc, hide)
    if isinstance(exc, LocationValueError):
        return f"invalid URL: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"network error: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"
