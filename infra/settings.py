"""The stack's configuration, validated once so a bad value fails `pulumi preview`.

Targets go through the function's own model (``healthcheck.targets``): the
error a user sees at preview is the one the function would have logged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from healthcheck.exceptions import HealthcheckError
from healthcheck.targets import Target, require_valid

__all__ = ["LOG_RETENTION_DAYS", "SettingsError", "StackSettings"]

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
_RATE = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
# The handler keeps up to 10 s of the Lambda timeout for writing records.
WRITE_RESERVE_S = 10


class SettingsError(HealthcheckError, ValueError):
    """A stack config value that cannot be deployed; the message names the key."""


def _check_schedule(expression: str) -> str:
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if (value == 1) != (not unit.endswith("s")):
            raise SettingsError(f"healthcheck:schedule {expression!r}: write 'rate(1 minute)' or 'rate(5 minutes)'")
        return expression
    cron = _CRON.match(expression)
    if cron and len(cron["fields"].split()) == 6:
        return expression
    raise SettingsError(
        f"healthcheck:schedule {expression!r} must be 'rate(N minutes|hours|days)' "
        "or 'cron(minutes hours day-of-month month day-of-week year)'"
    )


def _check_range(key: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"healthcheck:{key} must be a whole number from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class StackSettings:
    targets: tuple[Target, ...]
    schedule: str = "rate(5 minutes)"
    memory_size: int = 512
    timeout: int = 120
    log_retention_days: int = 30

    @classmethod
    def from_values(
        cls,
        *,
        targets: object,
        schedule: str | None = None,
        memory_size: int | None = None,
        timeout: int | None = None,
        log_retention_days: int | None = None,
    ) -> StackSettings:
        """Validate raw config values (None means the default)."""
        defaults = cls(targets=())
        try:
            checked = require_valid(targets, source="healthcheck:targets")
        except HealthcheckError as exc:
            raise SettingsError(str(exc)) from exc
        if not checked:
            raise SettingsError("healthcheck:targets is empty: give at least one {url: ...}")
        settings = cls(
            targets=checked,
            schedule=_check_schedule(schedule if schedule is not None else defaults.schedule),
            memory_size=_check_range("memorySize", memory_size or defaults.memory_size, 128, 10240),
            timeout=_check_range("timeout", timeout or defaults.timeout, 1, 900),
            log_retention_days=log_retention_days or defaults.log_retention_days,
        )
        if settings.log_retention_days not in LOG_RETENTION_DAYS:
            raise SettingsError(
                f"healthcheck:logRetentionDays must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}, "
                f"got {settings.log_retention_days!r}"
            )
        slowest = max(target.timeout for target in checked)
        if settings.timeout < slowest + WRITE_RESERVE_S:
            raise SettingsError(
                f"healthcheck:timeout {settings.timeout} s leaves no room for the slowest target "
                f"({slowest:g} s) plus {WRITE_RESERVE_S} s to write records: raise it to at least "
                f"{int(slowest) + WRITE_RESERVE_S + 1}"
            )
        return settings

    def targets_env(self, limit: int) -> str | None:
        """TARGETS for the environment when it fits ``limit`` characters (Lambda allows 4 KB in all)."""
        text = json.dumps([t.to_json() for t in self.targets], separators=(",", ":"))
        return text if len(text) <= limit else None
