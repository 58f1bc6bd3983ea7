"""The uptime report (`python -m healthcheck.report`) against the embedded DynamoDB, on seeded histories.

Every figure is checked against one computed by hand in the comments.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import unicodedata
from contextlib import redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from healthcheck.alerting.policy import AlertPolicy
from healthcheck.alerting.state import TargetState
from healthcheck.alerting.state_store import to_item as state_item
from healthcheck.check.probe import CheckResult
from healthcheck.history.progress import Progress
from healthcheck.history.reader import Check, checks
from healthcheck.history.record_store import HASH_KEY, RANGE_KEY
from healthcheck.history.uptime import percentile, sparkline
from healthcheck.report import StackInfo, build_report, main, stack_info
from localdev.dynamodb import create_state_table
from tests.report_seed import NOW, at, failed, ok, seed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

API = "api"


def api_history() -> list[tuple[str, CheckResult]]:
    """30 checks of `api`, 12:00 to 12:29, one a minute, made so that no two figures coincide.

    12:02 one failure (503, 900 ms): below the failure threshold of 3, so no incident.
    12:05-12:07 maintenance, 12:08 inconclusive: left out of uptime.
    12:10-12:13 four timeouts: DOWN from 12:10 (first failure of the streak) ...
    12:14, 12:15 successes: ... UP again from 12:14 (first success of the streak of 2).
    The other 21 succeed: 100 ms at 12:00, 10 ms more each, and 1500 ms at 12:29.
    """
    history: dict[int, CheckResult] = {
        2: failed(API, 900, 503, "status 503 not in [2xx]"),
        8: CheckResult(API, "https://example.test/", False, 3000, error="no network", inconclusive=True),
        10: failed(API, 10000, error="timed out after 10 s"),
        11: failed(API, 10000),
        12: failed(API, 10000),
        13: failed(API, 10000),
    }
    for minute in (5, 6, 7):
        history[minute] = CheckResult(API, "https://example.test/", False, 5000, 500, "500", maintenance=True)
    # Inconclusive inside maintenance: counted once, as maintenance.
    history[7] = dataclasses.replace(history[7], inconclusive=True)
    passing = [minute for minute in range(29) if minute not in history]
    for index, minute in enumerate(passing):
        history[minute] = ok(API, 100 + 10 * index)
    history[29] = ok(API, 1500)
    return [(at(minute), result) for minute, result in sorted(history.items())]


def run(args: list[str], client: DynamoDBClient, stack: StackInfo | None = None) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args, client=client, now=NOW, stack=stack or StackInfo((API,)))
    return code, out.getvalue()


def report_json(client: DynamoDBClient, table: str, *extra: str) -> Any:
    code, text = run(["--table", table, "--since", "1h", "--format", "json", *extra], client)
    assert code == 0
    return json.loads(text)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7], 99, 7),
        ([400, 100, 300, 200], 50, 200),  # rank ceil(0.5*4)=2 of 100,200,300,400
        ([400, 100, 300, 200], 95, 400),  # rank ceil(3.8)=4
        (list(range(1, 21)), 95, 19),  # rank ceil(19.0)=19: p95 and p99 differ
        (list(range(1, 21)), 99, 20),  # rank ceil(19.8)=20
        (list(range(1, 101)), 50, 50),
    ],
    ids=["empty", "one", "p50-even", "p95-of-4", "p95-of-20", "p99-of-20", "p50-of-100"],
)
def test_percentiles_are_nearest_rank(values: list[int], p: float, expected: int | None) -> None:
    assert percentile(values, p) == expected


def test_figures_leave_maintenance_and_inconclusive_out_and_count_them(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, api_history())
    [api] = report_json(dynamodb, table)["targets"]
    # 30 checks; 3 maintenance + 1 inconclusive left out: 26 counted, 5 failed (12:02, 12:10-12:13).
    assert api["checks"] == 30
    assert (api["maintenance"], api["inconclusive"], api["counted"], api["failures"]) == (3, 1, 26, 5)
    assert api["uptimePct"] == 80.7692  # 21 / 26
    # Responses among counted checks: 21 successes (100..290 ms and 1500) and the 503 (900 ms); timeouts have
    # no status. Nearest rank of 22 values: p50 = 11th = 200, p95 = 21st (ceil 20.9) = 900, p99 = 22nd = 1500.
    assert (api["p50Ms"], api["p95Ms"], api["p99Ms"]) == (200, 900, 1500)
    assert api["lastFailureAt"] == at(13)
    assert api["lastFailureReasons"] == ["connection refused"]


def test_incidents_follow_the_state_rules_from_first_failure_to_first_success(
    dynamodb: DynamoDBClient, table: str
) -> None:
    seed(dynamodb, table, api_history())
    data = report_json(dynamodb, table)
    # The lone 12:02 failure is under the threshold (3): no incident for it.
    assert data["incidents"] == [
        {
            "target": API,
            "start": at(10),
            "end": at(14),
            "durationS": 240,
            "ongoing": False,
            "firstReason": "timed out after 10 s",
        }
    ]
    [api] = data["targets"]
    # No state table: the records replayed say UP, since the first success of the recovery.
    assert (api["state"], api["since"]) == ("UP", at(14))


def test_a_higher_failure_threshold_makes_no_incident(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, api_history())
    stack = StackInfo((API,), {API: AlertPolicy(failure_threshold=5)})
    code, text = run(["--table", table, "--since", "1h", "--format", "json"], dynamodb, stack)
    assert code == 0
    assert json.loads(text)["incidents"] == []  # 4 failures in a row < 5


def test_state_table_gives_current_state_and_an_outage_begun_before_the_window(
    dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str
) -> None:
    state_table = f"{table}-state"
    create_state_table(dynamodb_endpoint, state_table)
    down = TargetState("DOWN", since="2026-11-27T10:00:00Z", last_event=at(29))
    dynamodb.put_item(TableName=state_table, Item=state_item("db", down))
    recovered = TargetState("UP", since="2026-11-27T09:00:00Z", last_event=at(29))
    dynamodb.put_item(TableName=state_table, Item=state_item("web", recovered))
    seed(
        dynamodb,
        table,
        [(at(minute), failed("db", 50, 500, "status 500, expected 2xx")) for minute in range(20, 30)]
        + [(at(minute), ok("web", 80)) for minute in range(20, 30)],
    )
    # No --target: the names come from the stack (web, new) and the state table (db).
    code, text = run(
        ["--table", table, "--state-table", state_table, "--since", "1h", "--format", "json"],
        dynamodb,
        StackInfo(("web", "new")),
    )
    assert code == 0
    data = json.loads(text)
    assert [(t["name"], t["state"], t["since"]) for t in data["targets"]] == [
        ("web", "UP", "2026-11-27T09:00:00Z"),  # recovered before the window: only the state table knows since when
        ("new", "UP", None),  # never went down: no state item
        ("db", "DOWN", "2026-11-27T10:00:00Z"),
    ]
    # Down since 10:00, still down at 12:30: 2 h 30 min, its first reason in the window.
    assert data["incidents"] == [
        {
            "target": "db",
            "start": "2026-11-27T10:00:00Z",
            "end": None,
            "durationS": 9000,
            "ongoing": True,
            "firstReason": "status 500, expected 2xx",
        }
    ]


def test_a_malformed_state_item_is_read_as_no_state_and_the_report_still_prints(
    dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str
) -> None:
    # A hand edit the monitor tolerates (a DOWN without Since) must not stop the report either.
    state_table = f"{table}-state"
    create_state_table(dynamodb_endpoint, state_table)
    dynamodb.put_item(TableName=state_table, Item={"Id": {"S": "db"}, "State": {"S": "DOWN"}})
    seed(dynamodb, table, [(at(minute), ok("db", 50)) for minute in range(20, 30)])
    code, text = run(
        ["--table", table, "--state-table", state_table, "--since", "1h", "--format", "json"],
        dynamodb,
        StackInfo(("db",)),
    )
    assert code == 0
    assert [(t["name"], t["state"]) for t in json.loads(text)["targets"]] == [("db", "UP")]


@pytest.mark.parametrize(
    ("offset", "included"),
    [
        (timedelta(hours=-1, seconds=-1), False),
        (timedelta(hours=-1), True),
        (timedelta(0), True),
        (timedelta(seconds=1), False),
    ],
    ids=["just-before-window", "window-start", "now", "after-now"],
)
def test_since_includes_both_ends_of_the_window(
    dynamodb: DynamoDBClient, table: str, offset: timedelta, included: bool
) -> None:
    moment = (NOW + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
    seed(dynamodb, table, [(moment, ok(API, 10))])
    [api] = report_json(dynamodb, table)["targets"]
    assert api["checks"] == (1 if included else 0)


def test_since_24h_reaches_back_a_day_and_1h_does_not(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, [("2026-11-26T13:00:00Z", failed(API, 10)), (at(10), ok(API, 10))])
    assert report_json(dynamodb, table, "--since", "24h")["targets"][0]["checks"] == 2
    assert report_json(dynamodb, table)["targets"][0]["checks"] == 1


def test_reads_page_past_1_mb(dynamodb: DynamoDBClient, table: str) -> None:
    # Each failure item carries 32 failure lines of 512 bytes: ~17 KB, so 80 of them are ~1.4 MB.
    reasons = tuple(f"{n:03d}" + "x" * 600 for n in range(40))
    history = [(at(0, second), CheckResult(API, "u", False, 5, 500, failures=reasons)) for second in range(80)]
    seed(dynamodb, table, history)
    pages: list[str] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: pages.append(params["ExpressionAttributeValues"][":id"]["S"]),
    )
    read = list(checks(dynamodb, table, since=at(0), until=at(2)))
    assert pages.count("check#api") >= 2  # the failure items, past DynamoDB's 1 MB page
    assert [check.time for check in read] == [timestamp for timestamp, _ in history]
    assert all(len(check.failures) == 32 for check in read)


def test_many_small_pages_give_the_same_figures(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, api_history())
    pages: list[int] = []
    list(checks(dynamodb, table, since=at(0), until=at(30), on_page=pages.append, page_size=3))
    assert sum(pages) == 30
    assert len(pages) >= 10  # 30 run items, 3 a page
    whole = build_report(dynamodb, table, None, period="1h", now=NOW, stack=StackInfo((API,)))
    paged = build_report(dynamodb, table, None, period="1h", now=NOW, stack=StackInfo((API,)), page_size=3)
    assert paged == whole


def test_the_results_table_is_never_scanned(dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str) -> None:
    state_table = f"{table}-state"
    create_state_table(dynamodb_endpoint, state_table)
    seed(dynamodb, table, api_history())
    scanned: list[str] = []
    dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.Scan", lambda params, **_: scanned.append(params["TableName"])
    )
    code, _ = run(["--table", table, "--state-table", state_table], dynamodb)
    assert code == 0
    assert scanned == [state_table]


def test_table_format_shows_each_figure(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, api_history())
    code, text = run(["--table", table, "--since", "1h"], dynamodb)
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "uptime report, last 1h: 2026-11-27T11:30:00Z to 2026-11-27T12:30:00Z"
    row = next(line for line in lines if line.startswith("api "))
    cells = [cell.strip() for cell in row.split("  ") if cell.strip()]
    assert cells[:10] == [
        "api",
        "UP",
        at(14),
        "80.77%",
        "30",
        "5",
        "3 maint, 1 inconcl",
        "200 ms",
        "900 ms",
        "1500 ms",
    ]
    assert f"  api at {at(13)}: connection refused" in lines
    incidents = lines.index("incidents (DOWN periods):")
    assert lines[incidents + 1].split() == ["target", "start", "duration", "first", "reason"]
    assert lines[incidents + 3].split() == ["api", at(10), "4m00s", "timed", "out", "after", "10", "s"]


def test_csv_format_has_one_row_per_target(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, api_history())
    code, text = run(["--table", table, "--since", "1h", "--format", "csv"], dynamodb)
    assert code == 0
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"] == API
    assert (row["uptimePct"], row["checks"], row["failures"], row["p50Ms"], row["p99Ms"]) == (
        "80.7692",
        "30",
        "5",
        "200",
        "1500",
    )
    assert row["lastFailureReasons"] == "connection refused"


def test_a_target_without_records_reports_no_figures(dynamodb: DynamoDBClient, table: str) -> None:
    [api] = report_json(dynamodb, table)["targets"]
    assert (api["checks"], api["uptimePct"], api["p50Ms"], api["state"]) == (0, None, None, "UP")


def test_sparkline_is_the_median_per_slice_scaled_to_blocks() -> None:
    def check(minute: int, ms: int) -> Check:
        return Check(API, at(minute), True, ms, 200)

    checks = [check(0, 100), check(2, 250), check(2, 300), check(2, 350), check(3, 240)]
    # 4 slices of a minute: medians 100, none, 300, 240; (240-100)/(300-100)*7 = 4.9 -> block 5.
    assert sparkline(checks, at(0), at(4), width=4) == "▁ █▆"


def test_no_pulumi_cli_and_no_table_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], dynamodb: DynamoDBClient
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--since", "7d"], client=dynamodb, now=NOW) == 2
    error = capsys.readouterr().err
    assert "pulumi CLI is not installed" in error
    assert "--table" in error


def test_no_target_names_anywhere_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], dynamodb: DynamoDBClient, table: str
) -> None:
    assert main(["--table", table], client=dynamodb, now=NOW, stack=StackInfo()) == 2
    assert "pass --target NAME" in capsys.readouterr().err


def test_stack_targets_give_names_and_their_own_thresholds() -> None:
    info = stack_info(
        {
            "alerting": {"failureThreshold": 4},
            "targets": [{"url": "https://a.test/"}, {"name": "b", "url": "https://b.test/", "failureThreshold": 2}],
        }
    )
    assert info.names == ("https://a.test/", "b")
    assert info.policy("https://a.test/").failure_threshold == 4
    assert info.policy("b").failure_threshold == 2


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_appears_only_after_a_second() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, clock=clock, force=True)
    progress.page(100)
    clock.now = 1.0
    progress.page(50)
    assert stream.getvalue() == ""  # a read of a second or less draws nothing
    clock.now = 1.5
    progress.page(1200)
    progress.close()
    assert stream.getvalue() == "\rreading: 1,350 checks\n"


def test_progress_stays_off_when_stderr_is_not_a_terminal() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, clock=clock)
    clock.now = 5.0
    progress.page(10)
    progress.close()
    assert stream.getvalue() == ""


def fake_pulumi_cli(directory: Path, outputs: object, config: object, status: int = 0) -> None:
    """A `pulumi` on PATH answering `stack output --json` and `config --json` as the CLI's JSON forms do.

    The CLI itself cannot be installed here; this stands in for it, not for the code under test.
    """
    script = directory / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f"if [ \"$1\" = stack ]; then echo '{json.dumps(outputs)}'; else echo '{json.dumps(config)}'; fi\n"
        f"exit {status}\n"
    )
    script.chmod(0o755)


def test_tables_and_targets_come_from_the_stack_when_not_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dynamodb: DynamoDBClient, dynamodb_endpoint: str, table: str
) -> None:
    state_table = f"{table}-state"
    create_state_table(dynamodb_endpoint, state_table)
    seed(dynamodb, table, api_history())
    targets = [{"name": API, "url": "https://example.test/", "failureThreshold": 5}]
    fake_pulumi_cli(
        tmp_path,
        {"tableName": table, "stateTableName": state_table, "functionName": "f"},
        {
            "aws:region": {"value": "us-east-1", "secret": False},
            "healthcheck:targets": {"value": json.dumps(targets), "objectValue": targets, "secret": False},
            "healthcheck:alerting": {"value": '{"successThreshold": 1}', "secret": False},
        },
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--since", "1h", "--format", "json"], client=dynamodb, now=NOW) == 0
    data = json.loads(out.getvalue())
    assert [target["name"] for target in data["targets"]] == [API]
    assert data["incidents"] == []  # the target's own failureThreshold (5) is above its 4 failures in a row
    # Naming the target keeps its threshold from the stack.
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--since", "1h", "--format", "json", "--target", API], client=dynamodb, now=NOW) == 0
    assert json.loads(out.getvalue())["incidents"] == []


def test_the_tables_are_read_in_the_stacks_region_whatever_the_shells_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dynamodb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README deploys to eu-west-1; a shell whose default is us-east-1 must still find the tables.
    elsewhere = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=dynamodb_endpoint)
    name = f"results-eu-{tmp_path.name}"
    elsewhere.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in (HASH_KEY, RANGE_KEY)],
        KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}, {"AttributeName": RANGE_KEY, "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    seed(elsewhere, name, [(at(0), ok(API, 100))])
    targets = [{"name": API, "url": "https://example.test/"}]
    config = {
        "aws:region": {"value": "eu-west-1", "secret": False},
        "healthcheck:targets": {"value": json.dumps(targets), "objectValue": targets, "secret": False},
    }
    fake_pulumi_cli(tmp_path, {"tableName": name}, config)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(["--since", "1h", "--format", "json"], now=NOW) == 0
    [target] = json.loads(capsys.readouterr().out)["targets"]
    assert (target["name"], target["checks"]) == (API, 1)
    # --region wins; a table not there is one line that names the region looked in.
    assert main(["--since", "1h", "--region", "us-east-1"], now=NOW) == 1
    assert capsys.readouterr().err.startswith("healthcheck report: reading from DynamoDB failed (region us-east-1):")


def test_a_failing_pulumi_cli_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], dynamodb: DynamoDBClient
) -> None:
    fake_pulumi_cli(tmp_path, {}, {}, status=1)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main([], client=dynamodb, now=NOW) == 2
    assert "`pulumi stack output` failed" in capsys.readouterr().err


def test_control_characters_in_a_record_never_reach_the_terminal(dynamodb: DynamoDBClient, table: str) -> None:
    name = "evil\x1b]0;owned\x07"
    seed(dynamodb, table, [(at(minute), failed(name, 5, 500, "\x1b[2Jcleared")) for minute in range(3)])
    code, text = run(["--table", table, "--since", "1h", "--target", name], dynamodb)
    assert code == 0
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\ufffd[2Jcleared" in text


def test_a_missing_table_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], dynamodb: DynamoDBClient
) -> None:
    assert main(["--table", "no-such-table", "--target", API], client=dynamodb, now=NOW) == 1
    error = capsys.readouterr().err
    assert error.startswith("healthcheck report: reading from DynamoDB failed (region us-east-1):")
    assert "ResourceNotFoundException" in error


def test_csv_quotes_a_cell_a_spreadsheet_would_run(dynamodb: DynamoDBClient, table: str) -> None:
    name = '=HYPERLINK("http://evil.test","x")'
    seed(dynamodb, table, [(at(0), failed(name, 100, 500, "-2+3"))])
    code, text = run(["--table", table, "--since", "1h", "--format", "csv"], dynamodb, StackInfo((name,)))
    assert code == 0
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"] == "'" + name
    assert row["lastFailureReasons"] == "'-2+3"
    assert row["checks"] == "1"  # numbers stay numbers


def test_a_misspelt_target_is_named_with_the_close_one(
    capsys: pytest.CaptureFixture[str], dynamodb: DynamoDBClient, table: str
) -> None:
    seed(dynamodb, table, api_history())
    assert main(["--table", table, "--target", "apii"], client=dynamodb, now=NOW, stack=StackInfo((API,))) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("no target named 'apii' and no records of one in the last 24h: did you mean 'api'?")
    )
    # Without the stack, the rosters name every target ever recorded: the typo is still caught.
    assert main(["--table", table, "--target", "apii"], client=dynamodb, now=NOW) == 2
    assert "did you mean 'api'?" in capsys.readouterr().err
    # A target recorded once, with no records in the period, is reported empty, and said to be so.
    seed(dynamodb, table, [("2026-11-20T12:00:00Z", ok("gone", 100))], shard="2")
    assert main(["--table", table, "--target", "gone"], client=dynamodb, now=NOW) == 0
    assert capsys.readouterr().err == (
        "healthcheck report: no records of 'gone' in the last 24h: "
        "a misspelt name, a target added since, or a monitor that has not run\n"
    )
    # A target no longer configured, with records in the period, is still reported.
    seed(dynamodb, table, [(at(0), ok("old", 100))], shard="3")
    code, text = run(["--table", table, "--since", "1h", "--format", "json", "--target", "old"], dynamodb)
    assert (code, [target["name"] for target in json.loads(text)["targets"]]) == (0, ["old"])


def test_an_outage_that_began_in_the_window_and_goes_on_is_an_ongoing_incident(
    dynamodb: DynamoDBClient, table: str
) -> None:
    # Passing until 12:19, failing from 12:20 to the window's end (12:29): DOWN at 12:22, never back up.
    history = [(at(minute), ok(API, 100)) for minute in range(20)]
    history += [(at(minute), failed(API, 0, error="connection refused")) for minute in range(20, 30)]
    seed(dynamodb, table, history)
    data = report_json(dynamodb, table)
    assert data["incidents"] == [
        {
            "target": API,
            "start": at(20),
            "end": None,
            "durationS": 600,  # to the report's end, 12:30
            "ongoing": True,
            "firstReason": "connection refused",
        }
    ]
    assert (data["targets"][0]["state"], data["targets"][0]["since"]) == ("DOWN", at(20))


@pytest.mark.parametrize("left_out", ["maintenance", "inconclusive"])
def test_failures_left_out_of_uptime_make_no_incident(dynamodb: DynamoDBClient, table: str, left_out: str) -> None:
    """Ten failures in a row, each in a maintenance window or the monitor's own fault: no failure, no incident."""
    history = [(at(minute), ok(API, 100)) for minute in range(5)]
    history += [
        (
            at(minute),
            CheckResult(
                API,
                "https://example.test/",
                False,
                0,
                error="connection refused",
                maintenance=left_out == "maintenance",
                inconclusive=left_out == "inconclusive",
            ),
        )
        for minute in range(5, 15)
    ]
    history += [(at(minute), ok(API, 100)) for minute in range(15, 20)]
    seed(dynamodb, table, history)
    data = report_json(dynamodb, table)
    [api] = data["targets"]
    assert (api["failures"], api["counted"], api["uptimePct"]) == (0, 10, 100.0)
    assert data["incidents"] == []
    assert (api["state"], api["since"]) == ("UP", None)


