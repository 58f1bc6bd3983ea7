"""The function's environment, read in one place and tested with plain dicts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .alerting.maintenance import NO_WINDOWS, MaintenanceWindowError, Schedule, parse_windows
from .alerting.policy import DEFAULT_POLICY, AlertPolicy, PolicyValueError, parse_policy
from .alerting.regions import default_quorum
from .check.targets import parse_target
from .exceptions import ConfigError, InvalidTargetError
from .history.record_store import LOCAL_REGION

__all__ = [
    "ENV_ALERTING",
    "ENV_ALERT_ON_PARTIAL",
    "ENV_ALERT_TOPIC_ARN",
    "ENV_CONNECTIVITY_CHECK",
    "ENV_HOME_REGION",
    "ENV_LOG_CHECKS",
    "ENV_MAINTENANCE",
    "ENV_MAX_CONCURRENCY",
    "ENV_PER_TARGET_METRICS",
    "ENV_QUORUM",
    "ENV_REGION",
    "ENV_REGIONS",
    "ENV_RETENTION_DAYS",
    "ENV_ROLLUP_TABLE_NAME",
    "ENV_STATE_TABLE_NAME",
    "ENV_STATUS_SHOW_URLS",
    "ENV_TABLE_NAME",
    "ENV_TARGETS",
    "LOG_CHECKS_MODES",
    "Settings",
    "region_of",
]

ENV_TABLE_NAME = "TABLE_NAME"
ENV_TARGETS = "TARGETS"
ENV_MAX_CONCURRENCY = "MAX_CONCURRENCY"
ENV_STATE_TABLE_NAME = "STATE_TABLE_NAME"
ENV_ALERT_TOPIC_ARN = "ALERT_TOPIC_ARN"
ENV_ALERTING = "ALERTING"
ENV_MAINTENANCE = "MAINTENANCE"
ENV_CONNECTIVITY_CHECK = "CONNECTIVITY_CHECK"
ENV_PER_TARGET_METRICS = "PER_TARGET_METRICS"
ENV_RETENTION_DAYS = "RETENTION_DAYS"
ENV_ROLLUP_TABLE_NAME = "ROLLUP_TABLE_NAME"
ENV_STATUS_SHOW_URLS = "STATUS_SHOW_URLS"
# Lambda sets both to the function's own region; AWS_DEFAULT_REGION alone is what a shell may have.
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
# A region names record keys ("<time>#<region>"): no "#", and short.
_REGION = re.compile(r"[A-Za-z0-9-]{1,64}")
ENV_LOG_CHECKS = "LOG_CHECKS"
# Several regions (issue 17): the stack gives every region's function the same four. REGIONS lists the
# regions that check, comma-separated (unset: the function's own region alone, as before); QUORUM how many
# must fail for DOWN; ALERT_ON_PARTIAL "true" pages fewer; HOME_REGION is where the tables, the topic and
# the secrets are (unset: the function's own region).
ENV_REGIONS = "REGIONS"
ENV_QUORUM = "QUORUM"
ENV_ALERT_ON_PARTIAL = "ALERT_ON_PARTIAL"
ENV_HOME_REGION = "HOME_REGION"
# Which checks get a log line of their own: only those that did not pass (the default), or every one.
# The records table holds every check either way; a line per healthy check cost 214 bytes of logs.
LOG_CHECKS_MODES: Final = ("failures", "all")
# A hundred years: past that, "keep forever" is what is meant, and that is leaving it unset.
MAX_RETENTION_DAYS = 36500
DEFAULT_MAX_CONCURRENCY = 128
# Lambda allows 1024 threads per execution environment; leave room for the runtime.
MAX_CONCURRENCY_LIMIT = 512


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    targets: list[object] | None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    state_table_name: str | None = None
    """None: no state, so no alerts either (records only)."""
    alert_topic_arn: str | None = None
    """None: state is kept, alerts stay pending in it (and ``make run`` prints them)."""
    alerting: AlertPolicy = DEFAULT_POLICY
    maintenance: Schedule = NO_WINDOWS
    connectivity_check: str | None = None
    per_target_metrics: bool = False
    retention_days: int | None = None
    """Records expire (``ExpiresAt``) this many days after their event; None: kept for ever."""
    rollup_table_name: str | None = None
    """None: no hourly rollups (and no status page figures)."""
    status_show_urls: bool = False
    """The status page shows target URLs (redacted) only when this is set: a public page must not publish them."""
    region: str = LOCAL_REGION
    """The region a run checks from, recorded with every check: the function's own ``AWS_REGION``."""
    log_checks: Literal["failures", "all"] = "failures"
    """``failures``: a log line for each check that did not pass (or was inconclusive); ``all``: for every check."""
    regions: tuple[str, ...] = ()
    """The regions that check (``REGIONS``), in the stack's order; empty: this one alone, exactly as before."""
    quorum: int = 1
    """How many voting regions must agree (alerting/regions.py); 1 with one region."""
    alert_on_partial: bool = False
    home_region: str | None = None
    """Where the tables, the topic and the secrets are; None: the function's own region."""

    @property
    def multi_region(self) -> bool:
        """Whether several regions vote on each target (one region: today's single-region state, unchanged)."""
        return len(self.regions) > 1

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        table_name = environ.get(ENV_TABLE_NAME, "").strip()
        if not table_name:
            raise ConfigError(f"{ENV_TABLE_NAME} is not set: it names the DynamoDB table for check records")
        return cls(
            table_name=table_name,
            targets=_targets(environ.get(ENV_TARGETS)),
            max_concurrency=_concurrency(environ.get(ENV_MAX_CONCURRENCY)),
            state_table_name=_optional_text(environ.get(ENV_STATE_TABLE_NAME)),
            alert_topic_arn=_optional_text(environ.get(ENV_ALERT_TOPIC_ARN)),
            alerting=_alerting(environ.get(ENV_ALERTING)),
            maintenance=_maintenance(environ.get(ENV_MAINTENANCE)),
            connectivity_check=_connectivity_check(environ.get(ENV_CONNECTIVITY_CHECK)),
            per_target_metrics=_flag(ENV_PER_TARGET_METRICS, environ.get(ENV_PER_TARGET_METRICS)),
            retention_days=_retention_days(environ.get(ENV_RETENTION_DAYS)),
            rollup_table_name=_optional_text(environ.get(ENV_ROLLUP_TABLE_NAME)),
            status_show_urls=_flag(ENV_STATUS_SHOW_URLS, environ.get(ENV_STATUS_SHOW_URLS)),
            region=_region(environ),
            log_checks=_log_checks(environ.get(ENV_LOG_CHECKS)),
            **_regions(environ),
        ).checked()

    def checked(self) -> Settings:
        """These settings, once the function's own region is known to be one of several that vote."""
        if self.multi_region and self.region not in self.regions:
            raise ConfigError(f"{ENV_REGION} {self.region} is not one of {ENV_REGIONS} ({', '.join(self.regions)})")
        return self


