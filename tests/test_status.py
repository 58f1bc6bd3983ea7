"""The status page: routes, figures against the seeded history, and the page in a real headless Chromium."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import healthcheck.status
from healthcheck.probe import CheckResult
from healthcheck.rollup_store import RollupStore
from healthcheck.status_data import load
from healthcheck.store import ResultStore, to_item
from localdev.dynamodb import create_results_table, create_rollup_table, create_state_table
from localdev.function_url import FunctionUrlHandler, function_url_event
from localdev.quiet_http import QuietServer
from tests import cdp
from tests.conftest import dynamodb_client
from tests.status_seed import CHECKS_PER_HOUR, NAMES, Seeded, seed

_numbers = itertools.count()


@pytest.fixture(scope="module")
def history(dynamodb_endpoint: str) -> tuple[Seeded, dict[str, str]]:
    """Tables with 90 days of history (seeded once: it takes seconds), and the environment naming them."""
    dynamodb = dynamodb_client(dynamodb_endpoint)
    number = next(_numbers)
    results, rollups, state = f"status-results-{number}", f"status-rollups-{number}", f"status-state-{number}"
    create_results_table(dynamodb_endpoint, results)
    create_rollup_table(dynamodb_endpoint, rollups)
    create_state_table(dynamodb_endpoint, state)
    data = seed(dynamodb, results, rollups, state, datetime.now(UTC))
    targets = [{"name": name, "url": f"https://user:secret-pw@{name}.internal.test/health?token=t"} for name in NAMES]
    environ = {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "TABLE_NAME": results,
        "ROLLUP_TABLE_NAME": rollups,
        "STATE_TABLE_NAME": state,
        "TARGETS": json.dumps(targets),
    }
    return data, environ


@pytest.fixture
def seeded(history: tuple[Seeded, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Seeded, str]]:
    """The status function's environment pointing at the seeded tables."""
    data, environ = history
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STATUS_SHOW_URLS", raising=False)
    healthcheck.status._dynamodb.cache_clear()
    yield data, environ["ROLLUP_TABLE_NAME"]
    healthcheck.status._dynamodb.cache_clear()


def get(path: str, method: str = "GET") -> dict[str, Any]:
    return dict(healthcheck.status.handler(function_url_event(method, path, {}), None))


def percent(failed: int, counted: int) -> float:
    return 100.0 * (counted - failed) / counted


def counted_7d(data: Seeded) -> int:
    """Checks in the hours any of which falls in the last 7 days: 168 whole hours back (the oldest of them
    partly in the period, so a failure in it is never left out), and the current hour so far."""
    return CHECKS_PER_HOUR * 24 * 7 + data.now.minute // 5 + 1


def test_json_figures_match_the_hand_computed_ones(seeded: tuple[Seeded, str]) -> None:
    data, _ = seeded
    response = get("/?format=json")
    assert response["statusCode"] == 200
    assert response["headers"]["cache-control"] == "public, max-age=60"
    body = json.loads(response["body"])
    assert set(body) == {"generatedAt", "targets"}  # camelCase, as the report's JSON
    targets = {target["name"]: target for target in body["targets"]}
    assert list(targets) == list(NAMES)
    assert all(target["url"] is None for target in targets.values())  # hidden unless statusPageShowUrls

    api, web, docs = targets["api"], targets["web"], targets["docs"]
    assert set(api["uptime"].values()) == {100.0}
    assert len(api["days"]) == 90
    assert (api["days"][-1]["p50Ms"], api["days"][-1]["p95Ms"]) == (100, 100)  # 80 ms falls in the 75-100 bucket

    incident_day = next(day for day in web["days"] if day["day"] == data.incident_start.strftime("%Y-%m-%d"))
    assert (incident_day["checks"], incident_day["failed"]) == (288, 36)
    assert incident_day["uptime"] == 87.5
    assert incident_day["p95Ms"] == 2000
    assert web["uptime"]["7d"] == pytest.approx(percent(36, counted_7d(data)))
    assert web["uptime"]["24h"] == 100.0
    [incident] = web["incidents"]
    assert incident == {
        "start": data.incident_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": data.incident_start.replace(hour=13).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "failed": 36,
        "reason": "status 503 not in [2xx]",
    }
    assert (web["state"], web["since"]) == (
        "UP",
        data.incident_start.replace(hour=13, minute=5).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )

    maintenance_day = next(day for day in docs["days"] if day["day"] == data.maintenance_hour.strftime("%Y-%m-%d"))
    assert (maintenance_day["uptime"], maintenance_day["maintenance"], maintenance_day["failed"]) == (100.0, 12, 0)
    assert docs["incidents"] == []
    # Today's figures include the raw records of the hours not yet summarised.
    expected_today = CHECKS_PER_HOUR * data.now.hour + data.now.minute // 5 + 1
    assert api["days"][-1]["checks"] == expected_today


