"""``healthcheck.status.handler``: the status page, a Lambda Function URL handler (payload 2.0).

Routes: ``/`` (HTML), ``/?format=json`` (the same data), ``/badge/<target>.svg``
(``?period=24h|7d|30d|90d``, default 30d). Only GET and HEAD.

Routing is a dozen lines here rather than Powertools' ``LambdaFunctionUrlResolver``:
three fixed routes do not need a router, and Powertools is not in the image
(a 2.5 MB dependency and its import time on every cold start, for this).

Environment: ``TABLE_NAME`` and ``ROLLUP_TABLE_NAME`` (required here),
``STATE_TABLE_NAME`` (the current state; optional), ``TARGETS`` (which targets
to show, in order), ``STATUS_SHOW_URLS`` ("true" shows each target's URL,
without credentials or query, and failure reasons whole; otherwise a reason
is cut to its kind, e.g. "name not resolved"). The function's role only reads.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit, urlunsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .alerting.state_store import StateStore
from .check.targets import parse_targets, redact_url
from .config import Settings
from .exceptions import ConfigError, HealthcheckError
from .history.rollup_store import RollupStore
from .page.data import DAYS_SHOWN, PERIODS, ShownTarget, StatusData, load, without_details
from .page.render import badge, render
from .retrying import CLIENT_CONFIG
from .text import clip

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["CACHE_SECONDS", "handler", "page_html", "respond", "targets_shown"]

log = logging.getLogger(__name__)

# Runs are minutes apart: a minute of caching costs no freshness worth having, and caps reads.
CACHE_SECONDS: Final = 60
BADGE_CACHE_SECONDS: Final = 300
READ_BUDGET_S: Final = 10.0
SECURITY_HEADERS: Final = {
    # Nothing on the page loads anything: say so, so a browser refuses any injected request.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _public_url(url: str) -> str:
    """``url`` without credentials, query or fragment: what a public page may show."""
    parts = urlsplit(redact_url(url))
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def targets_shown(settings: Settings) -> list[ShownTarget]:
    """Each configured target as the page shows it, in the configured order.

    With URLs hidden the stack lists names alone, so that more targets fit
    Lambda's 4 KB environment; target objects, as the monitor reads them, work too.
    A target without a name of its own is named by its URL, query, fragment and
    user token included: the page calls it by its public URL instead (or, with
    URLs hidden, by its place in the list), and reads its records by the real name.
    """
    shown: dict[str, ShownTarget] = {}
    taken: set[str] = set()
    for index, entry in enumerate(settings.targets or [], start=1):
        if isinstance(entry, str):
            if entry and entry not in shown:
                shown[entry] = ShownTarget(entry, entry)
                taken.add(entry)
            continue
        for target in parse_targets([entry]).valid:
            if target.name in shown:
                continue
            public = _public_url(target.url)
            name = target.name
            if name == redact_url(target.url):
                name = public if settings.status_show_urls else f"target {index}"
            # Two URLs that differ only in their query would show as one name: the badge route needs them apart.
            unique, number = name, 1
            while unique in taken:
                number += 1
                unique = f"{name} ({number})"
            taken.add(unique)
            shown[target.name] = ShownTarget(target.name, unique, public if settings.status_show_urls else None)
    return list(shown.values())


def _shown(settings: Settings, data: StatusData) -> StatusData:
    """Failure reasons name hosts, redirects and response text: shown whole only with the URLs."""
    return data if settings.status_show_urls else without_details(data)


def _response(status: int, body: str, content_type: str, cache_seconds: int, head: bool) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "content-type": content_type,
            "cache-control": f"public, max-age={cache_seconds}" if cache_seconds else "no-store",
            **SECURITY_HEADERS,
        },
        "body": "" if head else body,
        "isBase64Encoded": False,
    }


def _error(status: int, message: str, head: bool) -> dict[str, Any]:
    return _response(status, json.dumps({"error": message}), "application/json", 0, head)


def _method(event: Mapping[str, Any]) -> str:
    return str(event.get("requestContext", {}).get("http", {}).get("method", "GET")).upper()


def respond(event: Mapping[str, Any], data: Callable[[str | None, str | None], StatusData]) -> dict[str, Any]:
    """The response to a Function URL event.

    ``data(name, period)`` reads the figures (of target ``name`` and for ``period``
    only, for a badge), and is called only once the request is known good: a bad
    path reads nothing.
    """
    method = _method(event)
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        response = _error(405, "only GET and HEAD", head)
        response["headers"]["allow"] = "GET, HEAD"
        return response
    path = str(event.get("rawPath") or "/")
    query = event.get("queryStringParameters") or {}
    if path == "/":
        form = query.get("format", "html")
        if form == "json":
            return _response(200, json.dumps(data(None, None).to_json()), "application/json", CACHE_SECONDS, head)
        if form != "html":
            return _error(400, "format must be html or json", head)
        return _response(200, render(data(None, None)), "text/html; charset=utf-8", CACHE_SECONDS, head)
    if path.startswith("/badge/") and path.endswith(".svg"):
        name = unquote(path.removeprefix("/badge/").removesuffix(".svg"))
        period = str(query.get("period", "30d"))
        if period not in PERIODS:
            return _error(400, f"period must be one of {', '.join(PERIODS)}", head)
        for target in data(name, period).targets:
            if target.name == name:
                svg = badge(f"uptime {period}", target.uptime[period], target.maintenance[period])
                return _response(200, svg, "image/svg+xml", BADGE_CACHE_SECONDS, head)
        return _error(404, f"no target named {clip(name, 200)!r}", head)
    return _error(404, "not found: try /, /?format=json or /badge/<target>.svg", head)


def _stores(settings: Settings) -> tuple[RollupStore, StateStore | None]:
    if settings.rollup_table_name is None:
        raise ConfigError("ROLLUP_TABLE_NAME is not set: the status page reads the rollups table")
    client = _dynamodb()
    rollups = RollupStore(client, settings.rollup_table_name, settings.table_name)
    return rollups, StateStore(client, settings.state_table_name) if settings.state_table_name else None


def page_html(settings: Settings, now: datetime, deadline: float) -> str:
    """The page as ``/`` serves it, at ``now`` (``make run`` writes it to status.html)."""
    rollups, state = _stores(settings)
    return render(_shown(settings, load(targets_shown(settings), rollups, state, now, deadline)))


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """``healthcheck.status.handler``: the status function's image command."""
    head = _method(event) == "HEAD"
    try:
        settings = Settings.from_environ(os.environ)
        rollups, state = _stores(settings)
        shown = targets_shown(settings)

        def data(only: str | None, period: str | None) -> StatusData:
            targets = [target for target in shown if only is None or target.name == only]
            now, deadline = datetime.now(UTC), time.monotonic() + READ_BUDGET_S
            # A badge reads the days of its period only: "7d" is 7 days' items, not 90.
            days_back = PERIODS[period].days if period is not None else DAYS_SHOWN
            return _shown(settings, load(targets, rollups, state, now, deadline, days_back=days_back))

        return respond(event, data)
    except (HealthcheckError, ClientError, BotoCoreError, TimeoutError) as exc:
        # Ours, not the visitor's: a short answer that names no table, and the whole error in the log.
        log.error("status page not available: %s", exc)
        response = _error(503, "the status page can't read its data right now; try again in a minute", head)
        response["headers"]["retry-after"] = str(CACHE_SECONDS)
        return response


@functools.cache
def _dynamodb() -> DynamoDBClient:
    """Built on the first request, then kept across warm invocations."""
    client: DynamoDBClient = boto3.client("dynamodb", config=CLIENT_CONFIG)
    return client
