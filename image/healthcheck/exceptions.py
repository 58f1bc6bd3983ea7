"""One root for every error this package raises on purpose.

A check's network failure is never one of these: it is a result (see
``probe.CheckResult``). These are for input that cannot be acted on and for
records that could not be stored.
"""

from __future__ import annotations

__all__ = [
    "AlertsNotSentError",
    "ConfigError",
    "HealthcheckError",
    "InvalidEventError",
    "InvalidTargetError",
    "RecordsNotWrittenError",
    "StateNotSavedError",
]


class HealthcheckError(Exception):
    """Root of the package's errors."""


class InvalidTargetError(HealthcheckError, ValueError):
    """A target object cannot be checked (no url, bad scheme, bad timeout...)."""


class InvalidEventError(HealthcheckError, ValueError):
    """The invocation event is not of a shape the handler accepts."""


class ConfigError(HealthcheckError, ValueError):
    """The function's environment is missing or malformed."""


class RecordsNotWrittenError(HealthcheckError):
    """Some records could not be written to DynamoDB after all retries.

    Raised after every target was checked and logged, so the invocation fails
    and Lambda's own retry gets another chance at the same keys.
    """

    def __init__(self, message: str, unwritten: int) -> None:
        super().__init__(message)
        self.unwritten = unwritten


class StateNotSavedError(HealthcheckError):
    """Target state could not be read or written; raised after the records are stored, so Lambda retries.

    The retry re-checks at the same event time: the state's conditional write
    stops it from counting a result twice.
    """


class AlertsNotSentError(HealthcheckError):
    """An alert could not be published; it stays pending in the state item and the next run sends it."""
