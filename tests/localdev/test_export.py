"""`make export` and `python -m localdev.export` as a user starts them: real checks, then every one exported."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from healthcheck.export import FIELDS
from tests.servers import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def local_export(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "localdev.export", *args],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},  # the venv's python alone
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_each_cycles_check_is_a_line(http_server: FaultServer) -> None:
    url = f"{http_server.base_url}/status/503"
    result = local_export("--url", url, "--runs", "3")
    assert "ran 3 check cycle(s) of 1 target(s)" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["target"], line["status"], line["error"]) for line in lines] == [
        (url, 503, "status 503 not in [2xx]")
    ] * 3
    assert [line["time"] for line in lines] == sorted({line["time"] for line in lines})  # a minute apart
    assert all(set(line) <= set(FIELDS) for line in lines)


def test_csv_on_the_local_stack(http_server: FaultServer) -> None:
    result = local_export("--url", f"{http_server.base_url}/ok", "--runs", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["success"], row["status"]) for row in rows] == [("true", "200")] * 2


def test_make_export_passes_its_variables() -> None:
    variables = ["RUNS=5", "SINCE=7d", "FORMAT=csv", "URL=http://x/", "TARGET=api"]
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "export", *variables],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    [command] = [line.replace("'", "") for line in result.stdout.splitlines() if "-m localdev.export" in line]
    assert " ".join(command.split()[-12:]) == (
        "--stack dev --url http://x/ --runs 5 --target api --since 7d --format csv"
    )
