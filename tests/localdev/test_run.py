"""`make run` and `python -m localdev.run` as a user starts them from the repo root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthcheck.event import format_timestamp
from tests.echo_server import echo_server
from tests.servers import FaultServer

ROOT = Path(__file__).resolve().parents[2]
# Not the checkout's own local-secrets.yaml, whatever a developer keeps there.
NO_SECRETS = ("--secrets", str(ROOT / "tests" / "no-such-local-secrets.yaml"))


def run_local(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m localdev.run`` with the venv's python alone, as a user starts it; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "localdev.run", *NO_SECRETS, *args],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_run_verbose_works_with_the_venvs_python_alone(http_server: FaultServer, tmp_path: Path) -> None:
    url = f"{http_server.base_url}/ok"
    page = tmp_path / "status.html"
    result = run_local("--verbose", "--url", url, "--status-html", str(page))
    lines = result.stdout.splitlines()
    checks = [json.loads(line) for line in lines if line.startswith('{"type":"check"')]
    assert [(check["id"], check["success"], check["status"]) for check in checks] == [(url, True, 200)]
    assert any(line.split()[:2] == [url, "200"] for line in lines), result.stdout  # the table's row
    assert "1 check(s) recorded in healthcheck-local at " in result.stdout
    assert ": a run item, and 0 failure item(s)" in result.stdout
    assert f"{url}: UP" in lines  # its state after the run
    # It ends with the status page, its figures read back from the records just written.
    assert lines[-1] == f"status page: {page}"
    html = page.read_text()
    assert f'<h2 id="t-0">{url}</h2><p><span class="state state-UP">UP</span>' in html
    assert "<dt>24h</dt><dd>100.00%</dd>" in html


def test_runs_show_the_state_and_print_the_alert_it_would_have_sent(http_server: FaultServer, tmp_path: Path) -> None:
    url = f"{http_server.base_url}/status/503"
    page = tmp_path / "status.html"
    before = datetime.now(UTC).replace(microsecond=0)
    result = run_local("--runs", "3", "--url", url, "--status-html", str(page))
    lines = result.stdout.splitlines()
    # Event times a minute apart ending now, as the schedule's: DOWN since the first of the three.
    [summary] = [json.loads(line.removeprefix("summary: ")) for line in lines if line.startswith("summary: ")]
    last = datetime.fromisoformat(summary["timestamp"])
    assert before <= last <= datetime.now(UTC)
    assert f"{url}: DOWN (since {format_timestamp(last - timedelta(minutes=2))})" in lines
    assert f"=== DOWN: {url} ===" in lines
    assert "1 target is DOWN:" in lines
    assert lines[-1] == f"status page: {page}"  # after the alerts: the last thing it says


def _make_run_command(*variables: str) -> str:
    """The localdev.run command `make run` would start (--dry-run: nothing is run or installed)."""
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "run", *variables],  # noqa: S607 - make from PATH, as a user
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    [command] = [line for line in result.stdout.splitlines() if "-m localdev.run" in line]
    return command.replace("'", "")


@pytest.mark.parametrize(
    ("variables", "verbose"),
    [([], False), (["VERBOSE=1"], True), (["VERBOSE=0"], False)],
    ids=["default", "VERBOSE=1", "VERBOSE=0"],
)
def test_make_run_passes_verbose(variables: list[str], verbose: bool) -> None:
    assert ("--verbose" in _make_run_command(*variables).split()) is verbose


def test_make_run_checks_the_stack_named_by_stack() -> None:
    assert "--stack prod" in _make_run_command("STACK=prod")
    assert "--stack dev" in _make_run_command()


def test_a_stack_with_no_file_is_one_line_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localdev.run", "--stack", "nosuch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no Pulumi.nosuch.yaml here: STACK= names a stack whose Pulumi.<stack>.yaml is in {ROOT}"
    ]


def test_the_table_says_which_failures_move_no_state() -> None:
    from healthcheck.history.reader import Check
    from localdev.run import format_table

    stamp = "2026-11-28T10:00:00Z"
    recorded = [
        Check("a", stamp, True, 80, status=200),
        Check("b", stamp, False, 3, error="connection refused"),
        Check("c", stamp, False, 0, error="secret /x not readable: Throttling", inconclusive=True),
        Check("d", stamp, False, 5, error="connection refused", maintenance=True),
    ]
    rows = {line.split()[0]: line for line in format_table(recorded).splitlines()[2:]}
    assert rows["a"].endswith("  yes")
    assert "  NO  " in rows["b"]
    assert "  no (inconclusive)  " in rows["c"]
    assert "  no (maintenance)  " in rows["d"]


def test_zero_runs_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    from localdev.run import main

    with pytest.raises(SystemExit) as exited:
        main(["--runs", "0"])
    assert exited.value.code == 2
    assert "--runs must be at least 1" in capsys.readouterr().err


def test_an_invalid_target_has_no_state_to_show(tmp_path: Path) -> None:
    result = run_local("--url", "ftp://x", "--status-html", str(tmp_path / "s.html"))
    assert "ftp://x: not checked (invalid target, see its error)" in result.stdout.splitlines()


@pytest.fixture
def stack_in_root() -> Iterator[Callable[[str], str]]:
    """Write ``Pulumi.<name>.yaml`` beside the real Pulumi.yaml (where `make run STACK=` looks); removed after."""
    written: list[Path] = []

    def write(config: str) -> str:
        name = f"test-{uuid.uuid4().hex[:8]}"
        path = ROOT / f"Pulumi.{name}.yaml"
        path.write_text(f"config:\n{config}", encoding="utf-8")
        written.append(path)
        return name

    yield write
    for path in written:
        path.unlink(missing_ok=True)


def run_stack(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localdev.run", "--stack", name, *NO_SECRETS, *args],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_stack_file_is_read_as_preview_reads_it(
    http_server: FaultServer, stack_in_root: Callable[[str], str], tmp_path: Path
) -> None:
    # Unquoted, 16:30 is a string to the CLI's YAML (and to check-config) but 990 to YAML 1.1 (base 60).
    name = stack_in_root(
        f"  healthcheck:targets:\n    - {{name: api, url: '{http_server.base_url}/status/503'}}\n"
        "  healthcheck:maintenance:\n    - start: 16:30\n      duration: 1h\n"
    )
    result = run_stack(name, "--event", "events/eventbridge.json", "--status-html", str(tmp_path / "s.html"))
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("api ")]
    assert "  no (maintenance)  " in row  # the event's 16:53 is inside the window: the failure moves no state


def test_a_window_set_for_now_applies_as_deployed(
    http_server: FaultServer, stack_in_root: Callable[[str], str], tmp_path: Path
) -> None:
    # Found by a user: `make run` checked at the sample event's 2015 time, so a window open now was ignored.
    opened = datetime.now(UTC) - timedelta(minutes=5)
    name = stack_in_root(
        f"  healthcheck:targets:\n    - {{name: api, url: '{http_server.base_url}/status/503'}}\n"
        f"  healthcheck:maintenance:\n    - start: '{opened:%H:%M}'\n      duration: 1h\n"
    )
    result = run_stack(name, "--status-html", str(tmp_path / "s.html"))
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("api ")]
    assert "  no (maintenance)  " in row


def test_the_sample_event_is_recorded_at_its_own_time_but_moves_no_state(
    http_server: FaultServer, tmp_path: Path
) -> None:
    url = f"{http_server.base_url}/status/503"
    result = run_local("--event", "events/eventbridge.json", "--url", url, "--status-html", str(tmp_path / "s.html"))
    lines = result.stdout.splitlines()
    assert (
        "1 check(s) recorded in healthcheck-local at 2015-10-08T16:53:06Z: a run item, and 1 failure item(s)" in lines
    )
    assert f"{url}: UP" in lines  # no state: as deployed, an event that old is no retry of a scheduled run
    assert "event time 2015-10-08T16:53:06Z is " in result.stderr
    assert "behind the function's clock" in result.stderr


def test_a_misspelt_key_is_refused_as_check_config_refuses_it_with_every_other_mistake(
    stack_in_root: Callable[[str], str],
) -> None:
    name = stack_in_root(
        "  healthcheck:targets:\n    - {name: api, url: 'https://api.example.com/'}\n"
        "  healthcheck:alertng:\n    failureThreshold: 1\n"
        "  healthcheck:maintenance:\n    - {start: '25:00', duration: 1h}\n"
        "  healthcheck:connectivityCheck: ftp://canary.example.net/\n"
    )
    result = run_stack(name)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "error: healthcheck:alertng is not a setting of this project; did you mean 'alerting'?",
        "error: healthcheck:connectivityCheck 'ftp://canary.example.net/' must start with http:// or https://",
        "error: healthcheck:maintenance: maintenance[0]: 'start' must be \"HH:MM\" (24-hour), got '25:00'",
    ]


def test_a_bad_stack_value_is_one_line_naming_its_key(stack_in_root: Callable[[str], str]) -> None:
    name = stack_in_root(
        "  healthcheck:targets:\n    - {name: api, url: 'https://api.example.com/'}\n"
        "  healthcheck:maintenance:\n    - {start: '25:00', duration: 1h}\n"
    )
    result = run_stack(name)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "error: healthcheck:maintenance: maintenance[0]: 'start' must be \"HH:MM\" (24-hour), got '25:00'"
    ]


def test_a_secret_reference_is_read_from_the_embedded_server_never_from_aws(
    http_server: FaultServer, stack_in_root: Callable[[str], str], tmp_path: Path
) -> None:
    name = stack_in_root(
        f"  healthcheck:targets:\n    - name: api\n      url: '{http_server.base_url}/ok/with-secret'\n"
        "      headers:\n        Authorization: {ssm: /healthcheck/api-token}\n"
    )
    # Even a shell that tells boto3 to ignore endpoint variables: with the dummy credentials that would be real AWS.
    env = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    result = run_stack(name, "--status-html", str(tmp_path / "s.html"), env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "1 secret(s) referenced, read from the embedded SSM and Secrets Manager (AWS is never called):",
        "  /healthcheck/api-token: not in no-such-local-secrets.yaml, so its targets fail with ParameterNotFound",
    ]
    [row] = [line for line in lines if line.startswith("api ")]
    assert row.split("  ")[-1].strip() == "secret /healthcheck/api-token not readable: ParameterNotFound"
    assert "/ok/with-secret" not in http_server.counters.requests  # the check was not made without its header


ORDERS_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/orders-AbC123"


def test_local_secrets_reach_the_target_through_the_embedded_ssm_and_secrets_manager(
    stack_in_root: Callable[[str], str], tmp_path: Path
) -> None:
    # Issue 14: the deployable form of a credential (a reference) always failed locally with ParameterNotFound.
    token, api_key = f"Bearer {uuid.uuid4().hex}", uuid.uuid4().hex
    with echo_server() as server:
        bearer, keyed = server.demand("Authorization", token), server.demand("X-Api-Key", api_key)
        name = stack_in_root(
            f"  healthcheck:targets:\n"
            f"    - name: bearer\n      url: '{server.base_url}{bearer}'\n"
            "      headers:\n        Authorization: {ssm: /healthcheck/api-token}\n"
            f"    - name: keyed\n      url: '{server.base_url}{keyed}'\n"
            f"      headers:\n        X-Api-Key: {{secretsManager: '{ORDERS_ARN}', key: apiKey}}\n"
            f"    - name: unheld\n      url: '{server.base_url}{bearer}'\n"
            "      headers:\n        Authorization: {ssm: /healthcheck/other-token}\n"
        )
        secrets = tmp_path / "local-secrets.yaml"
        secrets.write_text(
            "ssm:\n  /healthcheck/api-token: Bearer ${HC_TEST_TOKEN}\n"
            f"secretsManager:\n  {ORDERS_ARN}:\n    apiKey: {api_key}\n",
            encoding="utf-8",
        )
        env = {"HC_TEST_TOKEN": token.removeprefix("Bearer "), "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
        result = run_stack(name, "--secrets", str(secrets), "--status-html", str(tmp_path / "s.html"), env=env)
        seen = {(seen.path, seen.headers.get("authorization"), seen.headers.get("x-api-key")) for seen in server.seen}
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "3 secret(s) referenced, read from the embedded SSM and Secrets Manager (AWS is never called):",
        "  /healthcheck/api-token: from local-secrets.yaml",
        "  /healthcheck/other-token: not in local-secrets.yaml, so its targets fail with ParameterNotFound",
        f"  {ORDERS_ARN}: from local-secrets.yaml",
    ]
    rows = {line.split()[0]: line.split() for line in lines if line.split()[:1] in (["bearer"], ["keyed"], ["unheld"])}
    assert (rows["bearer"][1], rows["bearer"][4], rows["keyed"][1], rows["keyed"][4]) == ("200", "yes", "200", "yes")
    assert rows["unheld"][-1] == "ParameterNotFound"
    assert seen == {(bearer, token, None), (keyed, None, api_key)}  # the values, sent as headers
    assert token.split()[1] not in result.stdout + result.stderr
    assert api_key not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ssm: [/a]\n", "error: s.yaml: 'ssm' must map each name to its value"),
        ("parameters:\n  /a: x\n", "error: s.yaml must be a mapping with 'ssm' and/or 'secretsManager' only"),
        ("ssm:\n  /a: 1234\n", "error: s.yaml: ssm /a must be a string (quote it)"),
        ("ssm:\n  /a: ${HC_TEST_UNSET}\n", "error: s.yaml: ssm /a uses ${HC_TEST_UNSET}, which is not set"),
        ("ssm:\n  /a: x: s3cr3t\n", "error: s.yaml is not valid YAML (line 2)"),
        (f"secretsManager:\n  {ORDERS_ARN}: [s3cr3t]\n", f"error: s.yaml: secretsManager {ORDERS_ARN} must be"),
    ],
    ids=["not-a-mapping", "unknown-section", "not-a-string", "unset-variable", "bad-yaml", "list-secret"],
)
def test_a_bad_local_secrets_file_is_one_line_that_never_shows_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    from localdev.run import main

    monkeypatch.delenv("HC_TEST_UNSET", raising=False)
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["--url", "http://127.0.0.1:9/", "--secrets", str(tmp_path / "s.yaml")])
    assert str(exited.value.code).startswith(message)
    assert "s3cr3t" not in str(exited.value.code) + capsys.readouterr().out


def test_make_run_passes_secrets() -> None:
    assert "--secrets ops/local-secrets.yaml" in _make_run_command("SECRETS=ops/local-secrets.yaml")
    assert "--secrets" not in _make_run_command()


def test_the_local_secrets_file_is_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "local-secrets.yaml"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        check=False,
    )
    assert ignored.returncode == 0


TARGET = "  healthcheck:targets:\n    - {name: api, url: 'https://api.example.com/'}\n"
BAD_STACKS = [
    ("maintenance", TARGET + "  healthcheck:maintenance:\n    - {start: '12:30', duration: 9d}\n"),
    ("maintenance-not-a-list", TARGET + "  healthcheck:maintenance: {start: '12:30', duration: 1h}\n"),
    ("window-target", TARGET + "  healthcheck:maintenance:\n    - {start: '12:30', duration: 1h, targets: [apii]}\n"),
    ("alerting", TARGET + "  healthcheck:alerting: {failureThreshold: 0}\n"),
    ("alerting-unknown", TARGET + "  healthcheck:alerting: {threshold: 3}\n"),
    ("connectivity", TARGET + "  healthcheck:connectivityCheck: ftp://canary.example.net/\n"),
    ("targets-empty", "  healthcheck:targets: []\n"),
    ("targets-not-a-list", "  healthcheck:targets: https://api.example.com/\n"),
    ("bad-target", "  healthcheck:targets:\n    - {name: api, url: 'ftp://api.example.com/'}\n"),
    ("encrypted", TARGET + "  healthcheck:alerting:\n    secure: AAABAGh2\n"),
    ("cli-type", TARGET + "  healthcheck:connectivityCheck: [https://canary.example.net/]\n"),
]


@pytest.mark.parametrize("config", [config for _, config in BAD_STACKS], ids=[name for name, _ in BAD_STACKS])
def test_run_refuses_a_stack_with_check_configs_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: str
) -> None:
    from localdev import check_config, stack
    from localdev.run import main

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.local.yaml").write_text(f"config:\n{config}", encoding="utf-8")
    assert check_config.main(["--root", str(tmp_path), "--stack", "local"]) == 1
    [expected] = capsys.readouterr().err.splitlines()
    monkeypatch.setattr(stack, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["--stack", "local"])
    assert exited.value.code == expected
    assert expected.startswith("error: ")


def test_an_empty_target_list_is_refused_as_preview_refuses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from localdev import stack
    from localdev.run import main

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.local.yaml").write_text("config:\n  healthcheck:targets: []\n", encoding="utf-8")
    monkeypatch.setattr(stack, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["--stack", "local"])
    assert exited.value.code == "error: healthcheck:targets is empty: give at least one {url: ...}"


def test_the_local_tools_need_no_pulumi_sdk(repo_root: Path) -> None:
    # `make run` installs requirements-local.txt only: the stack's checks (infra.settings) must import without it.
    code = "import sys; sys.modules['pulumi'] = None; import localdev.run, localdev.serve, localdev.report"
    env = {**os.environ, "PYTHONPATH": f"{repo_root / 'image'}{os.pathsep}{repo_root}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, env=env, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_regions_and_quorum_are_refused_as_at_preview(stack_in_root: Callable[[str], str]) -> None:
    name = stack_in_root(
        "  aws:region: us-east-1\n"
        "  healthcheck:targets:\n    - {name: api, url: 'https://api.example.com/'}\n"
        "  healthcheck:regions: [us-east-1, eu-wset-1]\n"
    )
    result = run_stack(name)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        (
            "error: healthcheck:regions: 'eu-wset-1' is not an AWS region that offers Lambda and EventBridge "
            "Scheduler; did you mean 'eu-west-1'?"
        )
    ]
    quorum = stack_in_root(
        "  aws:region: us-east-1\n"
        "  healthcheck:targets:\n    - {name: api, url: 'https://api.example.com/'}\n"
        "  healthcheck:regions: [us-east-1, eu-west-1]\n  healthcheck:quorum: 3\n"
    )
    assert run_stack(quorum).stderr.splitlines() == [
        "error: healthcheck:quorum must be a whole number from 1 to 2 (the 2 regions that check) or 0 (2), got 3"
    ]


def test_regions_run_each_regions_checker_and_a_cut_region_is_impaired(
    http_server: FaultServer, tmp_path: Path
) -> None:
    url = f"{http_server.base_url}/ok"
    regions = "us-east-1,eu-west-1,ap-southeast-1"
    args = ("--url", url, "--regions", regions, "--cut", "eu-west-1", "--runs", "3")
    result = run_local(*args, "--status-html", str(tmp_path / "s.html"))
    lines = result.stdout.splitlines()
    assert "us-east-1:" in lines
    assert "eu-west-1: (network cut) impaired: no answer, canary included; it does not vote" in lines
    assert "ap-southeast-1:" in lines
    assert "3 run item(s) recorded in healthcheck-local at " in result.stdout
    assert lines[lines.index("state after 3 run(s):") + 1] == f"{url}: UP"
    assert "would have been sent" not in result.stdout  # a region's own outage pages nobody


def test_regions_that_leave_out_the_home_region_write_to_its_tables(http_server: FaultServer, tmp_path: Path) -> None:
    # Found by a trial: HOME_REGION was the first region listed, whose tables the embedded DynamoDB never had.
    url = f"{http_server.base_url}/ok"
    result = run_local("--url", url, "--regions", "eu-west-1,ap-southeast-1", "--status-html", str(tmp_path / "s.html"))
    assert result.returncode == 0, result.stderr
    assert "2 run item(s) recorded in healthcheck-local at " in result.stdout
    assert f"{url}: UP" in result.stdout.splitlines()


def test_regions_below_quorum_hold_and_say_the_monitor_is_degraded(http_server: FaultServer, tmp_path: Path) -> None:
    url = f"{http_server.base_url}/ok"
    args = ("--url", url, "--regions", "us-east-1,eu-west-1", "--cut", "eu-west-1", "--runs", "3")
    result = run_local(*args, "--status-html", str(tmp_path / "s.html"))
    assert result.stdout.count("=== DEGRADED: only 1 of 2 regions reporting ===") == 1, result.stdout
    assert f"{url}: UP" in result.stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--regions", "us-east-1,us-east-1"), "error: --regions names a region twice"),
        (("--regions", "us-east-1,eu-west-1", "--cut", "ap-south-1"), "error: --cut ap-south-1 is not one of"),
        (
            ("--regions", "eu-wset-1,us-east-1"),
            (
                "error: --regions: 'eu-wset-1' is not an AWS region that offers Lambda and EventBridge Scheduler; "
                "did you mean 'eu-west-1'?"
            ),
        ),
    ],
    ids=["duplicate", "cut-unknown", "typo"],
)
def test_regions_mistakes_are_named(args: tuple[str, ...], error: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "localdev.run", *NO_SECRETS, "--url", "http://127.0.0.1:9/", *args],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(error), result.stderr
