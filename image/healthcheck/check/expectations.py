"""What a response must show to count as UP (a target's ``expect``), and the verdict.

The defaults ask for a 2xx status only, so a target without ``expect`` is
judged as before; ``needs_body`` tells the probe whether to keep the body.
:func:`parse_expect` validates the camelCase object once, at load time (and
so at ``pulumi preview``); :func:`evaluate` is a pure function of the
response's facts that explains each unmet expectation with the actual value.

``bodyRegex`` runs on RE2, which matches in time linear in the body's size:
no pattern can hang a run the way ``(a+)+$`` hangs Python's backtracking ``re``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final, NamedTuple

from ..exceptions import InvalidTargetError
from ..text import show, utf8_size

__all__ = [
    "DEFAULT_CERT_MIN_DAYS",
    "DEFAULT_EXPECT",
    "MAX_CERT_MIN_DAYS",
    "MAX_DURATION_MS",
    "MAX_ENTRIES",
    "MAX_PATTERN_LENGTH",
    "Expect",
    "ResponseFacts",
    "evaluate",
    "parse_expect",
]

DEFAULT_CERT_MIN_DAYS: Final = 14
MAX_CERT_MIN_DAYS: Final = 3650
# No check runs longer than a minute (targets.MAX_TIMEOUT_S).
MAX_DURATION_MS: Final = 60_000
# Per list (bodyContains, json, headers): enough for a health check, and it bounds the record's Failures.
MAX_ENTRIES: Final = 20
MAX_TEXT_LENGTH: Final = 1000
MAX_PATTERN_LENGTH: Final = 1000
KNOWN_KEYS: Final = ("status", "maxDurationMs", "bodyContains", "bodyRegex", "json", "headers", "certMinDays")
FIRST_FINAL_STATUS: Final = 200
_STATUS_CLASS: Final = re.compile(r"[1-5]xx")
_STATUS_RANGE: Final = re.compile(r"([1-5][0-9][0-9])-([1-5][0-9][0-9])")
_STATUS_CODE: Final = re.compile(r"[1-5][0-9][0-9]")
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True, slots=True)
class Expect:
    """A target's expectations, validated; see DESIGN.md's target contract (``expect``).

    ``status`` holds normalised entries: ``"200"``, ``"2xx"`` or ``"200-299"``.
    """

    status: tuple[str, ...] = ("2xx",)
    max_duration_ms: int | None = None
    body_contains: tuple[str, ...] = ()
    body_regex: str | None = None
    json: tuple[tuple[str, object], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cert_min_days: int = DEFAULT_CERT_MIN_DAYS

    @property
    def needs_body(self) -> bool:
        return bool(self.body_contains or self.body_regex is not None or self.json)

    def to_json(self) -> dict[str, object]:
        """The camelCase object :func:`parse_expect` reads back to an equal ``Expect``; defaults left out."""
        out: dict[str, object] = {}
        if self.status != DEFAULT_EXPECT.status:
            out["status"] = [int(entry) if entry.isdigit() else entry for entry in self.status]
        if self.max_duration_ms is not None:
            out["maxDurationMs"] = self.max_duration_ms
        if self.body_contains:
            out["bodyContains"] = list(self.body_contains)
        if self.body_regex is not None:
            out["bodyRegex"] = self.body_regex
        if self.json:
            out["json"] = dict(self.json)
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.cert_min_days != DEFAULT_CERT_MIN_DAYS:
            out["certMinDays"] = self.cert_min_days
        return out


DEFAULT_EXPECT = Expect()


class ResponseFacts(NamedTuple):
    """What the probe saw of the final response; ``body``/``headers`` are None when not kept.

    A NamedTuple: cheaper than a dataclass to build at cold start (see request_spec's records).
    """

    status: int
    duration_ms: int
    body: bytes | None = None
    body_truncated: bool = False
    """Reading stopped at the probe's cap (1 MiB): ``body`` may be only the first part."""
    headers: Mapping[str, str] | None = None
    """Case-insensitive, as urllib3's ``HTTPHeaderDict`` is."""


# --- parsing -------------------------------------------------------------------------------------


def _fail(key: str, message: str) -> InvalidTargetError:
    return InvalidTargetError(f"'expect.{key}' {message}")


def _is_int(value: object) -> bool:
    # bool is an int subclass; `true` is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _text(key: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise _fail(key, f"must be a non-empty string, got {show(value)}")
    if utf8_size(value) is None:
        raise _fail(key, "is not valid Unicode text (it has a lone surrogate)")
    if len(value) > MAX_TEXT_LENGTH:
        raise _fail(key, f"is longer than {MAX_TEXT_LENGTH} characters")
    return value


def _status_entry(value: object) -> str:
    if _is_int(value):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        text = ""
    span = _STATUS_RANGE.fullmatch(text)
    if _STATUS_CODE.fullmatch(text) or _STATUS_CLASS.fullmatch(text) or (span and int(span[1]) <= int(span[2])):
        highest = int(span[2]) if span else int(text.replace("xx", "99"))
        if highest < FIRST_FINAL_STATUS:
            # The probe reads past every 1xx to the final response: such an entry never matches.
            raise _fail("status", f"{show(value)} can never match: 1xx replies are interim, the final one is 200-599")
        return text
    raise _fail("status", f'entries are codes (200), classes ("2xx") or ranges ("200-299"), got {show(value)}')


def _status(value: object) -> tuple[str, ...]:
    entries = value if isinstance(value, list) else [value]
    if not entries or len(entries) > MAX_ENTRIES:
        raise _fail("status", f"must list 1 to {MAX_ENTRIES} entries")
    return tuple(dict.fromkeys(_status_entry(entry) for entry in entries))


def _bounded_int(key: str, value: object, low: int, high: int, unit: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise _fail(key, f"must be a whole number of {unit} from {low} to {high}, got {show(value)}")


def _body_contains(value: object) -> tuple[str, ...]:
    entries = value if isinstance(value, list) else [value]
    if not entries or len(entries) > MAX_ENTRIES:
        raise _fail("bodyContains", f"must be a string or a list of 1 to {MAX_ENTRIES} strings")
    return tuple(_text("bodyContains", entry) for entry in entries)


@functools.cache
def _re2() -> ModuleType:
    """google-re2, imported on first use: loading it costs a cold start ~15 ms that most stacks never need."""
    import re2

    module: ModuleType = re2
    return module


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    """The RE2 program for ``pattern`` (compiled once per process, reused across runs)."""
    options = _re2().Options()
    options.log_errors = False  # a bad pattern is reported as an InvalidTargetError, not on stderr
    return _re2().compile(pattern, options=options)


def _body_regex(value: object) -> str:
    pattern = _text("bodyRegex", value)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _fail("bodyRegex", f"is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        _compiled(pattern)
    except _re2().error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise _fail("bodyRegex", f"{show(pattern)} is not a pattern RE2 accepts: {show(reason)}") from exc
    return pattern


def _object(key: str, value: object) -> dict[str, object]:
    if not isinstance(value, dict) or not value or len(value) > MAX_ENTRIES:
        raise _fail(key, f"must be an object of 1 to {MAX_ENTRIES} entries, got {show(value)}")
    return value


def _is_json_value(value: object) -> bool:
    # YAML reads an unquoted 2026-01-01 as a date: it could never equal a JSON value, nor travel as one.
    # Nor is YAML's .inf or .nan one: a strict body has neither, and 1e999 must not equal .inf.
    if isinstance(value, float):
        return math.isfinite(value)
    if value is None or isinstance(value, str | int):  # bool is an int
        return True
    if isinstance(value, list):
        return all(map(_is_json_value, value))
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json_value(item) for key, item in value.items())
    return False


def _json(value: object) -> tuple[tuple[str, object], ...]:
    entries = _object("json", value)
    for path, expected in entries.items():
        _text("json", path)
        if any(not part for part in path.split(".")):
            raise _fail("json", f"path {show(path)} has an empty part: write dotted keys like 'checks.db'")
        if not _is_json_value(expected):
            raise _fail(f"json.{path}", f"must be a JSON value (quote dates and times), got {show(expected)}")
    return tuple(entries.items())


def _headers(value: object) -> tuple[tuple[str, str], ...]:
    entries = _object("headers", value)
    checked = []
    for name, substring in entries.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise _fail("headers", f"name {show(name)} is not a valid header name")
        checked.append((name, _text(f"headers.{name}", substring, allow_empty=True)))
    return tuple(checked)


def parse_expect(raw: object) -> Expect:
    """Validate a target's ``expect`` object (None: the defaults); errors name the key at fault."""
    if raw is None:
        return DEFAULT_EXPECT
    if not isinstance(raw, dict):
        raise InvalidTargetError(f"'expect' must be an object, got {type(raw).__name__}")
    unknown = sorted(show(key) for key in raw if key not in KNOWN_KEYS)
    if unknown:
        raise InvalidTargetError(f"unknown field(s) in 'expect': {', '.join(unknown)} (known: {', '.join(KNOWN_KEYS)})")
    duration = raw.get("maxDurationMs")
    regex = raw.get("bodyRegex")
    cert_days = raw.get("certMinDays")
    return Expect(
        status=_status(raw["status"]) if "status" in raw else DEFAULT_EXPECT.status,
        max_duration_ms=None if duration is None else _bounded_int("maxDurationMs", duration, 1, MAX_DURATION_MS, "ms"),
        body_contains=_body_contains(raw["bodyContains"]) if "bodyContains" in raw else (),
        body_regex=None if regex is None else _body_regex(regex),
        json=_json(raw["json"]) if "json" in raw else (),
        headers=_headers(raw["headers"]) if "headers" in raw else (),
        cert_min_days=(
            DEFAULT_CERT_MIN_DAYS
            if cert_days is None
            else _bounded_int("certMinDays", cert_days, 0, MAX_CERT_MIN_DAYS, "days")
        ),
    )


# --- evaluation ----------------------------------------------------------------------------------


def _status_matches(entry: str, status: int) -> bool:
    if entry.endswith("xx"):
        return status // 100 == int(entry[0])
    low, _, high = entry.partition("-")
    return int(low) <= status <= int(high or low)


_MISSING: Final = object()
# ASCII digits only: str.isdigit() also takes '²', which int() refuses.
_INDEX: Final = re.compile(r"[0-9]+")


class _NotStandardJSONError(ValueError):
    """The body uses NaN or Infinity, which Python's parser takes and RFC 8259 does not."""


def _refuse_constant(name: str) -> object:
    raise _NotStandardJSONError(f"{name} is not standard JSON")


class _Repeated:
    """Stands in the parsed body for the value of a key an object gives twice.

    Which of the values counts is the parser's choice (Python's: the last);
    the service may have meant the other, so neither may make the check pass.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<duplicate key>"


_REPEATED: Final = _Repeated()


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``object_pairs_hook``: the object, with each repeated key's value replaced by ``_REPEATED``."""
    found = dict(pairs)
    if len(found) < len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                found[key] = _REPEATED
            seen.add(key)
    return found


@dataclass(frozen=True, slots=True)
class _Duplicate:
    """What :func:`_lookup` finds when the path runs through a repeated key: the path up to it."""

    at: str


def _lookup(document: object, path: str) -> object:
    """The value at a dotted path, ``_MISSING``, or a ``_Duplicate``; never raises, whatever the body.

    A part made of ASCII digits indexes an array.
    """
    current = document
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and _INDEX.fullmatch(part) and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
        if current is _REPEATED:
            return _Duplicate(".".join(parts[: depth + 1]))
    return current


def _same(actual: object, expected: object) -> bool:
    """JSON equality: ``true`` is not ``1``, while ``1`` and ``1.0`` are the same number."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(_same(actual[key], expected[key]) for key in actual)
    return type(actual) is type(expected) and actual == expected


def _unchanged(text: str) -> str:
    return text


# show() prints 6 levels of a nested value (reprlib's maxlevel), deeper ones as [...] or {...}.
_HIDDEN_DEPTH: Final = 8


def _hidden(value: object, hide: Callable[[str], str], depth: int = 0) -> object:
    """``value`` with ``hide`` applied to each of its strings (keys too) and each number's text.

    Hidden one string at a time, before anything renders it: rendered (repr or
    JSON), a secret with a backslash, quote, tab, newline or other escaped
    character no longer matches the text ``hide`` looks for, and would leak.
    """
    if isinstance(value, str):
        return hide(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
        hidden = hide(text)
        return value if hidden == text else hidden  # a number that spells a secret
    if not isinstance(value, dict | list) or not value:
        return value
    if depth >= _HIDDEN_DEPTH:
        # Deeper than show() prints: a stand-in that shows the same ([...] or {...}), with nothing to hide.
        return {"": None} if isinstance(value, dict) else [None]
    if isinstance(value, dict):
        return {hide(key): _hidden(item, hide, depth + 1) for key, item in value.items()}
    return [_hidden(item, hide, depth + 1) for item in value]


def _quote(actual: object, hide: Callable[[str], str]) -> str:
    """``actual`` as a failure line shows it: secrets hidden BEFORE show() cuts or escapes any of it.

    The response may echo a secret the check sent; cut or escaped, a secret no
    longer matches the text ``hide`` looks for, and its pieces would leak.
    """
    return show(_hidden(actual, hide))


def _json_failures(expect: Expect, body: bytes, truncated: bool, hide: Callable[[str], str]) -> list[str]:
    try:
        # Strict where Python's parser is lenient: a monitor must not be fooled by what RFC 8259 refuses.
        document = json.loads(body, parse_constant=_refuse_constant, object_pairs_hook=_json_object)
    except _NotStandardJSONError as exc:
        return [f"body is not JSON: {exc}"]
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        cut = " (it goes on past the first 1 MiB, which is all that is read)" if truncated else ""
        return [f"body is not JSON{cut}"]
    failures = []
    for path, expected in expect.json:
        actual = _lookup(document, path)
        if actual is _MISSING:
            failures.append(f"json {path} missing")
        elif isinstance(actual, _Duplicate):
            failures.append(f"json has duplicate key {show(actual.at)}")
        elif not _same(actual, expected):
            failures.append(f"json {path} is {_quote(actual, hide)}, expected {show(expected)}")
    return failures


def _body_failures(expect: Expect, body: bytes, truncated: bool, hide: Callable[[str], str]) -> list[str]:
    failures: list[str] = []
    text = body.decode(errors="replace")
    failures.extend(f"body lacks {show(needle)}" for needle in expect.body_contains if needle not in text)
    if expect.body_regex is not None and _compiled(expect.body_regex).search(text) is None:
        failures.append(f"body does not match /{expect.body_regex}/")
    if expect.json:
        failures.extend(_json_failures(expect, body, truncated, hide))
    return failures


def evaluate(expect: Expect, facts: ResponseFacts, hide: Callable[[str], str] = _unchanged) -> tuple[str, ...]:
    """One line per unmet expectation, actual against expected; empty when the response is UP.

    ``hide`` removes secrets from what the server sent before a line quotes it.
    """
    failures = []
    if not any(_status_matches(entry, facts.status) for entry in expect.status):
        failures.append(f"status {facts.status} not in [{', '.join(expect.status)}]")
    if expect.max_duration_ms is not None and facts.duration_ms > expect.max_duration_ms:
        failures.append(f"duration {facts.duration_ms} ms > {expect.max_duration_ms} ms")
    if expect.needs_body:
        failures.extend(_body_failures(expect, facts.body or b"", facts.body_truncated, hide))
    for name, substring in expect.headers:
        value = None if facts.headers is None else facts.headers.get(name)
        if value is None:
            failures.append(f"header {name} missing")
        elif substring not in value:
            failures.append(f"header {name} is {_quote(value, hide)}, expected to contain {show(substring)}")
    return tuple(failures)
