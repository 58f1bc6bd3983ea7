"""A target's alert thresholds and reminder interval: their defaults and bounds, checked where targets are parsed.

They belong to the target model (``failureThreshold``, ``successThreshold``,
``remindEveryMinutes`` are fields of a target), so ``check/`` validates them
without importing ``alerting/``; ``alerting.policy`` builds the stack's
defaults from the same bounds, so ``pulumi preview`` and the function agree.
"""

from __future__ import annotations

from typing import Final

from ..text import show

__all__ = [
    "DEFAULT_FAILURE_THRESHOLD",
    "DEFAULT_SUCCESS_THRESHOLD",
    "MAX_REMIND_MINUTES",
    "MAX_THRESHOLD",
    "MIN_REMIND_MINUTES",
    "PolicyValueError",
    "check_remind_minutes",
    "check_threshold",
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


class PolicyValueError(ValueError):
    """A threshold or reminder interval out of bounds; callers re-raise it as their own error kind."""


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
