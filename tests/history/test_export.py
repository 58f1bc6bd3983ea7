"""`python -m healthcheck.export`: every check, as the README's contract says, from the embedded DynamoDB."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from healthcheck.check.probe import CheckResult, Probe
from healthcheck.config import Settings
from healthcheck.export import FIELDS, main
from healthcheck.handler import check_and_record
from healthcheck.history.record_store import ResultStore
from tests.records import all_checks
from tests.report_seed import NOW, at, failed, ok, seed
from tests.servers import FaultServer, closed_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]


def export(client: DynamoDBClient, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), client=client, now=NOW, out=out)
    return code, out.getvalue()


def lines(client: DynamoDBClient, table: str, *args: str) -> list[dict[str, Any]]:
    code, text = export(client, "--table", table, *args)
    assert code == 0
    return [json.loads(line) for line in text.splitlines()]


def history() -> list[tuple[str, CheckResult]]:
    return [
        (at(0), CheckResult("api", "https://api.test/", True, 120, 200, cert_days_left=45)),
        (at(0), CheckResult("web", "http://web.test/", False, 10000, error="timed out after 10 s")),
        (at(1), CheckResult("api", "https://api.test/", False, 80, 503, failures=("status 503 not in [2xx]", "x"))),
        (at(1), CheckResult("web", "http://web.test/", False, 3, 500, error="500", maintenance=True)),
        (at(2), CheckResult("api", "https://api.test/", False, 7, error="no network", inconclusive=True)),
        (at(2), CheckResult("web", "https://web.test/", True, 9, 200, cert_days_left=3, tls_verified=False)),
    ]


def test_each_check_is_one_object_with_the_contracts_keys(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, history())
    assert lines(dynamodb, table) == [
        {
            "target": "api",
            "time": at(0),
            "url": "https://api.test/",
            "success": True,
            "durationMs": 120,
            "status": 200,
            "inconclusive": False,
            "maintenance": False,
            "certDaysLeft": 45,
            "tlsVerified": True,
            "region": "us-east-1",
        },
        {
            "target": "web",
            "time": at(0),
            "url": "http://web.test/",
            "success": False,
            "durationMs": 10000,
            "error": "timed out after 10 s",
            "failures": ["timed out after 10 s"],
            "inconclusive": False,
            "maintenance": False,
            "tlsVerified": True,
            "region": "us-east-1",
        },
        {
            "target": "api",
            "time": at(1),
            "url": "https://api.test/",
            "success": False,
            "durationMs": 80,
            "status": 503,
            "error": "status 503 not in [2xx]",
            "failures": ["status 503 not in [2xx]", "x"],
            "inconclusive": False,
            "maintenance": False,
            "tlsVerified": True,
            "region": "us-east-1",
        },
        {
            "target": "web",
            "time": at(1),
            "url": "http://web.test/",
            "success": False,
            "durationMs": 3,
            "status": 500,
            "error": "500",
            "failures": ["500"],
            "inconclusive": False,
            "maintenance": True,
            "tlsVerified": True,
            "region": "us-east-1",
        },
        {
            "target": "api",
            "time": at(2),
            "url": "https://api.test/",
            "success": False,
            "durationMs": 7,
            "error": "no network",
            "failures": ["no network"],
            "inconclusive": True,
            "maintenance": False,
            "tlsVerified": True,
            "region": "us-east-1",
        },
        {
            "target": "web",
            "time": at(2),
            "url": "https://web.test/",
            "success": True,
            "durationMs": 9,
            "status": 200,
            "inconclusive": False,
            "maintenance": False,
            "certDaysLeft": 3,
            "tlsVerified": False,
            "region": "us-east-1",
        },
    ]


def test_every_check_the_monitor_recorded_is_exported(
    http_server: FaultServer, probe: Probe, dynamodb: DynamoDBClient, table: str
) -> None:
    targets: list[object] = [
        {"name": "up", "url": f"{http_server.base_url}/ok"},
        {"name": "down", "url": f"{http_server.base_url}/status/503"},
        {"name": "refused", "url": f"http://127.0.0.1:{closed_port()}/"},
        {"name": "bad", "url": "ftp://x.test/"},
    ]
    for minute in range(3):
        moment = NOW - timedelta(minutes=minute)
        with contextlib.redirect_stdout(io.StringIO()):
            check_and_record(
                {"time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "shard": "1"},
                None,
                settings=Settings(table, targets, region="eu-west-1"),
                probe=probe,
                store=ResultStore(dynamodb, table),
                now=moment,
            )
    exported = lines(dynamodb, table)
    assert len(exported) == 12 == len(all_checks(dynamodb, table))
    assert all(set(line) <= set(FIELDS) for line in exported)
    assert [line["time"] for line in exported] == sorted(line["time"] for line in exported)
    assert {line["region"] for line in exported} == {"eu-west-1"}
    assert {line["target"]: line["success"] for line in exported} == {
        "up": True,
        "down": False,
        "refused": False,
        "bad": False,
    }


def test_targets_and_the_period_narrow_it(dynamodb: DynamoDBClient, table: str) -> None:
    day_before = (NOW - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    just_outside = (NOW - timedelta(hours=24, seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    seed(dynamodb, table, [(just_outside, ok("api", 1)), (day_before, ok("api", 2))], shard="1")
    seed(dynamodb, table, history(), shard="2")
    assert [line["durationMs"] for line in lines(dynamodb, table, "--target", "api")] == [2, 120, 80, 7]
    assert len(lines(dynamodb, table, "--target", "api", "--target", "web")) == 7
    assert len(lines(dynamodb, table, "--since", "7d")) == 8


def test_a_target_never_recorded_is_named_with_the_close_one(
    dynamodb: DynamoDBClient, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(dynamodb, table, history())
    code, text = export(dynamodb, "--table", table, "--target", "apii")
    assert (code, text) == (2, "")
    assert capsys.readouterr().err == (
        "healthcheck export: no target named 'apii' and no records of one in the last 24h: did you mean 'api'?\n"
    )


def test_csv_has_a_column_per_key_and_is_safe_in_a_spreadsheet(dynamodb: DynamoDBClient, table: str) -> None:
    name = '=HYPERLINK("http://evil.test","x")'
    seed(dynamodb, table, [*history(), (at(3), failed(name, 5, 500, "-2+3"))])
    code, text = export(dynamodb, "--table", table, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == FIELDS
    assert rows[0] == {
        "target": "api",
        "time": at(0),
        "url": "https://api.test/",
        "success": "true",
        "durationMs": "120",
        "status": "200",
        "error": "",
        "failures": "",
        "inconclusive": "false",
        "maintenance": "false",
        "certDaysLeft": "45",
        "tlsVerified": "true",
        "region": "us-east-1",
    }
    assert rows[2]["failures"] == "status 503 not in [2xx] | x"
    assert (rows[-1]["target"], rows[-1]["error"]) == ("'" + name, "'-2+3")


def test_no_line_carries_a_character_that_drives_a_terminal(dynamodb: DynamoDBClient, table: str) -> None:
    name = "pay\u202egnp.exe\x1b]0;owned\x07"
    seed(dynamodb, table, [(at(0), failed(name, 5, 503, "\x9b2J"))])
    code, text = export(dynamodb, "--table", table)
    assert code == 0
    assert not {"\u202e", "\x1b", "\x07", "\x9b"} & set(text)
    [line] = [json.loads(row) for row in text.splitlines()]
    assert (line["target"], line["error"]) == (name, "\x9b2J")  # exact, once decoded


def test_a_missing_table_is_one_line_not_a_traceback(
    dynamodb: DynamoDBClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(dynamodb, "--table", "no-such-table") == (1, "")
    error = capsys.readouterr().err
    assert error.startswith("healthcheck export: reading from DynamoDB failed (region us-east-1):")
    assert "ResourceNotFoundException" in error


def test_the_module_runs_as_the_readme_says(dynamodb_endpoint: str, dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, [(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), ok("api", 5))])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "image"), "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "healthcheck.export", "--table", table, "--region", "us-east-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert json.loads(line)["target"] == "api"
    # Cut short by the reader (`| head -1`): no traceback, no complaint.
    # One run of 1,000 targets: 200 KB of lines, more than a pipe holds before `head` has gone.
    earlier = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    seed(dynamodb, table, [(earlier, ok(f"t{number}", 5)) for number in range(1000)], shard="2")
    command = [sys.executable, "-m", "healthcheck.export", "--table", table, "--region", "us-east-1"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as export_process:
        assert export_process.stdout is not None
        first = export_process.stdout.readline()
        export_process.stdout.close()  # as `| head -1` does once it has its line
        _, stderr = export_process.communicate(timeout=60)
    assert json.loads(first)["target"]
    assert (export_process.returncode, stderr) == (0, b"")
