"""The status page: routes, figures against the seeded history, and the page in a real headless Chromium."""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import healthcheck.status
from healthcheck.alerting.state import Alert, TargetState
from healthcheck.alerting.state_store import StateStore
from healthcheck.alerting.state_store import to_item as state_item
from healthcheck.check.probe import CheckResult, Probe
from healthcheck.config import Settings
from healthcheck.handler import check_and_record
from healthcheck.history import rollup_store
from healthcheck.history.reader import Check
from healthcheck.history.record_store import ResultStore, roster_of
from healthcheck.history.rollup_store import RollupStore, StoredIncident
from healthcheck.page.data import PERIODS, RAW_READ_BYTES, ShownTarget, TargetReads, load
from healthcheck.page.render import render
from localdev.dynamodb import create_results_table, create_rollup_table, create_state_table
from localdev.function_url import FunctionUrlHandler, function_url_event
from localdev.quiet_http import QuietServer
from tests import cdp
from tests.conftest import dynamodb_client
from tests.read_units import ReadMeter
from tests.servers import FaultServer
from tests.status_seed import CHECKS_PER_HOUR, NAMES, Seeded, seed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

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
    """Checks in the days any of which falls in the last 7 days: 7 whole days back (the oldest of them partly in
    the period, so a failure in it is never left out), and today so far."""
    return CHECKS_PER_HOUR * (24 * 7 + data.now.hour) + data.now.minute // 5 + 1


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
    # The alerts' own times: DOWN from the first failure (10:00), UP from the first success (13:00).
    [incident] = web["incidents"]
    recovered = data.incident_start.replace(hour=13).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert incident == {
        "start": data.incident_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": recovered,
        "durationS": 3 * 3600,
        "ongoing": False,
        "reason": "status 503 not in [2xx]",
    }
    assert (web["state"], web["since"]) == ("UP", recovered)
    assert (api["state"], api["since"]) == ("UP", None)  # never went down: no state item

    maintenance_day = next(day for day in docs["days"] if day["day"] == data.maintenance_hour.strftime("%Y-%m-%d"))
    assert (maintenance_day["uptime"], maintenance_day["maintenance"], maintenance_day["failed"]) == (100.0, 12, 0)
    assert docs["maintenance"] == {"24h": 0, "7d": 12, "30d": 12, "90d": 12}
    assert docs["incidents"] == []
    newest = data.now.replace(minute=data.now.minute // 5 * 5, second=0, microsecond=0)
    assert api["lastCheck"] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (api["unreadFrom"], api["unreadUntil"]) == (None, None)  # every unsummarised check read
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
        times = browser.evaluate(
            "[...document.querySelectorAll('time')].map(t => [t.textContent, t.dateTime, t.title])"
        )
        label_colours = browser.evaluate(
            "[...document.querySelectorAll('.state')].map(e => "
            "[getComputedStyle(e).color, getComputedStyle(e).backgroundColor])"
        )
        screenshot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    # Kept where CI can collect it (and a person can look): test-artifacts/ in the checkout, not in git.
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "status-page.png"
    shot.write_bytes(base64.b64decode(screenshot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    print(f"\nstatus page screenshot: {shot}")

    by_name = {section["name"]: section for section in page}
    assert list(by_name) == list(NAMES)
    assert by_name["api"]["uptime"] == {"24h": "100.00%", "7d": "100.00%", "30d": "100.00%", "90d": "100.00%"}
    assert by_name["web"]["uptime"]["7d"] == f"{percent(36, counted_7d(data)):.2f}%"
    incident_day = f"{data.incident_start.day} {data.incident_start:%b %Y}"
    [bar] = [bar for bar in by_name["web"]["bars"] if bar["title"].startswith(incident_day + ":")]
    assert bar["title"] == bar["text"] == f"{incident_day}: 87.50% (288 checks, 36 failed)"
    assert [section["state"] for section in page] == ["UP", "UP", "UP"]
    assert all(section["chart"] for section in page)
    assert by_name["web"]["incidents"] == [
        f"{incident_day} 10:00 UTC to 13:00 UTC (3 h 00 min): status 503 not in [2xx]"
    ]
    # Every time is readable, and exact in its <time> element (the tooltip says the same).
    assert times
    for text, exact, title in times:
        assert title == exact
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", exact), exact
        assert re.fullmatch(r"(\d{1,2} [A-Z][a-z]{2} \d{4} )?\d\d:\d\d UTC", text), text
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


@pytest.mark.slow
@pytest.mark.skipif(cdp.chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_page_fits_a_390_px_phone_without_scrolling_sideways(
    seeded: tuple[Seeded, str], status_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An iPhone's width, with what makes a page wide: a long unbroken name and URL, the uptime row, the chart."""
    long = "checkout-service-eu-west-1-primary-health-endpoint-behind-the-load-balancer"
    targets = [{"name": name, "url": f"https://{name}.test/{long}/health"} for name in (*NAMES, long)]
    monkeypatch.setenv("TARGETS", json.dumps(targets))
    monkeypatch.setenv("STATUS_SHOW_URLS", "true")
    binary = cdp.chromium()
    assert binary is not None
    with cdp.launch(binary, tmp_path / "profile") as browser:
        browser.open_page()
        browser.send("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=3, mobile=True)
        browser.send("Page.navigate", url=status_url)
        browser.wait_for_event("Page.loadEventFired")
        widths = browser.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth, "
            "Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))]"
        )
        screenshot = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "status-page-390px.png").write_bytes(base64.b64decode(screenshot))
    scroll_width, client_width, rightmost = widths
    assert client_width == 390
    assert scroll_width <= client_width, widths
    assert rightmost <= client_width, widths


def test_a_first_day_is_drawn_and_an_incident_reads_to_the_minute() -> None:
    from healthcheck.page.data import DayStatus, Incident, StatusData, TargetStatus

    days = [DayStatus(f"2026-11-{day:02d}", None, 0, 0, 0, None, None) for day in range(1, 28)]
    days.append(DayStatus("2026-11-28", 50.0, 2, 1, 0, 100, 150))
    target = TargetStatus(
        name="new",
        url=None,
        state="UP",
        since="2026-11-28T02:13:00Z",
        last_check="2026-11-28T02:19:00Z",
        uptime={"24h": 50.0},
        maintenance={"24h": 0},
        days=days,
        incidents=[Incident("2026-11-28T02:10:00Z", "2026-11-28T02:13:00Z", 180, False, "connection refused")],
    )
    html = render(StatusData("2026-11-28T02:19:13Z", [target]))
    # A line through one point draws nothing; its dots show the day (p50 and p95).
    assert html.count("<circle ") == 2
    when = '<time datetime="{0}" title="{0}">{1}</time>'.format
    assert (
        f"<li>{when('2026-11-28T02:10:00Z', '28 Nov 2026 02:10 UTC')} to "
        f'{when("2026-11-28T02:13:00Z", "02:13 UTC")} <span class="nb">(3 min)</span>: connection refused</li>'
    ) in html
    assert f"since {when('2026-11-28T02:13:00Z', '28 Nov 2026 02:13 UTC')}" in html
    assert f"Updated {when('2026-11-28T02:19:13Z', '28 Nov 2026 02:19 UTC')}." in html
    assert "28 Nov 2026: 50.00% (2 checks, 1 failed)" in html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "under a minute"),
        (59, "under a minute"),
        (180, "3 min"),
        (3600, "1 h 00 min"),
        (7500, "2 h 05 min"),
        (90000, "1 d 1 h"),
    ],
    ids=["zero", "59s", "3min", "1h", "2h05", "25h"],
)
def test_durations_read_as_people_say_them(seconds: int, text: str) -> None:
    from healthcheck.page.render import duration_text

    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("value", "text", "colour"),
    [
        (99.9, "99.90%", "up"),
        (99.8996, "99.90%", "up"),  # shown as 99.90%: green, as 99.90 is
        (99.8949, "99.89%", "partial"),
        (98.996, "99.00%", "partial"),  # shown as 99.00%: orange, as 99.00 is
        (98.994, "98.99%", "down"),
        (99.99999, "99.99%", "up"),
        (None, "no data", "none"),
    ],
    ids=["99.9", "rounds-up-to-99.90", "99.89", "rounds-up-to-99.00", "98.99", "never-100", "no-data"],
)
def test_a_badge_colours_the_figure_it_shows(value: float | None, text: str, colour: str) -> None:
    from healthcheck.page.render import COLOURS, badge

    svg = badge("uptime 30d", value)
    assert f"<title>uptime 30d: {text}</title>" in svg
    assert f'fill="{COLOURS[colour]}"' in svg


