"""`make report` and `python -m localdev.report` as a user starts them: real checks, then the report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.servers import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def local_report(*args: str) -> tuple[Any, str]:
    result = subprocess.run(
        [sys.executable, "-m", "localdev.report", "--format", "json", *args],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},  # the venv's python alone
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_a_passing_target_reports_its_checks_and_latency(http_server: FaultServer) -> None:
    url = f"{http_server.base_url}/ok"
    data, stderr = local_report("--url", url, "--runs", "4")
    assert "ran 4 check cycle(s) of 1 target(s)" in stderr
    [target] = data["targets"]
    assert (target["name"], target["state"], target["checks"], target["failures"]) == (url, "UP", 4, 0)
    assert target["uptimePct"] == 100.0
    assert target["p50Ms"] is not None
    assert data["incidents"] == []


def test_a_failing_target_goes_down_after_the_threshold_and_stays_down(http_server: FaultServer) -> None:
    url = f"{http_server.base_url}/status/503"
    data, _ = local_report("--url", url, "--runs", "4")
    [target] = data["targets"]
    # Cycles a minute apart ending at the report's end: the first at end - 3 min.
    first = datetime.fromisoformat(data["end"]) - timedelta(minutes=3)
    start = first.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (target["state"], target["since"], target["uptimePct"]) == ("DOWN", start, 0.0)
    [incident] = data["incidents"]
    assert (incident["start"], incident["ongoing"], incident["durationS"]) == (start, True, 180)
    assert "503" in incident["firstReason"]


def test_cycles_before_the_period_are_said_to_be_left_out(http_server: FaultServer) -> None:
    data, stderr = local_report("--url", f"{http_server.base_url}/ok", "--runs", "62", "--since", "1h")
    # A minute apart, the last at the end: the first falls 61 minutes back, outside the hour.
    assert "1 check cycle(s) fall before the last 1h: the report leaves them out" in stderr
    assert data["targets"][0]["checks"] == 61


def test_make_report_passes_its_variables() -> None:
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "report", "RUNS=5", "SINCE=24h", "FORMAT=csv", "URL=http://x/"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    [command] = [line.replace("'", "") for line in result.stdout.splitlines() if "-m localdev.report" in line]
    assert " ".join(command.split()[-10:]) == "--stack dev --url http://x/ --runs 5 --since 24h --format csv"


def test_a_bad_stack_value_is_one_line_naming_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from localdev import stack
    from localdev.report import main

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.local.yaml").write_text(
        "config:\n  healthcheck:targets: [{url: 'https://api.example.com/'}]\n"
        "  healthcheck:alerting: {failureThreshold: 0}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(stack, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["--stack", "local"])
    assert exited.value.code == "error: healthcheck:alerting: 'failureThreshold' must be between 1 and 100, got 0"
