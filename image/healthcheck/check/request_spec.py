"""What a check sends: method, headers (plain or secret references), body, redirect and TLS choices.

:func:`parse_request` validates the target fields once (infra calls it through
``parse_target`` so a bad header fails ``pulumi preview``); :func:`prepare`
turns a spec plus the run's resolved secrets into the exact request, and
knows every secret string it carries, in every form a server may echo it
(:mod:`.redaction`), so error texts can be scrubbed of them.
Secret values exist only in a :class:`Prepared`, built at run time: a spec
(and so ``Target.to_json()``, the schedule input and Pulumi state) holds
references alone.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

from urllib3.util import parse_url

from ..exceptions import InvalidTargetError
from ..text import show, utf8_size
from .redaction import MIN_SECRET_LENGTH, forms, scrub, too_short

__all__ = [
    "DEFAULT_REQUEST",
    "MAX_REQUEST_BODY_BYTES",
    "METHODS",
    "REQUEST_FIELDS",
    "Prepared",
    "RequestSpec",
    "SecretRef",
    "SecretValueError",
    "SecretsManagerRef",
    "SsmRef",
    "is_credential_header",
    "parse_request",
    "prepare",
    "redirected",
    "scrub",
    "split_userinfo",
    "url_credential_problem",
]

METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_REQUEST_BODY_BYTES: Final = 64 * 1024
MAX_HEADERS: Final = 50
MAX_HEADER_VALUE_CHARS: Final = 8192
REQUEST_FIELDS: Final = ("method", "headers", "body", "json", "followRedirects", "verifyTls")
# RFC 9110 section 5.1: a field name is a token.
_TOKEN: Final = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 9110 section 5.5: visible characters, spaces and tabs; no CR, LF or NUL (header injection).
_BAD_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Framing is ours to compute; a user value would desynchronise the request.
_RESERVED: Final = frozenset({"content-length", "transfer-encoding", "connection"})
# Credentials by their nature: dropped when a redirect leaves the origin, as browsers and requests do.
CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie"})
# Header names that by convention carry a credential (X-Api-Key, X-Auth-Token, Private-Token,
# X-Session-Id...): treated like the ones above, so a literal value is refused at preview,
# hidden from every output and never sent to another origin.
_CREDENTIAL_WORDS: Final = re.compile(r"auth|token|key|secret|passw|session|cookie|credential|signature", re.IGNORECASE)
# An Authorization-style value: an auth scheme, one space, and the credential (which a server may echo alone).
_SCHEME_AND_TOKEN: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_-]* (\S+)$")
_TOO_SHORT: Final = f"has fewer than {MIN_SECRET_LENGTH} characters: too short to hide from error texts"


def is_credential_header(name: str) -> bool:
    """Whether a header of this name carries a credential, by its nature or by its name."""
    return name.lower() in CREDENTIAL_HEADERS or _CREDENTIAL_WORDS.search(name) is not None


def _credential_parts(value: str) -> tuple[str, ...]:
    """What of a credential header's value no output may hold: all of it, and the token after an auth scheme."""
    scheme = _SCHEME_AND_TOKEN.match(value)
    return (value, scheme[1]) if scheme else (value,)


def _credential_problem(value: str) -> str | None:
    """Why a credential header's value can't be hidden, or None: it, or its token, is too short."""
    value, *token = _credential_parts(value)
    if too_short(value):
        return f"the value {_TOO_SHORT}"
    if token and too_short(token[0]):
        return f"the token after the value's scheme (as in 'Bearer <token>') {_TOO_SHORT}"
    return None


# SSM parameter names: letters, digits and . - _ /, at most 2048 characters (1011 under a path, checked by AWS).
_SSM_NAME: Final = re.compile(r"^[A-Za-z0-9_.\-/]{1,2048}$")
# A full secret ARN, with the 6-character suffix Secrets Manager adds: IAM grants exactly this ARN.
_SECRET_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$"
)