@pytest.mark.parametrize(
    ("uptime", "maintenance", "expected"),
    [(100.0, 0, "up"), (98.996, 0, "partial"), (98.994, 0, "down"), (None, 12, "maintenance"), (None, 0, "none")],
    ids=["all-passed", "shown-as-99.00", "shown-as-98.99", "only-maintenance", "no-checks"],
)
def test_a_day_bar_colours_the_figure_it_shows(uptime: float | None, maintenance: int, expected: str) -> None:
    from healthcheck.page.data import DayStatus
    from healthcheck.page.render import bar_class

    assert bar_class(DayStatus("2026-11-28", uptime, 288, 0, maintenance, None, None)) == expected


def test_a_target_without_a_name_is_shown_by_its_public_url(
    seeded: tuple[Seeded, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its name is its whole URL (the records' Id): the page, the JSON and the badge route show the public part."""
    # (User information in a URL is a credential, refused when targets are parsed: see test_targets.)
    secret = "https://api.internal.test/health?key=s3cret#frag"
    other = "https://api.internal.test/health?key=other"
    monkeypatch.setenv(
        "TARGETS",
        json.dumps([{"name": secret, "url": secret}, {"url": other}, {"name": "web", "url": "https://web.test/"}]),
    )
    monkeypatch.setenv("STATUS_SHOW_URLS", "true")
    responses = [get("/?format=json"), get("/"), get("/badge/https%3A%2F%2Fapi.internal.test%2Fhealth.svg")]
    for response in responses:
        assert response["statusCode"] == 200
        for private in ("s3cret", "frag", "other"):
            assert private not in response["body"]
    names = [target["name"] for target in json.loads(responses[0]["body"])["targets"]]
    # Two URLs that differ only in their query are told apart; a named target keeps its name.
    assert names == ["https://api.internal.test/health", "https://api.internal.test/health (2)", "web"]
    # With URLs hidden (a list the stack would refuse, written by hand), not even the host.
    monkeypatch.setenv("STATUS_SHOW_URLS", "false")
    body = get("/?format=json")["body"]
    assert "api.internal.test" not in body
    assert [target["name"] for target in json.loads(body)["targets"]] == ["target 1", "target 2", "web"]


# --- what a view reads ------------------------------------------------------------------------------


@pytest.fixture
def rollups(dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str) -> RollupStore:
    name = f"status-rollups-{next(_numbers)}"
    create_rollup_table(dynamodb_endpoint, name)
    rollup_store._known.clear()
    return RollupStore(dynamodb, name, table)


@pytest.fixture
def states(dynamodb: DynamoDBClient, dynamodb_endpoint: str) -> StateStore:
    """The state table, read through the same client as the rollups (so one meter counts both)."""
    name = f"status-state-{next(_numbers)}"
    create_state_table(dynamodb_endpoint, name)
    return StateStore(dynamodb, name)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _result(name: str, success: bool, *, lines: int = 0, line_bytes: int = 0, maintenance: bool = False) -> CheckResult:
    """A check as the monitor makes it; a failure with ``lines`` unmet expectations of ``line_bytes`` each."""
    failures = tuple(
        f"json $.checks[{n}].status is 'degraded', expected 'ok' ".ljust(line_bytes, "x") for n in range(lines)
    )
    return CheckResult(
        name,
        f"https://{name}.test/health",
        success,
        80,
        status=200 if success else 503,
        error=None if success or failures else "status 503 not in [2xx]",
        failures=() if success else failures,
        maintenance=maintenance,
    )


def _record(rollups: RollupStore, runs: list[tuple[datetime, list[CheckResult]]], shard: str = "1") -> None:
    """Runs as the handler writes them (``RETENTION_DAYS=30``), each followed by its shard's rollups."""
    store = ResultStore(rollups.client, rollups.results_table)
    for moment, results in runs:
        roster = roster_of([(result.name, result.url) for result in results])
        deadline = time.monotonic() + 60
        writer = store.run(
            shard=shard,
            region="us-east-1",
            timestamp=_stamp(moment),
            roster=roster,
            deadline=deadline,
            retention_days=30,
        )
        for result in results:
            writer.record(result)
        writer.finish()
        rollups.flush(shard, "us-east-1", [result.name for result in results], moment, deadline)


NOW = datetime(2026, 11, 28, 10, 49, 30, tzinfo=UTC)
SHARD_TARGETS = [f"target-{number:03d}.example" for number in range(100)]  # 18-character names
# An hour of a one-minute schedule: 60 checks, 12 ms apart over 6 latency buckets; a day of them.
HOUR = "60,60,0,0,0,12345|3:10,4:10,5:10,6:10,7:10,8:10"
DAY = "1440,1440,0,0,0,296280|3:240,4:240,5:240,6:240,7:240,8:240"
# The README's figures for a view of a shard of 100 such targets ("Cost" under "Status page").
SHARD_VIEW_UNITS = {"passing": 167, "failing": 183}


def _shard_history(rollups: RollupStore, states: StateStore, failing: bool) -> None:
    """A shard of 100 targets as a one-minute schedule leaves it at NOW: 91 days of day items, the last day's
    hour items (summarised up to 08:00), then 110 minutes of runs, read raw. ``failing``: 30 of its targets
    fail every check since 09:10, each with 30 unmet expectations of 512 bytes (15 KB failure items), and
    are DOWN."""
    client, table = rollups.client, rollups.table_name
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    summarised = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    targets = {name: {"S": DAY} for name in SHARD_TARGETS}
    for back in range(1, 92):
        day = (today - timedelta(days=back)).strftime("%Y-%m-%d")
        client.put_item(
            TableName=table, Item={"Id": {"S": "day#1#us-east-1"}, "Day": {"S": day}, "Targets": {"M": targets}}
        )
    hourly = {name: {"S": HOUR} for name in SHARD_TARGETS}
    hour = today - timedelta(days=1)
    while hour <= summarised:
        client.put_item(
            TableName=table,
            Item={
                "Id": {"S": "hour#1#us-east-1"},
                "Day": {"S": hour.strftime("%Y-%m-%dT%H")},
                "Targets": {"M": hourly},
            },
        )
        hour += timedelta(hours=1)
    listed = {name: {"S": today.strftime("%Y-%m-%d")} for name in SHARD_TARGETS}
    client.put_item(
        TableName=table,
        Item={
            "Id": {"S": "shards"},
            "Day": {"S": "1#us-east-1"},
            "Hour": {"S": summarised.strftime("%Y-%m-%dT%H")},
            "Names": {"M": listed},
            "Version": {"N": "1"},
        },
    )
    start = summarised + timedelta(hours=1)
    down = set(SHARD_TARGETS[:30]) if failing else set()
    runs = [
        (
            start + timedelta(minutes=minute),
            [_result(name, name not in down or minute < 10, lines=30, line_bytes=512) for name in SHARD_TARGETS],
        )
        for minute in range(110)
    ]
    _record(rollups, runs)
    since = _stamp(start + timedelta(minutes=10))
    for name in down:
        states._client.put_item(TableName=states.table_name, Item=state_item(name, TargetState("DOWN", since=since)))
        rollups.record_transitions([Alert("DOWN", name, "u", since, since, ("json",))], time.monotonic() + 60)


@pytest.mark.slow
@pytest.mark.parametrize("failing", [False, True], ids=["passing", "30-failing-with-15-KB-reasons"])
def test_a_view_of_a_shard_reads_what_the_readme_says_whatever_its_checks_hold(
    rollups: RollupStore, states: StateStore, failing: bool
) -> None:
    """Read units of a view of 100 targets, counted from what each call returned (tests/read_units.py).

    Failure reasons are never read raw, so 30 targets failing with 15 KB of reasons each read no more
    run items than passing ones: only their incidents (one Query each) and their states cost more.
    """
    _shard_history(rollups, states, failing)
    meter = ReadMeter(rollups.client)
    shown = [ShownTarget(name, name) for name in SHARD_TARGETS]
    data = load(shown, rollups, states, NOW, time.monotonic() + 60)
    units = {("results" if table == rollups.results_table else table): value for table, value in meter.units.items()}
    print(f"\nview of 100 targets ({'30 failing' if failing else 'passing'}): {units} = {meter.total} read units")
    assert meter.units[rollups.results_table] <= RAW_READ_BYTES / 8192 + 1  # the raw runs, and their roster
    assert meter.total <= SHARD_VIEW_UNITS["failing" if failing else "passing"]
    today = data.targets[0].days[-1]
    assert (today.checks, data.targets[0].unread_from) == (9 * 60 + 110, None)  # every check of today counted
    states_shown = [target.state for target in data.targets]
    assert states_shown.count("DOWN") == (30 if failing else 0)
    assert states_shown.count("UP") == (70 if failing else 100)


def test_a_view_reads_no_run_item_of_a_shard_without_a_target_shown(rollups: RollupStore, states: StateStore) -> None:
    _record(rollups, [(NOW, [_result("api", True)])], shard="1")
    _record(rollups, [(NOW, [_result("other", True)])], shard="2")
    queried: list[str] = []
    rollups.client.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: queried.append(params["ExpressionAttributeValues"][":id"]["S"]),
    )
    [target] = load([ShownTarget("api", "api")], rollups, states, NOW, time.monotonic() + 60).targets
    assert target.last_check == _stamp(NOW)
    assert "run#2" not in queried
    assert queried.count("shards") == 1


def test_a_view_stops_at_its_budget_and_says_what_it_left_unread(
    rollups: RollupStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rollups stalled (say, a rollups table the function could not write): the runs since are read newest first,
    within the budget; the older ones are left out of the figures, and the page says which."""
    monkeypatch.setattr("healthcheck.page.data.RAW_READ_BYTES", 2 * 4096)
    names = [f"t{number}" for number in range(100)]
    start = NOW - timedelta(minutes=30)
    _record(
        rollups, [(start + timedelta(minutes=minute), [_result(name, True) for name in names]) for minute in range(31)]
    )
    meter = ReadMeter(rollups.client)
    [target, *_] = load([ShownTarget(name, name) for name in names], rollups, None, NOW, time.monotonic() + 60).targets
    assert meter.units[rollups.results_table] <= 1 + 1  # 8 KB of run items, then its roster
    assert target.unread_from is not None
    assert target.unread_until is not None
    assert 0 < target.days[-1].checks < 31


def test_a_check_not_summarised_yet_shows_however_long_ago_it_was(rollups: RollupStore) -> None:
    """A daily schedule: its check's hour is summarised by the next run, a day later; until then it is read raw."""
    today = datetime(2026, 11, 28, tzinfo=UTC)
    runs = [
        (today - timedelta(days=back), [_result("api", success)])
        for back, success in ((2, True), (1, True), (0, False))
    ]
    _record(rollups, runs)  # 00:00 each day, as cron(0 0 * * ? *) runs
    data = load([ShownTarget("api", "api")], rollups, None, today + timedelta(hours=20), time.monotonic() + 60)
    [target] = data.targets
    assert [(day.checks, day.failed) for day in target.days[-3:]] == [(1, 0), (1, 0), (1, 1)]
    # A day between checks is no sign of a stopped monitor on a daily schedule: no state table, so UNKNOWN,
    # but its last check is known.
    assert (target.state, target.last_check) == ("UNKNOWN", "2026-11-28T00:00:00Z")


def _reads(*checks: Check, state: TargetState | None = None) -> TargetReads:
    return TargetReads(recent=list(reversed(checks)), state=state)


def _check(success: bool, at: datetime, *, maintenance: bool = False) -> Check:
    """A check as the page reads it from a run item."""
    return Check("api", _stamp(at), success, 80, 200 if success else 503, maintenance=maintenance, region="us-east-1")


@pytest.mark.parametrize(
    ("records", "state", "now", "expected"),
    [
        ([], TargetState("UP"), NOW, ("UNKNOWN", None)),
        (
            [_check(True, NOW - timedelta(minutes=m)) for m in (6, 1)],
            TargetState("UP", since="2026-11-01T00:00:00Z"),
            NOW,
            ("UP", "2026-11-01T00:00:00Z"),
        ),
        # Five minutes apart, the latest 31 minutes ago: three intervals and 15 minutes have gone by.
        ([_check(True, NOW - timedelta(minutes=m)) for m in (36, 31)], TargetState("UP"), NOW, ("UNKNOWN", None)),
        ([_check(True, NOW - timedelta(minutes=m)) for m in (34, 29)], TargetState("UP"), NOW, ("UP", None)),
        (
            [_check(False, NOW - timedelta(minutes=m)) for m in (6, 1)],
            TargetState("DOWN", since="2026-11-28T10:00:00Z"),
            NOW,
            ("DOWN", "2026-11-28T10:00:00Z"),
        ),
        (
            [
                _check(True, NOW - timedelta(minutes=9)),
                *(_check(False, NOW - timedelta(minutes=m), maintenance=True) for m in (8, 4, 1)),
            ],
            TargetState("UP"),
            NOW,
            ("MAINTENANCE", _stamp(NOW - timedelta(minutes=8))),
        ),
        ([_check(True, NOW - timedelta(minutes=m)) for m in (6, 1)], None, NOW, ("UNKNOWN", None)),
    ],
    ids=["no-checks", "up", "stale", "not-stale-yet", "down", "maintenance", "no-state-table"],
)
def test_the_state_shown(
    records: list[Check], state: TargetState | None, now: datetime, expected: tuple[str, str | None]
) -> None:
    from healthcheck.page.data import build

    [target] = build([ShownTarget("api", "api")], {"api": _reads(*records, state=state)}, now).targets
    assert (target.state, target.since) == expected


def _stored(start: str, end: str | None = None, reason: str | None = "status 503 not in [2xx]") -> StoredIncident:
    return StoredIncident(f"2026-11-28T{start}:00Z", f"2026-11-28T{end}:00Z" if end else None, reason)


@pytest.mark.parametrize(
    ("stored", "state", "expected"),
    [
        (
            [_stored("09:10", "09:13")],
            TargetState("UP", since="2026-11-28T09:13:00Z"),
            [("2026-11-28T09:10:00Z", "2026-11-28T09:13:00Z", 180, False, "status 503 not in [2xx]")],
        ),
        (
            [_stored("10:00", reason="timed out after 10 s"), _stored("09:10", "09:13")],
            TargetState("DOWN", since="2026-11-28T10:00:00Z"),
            [
                ("2026-11-28T10:00:00Z", None, 2970, True, "timed out after 10 s"),
                ("2026-11-28T09:10:00Z", "2026-11-28T09:13:00Z", 180, False, "status 503 not in [2xx]"),
            ],
        ),
        # The recovery's write was lost: the state's UP since is where the latest incident ended.
        (
            [_stored("09:10")],
            TargetState("UP", since="2026-11-28T09:13:00Z"),
            [("2026-11-28T09:10:00Z", "2026-11-28T09:13:00Z", 180, False, "status 503 not in [2xx]")],
        ),
        # ... but only the latest: an older one without its end says so.
        (
            [_stored("09:30", "09:40"), _stored("09:10")],
            TargetState("UP", since="2026-11-28T09:40:00Z"),
            [
                ("2026-11-28T09:30:00Z", "2026-11-28T09:40:00Z", 600, False, "status 503 not in [2xx]"),
                ("2026-11-28T09:10:00Z", None, None, False, "status 503 not in [2xx]"),
            ],
        ),
        # DOWN since before incidents were recorded: still shown, from the state.
        ([], TargetState("DOWN", since="2026-11-28T10:40:00Z"), [("2026-11-28T10:40:00Z", None, 570, True, None)]),
    ],
    ids=["recovered", "ongoing-and-one-before", "recovery-not-recorded", "older-end-not-recorded", "down-unrecorded"],
)
def test_incidents_are_the_states_transitions(
    stored: list[StoredIncident], state: TargetState, expected: list[tuple[object, ...]]
) -> None:
    from healthcheck.page.data import build

    reads = TargetReads(recent=[_check(True, NOW - timedelta(minutes=1))], incidents=stored, state=state)
    data = build([ShownTarget("api", "api")], {"api": reads}, NOW)
    incidents = data.targets[0].incidents
    assert [(i.start, i.end, i.duration_s, i.ongoing, i.reason) for i in incidents] == expected
    html = render(data)
    assert html.count("<strong>Ongoing</strong> since") == sum(1 for row in expected if row[3])
    assert html.count("to a time not recorded") == sum(1 for row in expected if row[1] is None and not row[3])


def test_a_target_in_maintenance_shows_maintenance_not_up(rollups: RollupStore, states: StateStore) -> None:
    """A whole day inside a maintenance window: the label, the figures and the bar say maintenance."""
    start = NOW.replace(hour=0, minute=0, second=0)
    runs = [
        (start + timedelta(minutes=minute), [_result("api", True, maintenance=True)])
        for minute in range(0, 10 * 60 + 45, 5)
    ]
    _record(rollups, runs)
    data = load([ShownTarget("api", "api")], rollups, states, NOW, time.monotonic() + 60)
    [target] = data.targets
    assert (target.state, target.since) == ("MAINTENANCE", "2026-11-28T00:00:00Z")
    assert (target.uptime["24h"], target.maintenance["24h"]) == (None, len(runs))
    html = render(data)
    assert 'class="state state-MAINTENANCE">MAINTENANCE</span>' in html
    assert "<dt>24h</dt><dd>maintenance</dd>" in html
    day = f"28 Nov 2026: maintenance ({len(runs)} checks, 0 failed, {len(runs)} in maintenance)"
    assert f'<li class="maintenance" title="{day}">' in html


def test_an_outage_of_3_minutes_reads_as_the_alerts_said_it(
    http_server: FaultServer, probe: Probe, rollups: RollupStore, states: StateStore
) -> None:
    """Runs through the monitor's handler a minute apart; 02:10-02:12 fail: DOWN at the 3rd, UP at the 2nd success."""
    client = rollups._client
    settings = Settings(rollups.results_table, [], state_table_name=states.table_name)
    start = datetime(2026, 11, 28, 2, 8, tzinfo=UTC)
    for minute in range(7):
        path = "/status/503" if 2 <= minute <= 4 else "/ok"
        moment = start + timedelta(minutes=minute)
        with contextlib.redirect_stdout(io.StringIO()):
            check_and_record(
                {"time": _stamp(moment), "targets": [{"name": "api", "url": f"{http_server.base_url}{path}"}]},
                None,
                settings=settings,
                probe=probe,
                store=ResultStore(client, rollups.results_table),
                now=moment,
                state_store=states,
                rollups=rollups,
            )
    viewed = datetime(2026, 11, 28, 2, 19, 13, tzinfo=UTC)
    [target] = load([ShownTarget("api", "api")], rollups, states, viewed, time.monotonic() + 60).targets
    assert (target.state, target.since) == ("UP", "2026-11-28T02:13:00Z")
    [incident] = target.incidents
    assert (incident.start, incident.end, incident.duration_s, incident.ongoing) == (
        "2026-11-28T02:10:00Z",
        "2026-11-28T02:13:00Z",
        180,
        False,
    )
    assert incident.reason == "status 503 not in [2xx]"


# The README's figures for a badge of one target of such a shard, by period.
BADGE_UNITS = {"24h": 33, "7d": 39, "30d": 60, "90d": 117}


@pytest.mark.slow
def test_a_badge_reads_the_days_of_its_period_only(rollups: RollupStore, states: StateStore) -> None:
    _shard_history(rollups, states, failing=False)
    spent = {}
    for period, length in PERIODS.items():
        meter = ReadMeter(rollups.client)
        [target] = load(
            [ShownTarget(SHARD_TARGETS[0], "badge")], rollups, states, NOW, time.monotonic() + 60, days_back=length.days
        ).targets
        spent[period] = meter.total
        assert target.uptime[period] == 100.0
    print(f"\nbadge of one target of a shard of 100: {spent} read units")
    assert all(spent[period] <= BADGE_UNITS[period] for period in PERIODS), spent


def test_a_target_checked_from_several_regions_shows_which_see_it_up() -> None:
    """Each region's newest check: up from those whose passed (or did not count), failing from the others."""
    from healthcheck.page.data import StatusData, build

    def check(region: str, minutes: int, success: bool, inconclusive: bool = False) -> Check:
        at = _stamp(NOW - timedelta(minutes=minutes))
        return Check("api", at, success, 80, 200 if success else 503, inconclusive=inconclusive, region=region)

    records = [
        check("eu-west-1", 2, True),
        check("eu-west-1", 1, False),
        check("us-east-1", 2, False),
        check("us-east-1", 1, True),
        check("ap-southeast-1", 1, False, inconclusive=True),
    ]
    state = TargetState("PARTIAL", since=_stamp(NOW - timedelta(minutes=3)), failing=("eu-west-1",))
    [target] = build([ShownTarget("api", "api")], {"api": _reads(*records, state=state)}, NOW).targets
    assert (target.state, target.regions_up, target.regions_down) == (
        "PARTIAL",
        ["ap-southeast-1", "us-east-1"],
        ["eu-west-1"],
    )
    html = render(StatusData("2026-11-28T02:19:13Z", [target]))
    assert '<span class="state state-PARTIAL">PARTIAL</span>' in html
    assert '<span class="regions">up from ap-southeast-1, us-east-1; failing from eu-west-1</span>' in html
    one = build([ShownTarget("api", "api")], {"api": _reads(*records[:2], state=state)}, NOW).targets[0]
    assert (one.regions_up, one.regions_down) == ([], [])  # one region: nothing more to say
