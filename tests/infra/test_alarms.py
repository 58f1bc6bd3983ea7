"""The self-watch alarms as data: the schedule's interval, and "monitor stopped" derived from it."""

from __future__ import annotations

import pytest

from infra.alarms import alarm_specs, schedule_interval


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
        ("cron(* * * * ? *)", 60),
        ("cron(*/5 * * * ? *)", 300),
        ("cron(0/15 * ? * * *)", 900),
        ("cron(7 * * * ? *)", 3600),
        ("cron(0 */2 * * ? *)", 7200),
        ("cron(30 0/6 ? * * *)", 21600),
        ("cron(0 12 * * ? *)", 86400),
        # Not evenly spaced, or not every day: no interval.
        ("cron(*/7 * * * ? *)", None),
        ("cron(*/10 6-22 * * ? *)", None),
        ("cron(0 */5 * * ? *)", None),
        ("cron(0/15 * * * MON-FRI *)", None),
        ("cron(0/15 * ? * MON-FRI *)", None),
        ("cron(0 12 1 * ? *)", None),
        ("cron(0 12 * JAN ? *)", None),
        ("cron(0 12 * * ? 2027)", None),
        ("cron(0,30 * * * ? *)", None),  # lists are not analysed, even evenly spaced ones
        ("cron(*/5 2 * * ? *)", None),
        ("cron(* */2 * * ? *)", None),
        ("cron(0 12 * * ?)", None),
        ("every 5 minutes", None),
    ],
)
def test_schedule_interval(expression: str, seconds: int | None) -> None:
    assert schedule_interval(expression) == seconds


def test_every_stack_gets_the_errors_and_failure_queue_alarms() -> None:
    specs, note = alarm_specs("rate(5 minutes)", 1)
    assert note is None
    errors, queue, stopped = specs
    assert (errors.namespace, errors.metric_name, errors.dimension, errors.statistic) == (
        "AWS/Lambda",
        "Errors",
        "FunctionName",
        "Sum",
    )
    assert (errors.period, errors.evaluation_periods, errors.threshold, errors.comparison_operator) == (
        300,
        1,
        0.0,
        "GreaterThanThreshold",
    )
    assert errors.treat_missing_data == "notBreaching"
    assert (queue.namespace, queue.metric_name, queue.dimension, queue.statistic) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        "Maximum",
    )
    assert (queue.period, queue.evaluation_periods, queue.threshold, queue.comparison_operator) == (
        300,
        1,
        0.0,
        "GreaterThanThreshold",
    )
    assert queue.treat_missing_data == "notBreaching"
    assert stopped.key == "stopped"


@pytest.mark.parametrize(
    ("schedule", "schedules", "period", "threshold"),
    [
        ("rate(1 minute)", 1, 60, 1.0),
        ("rate(5 minutes)", 3, 300, 3.0),
        ("rate(12 hours)", 2, 43200, 2.0),
        ("cron(0/10 * * * ? *)", 1, 600, 1.0),
    ],
    ids=["1-minute", "three-schedules", "12-hours-the-longest", "cron-every-10-minutes"],
)
def test_monitor_stopped_is_fewer_runs_than_schedules_in_two_intervals_missing_data_breaching(
    schedule: str, schedules: int, period: int, threshold: float
) -> None:
    specs, note = alarm_specs(schedule, schedules)
    stopped = specs[-1]
    assert note is None
    assert (stopped.namespace, stopped.metric_name, stopped.dimension, stopped.statistic) == (
        "AWS/Lambda",
        "Invocations",
        "FunctionName",
        "Sum",
    )
    assert (stopped.period, stopped.evaluation_periods, stopped.threshold) == (period, 2, threshold)
    assert (stopped.comparison_operator, stopped.treat_missing_data) == ("LessThanThreshold", "breaching")
    # CloudWatch refuses an alarm that looks at more than a day.
    assert stopped.period * stopped.evaluation_periods <= 86400


@pytest.mark.parametrize(
    ("schedule", "note"),
    [
        ("rate(13 hours)", "runs less often than every 43200 s"),
        ("rate(1 day)", "runs less often than every 43200 s"),
        ("cron(0 9 ? * MON-FRI *)", "does not run at a fixed interval"),
    ],
)
def test_without_a_usable_interval_there_is_no_stopped_alarm_and_a_note_says_why(schedule: str, note: str) -> None:
    specs, why = alarm_specs(schedule, 1)
    assert [spec.key for spec in specs] == ["errors", "failed-runs"]
    assert why is not None
    assert note in why
    assert why.startswith(f"healthcheck:schedule {schedule} ")
