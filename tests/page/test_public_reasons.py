"""A status page that hides URLs must not publish them through failure reasons either."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import healthcheck.status
from healthcheck.alerting.state import Alert
from healthcheck.check.probe import CheckResult
from healthcheck.history.record_store import ResultStore, roster_of
from healthcheck.history.rollup_store import RollupStore
from healthcheck.page.public_reasons import HIDDEN, public_reason
from localdev.dynamodb import create_results_table, create_rollup_table
from localdev.function_url import function_url_event
from tests.conftest import dynamodb_client

# Each reason as the monitor writes it, with "planted" where private detail sits.
PRIVATE = [
    ("name not resolved: db.planted.internal", "name not resolved"),
    ("name not resolved: planted", "name not resolved"),  # a single-label host has no dot to give it away
    ("connection failed: HTTPConnection(host='planted', port=80): Failed", "connection failed"),
    ("TLS error: certificate verify failed: Hostname mismatch, certificate is not valid for 'planted'.", "TLS error"),
    ("redirect to unsupported URL ftp://planted/x", "redirect to an unsupported URL"),
    ("redirect to invalid URL 'http://planted:99999/'", "redirect to an invalid URL"),
    ("invalid URL: Invalid URL 'http://planted'", "invalid URL"),
    ("secret /planted/token not readable: ParameterNotFound", "a secret could not be read"),
    ("json status is 'planted', expected 'UP'", "JSON field not as expected"),
    ("json planted missing", "JSON field not as expected"),
    ("header X-Planted missing", "header not as expected"),
    ("header Server is 'planted', expected to contain 'nginx'", "header not as expected"),
    ("body lacks 'planted'", "body lacks the expected text"),
    ("body lacks planted", "body lacks the expected text"),
    ("body does not match /planted/", "body does not match the expected pattern"),
    ("internal error: ValueError('planted')", "internal error"),
    ("protocol error: Invalid header 'X-Planted: 1'", "protocol error"),
    ("RuntimeError: planted.example failed", "RuntimeError"),
    ("planted_value", HIDDEN),
    ("connection failed: [fd00:10::5]:8080 unreachable", "connection failed"),
    ("connection failed: fe80::1 unreachable", "connection failed"),
]
# Words and numbers alone: shown whole, because they are what a visitor wants to know.
PLAIN = [
    "status 503 not in [2xx]",
    "status 404 not in [200-299, 301]",
    "duration 812 ms > 500 ms",
    "timed out after 10 s",
    "connection refused",
    "connection failed: Network is unreachable",
    "protocol error: response ended inside its headers",
    "TLS error: certificate verify failed: certificate has expired",
    "too many redirects (more than 10)",
    "HTTP 503",
]


@pytest.mark.parametrize(("reason", "kind"), PRIVATE)
def test_a_reason_with_private_detail_is_cut_to_its_kind(reason: str, kind: str) -> None:
    assert public_reason(reason) == kind
    assert "planted" not in public_reason(reason).lower()


@pytest.mark.parametrize("reason", PLAIN)
def test_a_reason_of_words_and_numbers_is_shown_whole(reason: str) -> None:
    assert public_reason(reason) == reason


def test_a_decimal_point_is_not_a_host() -> None:
    assert public_reason("timed out after 2.5 s") == "timed out after 2.5 s"
    assert public_reason("timed out after 2.5 s at 10.0.0.5") == HIDDEN
    assert public_reason("connection failed: no route to 10.0.0.5") == "connection failed"


_numbers = itertools.count()
SECRET_HOST = "db.planted-host.internal"
SECRET_TEXT = "planted-body-text"


@pytest.fixture
def status_env(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two targets that failed this hour and yesterday, with reasons that name a host and body text.

    Each failure took its target DOWN (web recovered): the monitor recorded those transitions, as it does.
    """
    number = next(_numbers)
    results, rollups = f"reasons-results-{number}", f"reasons-rollups-{number}"
    create_results_table(dynamodb_endpoint, results)
    create_rollup_table(dynamodb_endpoint, rollups)
    client = dynamodb_client(dynamodb_endpoint)
    now = datetime.now(UTC)
    store, rollup_store = ResultStore(client, results), RollupStore(client, rollups, results)
    yesterday = (now - timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    failed = CheckResult("web", "https://web.test/", False, 90, status=200, error=f"body lacks '{SECRET_TEXT}'")
    raw = CheckResult("db", f"https://{SECRET_HOST}/", False, 3, error=f"name not resolved: {SECRET_HOST}")
    passed = {"db": CheckResult("db", f"https://{SECRET_HOST}/", True, 3, 200), "web": failed}
    # Yesterday web failed, in an hour the next run's rollups summarise; now db fails, read raw by the page.
    for moment, results_now in (
        (yesterday, [passed["db"], failed]),
        (now, [raw, CheckResult("web", "u", True, 5, 200)]),
    ):
        roster = roster_of([(result.name, result.url) for result in results_now])
        deadline = time.monotonic() + 30
        writer = store.run(
            shard="1",
            region="us-east-1",
            timestamp=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            roster=roster,
            deadline=deadline,
        )
        for result in results_now:
            writer.record(result)
        writer.finish()
        rollup_store.flush("1", "us-east-1", ["db", "web"], moment, deadline)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    rollup_store.record_transitions(
        [
            Alert("DOWN", "db", "u", now.strftime(stamp), now.strftime(stamp), (raw.error or "",)),
            Alert("DOWN", "web", "u", yesterday.strftime(stamp), yesterday.strftime(stamp), (failed.error or "",)),
            Alert("RECOVERED", "web", "u", yesterday.strftime(stamp), yesterday.strftime(stamp), down_for_s=300),
        ],
        time.monotonic() + 30,
    )
    for key, value in {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "TABLE_NAME": results,
        "ROLLUP_TABLE_NAME": rollups,
        "TARGETS": json.dumps(
            [{"name": "db", "url": f"https://{SECRET_HOST}/"}, {"name": "web", "url": "https://web.test/"}]
        ),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STATE_TABLE_NAME", raising=False)
    monkeypatch.delenv("STATUS_SHOW_URLS", raising=False)
    healthcheck.status._dynamodb.cache_clear()
    yield
    healthcheck.status._dynamodb.cache_clear()


def _pages() -> tuple[str, dict[str, object]]:
    html = healthcheck.status.handler(function_url_event("GET", "/", {}), None)["body"]
    data = json.loads(healthcheck.status.handler(function_url_event("GET", "/?format=json", {}), None)["body"])
    return html, data


def test_a_page_that_hides_urls_shows_the_kind_of_failure_only(status_env: None) -> None:
    html, data = _pages()
    for text in (html, json.dumps(data)):
        assert "planted" not in text
    reasons = {target["name"]: [i["reason"] for i in target["incidents"]] for target in data["targets"]}  # type: ignore[attr-defined]
    assert reasons == {"db": ["name not resolved"], "web": ["body lacks the expected text"]}
    assert "name not resolved" in html


def test_a_page_that_shows_urls_shows_the_reasons_whole(status_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATUS_SHOW_URLS", "true")
    html, data = _pages()
    reasons = {target["name"]: [i["reason"] for i in target["incidents"]] for target in data["targets"]}  # type: ignore[attr-defined]
    assert reasons == {"db": [f"name not resolved: {SECRET_HOST}"], "web": [f"body lacks '{SECRET_TEXT}'"]}
    assert SECRET_HOST in html
