"""Per-run CloudWatch metrics in Embedded Metric Format: JSON lines on stdout, no API call, no library.

Powertools Metrics and aws-embedded-metrics both write this same document.
Measured (CPU time, after the modules the handler imports anyway, 7 runs on
a shared machine): ``from aws_lambda_powertools import Metrics`` plus one
``Metrics()`` 11-20 ms (powertools 3.37.0); this module 0.9-1.4 ms.
aws-embedded-metrics 3.5.0 would also bring aiohttp into the image. So a
few lines of JSON it is.

Namespace ``Healthcheck``, no dimensions (so every shard's runs add up in one
metric): ``Failures`` and ``TargetsDown`` (only when state is kept) per run.
Each custom metric costs $0.30 a month, so what Lambda already publishes is not
published again: ``Checks`` (the targets each run checks) and ``RunDurationMs``
(Lambda's own ``Duration``) are plain fields of the same line, there for Logs
Insights and metric filters, not metrics. Per target ``Success`` and
``DurationMs`` (dimension ``Target``) only when ``PER_TARGET_METRICS`` is true,
since each such pair is two billed custom metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .check.probe import CheckResult
from .text import clip

__all__ = ["NAMESPACE", "documents"]

NAMESPACE: Final = "Healthcheck"
# CloudWatch allows 1024 characters in a dimension value; a name may be 1024 bytes.
MAX_DIMENSION_BYTES: Final = 1000


def _document(
    timestamp_ms: int,
    dimensions: list[str],
    values: dict[str, tuple[float, str]],
    fields: dict[str, float] | None = None,
) -> dict[str, object]:
    """One EMF line: ``values`` become metrics; ``fields`` are logged beside them, not published."""
    document: dict[str, object] = {
        "type": "metrics",  # like every other line: any other top-level key is a log field to CloudWatch
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimensions],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
                }
            ],
        },
    }
    document.update({name: value for name, (value, _) in values.items()})
    document.update(fields or {})
    return document


def documents(
    results: Sequence[CheckResult],
    *,
    timestamp_ms: int,
    run_duration_ms: int,
    targets_down: int | None,
    per_target: bool,
) -> list[dict[str, object]]:
    """One EMF document for the run, and one per target when ``per_target``; the report writes each as a line."""
    run: dict[str, tuple[float, str]] = {"Failures": (sum(not result.success for result in results), "Count")}
    if targets_down is not None:
        run["TargetsDown"] = (targets_down, "Count")
    lines = [_document(timestamp_ms, [], run, {"Checks": len(results), "RunDurationMs": run_duration_ms})]
    if per_target:
        for result in results:
            line = _document(
                timestamp_ms,
                ["Target"],
                {"Success": (int(result.success), "Count"), "DurationMs": (result.duration_ms, "Milliseconds")},
            )
            line["Target"] = clip(result.name, MAX_DIMENSION_BYTES)
            lines.append(line)
    return lines