def _regions(environ: Mapping[str, str]) -> dict[str, Any]:
    """REGIONS, QUORUM, ALERT_ON_PARTIAL and HOME_REGION, checked together (the stack validates them first)."""
    regions = tuple(name.strip() for name in (environ.get(ENV_REGIONS) or "").split(",") if name.strip())
    for name in regions:
        if not _REGION.fullmatch(name):
            raise ConfigError(f"{ENV_REGIONS} must list region names (letters, digits and '-'), got {name[:80]!r}")
    if len(set(regions)) != len(regions):
        raise ConfigError(f"{ENV_REGIONS} names a region twice: {','.join(regions)[:200]}")
    home = _optional_text(environ.get(ENV_HOME_REGION))
    if home is not None and not _REGION.fullmatch(home):
        raise ConfigError(f"{ENV_HOME_REGION} must be a region name (letters, digits and '-'), got {home[:80]!r}")
    count = max(1, len(regions))
    text = _optional_text(environ.get(ENV_QUORUM))
    if text is None:
        quorum = default_quorum(count)
    else:
        try:
            quorum = int(text)
        except ValueError as exc:
            raise ConfigError(f"{ENV_QUORUM} must be a whole number, got {text[:40]!r}") from exc
        if not 1 <= quorum <= count:
            raise ConfigError(f"{ENV_QUORUM} must be from 1 to {count} (the regions in {ENV_REGIONS}), got {quorum}")
    return {
        "regions": regions,
        "quorum": quorum,
        "alert_on_partial": _flag(ENV_ALERT_ON_PARTIAL, environ.get(ENV_ALERT_ON_PARTIAL)),
        "home_region": home,
    }


