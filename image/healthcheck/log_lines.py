"""The run's JSON lines on stdout: what went wrong survives even when DynamoDB does not.

By default a run writes one summary line, its metrics, and a line only for
each check that did not pass (failed or inconclusive), each state change,
alert, invalid target and warning: the records table already holds every
check, and a line per healthy check cost 214 bytes of CloudWatch Logs, more
than the record itself. ``every_check`` (``logChecks: all``) brings back a
line per check.

Lines go to stdout rather than through ``logging`` so they stay one JSON
object per line whatever log format the function is configured with.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from typing import TextIO

from .alerting.messages import Message
from .alerting.state import Alert
from .check.probe import CheckResult
from .check.targets import InvalidTarget, redact_url

__all__ = ["Report", "Summary"]


@dataclass(frozen=True, slots=True)
class Summary:
    timestamp: str
    checked: int
    succeeded: int
    failed: int
    invalid: int

    def as_dict(self) -> dict[str, object]:
        return {
            "timestamp": self.timestamp,
            "checked": self.checked,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "invalid": self.invalid,
        }


class Report:
    def __init__(
        self,
        timestamp: str,
        request_id: str | None = None,
        stream: TextIO | None = None,
        *,
        every_check: bool = False,
    ) -> None:
        self._timestamp = timestamp
        self._request_id = request_id
        self._stream = stream
        self._every_check = every_check
        self._unlogged: list[CheckResult] = []
        self._lock = threading.Lock()  # checks report from many threads: one whole line each

    def _emit(self, line: dict[str, object]) -> None:
        if self._request_id:
            line["requestId"] = self._request_id
        text = json.dumps(line, separators=(",", ":")) + "\n"
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(text)
            stream.flush()

    def check(self, result: CheckResult) -> None:
        """A line for a check that did not pass or was inconclusive; for every check with ``every_check``.

        A passing check is held instead, for :meth:`log_passing_checks` should its record not be stored.
        """
        if result.success and not result.inconclusive and not self._every_check:
            with self._lock:
                self._unlogged.append(result)
            return
        self._check_line(result)

    def log_passing_checks(self) -> None:
        """Log the passing checks held so far: records were lost, and then the log must hold every result."""
        with self._lock:
            unlogged, self._unlogged = self._unlogged, []
        for result in unlogged:
            self._check_line(result)

    def _check_line(self, result: CheckResult) -> None:
        self._emit(
            {
                "type": "check",
                "id": result.name,
                "timestamp": self._timestamp,
                "url": redact_url(result.url),
                "success": result.success,
                "durationMs": result.duration_ms,
                "status": result.status,
                "error": result.error,
                **({"tlsVerified": False} if not result.tls_verified else {}),
            }
        )

    def unrecorded(self, bad: InvalidTarget) -> None:
        """An invalid target whose record would overwrite another target's."""
        self._emit(
            {
                "type": "invalid-target",
                "id": bad.label,
                "timestamp": self._timestamp,
                "url": bad.url,
                "error": bad.error,
            }
        )

    def transition(self, alert: Alert) -> None:
        """A state change (DOWN, RECOVERED) this run's checks made, whether or not an alert topic is configured."""
        self._emit(
            {
                "type": "state",
                "id": alert.target,
                "timestamp": self._timestamp,
                "state": "DOWN" if alert.kind == "DOWN" else "UP",
                "since": alert.since,
                **({"downForS": alert.down_for_s} if alert.down_for_s is not None else {}),
            }
        )

    def alert(self, message: Message) -> None:
        """An alert with no topic to go to (a local run, or a stack without one): logged instead."""
        self._emit({"type": "alert", "timestamp": self._timestamp, "subject": message.subject, "text": message.text})

    def metrics(self, documents: list[dict[str, object]]) -> None:
        """Embedded Metric Format documents: CloudWatch Logs turns each line into metrics."""
        for document in documents:
            self._emit(document)

    def summary(self, summary: Summary) -> None:
        self._emit({"type": "summary", **summary.as_dict()})
