"""The alarms by which the monitor watches itself, decided as data from the stack's settings.

Three things can go wrong without any target's check saying so: a run fails
(``Errors``), a failed or undeliverable run is parked in the failure queue,
or no run happens at all. The last has no metric of its own: it is the
absence of ``Invocations``, so that alarm treats missing data as breaching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_ALARM_WINDOW_S",
    "STOPPED_INTERVALS",
    "AlarmSpec",
    "alarm_specs",
    "schedule_interval",
]

# Several runs retried by Lambda (1 and 2 minutes apart) fall in one period: one alert, not three.
ERRORS_PERIOD_S = 300
# SQS publishes queue metrics every 5 minutes.
QUEUE_PERIOD_S = 300
# "Monitor stopped" fires after this many schedule intervals without the expected runs.
STOPPED_INTERVALS = 2
# CloudWatch evaluates at most one day: period x evaluation periods <= 86400 s (PutMetricAlarm).
MAX_ALARM_WINDOW_S = 86_400

_RATE = re.compile(r"^rate\((?P<value>[0-9]+) (?P<unit>minute|hour|day)s?\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86_400}
_STEP = re.compile(r"^(\*|0)/(?P<step>[0-9]+)$")
_NUMBER = re.compile(r"^[0-9]+$")

Dimension = Literal["FunctionName", "QueueName"]


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One CloudWatch metric alarm; ``dimension`` names the function or the failure queue."""

    key: str
    description: str
    namespace: str
    metric_name: str
    dimension: Dimension
    statistic: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    treat_missing_data: str


def _step(field: str, whole: int) -> int | None:
    """``*/n`` or ``0/n`` that divides ``whole`` evenly (so every gap is n), else None."""
    step = _STEP.match(field)
    if step is None:
        return None
    value = int(step["step"])
    return value if value > 0 and whole % value == 0 else None


def _cron_interval(fields: list[str]) -> int | None:
    """Seconds between runs of a cron that fires all day, every day, at a fixed gap; else None."""
    if len(fields) != 6:
        return None
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month, day_of_week) not in (("*", "?"), ("?", "*")) or (month, year) != ("*", "*"):
        return None
    if hours == "*":
        if minutes == "*":
            return 60
        every = _step(minutes, 60)
        if every is not None:
            return every * 60
        return 3600 if _NUMBER.match(minutes) else None
    if not _NUMBER.match(minutes):
        return None
    if _NUMBER.match(hours):
        return 86_400
    every = _step(hours, 24)
    return every * 3600 if every is not None else None


def schedule_interval(expression: str) -> int | None:
    """Seconds between scheduled runs, or None when they are not evenly spaced (most crons)."""
    rate = _RATE.match(expression)
    if rate:
        return int(rate["value"]) * _UNIT_S[rate["unit"]]
    if expression.startswith("cron(") and expression.endswith(")"):
        return _cron_interval(expression[5:-1].split())
    return None


def _stopped(interval: int, schedules: int) -> AlarmSpec:
    return AlarmSpec(
        key="stopped",
        description=(
            f"The monitor stopped: fewer than {schedules} run(s) in each of the last {STOPPED_INTERVALS} "
            f"schedule intervals of {interval} s. Check the schedules and the function's throttles."
        ),
        namespace="AWS/Lambda",
        metric_name="Invocations",
        dimension="FunctionName",
        statistic="Sum",
        period=interval,
        evaluation_periods=STOPPED_INTERVALS,
        threshold=float(schedules),
        comparison_operator="LessThanThreshold",
        # No invocation, no data point: the very case this alarm is for.
        treat_missing_data="breaching",
    )


def alarm_specs(schedule: str, schedules: int) -> tuple[tuple[AlarmSpec, ...], str | None]:
    """The alarms for a stack, and why "monitor stopped" is left out when it is.

    Each of the ``schedules`` (one per chunk of targets) invokes the function
    once per interval, so each interval expects that many invocations.
    """
    alarms = [
        AlarmSpec(
            key="errors",
            description="A monitor run failed (function Errors > 0): see its log group. Lambda retries it twice.",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimension="FunctionName",
            statistic="Sum",
            period=ERRORS_PERIOD_S,
            evaluation_periods=1,
            threshold=0.0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        ),
        AlarmSpec(
            key="failed-runs",
            description=(
                "Runs that failed after their retries, or could not be delivered, wait in the failure queue. "
                "The alarm clears once the queue is empty."
            ),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimension="QueueName",
            statistic="Maximum",
            period=QUEUE_PERIOD_S,
            evaluation_periods=1,
            threshold=0.0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
        ),
    ]
    interval = schedule_interval(schedule)
    if interval is None:
        return tuple(alarms), (
            f"healthcheck:schedule {schedule} does not run at a fixed interval, so there is no "
            "'monitor stopped' alarm; a rate(...) schedule, or a cron that runs every N minutes or hours "
            "all day every day, gets one"
        )
    if interval * STOPPED_INTERVALS > MAX_ALARM_WINDOW_S:
        return tuple(alarms), (
            f"healthcheck:schedule {schedule} runs less often than every {MAX_ALARM_WINDOW_S // STOPPED_INTERVALS} s; "
            f"CloudWatch alarms see at most {MAX_ALARM_WINDOW_S} s, so there is no 'monitor stopped' alarm"
        )
    return (*alarms, _stopped(interval, schedules)), None