def region_of(environ: Mapping[str, str]) -> str:
    """The function's own region (``AWS_REGION``), or ``local`` when the environment names none."""
    return _region(environ)


def _region(environ: Mapping[str, str]) -> str:
    name = _optional_text(environ.get(ENV_REGION)) or _optional_text(environ.get(ENV_DEFAULT_REGION)) or LOCAL_REGION
    if not _REGION.fullmatch(name):
        raise ConfigError(f"{ENV_REGION} must be a region name (letters, digits and '-'), got {name[:80]!r}")
    return name


def _optional_text(text: str | None) -> str | None:
    return text.strip() if text is not None and text.strip() else None


def _json(name: str, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON: {exc}") from exc


def _alerting(text: str | None) -> AlertPolicy:
    if text is None or not text.strip():
        return DEFAULT_POLICY
    try:
        return parse_policy(_json(ENV_ALERTING, text))
    except PolicyValueError as exc:
        raise ConfigError(f"{ENV_ALERTING}: {exc}") from exc


def _maintenance(text: str | None) -> Schedule:
    if text is None or not text.strip():
        return NO_WINDOWS
    try:
        return parse_windows(_json(ENV_MAINTENANCE, text))
    except MaintenanceWindowError as exc:
        raise ConfigError(f"{ENV_MAINTENANCE}: {exc}") from exc


def _connectivity_check(text: str | None) -> str | None:
    url = _optional_text(text)
    if url is not None:
        try:
            parse_target({"url": url})  # the same URL rules as a target's
        except InvalidTargetError as exc:
            raise ConfigError(f"{ENV_CONNECTIVITY_CHECK}: {exc}") from exc
    return url


def _flag(name: str, text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in ("", "false"):
        return False
    if value == "true":
        return True
    raise ConfigError(f'{name} must be "true" or "false", got {text!r}')


def _log_checks(text: str | None) -> Literal["failures", "all"]:
    value = (text or "").strip()
    if value in ("", "failures"):
        return "failures"
    if value == "all":
        return "all"
    raise ConfigError(f"{ENV_LOG_CHECKS} must be one of {', '.join(LOG_CHECKS_MODES)}, got {text!r}")


def _targets(text: str | None) -> list[object] | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{ENV_TARGETS} is not valid JSON: {exc}") from exc
    if not isinstance(value, list):
        raise ConfigError(f"{ENV_TARGETS} must be a JSON list of targets, got {type(value).__name__}")
    return value


def _concurrency(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_MAX_CONCURRENCY
    try:
        value = int(text)
    except ValueError as exc:
        raise ConfigError(f"{ENV_MAX_CONCURRENCY} must be a whole number, got {text!r}") from exc
    if not 1 <= value <= MAX_CONCURRENCY_LIMIT:
        raise ConfigError(f"{ENV_MAX_CONCURRENCY} must be between 1 and {MAX_CONCURRENCY_LIMIT}, got {value}")
    return value


def _retention_days(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise ConfigError(f"{ENV_RETENTION_DAYS} must be a whole number of days, got {text!r}") from exc
    if not 1 <= value <= MAX_RETENTION_DAYS:
        raise ConfigError(f"{ENV_RETENTION_DAYS} must be from 1 to {MAX_RETENTION_DAYS} days, got {value}")
    return value