# NamedTuples, not dataclasses, for the three small records here: a frozen dataclass
# costs ~1 ms of cold start to build, a NamedTuple a quarter of that (bench/: cold start).
# The two references never compare equal: their tuples differ in length.
class SsmRef(NamedTuple):
    """An SSM Parameter Store parameter (a SecureString, read with decryption)."""

    name: str

    def __str__(self) -> str:
        return self.name

    def to_json(self) -> dict[str, str]:
        return {"ssm": self.name}


class SecretsManagerRef(NamedTuple):
    """A Secrets Manager secret by full ARN; ``key`` picks one field of a JSON secret."""

    arn: str
    key: str | None = None

    def __str__(self) -> str:
        return self.arn if self.key is None else f"{self.arn} (key {self.key})"

    def to_json(self) -> dict[str, str]:
        return {"secretsManager": self.arn} | ({"key": self.key} if self.key is not None else {})


SecretRef = SsmRef | SecretsManagerRef
HeaderValue = str | SecretRef


class SecretValueError(ValueError):
    """A resolved secret cannot go into a header (control characters, or not Latin-1)."""


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """The request a target sends; ``json_text`` is the ``json`` field, serialised once."""

    method: str = "GET"
    headers: tuple[tuple[str, HeaderValue], ...] = ()
    body: str | None = None
    json_text: str | None = None
    follow_redirects: bool = True
    verify_tls: bool = True

    @property
    def secret_refs(self) -> tuple[SecretRef, ...]:
        return tuple(value for _, value in self.headers if not isinstance(value, str))

    def to_json(self) -> dict[str, object]:
        """Only the fields that differ from the defaults; secret headers as their references."""
        out: dict[str, object] = {}
        if self.method != "GET":
            out["method"] = self.method
        if self.headers:
            out["headers"] = {name: v if isinstance(v, str) else v.to_json() for name, v in self.headers}
        if self.body is not None:
            out["body"] = self.body
        if self.json_text is not None:
            out["json"] = json.loads(self.json_text)
        if not self.follow_redirects:
            out["followRedirects"] = False
        if not self.verify_tls:
            out["verifyTls"] = False
        return out


DEFAULT_REQUEST: Final = RequestSpec()


def _check_method(raw: object) -> str:
    if raw is None:
        return "GET"
    if not isinstance(raw, str) or raw.upper() not in METHODS:
        raise InvalidTargetError(f"'method' must be one of {', '.join(METHODS)}, got {show(raw)}")
    return raw.upper()


def _check_ref(name: str, raw: dict[object, object]) -> SecretRef:
    where = f"header {show(name)}"
    if set(raw) == {"ssm"}:
        param = raw["ssm"]
        if not isinstance(param, str) or not _SSM_NAME.match(param):
            raise InvalidTargetError(
                f"{where}: 'ssm' must be a parameter name (letters, digits, . - _ /), got {show(param)}"
            )
        if "/" in param and not param.startswith("/"):
            # SSM: a name in a hierarchy is fully qualified, so it could never be read without the slash.
            raise InvalidTargetError(f"{where}: 'ssm' name {show(param)} has a path: start it with '/'")
        return SsmRef(param)
    if "secretsManager" in raw and set(raw) <= {"secretsManager", "key"}:
        arn, key = raw["secretsManager"], raw.get("key")
        if not isinstance(arn, str) or not _SECRET_ARN.match(arn):
            raise InvalidTargetError(
                f"{where}: 'secretsManager' must be a secret's full ARN, with the 6-character suffix "
                f"Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf), "
                f"got {show(arn)}"
            )
        if key is not None and (not isinstance(key, str) or not key):
            raise InvalidTargetError(f"{where}: 'key' must be a non-empty string, got {show(key)}")
        return SecretsManagerRef(arn, key)
    keys = ", ".join(sorted(show(k) for k in raw))
    raise InvalidTargetError(
        f'{where}: a reference is {{"ssm": name}} or {{"secretsManager": arn, "key"?: k}}, got keys {keys}'
    )


