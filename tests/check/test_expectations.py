"""A target's ``expect``: validated once with the bad key named, and judged as a table of (expectation, response)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3 import HTTPHeaderDict

from healthcheck.check.connections import Cancel
from healthcheck.check.expectations import DEFAULT_EXPECT, Expect, ResponseFacts, evaluate, parse_expect
from healthcheck.check.probe import Probe
from healthcheck.check.request_spec import SsmRef, scrub
from healthcheck.check.targets import parse_target, require_valid
from healthcheck.exceptions import InvalidTargetError
from healthcheck.text import clip
from tests.hostile import Peer, Request, raw_server

# --- parsing -------------------------------------------------------------------------------------


def test_no_expect_is_the_default_of_2xx_only() -> None:
    assert parse_expect(None) == DEFAULT_EXPECT == Expect(status=("2xx",), cert_min_days=14)
    assert parse_target({"url": "https://a.example/"}).expect == DEFAULT_EXPECT
    assert "expect" not in parse_target({"url": "https://a.example/"}).to_json()


FULL = {
    "status": [200, "3xx", "400-404"],
    "maxDurationMs": 500,
    "bodyContains": ["UP", "db"],
    "bodyRegex": r"version \d+\.\d+",
    "json": {"status": "UP", "checks.db": "ok", "nodes.0.up": True},
    "headers": {"Content-Type": "json", "X-Ready": ""},
    "certMinDays": 7,
}


def test_every_key_parses_and_round_trips_through_the_target_json() -> None:
    expect = parse_expect(FULL)
    assert expect == Expect(
        status=("200", "3xx", "400-404"),
        max_duration_ms=500,
        body_contains=("UP", "db"),
        body_regex=r"version \d+\.\d+",
        json=(("status", "UP"), ("checks.db", "ok"), ("nodes.0.up", True)),
        headers=(("Content-Type", "json"), ("X-Ready", "")),
        cert_min_days=7,
    )
    assert expect.to_json() == FULL
    target = parse_target({"url": "https://a.example/", "expect": FULL})
    # Through JSON text, as the schedule input and TARGETS carry it.
    assert parse_target(json.loads(json.dumps(target.to_json()))) == target


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"status": 204}, Expect(status=("204",))),
        ({"status": "2XX"}, Expect(status=("2xx",))),
        ({"status": ["200", 200]}, Expect(status=("200",))),
        ({"bodyContains": "UP"}, Expect(body_contains=("UP",))),
        ({"certMinDays": 0}, Expect(cert_min_days=0)),
    ],
    ids=["one-code", "class-upper-case", "duplicates-dropped", "one-string", "cert-check-off"],
)
def test_short_forms_are_normalised(raw: dict[str, Any], expected: Expect) -> None:
    assert parse_expect(raw) == expected
    assert parse_expect(expected.to_json()) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2xx", r"^'expect' must be an object, got str$"),
        ({"stauts": [200]}, r"^unknown field\(s\) in 'expect': 'stauts' \(known: status, maxDurationMs, "),
        ({"status": []}, r"^'expect.status' must list 1 to 20 entries$"),
        ({"status": ["2xx", 600]}, r"^'expect.status' entries are codes \(200\), .*got 600$"),
        ({"status": ["299-200"]}, r"^'expect.status' .*got '299-200'$"),
        ({"status": [True]}, r"^'expect.status' .*got True$"),
        ({"maxDurationMs": 0}, r"^'expect.maxDurationMs' must be a whole number of ms from 1 to 60000, got 0$"),
        ({"maxDurationMs": 1.5}, r"^'expect.maxDurationMs' .*got 1.5$"),
        ({"bodyContains": ""}, r"^'expect.bodyContains' must be a non-empty string, got ''$"),
        ({"bodyContains": ["a"] * 21}, r"^'expect.bodyContains' must be a string or a list of 1 to 20 strings$"),
        ({"bodyRegex": "(a)\\1"}, r"^'expect.bodyRegex' '\(a\)\\\\1' is not a pattern RE2 accepts: 'invalid escape"),
        ({"bodyRegex": "(?=x)"}, r"^'expect.bodyRegex' .* is not a pattern RE2 accepts"),
        ({"bodyRegex": "a" * 1001}, r"^'expect.bodyRegex' is longer than 1000 characters$"),
        ({"json": []}, r"^'expect.json' must be an object of 1 to 20 entries, got \[\]$"),
        ({"json": {"checks..db": "ok"}}, r"^'expect.json' path 'checks..db' has an empty part"),
        (
            {"json": {"released": datetime.date(2026, 1, 1)}},
            r"^'expect.json.released' must be a JSON value \(quote dates and times\), got datetime.date\(2026, 1, 1\)$",
        ),
        ({"json": {"load": float("inf")}}, r"^'expect.json.load' must be a JSON value .*got inf$"),
        ({"json": {"load": [float("nan")]}}, r"^'expect.json.load' must be a JSON value .*got \[nan\]$"),
        ({"headers": {"Bad Name": "x"}}, r"^'expect.headers' name 'Bad Name' is not a valid header name$"),
        ({"headers": {"X-Up": 1}}, r"^'expect.headers.X-Up' must be a non-empty string, got 1$"),
        ({"certMinDays": -1}, r"^'expect.certMinDays' must be a whole number of days from 0 to 3650, got -1$"),
    ],
    ids=[
        "not-object",
        "unknown-key",
        "status-empty",
        "status-600",
        "status-range-backwards",
        "status-bool",
        "duration-zero",
        "duration-fraction",
        "contains-empty",
        "contains-too-many",
        "regex-backreference",
        "regex-lookahead",
        "regex-too-long",
        "json-not-object",
        "json-empty-part",
        "json-yaml-date",
        "json-yaml-inf",
        "json-yaml-nan",
        "header-name",
        "header-value",
        "cert-days-negative",
    ],
)
def test_a_bad_expect_is_rejected_naming_the_key(raw: object, message: str) -> None:
    with pytest.raises(InvalidTargetError, match=message):
        parse_expect(raw)


def test_a_bad_expect_fails_the_strict_load_naming_target_and_key() -> None:
    targets = [{"name": "api", "url": "https://api.example/", "expect": {"maxDurationMs": "fast"}}]
    with pytest.raises(InvalidTargetError, match=r"^targets: api: 'expect.maxDurationMs' must be a whole number"):
        require_valid(targets)


# --- evaluation ----------------------------------------------------------------------------------

JSON_BODY = json.dumps({"status": "DOWN", "checks": {"db": "ok", "cache": None}, "nodes": [{"up": True}], "n": 3})


def facts(status: int = 200, body: str | None = None, headers: dict[str, str] | None = None) -> ResponseFacts:
    return ResponseFacts(
        status=status,
        duration_ms=812,
        body=None if body is None else body.encode(),
        headers=None if headers is None else HTTPHeaderDict(headers),
    )


@pytest.mark.parametrize(
    ("expect", "response", "failures"),
    [
        ({}, facts(204), ()),
        ({}, facts(503), ("status 503 not in [2xx]",)),
        ({"status": [200, "3xx", "500-502"]}, facts(302), ()),
        ({"status": [200, "3xx", "500-502"]}, facts(502), ()),
        ({"status": [200, "3xx", "500-502"]}, facts(204), ("status 204 not in [200, 3xx, 500-502]",)),
        ({"maxDurationMs": 812}, facts(), ()),
        ({"maxDurationMs": 500}, facts(), ("duration 812 ms > 500 ms",)),
        ({"bodyContains": ["UP", "db"]}, facts(body="all UP, db fine"), ()),
        ({"bodyContains": ["UP", "db"]}, facts(body="DOWN"), ("body lacks 'UP'", "body lacks 'db'")),
        ({"bodyRegex": r"v\d+\.\d+"}, facts(body="running v1.2"), ()),
        ({"bodyRegex": r"^v\d+$"}, facts(body="running v1.2"), (r"body does not match /^v\d+$/",)),
        ({"json": {"checks.db": "ok", "nodes.0.up": True, "n": 3.0}}, facts(body=JSON_BODY), ()),
        ({"json": {"status": "UP"}}, facts(body=JSON_BODY), ("json status is 'DOWN', expected 'UP'",)),
        ({"json": {"checks.cache": "ok"}}, facts(body=JSON_BODY), ("json checks.cache is None, expected 'ok'",)),
        ({"json": {"n": True}}, facts(body=JSON_BODY), ("json n is 3, expected True",)),
        ({"json": {"nodes.0.up": 1}}, facts(body=JSON_BODY), ("json nodes.0.up is True, expected 1",)),
        ({"json": {"checks.queue": "ok"}}, facts(body=JSON_BODY), ("json checks.queue missing",)),
        ({"json": {"nodes.1.up": True}}, facts(body=JSON_BODY), ("json nodes.1.up missing",)),
        ({"json": {"status.code": "x"}}, facts(body=JSON_BODY), ("json status.code missing",)),
        ({"json": {"status": "UP"}}, facts(body="<html>UP</html>"), ("body is not JSON",)),
        ({"headers": {"x-foo": "b"}}, facts(headers={"X-Foo": "abc"}), ()),
        ({"headers": {"X-Foo": "b"}}, facts(headers={"X-Foo": "a"}), ("header X-Foo is 'a', expected to contain 'b'",)),
        ({"headers": {"X-Foo": "b"}}, facts(headers={}), ("header X-Foo missing",)),
        (
            {"status": [200], "maxDurationMs": 100, "bodyContains": "UP", "json": {"status": "UP"}},
            facts(503, body=JSON_BODY),
            (
                "status 503 not in [200]",
                "duration 812 ms > 100 ms",
                "body lacks 'UP'",
                "json status is 'DOWN', expected 'UP'",
            ),
        ),
    ],
    ids=[
        "default-204",
        "default-503",
        "status-class",
        "status-range",
        "status-none-matches",
        "duration-at-limit",
        "duration-over",
        "contains-all",
        "contains-each-missing-named",
        "regex-matches",
        "regex-fails",
        "json-nested-array-and-number",
        "json-value-differs",
        "json-null",
        "json-number-is-not-bool",
        "json-bool-is-not-number",
        "json-missing-key",
        "json-index-out-of-range",
        "json-into-a-string",
        "json-body-not-json",
        "header-name-any-case",
        "header-value-differs",
        "header-missing",
        "every-failure-in-order",
    ],
)
def test_each_unmet_expectation_is_one_line_with_actual_and_expected(
    expect: dict[str, Any], response: ResponseFacts, failures: tuple[str, ...]
) -> None:
    assert evaluate(parse_expect(expect), response) == failures


# An array or an object as the expected value: equal as JSON, whole, in order, with no key more or less.
STRUCTURED = {
    "array-equal": ({"nodes": ["a", "b"]}, {"nodes": ["a", "b"]}, ()),
    "array-longer": (
        {"nodes": ["a", "b"]},
        {"nodes": ["a", "b", "c"]},
        "json nodes is ['a', 'b', 'c'], expected ['a', 'b']",
    ),
    "array-shorter": ({"nodes": ["a", "b"]}, {"nodes": ["a"]}, "json nodes is ['a'], expected ['a', 'b']"),
    "array-reordered": ({"nodes": ["a", "b"]}, {"nodes": ["b", "a"]}, "json nodes is ['b', 'a'], expected ['a', 'b']"),
    "array-empty-equal": ({"nodes": []}, {"nodes": []}, ()),
    "array-empty-expected": ({"nodes": []}, {"nodes": ["a"]}, "json nodes is ['a'], expected []"),
    "array-numbers-as-json": ({"sizes": [1, 2.0]}, {"sizes": [1.0, 2]}, ()),
    "array-true-is-not-1": ({"flags": [True]}, {"flags": [1]}, "json flags is [1], expected [True]"),
    "array-1-is-not-true": ({"flags": [1]}, {"flags": [True]}, "json flags is [True], expected [1]"),
    "array-null-is-not-false": ({"flags": [None]}, {"flags": [False]}, "json flags is [False], expected [None]"),
    "object-equal": ({"checks": {"db": "ok"}}, {"checks": {"db": "ok"}}, ()),
    "object-key-order-free": ({"checks": {"db": "ok", "q": 1}}, {"checks": {"q": 1, "db": "ok"}}, ()),
    "object-extra-key": (
        {"checks": {"db": "ok"}},
        {"checks": {"db": "ok", "cache": "ok"}},
        "json checks is {'cache': 'ok', 'db': 'ok'}, expected {'db': 'ok'}",
    ),
    "object-missing-key": (
        {"checks": {"db": "ok", "cache": "ok"}},
        {"checks": {"db": "ok"}},
        "json checks is {'db': 'ok'}, expected {'cache': 'ok', 'db': 'ok'}",
    ),
    "object-value-differs": (
        {"checks": {"db": "ok"}},
        {"checks": {"db": "down"}},
        "json checks is {'db': 'down'}, expected {'db': 'ok'}",
    ),
    "object-empty-equal": ({"checks": {}}, {"checks": {}}, ()),
    "object-empty-expected": ({"checks": {}}, {"checks": {"db": "ok"}}, "json checks is {'db': 'ok'}, expected {}"),
    "nested-equal": ({"a": {"b": [1, {"c": None}]}}, {"a": {"b": [1, {"c": None}]}}, ()),
    "nested-differs-deep": (
        {"a": {"b": [1, {"c": None}]}},
        {"a": {"b": [1, {"c": False}]}},
        "json a is {'b': [1, {'c': False}]}, expected {'b': [1, {'c': None}]}",
    ),
    "array-is-not-object": ({"x": {"0": "a"}}, {"x": ["a"]}, "json x is ['a'], expected {'0': 'a'}"),
    "object-is-not-array": ({"x": ["a"]}, {"x": {"0": "a"}}, "json x is {'0': 'a'}, expected ['a']"),
    "array-is-not-its-text": ({"x": ["a"]}, {"x": "['a']"}, "json x is \"['a']\", expected ['a']"),
    "array-at-a-path-into-an-array": ({"nodes.0.tags": ["x"]}, {"nodes": [{"tags": ["x"]}]}, ()),
}


@pytest.mark.parametrize(("expected", "body", "failure"), list(STRUCTURED.values()), ids=list(STRUCTURED))
def test_an_array_or_object_expected_is_met_only_by_an_equal_json_value(
    expected: dict[str, object], body: dict[str, object], failure: tuple[()] | str
) -> None:
    expect = parse_expect({"json": expected})
    failures = () if failure == () else (failure,)
    assert evaluate(expect, facts(body=json.dumps(body))) == failures
    # As deployed: the target travels as JSON (schedule input, TARGETS) and is read back.
    target = parse_target(json.loads(json.dumps({"url": "https://a.example/", "expect": expect.to_json()})))
    assert evaluate(target.expect, facts(body=json.dumps(body))) == failures


def test_a_catastrophic_pattern_still_gives_its_answer() -> None:
    # (a+)+$ backtracks exponentially in Python's re on this input; RE2 answers in linear time.
    expect = parse_expect({"bodyRegex": "(a+)+$"})
    assert evaluate(expect, facts(body="a" * 50_000 + "!")) == ("body does not match /(a+)+$/",)
    assert evaluate(expect, facts(body="a" * 50_000)) == ()


def test_json_nested_past_the_parsers_depth_is_not_json_not_a_crash() -> None:
    expect = parse_expect({"json": {"status": "UP"}})
    assert evaluate(expect, facts(body="[" * 100_000)) == ("body is not JSON",)


def test_a_body_that_is_not_utf8_is_searched_as_text_with_replacements() -> None:
    expect = parse_expect({"bodyContains": "UP"})
    assert evaluate(expect, ResponseFacts(200, 1, body=b"\xff\xfe UP")) == ()


def test_re2_is_loaded_only_when_a_target_uses_body_regex() -> None:
    # Its native library is ~15 ms of every cold start; most stacks have no bodyRegex.
    code = (
        "import sys; from healthcheck.check.targets import parse_target; "
        "parse_target({'url': 'https://a.example/', 'expect': {'bodyContains': 'UP'}}); "
        "print('re2' in sys.modules, end=' '); "
        "parse_target({'url': 'https://a.example/', 'expect': {'bodyRegex': 'UP'}}); "
        "print('re2' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "image")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout == "False True\n"


@pytest.mark.parametrize("entry", [101, "1xx", "100-199"])
def test_a_status_that_is_never_final_is_refused(entry: object) -> None:
    # The probe reads past every 1xx to the final reply: such an entry could never match.
    with pytest.raises(InvalidTargetError, match="can never match: 1xx replies are interim"):
        parse_expect({"status": [entry]})


def test_a_status_range_reaching_final_replies_is_kept() -> None:
    assert parse_expect({"status": ["100-204"]}).status == ("100-204",)


def test_a_body_expectation_on_head_is_refused() -> None:
    # A HEAD response has no body: the target would be DOWN on every check.
    with pytest.raises(InvalidTargetError, match="'expect' checks the body, but a HEAD response has none"):
        parse_target({"url": "https://a/", "method": "HEAD", "expect": {"bodyContains": "UP"}})
    assert parse_target({"url": "https://a/", "method": "HEAD", "expect": {"status": [200]}}).request.method == "HEAD"


# --- strict JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expect", "body", "failures"),
    [
        ({"healthy": True}, '{"healthy": false, "healthy": true}', ("json has duplicate key 'healthy'",)),
        ({"checks.db": "ok"}, '{"checks": {"db": "down", "db": "ok"}}', ("json has duplicate key 'checks.db'",)),
        (
            {"checks.db": "ok"},
            '{"checks": {"db": "down"}, "checks": {"db": "ok"}}',
            ("json has duplicate key 'checks'",),
        ),
        ({"nodes.0.up": True}, '{"nodes": [{"up": false, "up": true}]}', ("json has duplicate key 'nodes.0.up'",)),
        (
            {"checks": {"db": "ok"}},
            '{"checks": {"db": "down", "db": "ok"}}',
            ("json checks is {'db': <duplicate key>}, expected {'db': 'ok'}",),
        ),
        ({"healthy": True}, '{"healthy": true, "x": NaN}', ("body is not JSON: NaN is not standard JSON",)),
        ({"healthy": True}, '{"healthy": true, "x": [Infinity]}', ("body is not JSON: Infinity is not standard JSON",)),
        ({"healthy": True}, '{"healthy": true, "x": -Infinity}', ("body is not JSON: -Infinity is not standard JSON",)),
        # Off every expected path a repeated key cannot change the verdict: no reason to call the service DOWN.
        ({"healthy": True}, '{"healthy": true, "build": 1, "build": 2}', ()),
        ({"healthy": True}, '{"healthy": true, "x": 1e999}', ()),  # standard JSON, if out of a double's range
    ],
    ids=[
        "duplicate-key-expected",
        "duplicate-key-nested",
        "duplicate-key-on-the-way",
        "duplicate-key-in-array",
        "duplicate-key-in-compared-object",
        "nan",
        "infinity",
        "minus-infinity",
        "duplicate-key-elsewhere",
        "huge-number",
    ],
)
def test_json_that_a_strict_parser_refuses_is_never_up(
    expect: dict[str, Any], body: str, failures: tuple[str, ...]
) -> None:
    # Python's parser takes NaN and lets the last of two keys win: `healthy` read true, and the check passed.
    assert evaluate(parse_expect({"json": expect}), facts(body=body)) == failures


@pytest.mark.parametrize("part", ["²", "٣", "\uff11", "-1", "+1", " 1", "1_0"])
def test_a_path_part_that_is_not_ascii_digits_never_indexes_an_array(part: str) -> None:
    # '²'.isdigit() is true but int('²') raises: the check was an internal error, inconclusive forever.
    expect = parse_expect({"json": {f"items.{part}": 1}})
    assert evaluate(expect, facts(body='{"items": [1, 1, 1, 1]}')) == (f"json items.{part} missing",)
    assert evaluate(expect, facts(body=json.dumps({"items": {part: 1}}))) == ()  # still an object's key


ODD_PARTS = ["0", "1", "00", "²", "٣", "\uff11", "-1", "1e3", " 1", "9" * 400, "x", "NaN", "__class__", "\u0000"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | st.sampled_from(ODD_PARTS),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(ODD_PARTS), children, max_size=4),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(ODD_PARTS) | st.text(min_size=1, max_size=3), st.booleans(), st.booleans()),
        min_size=1,
        max_size=5,
    ),
    leaf=json_values,
)
def test_no_body_and_no_path_make_the_json_check_raise(steps: list[tuple[str, bool, bool]], leaf: object) -> None:
    # The body is built along the path, an array or an object at each step, so odd parts meet arrays too.
    body = json.dumps(leaf)
    for part, array, repeated in reversed(steps):
        if array:
            body = f"[{body}, {body}]"
        else:
            key = json.dumps(part)
            body = f"{{{key}: {body}, {key}: {body}}}" if repeated else f"{{{key}: {body}}}"
    path = ".".join(part for part, _array, _repeated in steps)
    try:
        expect = parse_expect({"json": {path: 1}})
    except InvalidTargetError:
        return  # a path parse_expect refuses never reaches a check
    assert all(isinstance(line, str) for line in evaluate(expect, facts(body=body)))


# --- echoed secrets ---------------------------------------------------------------------------------

SECRETS = [
    "k3y\\Zq9-very-secret",
    "k3y\tZq9-very-secret",
    'k3y"Zq9-very-secret',
    "k3y'Zq9-very-secret",
    "kéy-秘密-Zq9-very-secret",
    "k3y\nZq9-very-secret",
    "k3y\u2028Zq9-very-secret",
]
SECRET_IDS = ["backslash", "tab", "double-quote", "single-quote", "non-ascii", "newline", "line-separator"]


def forms(secret: str) -> set[str]:
    """The secret as each rendering would write it: raw, repr-, JSON- and ASCII-escaped, and its tail alone."""
    return {
        secret,
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        secret.encode("unicode_escape").decode(),
        "Zq9-very-secret",
    }


def probe_lines(expect: dict[str, Any], response: ResponseFacts, secret: str) -> tuple[str, ...]:
    """The failure lines as the probe records them: secrets hidden before quoting, and the lines scrubbed after."""
    secrets = frozenset({secret})
    lines = evaluate(parse_expect(expect), response, hide=lambda text: scrub(text, secrets))
    return tuple(clip(scrub(line, secrets)) for line in lines)


@pytest.mark.parametrize("ascii_only", [True, False], ids=["escaped-body", "utf8-body"])
@pytest.mark.parametrize("secret", SECRETS, ids=SECRET_IDS)
def test_a_secret_echoed_anywhere_in_a_json_value_is_hidden(secret: str, ascii_only: bool) -> None:
    deep: object = {"seen": secret}
    for _ in range(12):
        deep = {"in": deep}
    echo = {"status": {"seenKey": secret, secret: [secret, {"nested": f"got {secret}!"}], "deep": deep}}
    body = json.dumps(echo, ensure_ascii=ascii_only)
    [line] = probe_lines({"json": {"status": "ok"}}, facts(body=body), secret)
    assert [form for form in forms(secret) if form in line] == []
    assert line == (
        "json status is {'***': ['***', {'nested': 'got ***!'}], 'deep': {'in': {'in': {'in': {'in': {'in': {...}}}}}},"
        " 'seenKey': '***'}, expected 'ok'"
    )


def test_a_number_that_spells_the_secret_is_hidden_however_long() -> None:
    # show() cuts a long number in the middle: the scrub after it would no longer find the secret.
    secret = "1234567890" * 6
    [line] = probe_lines({"json": {"pin": 1}}, facts(body=f'{{"pin": {secret}}}'), secret)
    assert line == "json pin is '***', expected 1"


@pytest.mark.parametrize("secret", SECRETS[:4], ids=SECRET_IDS[:4])  # what a header value can carry
def test_a_server_echoing_the_secret_header_in_a_json_object_leaks_no_form_of_it(secret: str) -> None:
    def echo(peer: Peer, request: Request) -> bool:
        body = json.dumps({"status": {"seenKey": request.headers.get("x-api-key")}}).encode()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return False

    with raw_server(echo) as server:
        target = parse_target(
            {
                "name": "api",
                "url": server.base_url + "/health",
                "headers": {"X-Api-Key": {"ssm": "/api/key"}},
                "expect": {"json": {"status": "ok"}},
            }
        )
        now = time.monotonic()
        result = Probe().check(target, Cancel(), started=now, deadline=now + 5, secrets={SsmRef("/api/key"): secret})
    # It was: json status is {'seenKey': 'k3y\\\\Zq9-very-secret'}, expected 'ok'
    assert result.failures == ("json status is {'seenKey': '***'}, expected 'ok'",)
