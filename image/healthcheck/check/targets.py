"""The target model: what to check, validated once and shared with infra.

Infra calls :func:`require_valid` on the stack config so a bad target fails
``pulumi preview``; the handler calls :func:`parse_targets`, which keeps the
good targets and turns each bad one into an :class:`InvalidTarget` so it is
reported without costing the others their checks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from ..exceptions import InvalidTargetError
from ..text import MAX_ERROR_BYTES, clip, has_control_character, one_line, show, utf8_size
from .expectations import DEFAULT_EXPECT, Expect, parse_expect
from .request_spec import DEFAULT_REQUEST, REQUEST_FIELDS, RequestSpec, parse_request, url_credential_problem
from .thresholds import PolicyValueError, check_remind_minutes, check_threshold

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "MAX_TIMEOUT_S",
    "InvalidTarget",
    "ParsedTargets",
    "Target",
    "check_config_url",
    "parse_target",
    "parse_targets",
    "redact_url",
    "require_valid",
]

DEFAULT_TIMEOUT_S = 10.0
# A check longer than a minute tells an uptime monitor nothing more, and the
# bound keeps a whole run inside the Lambda timeout.
MAX_TIMEOUT_S = 60.0
# DynamoDB allows 2048 bytes for a partition key; names are the key.
MAX_NAME_BYTES = 1024
MAX_URL_LENGTH = 2048
# "invalid target: " and the reason must fit the record's Error.
MAX_REASON_BYTES = MAX_ERROR_BYTES - 64
# scheme://userinfo@ -- the part of a URL that may hold a credential (a password, or a token as the user name).
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")
KNOWN_FIELDS = (
    "url",
    "name",
    "timeout",
    "expect",
    "failureThreshold",
    "successThreshold",
    "remindEveryMinutes",
    *REQUEST_FIELDS,
)
SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Target:
    """One endpoint to check. ``name`` is the record's ``Id``."""

    name: str
    url: str
    timeout: float = DEFAULT_TIMEOUT_S
    expect: Expect = DEFAULT_EXPECT
    # None: the stack's ``alerting`` default applies.
    failure_threshold: int | None = None
    success_threshold: int | None = None
    remind_every_minutes: int | None = None
    # Method, headers (secret ones as references only), body, redirects, TLS.
    request: RequestSpec = DEFAULT_REQUEST

    def to_json(self) -> dict[str, object]:
        """The object form an event's or the TARGETS variable's list carries."""
        form: dict[str, object] = {"name": self.name, "url": self.url, "timeout": self.timeout}
        for key, value in (
            ("failureThreshold", self.failure_threshold),
            ("successThreshold", self.success_threshold),
            ("remindEveryMinutes", self.remind_every_minutes),
        ):
            if value is not None:
                form[key] = value
        if self.expect != DEFAULT_EXPECT:
            form["expect"] = self.expect.to_json()
        form.update(self.request.to_json())
        return form


@dataclass(frozen=True, slots=True)
class InvalidTarget:
    """A target entry that cannot be checked, and why.

    ``label`` is what the entry is known by (its name, else its url, else its
    position), always short enough to be a record key; ``recordable`` is false
    when that label already belongs to another target, so writing it would
    overwrite that target's record.
    """

    label: str
    url: str
    reason: str
    recordable: bool = True

    @property
    def error(self) -> str:
        """The record's ``Error``."""
        return f"invalid target: {self.reason}"


class ParsedTargets(NamedTuple):
    """The valid targets and the invalid ones (a NamedTuple: cheaper than a dataclass at cold start)."""

    valid: tuple[Target, ...]
    invalid: tuple[InvalidTarget, ...]


def redact_url(url: str) -> str:
    """``url`` with its user information (user name and password) replaced by ``***``, so it can be shown and stored.

    Any user information is a credential: ``https://<token>@host/`` carries a
    token as the user name (GitHub, many webhooks), ``https://<token>:x-oauth-basic@host/``
    beside a password that is none.
    """
    return _USERINFO.sub(lambda m: m[1] + ("***@" if m[2] else "@"), url, count=1)


def check_config_url(url: object) -> str:
    """A URL kept in the stack's config (a canary, a webhook): the targets' rules, and no credentials.

    Config values are stored in plain text (Pulumi state, the environment), so
    a password there is refused; targets reference a secret instead.
    """
    checked = _check_url(url)
    parts = urlsplit(checked)
    if parts.username is not None or parts.password is not None:
        raise InvalidTargetError(
            f"'url' {show(redact_url(checked))} carries a user name or password (a credential), which would be stored "
            "in plain text"
        )
    return checked


