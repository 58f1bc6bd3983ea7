"""When a target's state moves and how often it is re-announced: the ``alerting`` defaults and per-target overrides.

One set of bounds serves the stack's ``alerting`` object (the ALERTING
variable) and each target's own ``failureThreshold``, ``successThreshold`` and
``remindEveryMinutes``, so ``pulumi preview`` and the function agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .text import show

__all__ = [
    "DEFAULT_POLICY",
    "MAX_THRESHOLD",
    "MIN_REMIND_MINUTES",
    "AlertPolicy",
    "PolicyValueError",
    "check_remind_minutes",
    "check_threshold",
    "parse_policy",
]

# Gatus's defaults: three failures in a row before DOWN, two successes before UP.
DEFAULT_FAILURE_THRESHOLD: Final = 3
DEFAULT_SUCCESS_THRESHOLD: Final = 2
# At one run a minute, 100 is over an hour and a half: a longer debounce hides outages.
MAX_THRESHOLD: Final = 100
# A reminder more often than every 5 minutes is the alert storm users complain of.
MIN_REMIND_MINUTES: Final = 5
# A week: anything longer is better served by "never" (0).
MAX_REMIND_MINUTES: Final = 7 * 24 * 60
POLICY_FIELDS: Final = ("failureThreshold", "successThreshold", "remindEveryMinutes")


class PolicyValueError(ValueError):
    """A threshold or reminder interval out of bounds; callers re-raise it as their own error kind."""


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    success_threshold: int = DEFAULT_SUCCESS_THRESHOLD
    remind_every_minutes: int = 0
    """0: never remind."""

    def for_target(
        self, failure_threshold: int | None, success_threshold: int | None, remind_every_minutes: int | None
    ) -> AlertPolicy:
        """This policy with a target's own settings (None keeps the default)."""
        return AlertPolicy(
            self.failure_threshold if failure_threshold is None else failure_threshold,
            self.success_threshold if success_threshold is None else success_threshold,
            self.remind_every_minutes if remind_every_minutes is None else remind_every_minutes,
        )


DEFAULT_POLICY: Final = AlertPolicy()


def _whole(field: str, value: object) -> int:
    # bool is an int subclass: `true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyValueError(f"'{field}' must be a whole number, got {show(value)}")
    return value


def check_threshold(field: str, value: object) -> int:
    number = _whole(field, value)
    if not 1 <= number <= MAX_THRESHOLD:
        raise PolicyValueError(f"'{field}' must be between 1 and {MAX_THRESHOLD}, got {number}")
    return number


def check_remind_minutes(field: str, value: object) -> int:
    number = _whole(field, value)
    if number != 0 and not MIN_REMIND_MINUTES <= number <= MAX_REMIND_MINUTES:
        raise PolicyValueError(
            f"'{field}' must be 0 (never) or between {MIN_REMIND_MINUTES} and {MAX_REMIND_MINUTES} minutes, "
            f"got {number}"
        )
    return number


def parse_policy(raw: object) -> AlertPolicy:
    """The stack's ``alerting`` object; missing fields keep their defaults, unknown ones are refused."""
    if not isinstance(raw, Mapping):
        raise PolicyValueError(f"alerting must be an object, got {type(raw).__name__}")
    unknown = sorted(show(key) for key in raw if key not in POLICY_FIELDS)
    if unknown:
        raise PolicyValueError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(POLICY_FIELDS)})")
    return AlertPolicy(
        check_threshold("failureThreshold", raw.get("failureThreshold", DEFAULT_FAILURE_THRESHOLD)),
        check_threshold("successThreshold", raw.get("successThreshold", DEFAULT_SUCCESS_THRESHOLD)),
        check_remind_minutes("remindEveryMinutes", raw.get("remindEveryMinutes", 0)),
    )
