"""The function's environment, read in one place and tested with plain dicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from .exceptions import ConfigError

__all__ = ["ENV_MAX_CONCURRENCY", "ENV_RETENTION_DAYS", "ENV_TABLE_NAME", "ENV_TARGETS", "Settings"]

ENV_TABLE_NAME = "TABLE_NAME"
ENV_TARGETS = "TARGETS"
ENV_MAX_CONCURRENCY = "MAX_CONCURRENCY"
ENV_RETENTION_DAYS = "RETENTION_DAYS"
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
    retention_days: int | None = None
    """Records expire (``ExpiresAt``) this many days after their event; None: kept for ever."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        table_name = environ.get(ENV_TABLE_NAME, "").strip()
        if not table_name:
            raise ConfigError(f"{ENV_TABLE_NAME} is not set: it names the DynamoDB table for check records")
        return cls(
            table_name=table_name,
            targets=_targets(environ.get(ENV_TARGETS)),
            max_concurrency=_concurrency(environ.get(ENV_MAX_CONCURRENCY)),
            retention_days=_retention_days(environ.get(ENV_RETENTION_DAYS)),
        )


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
