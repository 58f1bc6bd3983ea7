"""The cost model behind the README's table, and the scale benchmark run end to end on a few targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import costs as cost_model
from bench.scale import NO_ANSWER, Invocation, inherent_wait_s, main, projected_duration_s


def test_the_fixed_cost_per_stack_is_two_custom_metrics_and_three_alarms_within_a_dollar() -> None:
    # Issue 16's aim: at most $1.00 a month of alarms and custom metrics per stack (it was 3 and 4: $1.50).
    assert cost_model.fixed_monthly(shards=20) == pytest.approx(2 * 0.30 + 3 * 0.10)
    assert cost_model.fixed_monthly(shards=20) <= 1.00


@pytest.mark.parametrize(
    ("checks_cpu", "cpu", "wait", "memory", "seconds"),
    [
        (0.5, 0.6, 10.0, 512, 10.0 + 0.1 * 1769 / 512),  # waiting on a hanging target: the wait, then the tail
        (3.0, 3.5, 2.0, 512, 3.0 * 1769 / 512 + 0.5 * 1769 / 512),  # CPU-bound at a share of a vCPU
        (3.0, 3.5, 2.0, 1769, 3.0 + 0.5),  # one whole vCPU
        (3.0, 3.5, 2.0, 3538, 3.0 + 0.5),  # no faster past one vCPU: the run is one process under the GIL
    ],
    ids=["wait-bound", "cpu-bound-512", "one-vcpu", "two-vcpus"],
)
def test_a_runs_duration_is_its_wait_or_its_cpu_at_the_memorys_share(
    checks_cpu: float, cpu: float, wait: float, memory: int, seconds: float
) -> None:
    run = Invocation("steady", "2026-12-07T00:00:00Z", ok=True, wall_s=99.0, cpu_s=cpu, checks_cpu_s=checks_cpu)
    assert projected_duration_s(run, memory, wait) == pytest.approx(seconds)


def test_a_run_lambda_ended_at_its_timeout_is_billed_the_whole_timeout() -> None:
    ended = Invocation("steady", "2026-12-07T00:00:00Z", wall_s=120.0, cpu_s=17.0, error=f"{NO_ANSWER} (120 s)")
    assert projected_duration_s(ended, 512, 10.0, timeout_s=120.0) == 120.0
    # And no projection runs past it either: CPU that would need longer is cut there, as Lambda cuts it.
    slow = Invocation("steady", "2026-12-07T00:00:00Z", ok=True, cpu_s=60.0, checks_cpu_s=60.0, summary={"checked": 1})
    assert projected_duration_s(slow, 512, 10.0, timeout_s=120.0) == 120.0


@pytest.mark.parametrize(
    ("kinds", "wait"),
    [(["https", "http"], 0.0), (["https", "slow"], 2.0), (["slow", "hang", "https"], 10.0)],
    ids=["all-answer-at-once", "a-slow-one", "a-hanging-one"],
)
def test_a_shards_slowest_target_sets_its_wait(kinds: list[str], wait: float) -> None:
    assert inherent_wait_s(kinds) == wait


def _size(steady: dict[str, Any]) -> dict[str, Any]:
    return {
        "targets": 100,
        "retention_days": 90,
        "log_retention_days": 30,
        "stored": {"records": {"bytes": 2 * 100 * 300}, "state": {"bytes": 0}},
        "sites": {"https-ok": {"connections": 100, "answered": 100, "answered_payload_bytes": 80_000, "segments": 700}},
        "shards": [{"shard": "1", "targets": 100, "wait_s": 2.0, "invocations": [{"label": "first"}, steady]}],
    }


def test_each_line_is_a_measured_count_times_its_price() -> None:
    steady: dict[str, Any] = {
        "label": "steady",
        "event_time": "2026-12-07T00:00:00Z",
        "ok": True,
        "cpu_s": 0.3,
        "checks_cpu_s": 0.2,
        "log_bytes": 500,
        "units": {"records": {"write": 8.0, "read": 0.0}, "state": {"write": 0.0, "read": 0.5}},
    }
    row = cost_model.costs(_size(steady), interval_min=1)
    runs = 730 * 60
    prices = cost_model.PRICES
    seconds = max(2.0, 0.2 * 1769 / 512) + 0.1 * 1769 / 512
    assert row.lambda_ == pytest.approx((seconds * 0.5 * prices.lambda_gb_s + prices.lambda_request) * runs)
    assert row.writes == pytest.approx(8 * runs * prices.write_unit)
    assert row.reads == pytest.approx(0.5 * runs * prices.read_unit)
    # 300 bytes per check recorded, kept 90 days.
    assert row.storage == pytest.approx(300 * 100 * runs * 90 / (730 / 24) / 1e9 * prices.storage_gb_month)
    assert row.scheduler == pytest.approx(runs * prices.scheduler_invocation)
    assert row.egress_bytes_per_check == pytest.approx(800 + (7 + 4) * 52)


def test_a_size_not_measured_is_whole_copies_of_a_measured_one() -> None:
    steady: dict[str, Any] = {
        "label": "steady",
        "event_time": "2026-12-07T00:00:00Z",
        "cpu_s": 1.0,
        "checks_cpu_s": 0.8,
        "log_bytes": 600,
        "units": {"records": {"write": 20.0, "read": 0.0}, "state": {"write": 0.0, "read": 0.5}},
    }
    measured = _size(steady) | {"targets": 1000}
    measured["shards"] = [{**measured["shards"][0], "shard": str(i), "targets": 500} for i in (1, 2)]
    by_size = {size["targets"]: size for size in cost_model.stacks([measured])}
    assert sorted(by_size) == [1000, 10000]  # 10 and 100 divide nothing measured: left out, never guessed
    assert len(by_size[10000]["shards"]) == 20
    one, ten = (cost_model.costs(by_size[n], interval_min=1) for n in (1000, 10000))
    assert ten.variable == pytest.approx(10 * one.variable)
    assert ten.per_100 == pytest.approx(one.per_100)
    assert ten.fixed == one.fixed


@pytest.mark.slow
def test_the_scale_benchmark_runs_a_shard_as_deployed_and_bills_it(tmp_path: Path) -> None:
    # Three targets that answer at once: one shard, which also closes an hour and a day of rollups.
    assert main(["--targets", "3", "--mix", "healthy", "--parallel", "1", "--out", str(tmp_path)]) == 0
    [size] = json.loads((tmp_path / "scale-healthy.json").read_text())["sizes"]
    [shard] = size["shards"]
    assert [(i["label"], i["ok"]) for i in shard["invocations"]] == [
        ("seed", True),
        ("close-hour", True),
        ("close-day", True),
        ("warm", True),
        ("first", True),
        ("steady", True),
    ]
    steady = shard["invocations"][-1]
    assert steady["summary"]["succeeded"] == 3
    assert steady["units"]["records"]["write"] > 0
    assert list(steady["log_types"]) == ["summary", "metrics"]  # nothing per healthy check
    assert min(steady["cpu_s"], steady["peak_fds"], steady["peak_rss_mb"]) > 0
    assert size["stored"]["records"]["bytes"] > 0
    assert cost_model.costs(size, interval_min=1).lambda_ > 0