def test_urls_are_shown_only_when_asked_and_never_with_credentials(
    seeded: tuple[Seeded, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATUS_SHOW_URLS", "true")
    body = json.loads(get("/?format=json")["body"])
    assert [target["url"] for target in body["targets"]] == [f"https://{name}.internal.test/health" for name in NAMES]
    html = get("/")["body"]
    assert "secret" not in html
    assert "token" not in html


def test_a_list_of_names_shows_the_same_page(seeded: tuple[Seeded, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What the stack gives a page that hides URLs: names alone (more of them fit Lambda's 4 KB)."""
    as_objects = json.loads(get("/?format=json")["body"])
    monkeypatch.setenv("TARGETS", json.dumps([*NAMES, NAMES[0], ""]))  # a repeat and an empty name are dropped
    as_names = json.loads(get("/?format=json")["body"])
    assert [target["name"] for target in as_names["targets"]] == list(NAMES)
    assert [target["url"] for target in as_names["targets"]] == [None] * len(NAMES)
    assert [target["uptime"] for target in as_names["targets"]] == [t["uptime"] for t in as_objects["targets"]]


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, "text/html; charset=utf-8"),
        ("/badge/web.svg", 200, "image/svg+xml"),
        ("/badge/web.svg?period=7d", 200, "image/svg+xml"),
        ("/badge/web.svg?period=1y", 400, "application/json"),
        ("/badge/nobody.svg", 404, "application/json"),
        ("/admin", 404, "application/json"),
        ("/?format=html", 200, "text/html; charset=utf-8"),
        ("/?format=xml", 400, "application/json"),
    ],
    ids=["page", "badge", "badge-7d", "bad-period", "unknown-target", "unknown-path", "format-html", "bad-format"],
)
def test_routes(seeded: tuple[Seeded, str], path: str, status: int, content_type: str) -> None:
    response = get(path)
    assert (response["statusCode"], response["headers"]["content-type"]) == (status, content_type)


def test_badge_says_the_figure_in_text(seeded: tuple[Seeded, str]) -> None:
    data, _ = seeded
    svg = get("/badge/web.svg?period=7d")["body"]
    figure = f"{percent(36, counted_7d(data)):.2f}%"
    assert f"<title>uptime 7d: {figure}</title>" in svg
    assert get("/badge/api.svg")["headers"]["cache-control"] == "public, max-age=300"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ROLLUP_TABLE_NAME", "no-such-table"), ("ROLLUP_TABLE_NAME", None), ("TARGETS", "{not json")],
    ids=["missing-table", "unset-table", "bad-targets"],
)
def test_our_own_fault_is_a_short_503_that_names_nothing(
    seeded: tuple[Seeded, str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    for path in ("/", "/?format=json", "/badge/web.svg"):
        response = get(path)
        assert response["statusCode"] == 503, path
        assert response["headers"]["retry-after"] == "60"
        assert response["headers"]["cache-control"] == "no-store"
        assert json.loads(response["body"]) == {
            "error": "the status page can't read its data right now; try again in a minute"
        }


def test_only_get_and_head_are_answered(seeded: tuple[Seeded, str]) -> None:
    response = get("/", method="POST")
    assert (response["statusCode"], response["headers"]["allow"]) == (405, "GET, HEAD")
    head = get("/", method="HEAD")
    assert (head["statusCode"], head["body"]) == (200, "")


# --- the page in a real browser -------------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(one), _luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _hex(css: str) -> str:
    """``rgb(17, 99, 41)`` as ``#116329``."""
    values = [int(part) for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
    return "#" + "".join(f"{value:02x}" for value in values)


@pytest.fixture
def status_url(seeded: tuple[Seeded, str]) -> Iterator[str]:
    """The status handler behind a loopback Function URL, as `make serve` answers it under /status."""

    class Handler(FunctionUrlHandler):
        prefix = "/status"
        handler = staticmethod(healthcheck.status.handler)

    with QuietServer(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/status/"
        server.shutdown()


@pytest.mark.slow
@pytest.mark.skipif(cdp.chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_page_in_headless_chromium(seeded: tuple[Seeded, str], status_url: str, tmp_path: Path) -> None:
    data, _ = seeded
    binary = cdp.chromium()
    assert binary is not None
    with cdp.launch(binary, tmp_path / "profile") as browser:
        browser.open_page()
        browser.send("Page.navigate", url=status_url)
        browser.wait_for_event("Page.loadEventFired")
        page = browser.evaluate(
            """(() => [...document.querySelectorAll('section')].map(s => ({
                name: s.querySelector('h2').firstChild.textContent.trim(),
                state: s.querySelector('.state').textContent,
                uptime: Object.fromEntries([...s.querySelectorAll('dl.uptime div')].map(
                    d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent])),
                bars: [...s.querySelectorAll('ol.bar li')].map(li => ({
                    title: li.title, text: li.textContent, colour: getComputedStyle(li).backgroundColor})),
                chart: !!s.querySelector('svg polyline'),
                incidents: [...s.querySelectorAll('ul.incidents li')].map(li => li.textContent),
            })))()"""
        )
        label_colours = browser.evaluate(
            "[...document.querySelectorAll('.state')].map(e => "
            "[getComputedStyle(e).color, getComputedStyle(e).backgroundColor])"
        )
        screenshot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    # Kept where CI can collect it (and a person can look): test-artifacts/ in the checkout, not in git.
    artifacts = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "status-page.png"
    shot.write_bytes(base64.b64decode(screenshot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    print(f"\nstatus page screenshot: {shot}")

    by_name = {section["name"]: section for section in page}
    assert list(by_name) == list(NAMES)
    assert by_name["api"]["uptime"] == {"24h": "100.00%", "7d": "100.00%", "30d": "100.00%", "90d": "100.00%"}
    assert by_name["web"]["uptime"]["7d"] == f"{percent(36, counted_7d(data)):.2f}%"
    incident_day = data.incident_start.strftime("%Y-%m-%d")
    [bar] = [bar for bar in by_name["web"]["bars"] if bar["title"].startswith(incident_day)]
    assert bar["title"] == bar["text"] == f"{incident_day}: 87.50% (288 checks, 36 failed)"
    assert [section["state"] for section in page] == ["UP", "UP", "UP"]
    assert all(section["chart"] for section in page)
    assert len(by_name["web"]["incidents"]) == 1
    assert "36 failed checks: status 503 not in [2xx]" in by_name["web"]["incidents"][0]
    # Accessibility: every bar has its figure as text and tooltip; colours carry no meaning alone.
    for section in page:
        assert len(section["bars"]) == 90
        assert all(bar["text"] and bar["title"] == bar["text"] for bar in section["bars"])
        for bar in section["bars"]:
            assert contrast(_hex(bar["colour"]), "#ffffff") >= 3.0, bar  # graphics against the page: 3:1
    for text, background in label_colours:
        assert contrast(_hex(text), _hex(background)) >= 4.5  # state labels are text: 4.5:1

    methods = [event["method"] for event in browser.events]
    errors = [
        event
        for event in browser.events
        if (event["method"] == "Runtime.consoleAPICalled" and event["params"]["type"] == "error")
        or event["method"] == "Runtime.exceptionThrown"
        or (event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error")
    ]
    assert errors == []
    requested = [
        event["params"]["request"]["url"] for event in browser.events if event["method"] == "Network.requestWillBeSent"
    ]
    assert "Page.loadEventFired" in methods
    assert requested == [status_url]  # the document itself, and nothing else


def test_a_first_day_is_drawn_and_one_failure_is_singular() -> None:
    from healthcheck.status_data import DayStatus, Incident, StatusData, TargetStatus
    from healthcheck.status_page import render

    days = [DayStatus(f"2026-11-{day:02d}", None, 0, 0, 0, None, None) for day in range(1, 28)]
    days.append(DayStatus("2026-11-28", 50.0, 2, 1, 0, 100, 150))
    target = TargetStatus(
        name="new",
        url=None,
        state="UP",
        since=None,
        uptime={"24h": 50.0},
        days=days,
        incidents=[Incident("2026-11-28T10:00:00Z", "2026-11-28T10:30:00Z", 1, "connection refused")],
    )
    html = render(StatusData("2026-11-28T10:30:00Z", [target]))
    # A line through one point draws nothing; its dots show the day (p50 and p95).
    assert html.count("<circle ") == 2
    assert "1 failed check: connection refused" in html


# --- hours not summarised yet ----------------------------------------------------------------------


@pytest.fixture
def rollups(dynamodb_endpoint: str, table: str) -> RollupStore:
    name = f"status-rollups-{next(_numbers)}"
    create_rollup_table(dynamodb_endpoint, name)
    return RollupStore(dynamodb_client(dynamodb_endpoint), name, table)


def _check(success: bool, at: datetime) -> dict[str, Any]:
    result = CheckResult("api", "https://api.test/", success, 80, status=200 if success else 503)
    return to_item(
        replace(result, error=None if success else "status 503 not in [2xx]"), at.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def test_a_check_not_summarised_yet_shows_however_long_ago_it_was(rollups: RollupStore) -> None:
    """A daily schedule: its check's hour is summarised by the next run, a day later; until then it is read raw."""
    results = ResultStore(rollups._client, rollups.results_table)
    deadline = time.monotonic() + 60
    today = datetime(2026, 11, 28, tzinfo=UTC)
    for back, success in ((2, True), (1, True), (0, False)):  # 00:00 each day, as cron(0 0 * * ? *) runs
        moment = today - timedelta(days=back)
        results.write([_check(success, moment)], deadline)
        rollups.flush(["api"], moment, deadline)
    data = load([("api", None)], rollups, None, today + timedelta(hours=20), deadline)
    [target] = data.targets
    assert [(day.checks, day.failed) for day in target.days[-3:]] == [(1, 0), (1, 0), (1, 1)]
    [incident] = target.incidents
    assert (incident.start, incident.failed, incident.reason) == ("2026-11-28T00:00:00Z", 1, "status 503 not in [2xx]")


def test_a_view_reads_a_bounded_number_of_raw_records(rollups: RollupStore) -> None:
    """Rollups stalled for hours: the view reads the newest RAW_RECORDS records, and shows no hour cut short."""
    results = ResultStore(rollups._client, rollups.results_table)
    deadline = time.monotonic() + 60
    now = datetime(2026, 11, 28, 20, 30, tzinfo=UTC)
    start = now.replace(hour=14, minute=0)
    results.write([_check(True, start + timedelta(minutes=minute)) for minute in range(6 * 60 + 31)], deadline)
    data = load([("api", None)], rollups, None, now, deadline)
    # The newest 240 checks reach back to 16:31: 16:00 is cut short, so shown as no data; 17:00-20:30 whole.
    assert data.targets[0].days[-1].checks == 3 * 60 + 31
    assert rollups.calls["Query"] == 2  # the day items, and one page of raw records
