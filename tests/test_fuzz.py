"""Arbitrary input, asserted by invariants: one bounded, valid record per entry; nothing escapes; no false UP.

Hypothesis throws arbitrary JSON at the event and target parsers (and through
the handler into the embedded DynamoDB), and arbitrary bytes at the probe from
a loopback server. h11, an independent HTTP/1.1 parser, is the oracle for
"a complete 2xx response".
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcheck.check.probe import Probe
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target, parse_targets, redact_url
from healthcheck.config import Settings
from healthcheck.event import parse_event
from healthcheck.exceptions import InvalidEventError
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from tests.hostile import Peer, Request, raw_server
from tests.records import all_checks
from tests.servers import FaultServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

NOW = datetime(2026, 11, 27, 18, 0, 0, tzinfo=UTC)
KEY_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")

# Text as JSON can carry it: any code point, lone surrogates included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
urlish = st.one_of(
    any_text,
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "ftp", "HTTP", ""]),
        st.sampled_from(["a.example", "user:pw@a.example", "a.example:0", "[::1", "", "a.example:99999"]),
        any_text,
    ),
)
target_like = st.fixed_dictionaries(
    {},
    optional={
        "url": urlish | json_values,
        "name": any_text | json_values,
        "timeout": st.floats() | st.integers() | json_values,
        "extra": json_values,
    },
)
entries = st.lists(target_like | json_values, max_size=8)


def _storable(text: str, max_bytes: int) -> bool:
    try:
        return len(text.encode()) <= max_bytes
    except UnicodeEncodeError:
        return False


@settings(max_examples=300, deadline=None)
@given(event=json_values | st.fixed_dictionaries({}, optional={"time": any_text | json_values, "targets": entries}))
def test_parse_event_returns_an_invocation_or_a_named_error(event: object) -> None:
    try:
        invocation = parse_event(event, NOW)
    except InvalidEventError as exc:
        message = str(exc)
    else:
        assert KEY_TIME.fullmatch(invocation.timestamp), invocation.timestamp
        return
    assert _storable(message, 512), message


@settings(max_examples=300, deadline=None)
@given(raw=entries)
def test_parse_targets_accounts_for_every_entry_with_storable_labels(raw: list[object]) -> None:
    parsed = parse_targets(raw)
    assert len(parsed.valid) + len(parsed.invalid) == len(raw)
    for target in parsed.valid:
        assert _storable(target.name, 1024)
        assert _storable(target.url, 8192)
        parts = urlsplit(target.url)
        if parts.username or parts.password:  # credentials pass now, but never into what is stored or logged
            assert "://***@" in redact_url(target.url)
            if target.name == redact_url(target.url):
                assert target.name.split("@")[0].endswith("://***")
    for bad in parsed.invalid:
        assert bad.label.strip()
        assert _storable(bad.label, 1024)
        assert _storable(bad.url, 2048)
        assert _storable(bad.error, 1024)
    recorded = [t.name for t in parsed.valid] + [bad.label for bad in parsed.invalid if bad.recordable]
    assert len(recorded) == len(set(recorded)), "two records would share a key"


_event_times = itertools.count()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(target_like | json_values | st.just("GOOD"), max_size=6))
def test_the_handler_writes_one_valid_record_per_recordable_entry(
    raw: list[object], http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    # "GOOD" entries are real targets on the loopback server, so checks and invalid entries mix.
    entries_ = [
        {"name": f"good-{i}", "url": f"{http_server.base_url}/ok"} if entry == "GOOD" else entry
        for i, entry in enumerate(raw)
    ]
    moment = (NOW + timedelta(minutes=next(_event_times))).strftime("%Y-%m-%dT%H:%M:%SZ")
    summary = check_and_record(
        {"time": moment, "targets": entries_},
        None,
        settings=Settings(table, None),
        probe=probe,
        store=ResultStore(dynamodb, table),
        now=NOW,
    )
    parsed = parse_targets(entries_)
    expected = {t.name for t in parsed.valid} | {b.label for b in parsed.invalid if b.recordable}
    checks = [check for check in all_checks(dynamodb, table) if check.time == moment]
    assert {check.target for check in checks} == expected
    assert len(checks) == len(expected)  # one record each
    assert summary["checked"] == len(expected)
    for check in checks:
        if check.target.startswith("good-"):
            assert check.success, check


# --- bytes from a server ---------------------------------------------------------------------

token = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-ABCXYZ0123456789"), min_size=1, max_size=12)
field_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(str.strip)
header = st.tuples(token, field_value) | st.tuples(
    st.sampled_from(["Content-Length", "Transfer-Encoding", "Connection"]),
    st.sampled_from(["0", "2", "5", "100", "-1", "x", "chunked", "gzip, chunked", "close", "keep-alive"]),
)


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """Mostly well-formed responses, then broken: cut short, or with random bytes spliced in."""
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    parts = []
    for code in draw(st.lists(st.integers(100, 199), max_size=2)):
        parts.append(b"HTTP/1.1 %d Interim%s%s" % (code, eol, eol))
    status = draw(st.sampled_from([200, 204, 206, 299, 301, 404, 500]) | st.integers(0, 1000))
    parts.append(b"HTTP/1.%d %d %s%s" % (draw(st.integers(0, 1)), status, draw(token).encode(), eol))
    for name, value in draw(st.lists(header, max_size=6)):
        parts.append(f"{name}: {value}".encode() + eol)
    parts.append(eol)
    body = draw(st.binary(max_size=40))
    if draw(st.booleans()):
        chunks = draw(st.lists(st.binary(min_size=1, max_size=10), max_size=3))
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + draw(st.sampled_from([b"0\r\n\r\n", b""]))
    data = b"".join(parts) + body
    fault = draw(st.sampled_from(["none", "cut", "splice", "random"]))
    if fault == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif fault == "splice":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif fault == "random":
        data = draw(st.binary(max_size=200))
    return data


def complete_2xx(data: bytes) -> bool:
    """Whether h11 reads ``data``, ended by the server closing, as one complete 2xx response to a GET."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "127.0.0.1")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    client.receive_data(b"")
    final: int | None = None
    try:
        while True:
            event = client.next_event()
            if isinstance(event, h11.Response):
                final = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                return final is not None and 200 <= final < 300
            elif event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                return False
    except h11.RemoteProtocolError:
        return False


class _Replay:
    """Serves whatever bytes the current example set, then closes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data = b""

    def __call__(self, peer: Peer, request: Request) -> bool:
        with self.lock:
            peer.send(self.data)
        return False


_replay = _Replay()


@pytest.fixture(scope="module")
def replay_url() -> Any:
    with raw_server(_replay) as server:
        yield server.base_url


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=responses())
def test_never_a_success_without_a_complete_2xx_response(data: bytes, replay_url: str, probe: Probe) -> None:
    with _replay.lock:
        _replay.data = data
    [result] = run_checks([Target("fuzz", f"{replay_url}/", timeout=5)], probe, run_deadline=time.monotonic() + 30)
    if result.success:
        assert complete_2xx(data), (data, result)
        assert result.status is not None
        assert 200 <= result.status < 300
    else:
        assert result.error
        assert _storable(result.error, 1024)
