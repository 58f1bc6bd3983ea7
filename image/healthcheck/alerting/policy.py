"""When a target's state moves and how often it is re-announced: the ``alerting`` defaults and per-target overrides.

One set of bounds (``check.thresholds``, beside the target model) serves the
stack's ``alerting`` object (the ALERTING variable) and each target's own
``failureThreshold``, ``successThreshold`` and ``remindEveryMinutes``, so
``pulumi preview`` and the function agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ..check.thresholds import (
    DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_SUCCESS_THRESHOLD,
    MAX_THRESHOLD,
    MIN_REMIND_MINUTES,
    PolicyValueError,
    check_remind_minutes,
    check_threshold,
)
from ..text import show

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

POLICY_FIELDS: Final = ("failureThreshold", "successThreshold", "remindEveryMinutes")


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