def _check_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidTargetError("'url' is required and must be a non-empty string")
    if utf8_size(url) is None:
        raise InvalidTargetError("'url' is not valid Unicode text (it has a lone surrogate)")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidTargetError(f"'url' is longer than {MAX_URL_LENGTH} characters")
    shown = show(redact_url(url))  # from here on, every message names the URL without its credential
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidTargetError(f"'url' {shown} contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise InvalidTargetError(f"'url' {shown} is malformed: {show(str(exc))}") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidTargetError(f"'url' {shown} must start with http:// or https://")
    if not parts.hostname:
        raise InvalidTargetError(f"'url' {shown} has no host")
    if port == 0:
        raise InvalidTargetError(f"'url' {shown} has port 0")
    return url


def _check_name(name: object, url: str) -> str:
    if name is None:
        return redact_url(url)  # the name is the record's Id and is logged: never with a credential
    if not isinstance(name, str) or not name.strip():
        raise InvalidTargetError("'name' must be a non-empty string")
    size = utf8_size(name)
    if size is None:
        raise InvalidTargetError("'name' is not valid Unicode text (it has a lone surrogate)")
    if size > MAX_NAME_BYTES:
        raise InvalidTargetError(f"'name' is longer than {MAX_NAME_BYTES} bytes")
    if has_control_character(name):
        # Echoed raw, a line break could forge a line in an alert ("RECOVERED: ...") or a log.
        raise InvalidTargetError(
            f"'name' {show(name)} has a control character (a line break, tab...): names are shown on one line"
        )
    return name


def _check_timeout(timeout: object) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT_S
    # bool is an int subclass; `"timeout": true` is a mistake, not one second.
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise InvalidTargetError(f"'timeout' must be a number of seconds, got {show(timeout)}")
    if not 0 < timeout <= MAX_TIMEOUT_S:  # also false for NaN and infinity
        raise InvalidTargetError(
            f"'timeout' must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds, got {show(timeout)}"
        )
    return float(timeout)


def parse_target(raw: object) -> Target:
    """Validate one target object and fill its defaults."""
    if not isinstance(raw, dict):
        raise InvalidTargetError(f"a target must be an object with a 'url', got {type(raw).__name__}")
    unknown = sorted(show(key) for key in raw if key not in KNOWN_FIELDS)
    if unknown:
        raise InvalidTargetError(
            clip(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(KNOWN_FIELDS)})", MAX_REASON_BYTES)
        )
    url = _check_url(raw.get("url"))
    credential = url_credential_problem(url)
    if credential is not None:
        raise InvalidTargetError(credential)
    target = Target(
        name=_check_name(raw.get("name"), url),
        url=url,
        timeout=_check_timeout(raw.get("timeout")),
        expect=parse_expect(raw.get("expect")),
        request=parse_request(raw),
        failure_threshold=_optional(raw, "failureThreshold", check_threshold),
        success_threshold=_optional(raw, "successThreshold", check_threshold),
        remind_every_minutes=_optional(raw, "remindEveryMinutes", check_remind_minutes),
    )
    if target.request.method == "HEAD" and target.expect.needs_body:
        # A HEAD response has no body: every check would be DOWN.
        raise InvalidTargetError("'expect' checks the body, but a HEAD response has none: use GET, or drop them")
    return target


def _optional(raw: dict[object, object], field: str, check: Callable[[str, object], int]) -> int | None:
    """A per-target alerting setting; absent (or null) means the stack's ``alerting`` default."""
    value = raw.get(field)
    if value is None:
        return None
    try:
        return check(field, value)
    except PolicyValueError as exc:
        raise InvalidTargetError(str(exc)) from exc


def _usable_key(value: object) -> str | None:
    # The label becomes a record key: one too long for DynamoDB, or not valid
    # UTF-8, would fail the whole batch, costing other targets their records.
    # And it is shown in alerts and logs, where a line break could forge a line.
    if (
        isinstance(value, str)
        and value.strip()
        and (utf8_size(value) or MAX_NAME_BYTES + 1) <= MAX_NAME_BYTES
        and not has_control_character(value)
    ):
        return value
    return None


def _label(raw: object, index: int) -> tuple[str, str]:
    """What an entry is called in errors and records (name, else url, else position), and its url."""
    fields = raw if isinstance(raw, dict) else {}
    url = fields.get("url")
    shown_url = clip(one_line(redact_url(url[: MAX_URL_LENGTH + 1])), MAX_URL_LENGTH) if isinstance(url, str) else ""
    label = _usable_key(fields.get("name")) or _usable_key(shown_url) or f"targets[{index}]"
    return label, shown_url


def parse_targets(raw: Sequence[object]) -> ParsedTargets:
    """Split entries into checkable targets and reported ones; never raises.

    Names are record keys, so a second target with a name already taken is
    invalid (two checks would otherwise write one record).
    """
    valid: list[Target] = []
    failed: list[InvalidTarget] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(raw):
        try:
            target = parse_target(entry)
        except InvalidTargetError as exc:
            label, url = _label(entry, index)
            failed.append(InvalidTarget(label=label, url=url, reason=clip(str(exc), MAX_REASON_BYTES)))
            continue
        if target.name in first_index:
            reason = f"duplicate name {show(target.name)} (first used by targets[{first_index[target.name]}])"
            failed.append(InvalidTarget(label=target.name, url=redact_url(target.url), reason=reason, recordable=False))
            continue
        first_index[target.name] = index
        valid.append(target)

    invalid: list[InvalidTarget] = []
    taken = set(first_index)
    for bad in failed:
        if bad.recordable and bad.label in taken:
            bad = dataclasses.replace(bad, recordable=False)
        taken.add(bad.label)
        invalid.append(bad)
    return ParsedTargets(valid=tuple(valid), invalid=tuple(invalid))


def require_valid(raw: object, source: str = "targets") -> tuple[Target, ...]:
    """Strict load for configuration: every entry valid, or one error naming each bad one."""
    if not isinstance(raw, list):
        raise InvalidTargetError(f"{source} must be a list of target objects, got {type(raw).__name__}")
    parsed = parse_targets(raw)
    if parsed.invalid:
        problems = "; ".join(f"{bad.label}: {bad.reason}" for bad in parsed.invalid)
        raise InvalidTargetError(f"{source}: {problems}")
    return parsed.valid