def _check_value_text(name: str, value: str) -> str:
    # The value is never echoed: a literal header may well be a credential.
    if _BAD_VALUE.search(value) or len(value) > MAX_HEADER_VALUE_CHARS:
        raise InvalidTargetError(
            f"header {show(name)}: the value has a control character (CR, LF...) or is longer than "
            f"{MAX_HEADER_VALUE_CHARS} characters"
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidTargetError(f"header {show(name)}: the value has characters outside Latin-1") from None
    return value


def _check_headers(raw: object) -> tuple[tuple[str, HeaderValue], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise InvalidTargetError(f"'headers' must be an object of name: value, got {type(raw).__name__}")
    if len(raw) > MAX_HEADERS:
        raise InvalidTargetError(f"'headers' has more than {MAX_HEADERS} entries")
    seen: set[str] = set()
    headers: list[tuple[str, HeaderValue]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise InvalidTargetError(f"header name {show(name)} is not a valid HTTP field name")
        if name.lower() in _RESERVED:
            raise InvalidTargetError(f"header {show(name)} is set by the request itself and cannot be given")
        if name.lower() in seen:
            raise InvalidTargetError(f"header {show(name)} is given twice (names are case-insensitive)")
        seen.add(name.lower())
        if isinstance(value, str):
            headers.append((name, _check_value_text(name, value)))
            problem = _credential_problem(value) if is_credential_header(name) else None
            if problem is not None:
                raise InvalidTargetError(f"header {show(name)}: {problem}")
        elif isinstance(value, dict):
            headers.append((name, _check_ref(name, value)))
        else:
            raise InvalidTargetError(
                f"header {show(name)}: the value must be a string or a secret reference, got {type(value).__name__}"
            )
    return tuple(headers)


def _check_body(body: object, json_value: object, has_json: bool) -> tuple[str | None, str | None]:
    if body is not None and has_json:
        raise InvalidTargetError("give 'body' or 'json', not both")
    if body is not None:
        if not isinstance(body, str):
            raise InvalidTargetError(f"'body' must be a string (use 'json' for a JSON value), got {show(body)}")
        text = body
    elif has_json:
        try:
            text = json.dumps(json_value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except ValueError as exc:  # NaN/Infinity, or a circular structure
            raise InvalidTargetError(f"'json' cannot be sent as JSON: {show(str(exc))}") from None
    else:
        return None, None
    size = utf8_size(text)
    if size is None:
        raise InvalidTargetError("the body is not valid Unicode text (it has a lone surrogate)")
    if size > MAX_REQUEST_BODY_BYTES:
        raise InvalidTargetError(f"the body is {size} bytes; at most {MAX_REQUEST_BODY_BYTES} (64 KiB) are sent")
    return (text, None) if body is not None else (None, text)


def _check_flag(raw: object, name: str) -> bool:
    if raw is None:
        return True
    if not isinstance(raw, bool):
        raise InvalidTargetError(f"'{name}' must be true or false, got {show(raw)}")
    return raw


def parse_request(raw: Mapping[str, object]) -> RequestSpec:
    """The request fields of one target object, validated."""
    body, json_text = _check_body(raw.get("body"), raw.get("json"), "json" in raw)
    spec = RequestSpec(
        method=_check_method(raw.get("method")),
        headers=_check_headers(raw.get("headers")),
        body=body,
        json_text=json_text,
        follow_redirects=_check_flag(raw.get("followRedirects"), "followRedirects"),
        verify_tls=_check_flag(raw.get("verifyTls"), "verifyTls"),
    )
    return DEFAULT_REQUEST if spec == DEFAULT_REQUEST else spec


def _url_credentials(url: str) -> tuple[tuple[str, ...], str | None]:
    """What of ``url``'s user information no output may hold (as written and decoded), or why it can't be hidden.

    Any user information is a credential. The password, when there is one; the
    user name when it is the only credential (``https://<token>@host/``), and
    beside a password when it is long enough to be one
    (``https://<token>:x-oauth-basic@host/``): a short one is a login name,
    which hidden would mangle every error text.
    """
    parts = urlsplit(url)
    user, password = parts.username or "", parts.password or ""
    if password:
        problem = f"the URL's password {_TOO_SHORT}" if too_short(unquote(password)) else None
        hidden = [password, unquote(password)]
        if not too_short(unquote(user)):
            hidden += [user, unquote(user)]
        return tuple(hidden), problem
    if user:
        problem = f"the URL's user name, its only credential, {_TOO_SHORT}" if too_short(unquote(user)) else None
        return (user, unquote(user)), problem
    return (), None


def url_credential_problem(url: str) -> str | None:
    """Why the credential in ``url``'s user information can't be hidden, or None."""
    return _url_credentials(url)[1]


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its user information, and the (percent-decoded) user name and password."""
    if "@" not in url:  # no user information, and no urlsplit: this runs for every check
        return url, None, None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    password = unquote(parts.password) if parts.password is not None else None
    return bare, unquote(parts.username or ""), password


class Prepared(NamedTuple):
    """One request, ready to send; ``secrets`` are the strings no output may contain."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    secrets: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()
    """Lower-case names of headers that must not follow a redirect to another origin."""


def _sendable(ref: SecretRef, value: str) -> str:
    if _BAD_VALUE.search(value):
        raise SecretValueError(f"secret {ref} has a control character (CR, LF...) and cannot be sent in a header")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise SecretValueError(f"secret {ref} has characters outside Latin-1 and cannot be sent in a header") from None
    problem = _credential_problem(value)
    if problem is not None:
        raise SecretValueError(f"secret {ref}: {problem}")
    return value


def prepare(url: str, spec: RequestSpec, secrets: Mapping[SecretRef, str], base_headers: Mapping[str, str]) -> Prepared:
    """The request for ``url``: Basic auth from its user information, secret headers filled in.

    Raises ``SecretValueError`` when a credential cannot be sent (or is too
    short to hide), and ``KeyError`` when a reference was never resolved (the
    caller checks first).
    """
    bare, user, password = split_userinfo(url)
    headers = dict(base_headers)
    hidden: set[str] = set()
    credentials = set(CREDENTIAL_HEADERS)
    if password is not None or user:
        token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        in_url, problem = _url_credentials(url)
        if problem is not None:
            raise SecretValueError(problem)
        if in_url:
            hidden.update({*in_url, token})
    body: bytes | None = None
    if spec.json_text is not None:
        headers["Content-Type"] = "application/json"
        body = spec.json_text.encode()
    elif spec.body is not None:
        body = spec.body.encode()
    for name, value in spec.headers:
        # A user's header replaces ours of the same name, whatever its case.
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        if isinstance(value, str):
            headers[name] = value
            if is_credential_header(name):
                problem = _credential_problem(value)
                if problem is not None:
                    raise SecretValueError(f"header {show(name)}: {problem}")
                hidden.update(_credential_parts(value))
                credentials.add(name.lower())
        else:
            headers[name] = _sendable(value, secrets[value])
            hidden.update(_credential_parts(headers[name]))
            credentials.add(name.lower())
    every_form = frozenset().union(*map(forms, hidden))
    return Prepared(spec.method, bare, headers, body, every_form, frozenset(credentials))


def _origin(url: str) -> tuple[str, str, int]:
    # urllib3's parser, the one the request connects with: by urlsplit's reading,
    # http://evil:81\@api/ is api, while the connection goes to evil.
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.host or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _keeps_credentials(old: str, new: str) -> bool:
    before, after = _origin(old), _origin(new)
    if before == after:
        return True
    # The one change requests allows too: the same host, upgraded from http:80 to https:443.
    return before[1] == after[1] and before[0::2] == ("http", 80) and after[0::2] == ("https", 443)


def redirected(request: Prepared, status: int, location: str) -> Prepared:
    """The request that follows a redirect, as browsers send it.

    303 turns any method but HEAD into a GET without a body; so do 301 and 302
    for a POST (what browsers do, whatever RFC 9110 allows); 307 and 308 keep
    the method and body. Credentials (Authorization, Cookie, secret headers)
    are dropped when the redirect leaves the origin, as requests and urllib3 do.
    """
    method, body, headers = request.method, request.body, dict(request.headers)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type",)}
    if not _keeps_credentials(request.url, location):
        headers = {k: v for k, v in headers.items() if k.lower() not in request.credentials}
    return request._replace(method=method, url=location, headers=headers, body=body)