def test_percentiles_of_many_responses_are_each_their_own_rank(dynamodb: DynamoDBClient, table: str) -> None:
    """73 responses of 1..73 ms, in no order. Nearest rank: p50 the 37th (36.5 up), p95 the 70th (69.35 up),
    p99 the 73rd (72.27 up); rounding to the nearest rank instead would give 36, 69 and 72."""
    latencies = [(index * 31) % 73 + 1 for index in range(73)]  # 31 and 73 share no factor: each once
    assert sorted(latencies) == list(range(1, 74))
    # Two a minute from 11:30 (the window's start) to 12:06.
    seed(dynamodb, table, [(at(index // 2 - 30, index % 2 * 30), ok(API, ms)) for index, ms in enumerate(latencies)])
    [api] = report_json(dynamodb, table)["targets"]
    assert (api["checks"], api["p50Ms"], api["p95Ms"], api["p99Ms"]) == (73, 37, 70, 73)


# Characters a stored name or reason could use to drive or fool the reader's terminal.
UNSAFE = {
    "escape-sequence": "\x1b]0;owned\x07",
    "c1-csi": "\x9b2J",
    "delete": "\x7f",
    "bidi-override": "\u202e",
    "bidi-isolate": "\u2066",
    "zero-width": "\u200b",
    "line-separator": "\u2028",
    "beyond-the-bmp": "\U000e0041",  # a tag character, invisible
}


def _shown_raw(text: str, unsafe: str) -> list[str]:
    return [char for char in set(unsafe) if unicodedata.category(char)[0] in "CZ" and char != " " and char in text]


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
@pytest.mark.parametrize("unsafe", list(UNSAFE.values()), ids=list(UNSAFE))
def test_no_output_writes_a_character_that_drives_a_terminal(
    dynamodb: DynamoDBClient, table: str, unsafe: str, output_format: str
) -> None:
    name = f"pay{unsafe}gnp.exe"
    reason = f"status 503{unsafe} not in [2xx]"
    seed(dynamodb, table, [(at(minute), failed(name, 5, 503, reason)) for minute in range(4)])
    code, text = run(["--table", table, "--since", "1h", "--format", output_format], dynamodb, StackInfo((name,)))
    assert code == 0
    assert _shown_raw(text, unsafe) == []
    if output_format == "json":
        # Exact data: the characters are escaped, not lost.
        data = json.loads(text)
        assert data["targets"][0]["name"] == name
        assert data["incidents"][0]["firstReason"] == reason
    else:
        assert "pay\ufffd" in text


@pytest.mark.parametrize("unsafe", list(UNSAFE.values()), ids=list(UNSAFE))
def test_the_reports_messages_on_stderr_carry_no_such_character(
    capsys: pytest.CaptureFixture[str], dynamodb: DynamoDBClient, table: str, unsafe: str
) -> None:
    known = (f"pay{unsafe}gnp.exe", f"web{unsafe}")
    # A name close to none of them: the hint lists the targets.
    assert main(["--table", table, "--target", "zzzz"], client=dynamodb, now=NOW, stack=StackInfo(known)) == 2
    error = capsys.readouterr().err
    assert "no target named 'zzzz'" in error
    assert _shown_raw(error, unsafe) == []
    # One close to a name: the hint names it.
    assert main(["--table", table, "--target", "pay"], client=dynamodb, now=NOW, stack=StackInfo(known)) == 2
    assert _shown_raw(capsys.readouterr().err, unsafe) == []
    # Nothing names the targets: the name asked for is said to have no records.
    assert main(["--table", table, "--target", known[1]], client=dynamodb, now=NOW) == 0
    assert _shown_raw(capsys.readouterr().err, unsafe) == []


def test_a_target_that_moved_between_shards_is_reported_whole_and_no_other_shard_is_read(
    dynamodb: DynamoDBClient, table: str
) -> None:
    """A change of the target list moves targets between schedules: the rosters say where each has been."""
    seed(dynamodb, table, [(at(minute), ok(API, 100)) for minute in range(10)], shard="1")
    moved = [(at(minute), result) for minute in range(10, 20) for result in (ok("web", 90), ok(API, 110))]
    seed(dynamodb, table, moved, shard="2")
    seed(dynamodb, table, [(at(minute), ok("db", 80)) for minute in range(20)], shard="3")
    queried: list[str] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: queried.append(params["ExpressionAttributeValues"][":id"]["S"]),
    )
    [api] = report_json(dynamodb, table, "--target", API)["targets"]
    assert (api["checks"], api["p50Ms"]) == (20, 100)
    assert queried == ["roster", "run#1", "run#2"]  # one Query each; shard 3 holds no api


def test_checks_from_two_regions_are_each_counted(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, [(at(minute), ok(API, 100)) for minute in range(5)], region="us-east-1")
    seed(dynamodb, table, [(at(minute), failed(API, 5)) for minute in range(5)], region="eu-west-1")
    [api] = report_json(dynamodb, table)["targets"]
    assert (api["checks"], api["failures"]) == (10, 5)


def test_several_regions_get_their_own_uptime_and_latency_beside_the_overall(
    dynamodb: DynamoDBClient, table: str
) -> None:
    seed(dynamodb, table, [(at(minute), ok(API, 100 + minute)) for minute in range(4)], region="us-east-1")
    eu = [(at(minute), ok(API, 300) if minute % 2 else failed(API, 50, status=503)) for minute in range(4)]
    seed(dynamodb, table, eu, region="eu-west-1")
    [api] = report_json(dynamodb, table)["targets"]
    assert (api["checks"], api["failures"], api["uptimePct"]) == (8, 2, 75.0)
    assert api["regions"] == {
        "eu-west-1": {"uptimePct": 50.0, "checks": 4, "failures": 2, "p50Ms": 50, "p95Ms": 300},
        "us-east-1": {"uptimePct": 100.0, "checks": 4, "failures": 0, "p50Ms": 101, "p95Ms": 103},
    }
    code, table_text = run(["--table", table, "--since", "1h", "--target", API], dynamodb)
    assert code == 0
    rows = {line.split()[1]: line.split() for line in table_text.splitlines() if line.startswith("  from ")}
    assert rows["eu-west-1"][2:4] == ["50.00%", "4"]
    assert rows["us-east-1"][2:4] == ["100.00%", "4"]


def test_one_region_reports_as_before(dynamodb: DynamoDBClient, table: str) -> None:
    seed(dynamodb, table, [(at(minute), ok(API, 100)) for minute in range(3)])
    [api] = report_json(dynamodb, table)["targets"]
    assert "regions" not in api
