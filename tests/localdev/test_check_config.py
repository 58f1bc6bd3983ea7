"""`make check-config`: the real dev stack passes; broken copies fail with preview's own messages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.schedules import IN_FLIGHT, MAX_TARGETS, waves
from localdev.check_config import StackConfig, check_program, load_config, main
from tests.pulumi_harness import deploy_program_config

ROOT = Path(__file__).resolve().parents[2]


def test_make_check_config_passes_the_real_dev_stack() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}
    # -o: never reinstall the virtualenv from inside a test.
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "check-config", "STACK=dev"],  # noqa: S607 - make on PATH
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "Pulumi.dev.yaml: OK, as `pulumi preview` would read it for project healthcheck",
        "  targets:          4 (example.com, aws-status, python.org, httpbin-ok)",
        (
            "  TARGETS:          in the function's environment (1696 of 4096 bytes): an invoke with no 'targets' "
            "checks them all"
        ),
        "  schedule:         rate(5 minutes), 1 schedule(s)",
        "  regions:          the stack's own (us-east-1)",
        "  memorySize:       512 MB",
        "  timeout:          120 s",
        "  logRetentionDays: 30",
        "  logChecks:        failures",
        "  retentionDays:    90",
        "  records PITR:     on",
        "  alerts:           0 email(s), 0 other subscription(s)",
        "  connectivity:     none",
        "  perTargetMetrics: false",
        "  maintenance:      0 window(s)",
        "  secrets:          0 SSM parameter(s), 0 Secrets Manager secret(s)",
        "  statusPage:       off",
    ]


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str

    def apply(self, root: Path) -> None:
        path = root / self.file
        text = path.read_text(encoding="utf-8")
        assert self.old in text, f"{self.old!r} not in {self.file}"
        path.write_text(text.replace(self.old, self.new, 1), encoding="utf-8")


def stack_key(line: str) -> Edit:
    """Add one line to the dev stack's config."""
    return Edit("Pulumi.dev.yaml", "config:\n", f"config:\n  {line}\n")


QUOTED_DESCRIPTION = 'description: "A serverless uptime monitor: '
FIRST_TARGET = "    - name: example.com\n      url: https://example.com/\n"

BROKEN = [
    (
        "unquoted-description",  # issue #9: every pulumi command failed on this
        Edit("Pulumi.yaml", QUOTED_DESCRIPTION, "description: A serverless uptime monitor: "),
        (
            r"^error: could not unmarshal '.*Pulumi\.yaml': invalid YAML file: "
            r"yaml: line 5: mapping values are not allowed in this context$"
        ),
    ),
    (
        "schema",
        Edit("Pulumi.yaml", "runtime:\n  name: python\n", "runtime:\n  name: 3\n"),
        (
            r"^error: could not validate '.*Pulumi\.yaml': 1 error occurred:\n"
            r"\t\* #/runtime/name: 3 is not of type 'string'$"
        ),
    ),
    (
        "misspelt-name",
        Edit("Pulumi.yaml", "name: healthcheck\n", "nmae: healthcheck\n"),
        r"project is missing a 'name' attribute; found 'nmae' instead$",
    ),
    (
        "default-of-wrong-type",
        Edit("Pulumi.yaml", "default: 512\n", "default: lots\n"),
        (
            r"^error: could not unmarshal '.*Pulumi\.yaml': The default value specified for configuration key "
            r"'memorySize' is not of the expected type 'integer'$"
        ),
    ),
    (
        "stack-yaml",
        stack_key("healthcheck:schedule: [rate(5 minutes)"),
        r"^error: Pulumi.dev.yaml: invalid YAML file: yaml: line \d+: ",
    ),
    (
        "key-with-two-colons",
        stack_key("healthcheck:lambda:timeout: 30"),
        (
            r"^error: could not parse healthcheck:lambda:timeout as a configuration key "
            r"\(configuration keys should be of the form `<namespace>:<name>`\)$"
        ),
    ),
    (
        "timeout-not-integer",
        stack_key("healthcheck:timeout: two minutes"),
        r"^error: validating stack config: Stack 'dev' with configuration key 'timeout' must be of type 'integer'$",
    ),
    (
        "timeout-fraction",
        stack_key("healthcheck:timeout: 90.5"),
        r"^error: validating stack config: Stack 'dev' with configuration key 'timeout' must be of type 'integer'$",
    ),
    (
        "memory-bool",
        stack_key("healthcheck:memorySize: yes"),
        r"^error: validating stack config: Stack 'dev' with configuration key 'memorySize' must be of type 'integer'$",
    ),
    (
        "schedule-list",
        Edit("Pulumi.dev.yaml", "healthcheck:schedule: rate(5 minutes)", "healthcheck:schedule: [rate(5 minutes)]"),
        r"^error: validating stack config: Stack 'dev' with configuration key 'schedule' must be of type 'string'$",
    ),
    (
        "no-targets",
        Edit("Pulumi.dev.yaml", "healthcheck:targets:", "healthcheck:endpoints:"),
        r"^error: validating stack config: Stack 'dev' is missing configuration value 'targets'$",
    ),
    (
        "secret",
        stack_key("healthcheck:timeout:\n    secure: AAABAGh2"),
        r"^error: healthcheck:timeout is encrypted: checking it needs the stack's secrets provider$",
    ),
    (
        "timeout-0",
        stack_key("healthcheck:timeout: 0"),
        r"^error: healthcheck:timeout must be a whole number from 1 to 900, got 0$",
    ),
    (
        "timeout-short",
        stack_key("healthcheck:timeout: 12"),
        r"^error: healthcheck:timeout 12 s leaves no room for the slowest target \(10 s\)",
    ),
    (
        "timeout-as-go-reads-1e3",  # the CLI's YAML reads 1e3 as 1000, which Lambda refuses
        stack_key("healthcheck:timeout: 1e3"),
        r"^error: healthcheck:timeout must be a whole number from 1 to 900, got 1000$",
    ),
    (
        "cron",
        Edit("Pulumi.dev.yaml", "rate(5 minutes)", "cron(0 12 * * * *)"),
        r"^error: healthcheck:schedule 'cron\(0 12 \* \* \* \*\)': exactly one of day-of-month",
    ),
    (
        "status-concurrency-negative",  # -1 is the provider's "unreserved": 0 says that here
        stack_key("healthcheck:statusPageConcurrency: -1"),
        r"^error: healthcheck:statusPageConcurrency must be a whole number from 0 to 1000, got -1$",
    ),
    (
        "retention-0",
        stack_key("healthcheck:retentionDays: 0"),
        r"^error: healthcheck:retentionDays must be a whole number from 1 to 36500, got 0$",
    ),
    (
        "emails-not-a-list",
        stack_key("healthcheck:alertEmails: ops@example.com"),
        (
            r"^error: validating stack config: Stack 'dev' with configuration key 'alertEmails' must be of type "
            r"'array<string>'$"
        ),
    ),
    (
        "emails-numbers",
        stack_key("healthcheck:alertEmails: [1, 2]"),
        (
            r"^error: validating stack config: Stack 'dev' with configuration key 'alertEmails' must be of type "
            r"'array<string>'$"
        ),
    ),
    (
        "email-malformed",
        stack_key("healthcheck:alertEmails: [ops@example]"),
        r"^error: healthcheck:alertEmails\[0\] 'ops@example' is not an email address \(name@example.com\)$",
    ),
    (
        "subscription-fifo",
        stack_key(
            "healthcheck:alertSubscriptions:\n    - protocol: sqs\n"
            "      endpoint: arn:aws:sqs:us-east-1:123456789012:alerts.fifo"
        ),
        (
            r"^error: healthcheck:alertSubscriptions\[0\]: 'arn:aws:sqs:us-east-1:123456789012:alerts.fifo' is a FIFO "
            r"queue; the alert topic is a standard one$"
        ),
    ),
    (
        "connectivity-ftp",
        stack_key("healthcheck:connectivityCheck: ftp://canary.example.net/"),
        (
            r"^error: healthcheck:connectivityCheck 'ftp://canary.example.net/' must start with http:// or "
            r"https://$"
        ),
    ),
    (
        "metrics-not-bool",
        stack_key("healthcheck:perTargetMetrics: sometimes"),
        (
            r"^error: validating stack config: Stack 'dev' with configuration key 'perTargetMetrics' must be of type "
            r"'boolean'$"
        ),
    ),
    (
        "bad-target",
        Edit("Pulumi.dev.yaml", "url: https://example.com/", "url: ftp://example.com/"),
        r"^error: healthcheck:targets: example.com: 'url' 'ftp://example.com/' must start with http:// or https://$",
    ),
]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def run(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["--root", str(root), "--stack", "dev"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.rstrip("\n")


@pytest.mark.parametrize(("edit", "message"), [(e, m) for _, e, m in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_broken_copy_fails_with_previews_message(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit, message: str
) -> None:
    edit.apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, out) == (1, "")
    assert re.search(message, err, re.MULTILINE | re.DOTALL), err


@pytest.mark.parametrize(
    ("edit", "shown"),
    [
        (stack_key("timeout: 60"), "  timeout:          60 s"),  # a bare key is the project's
        (stack_key("healthcheck:timeout: '60'"), "  timeout:          60 s"),
        (stack_key("healthcheck:timeout: 6_0"), "  timeout:          60 s"),
        (stack_key("healthcheck:timeout: 60.0"), "  timeout:          60 s"),
        (stack_key("healthcheck:memorySize: 0x400"), "  memorySize:       1024 MB"),
        (Edit("Pulumi.dev.yaml", "rate(5 minutes)", "cron(*/10 * * * ? *)"), "cron(*/10 * * * ? *)"),
        (Edit("Pulumi.dev.yaml", FIRST_TARGET, FIRST_TARGET * 0), "  targets:          3 ("),
        (stack_key("healthcheck:retentionDays: 400"), "  retentionDays:    400"),
        (
            stack_key("healthcheck:alertEmails: [ops@example.com, oncall@example.org]"),
            "  alerts:           2 email(s), 0 other subscription(s)",
        ),
        (
            stack_key(
                "healthcheck:alertSubscriptions:\n    - protocol: https\n      endpoint: https://hooks.example.com/a"
            ),
            "  alerts:           0 email(s), 1 other subscription(s)",
        ),
        (
            stack_key("healthcheck:connectivityCheck: https://canary.example.net/"),
            "  connectivity:     https://canary.example.net/",
        ),
        (stack_key("healthcheck:perTargetMetrics: true"), "  perTargetMetrics: true"),
        (stack_key("healthcheck:logChecks: all"), "  logChecks:        all"),
        (stack_key("healthcheck:pointInTimeRecovery: false"), "  records PITR:     off"),
        (stack_key("healthcheck:perTargetMetrics: 'true'"), "  perTargetMetrics: true"),
        (stack_key("healthcheck:statusPage: public"), "  statusPage:       public, URLs hidden, views uncapped"),
        (
            stack_key("healthcheck:statusPage: iam\n  healthcheck:statusPageShowUrls: true"),
            "  statusPage:       iam, URLs shown, views uncapped",
        ),
        (
            stack_key("healthcheck:statusPage: public\n  healthcheck:statusPageConcurrency: 5"),
            "  statusPage:       public, URLs hidden, at most 5 view(s) at once",
        ),
        (stack_key("healthcheck:statusPage: off"), "  statusPage:       off"),  # YAML's false, unquoted
        (
            stack_key("healthcheck:maintenance:\n    - {start: '02:00', duration: 30m, timezone: UTC}"),
            "  maintenance:      1 window(s)",
        ),
        (
            Edit(
                "Pulumi.dev.yaml",
                FIRST_TARGET,
                FIRST_TARGET + "      headers:\n        Authorization: {ssm: /healthcheck/api-token}\n",
            ),
            "  secrets:          1 SSM parameter(s), 0 Secrets Manager secret(s)",
        ),
    ],
    ids=[
        "bare-key",
        "quoted-number",
        "underscores",
        "whole-float",
        "hex",
        "cron",
        "three-targets",
        "retention-400",
        "two-emails",
        "https-subscription",
        "connectivity",
        "metrics-on",
        "metrics-quoted",
        "log-every-check",
        "records-pitr-off",
        "status-public",
        "status-iam-urls",
        "status-capped",
        "status-off-unquoted",
        "maintenance",
        "ssm-header",
    ],
)
def test_values_the_cli_accepts_pass(copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit, shown: str) -> None:
    edit.apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, err) == (0, "")
    assert shown in out.splitlines() or any(shown in line for line in out.splitlines()), out


def test_it_says_when_the_targets_are_too_many_for_the_functions_environment(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Preview only logs this as info; without TARGETS, an invoke with no 'targets' has nothing to check.
    many = "".join(f"    - name: site-{n}\n      url: https://site-{n}.example.com/health\n" for n in range(60))
    Edit("Pulumi.dev.yaml", FIRST_TARGET, FIRST_TARGET + many).apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, err) == (0, "")
    [line] = [line for line in out.splitlines() if line.startswith("  TARGETS:")]
    assert re.fullmatch(
        r"  TARGETS:          not in the function's environment \(it would take \d+ of 4096 bytes\): each "
        r"schedule's event carries them, so a manual invoke must pass them: --payload '\{\"targets\": \[\.\.\.\]\}'",
        line,
    ), line


def _with_more_targets(copy: Path, text: str, count: int) -> StackConfig:
    many = "".join(f"    - name: site-{n}\n      url: https://site-{n}.example.com/\n" for n in range(count))
    (copy / "Pulumi.dev.yaml").write_text(text.replace(FIRST_TARGET, FIRST_TARGET + many), encoding="utf-8")
    return load_config(copy, "dev")


def _said_to_fit(stack: StackConfig) -> bool:
    return check_program(stack).targets_environment().startswith("in the function's environment")


def test_the_targets_line_says_what_the_deployed_function_gets(copy: Path) -> None:
    """At the edge of the 4 KB, check-config's verdict is the program's: the last count that fits, and one more."""
    text = (copy / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    count = next(n for n in range(20, 80) if not _said_to_fit(_with_more_targets(copy, text, n)))
    for extra, fits in ((count - 1, True), (count, False)):
        stack = _with_more_targets(copy, text, extra)
        function = deploy_program_config(stack.config).one("aws:lambda/function:Function")
        assert ("TARGETS" in function.inputs["environment"]["variables"]) is fits
        assert _said_to_fit(stack) is fits


def test_a_schedule_without_a_stopped_alarm_is_a_warning_as_at_preview(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Edit("Pulumi.dev.yaml", "rate(5 minutes)", "cron(*/10 6-22 ? * MON-FRI *)").apply(copy)
    status, out, err = run(copy, capsys)
    assert status == 0
    assert err == (
        "warning: healthcheck:schedule cron(*/10 6-22 ? * MON-FRI *) does not run at a fixed interval, so there is "
        "no 'monitor stopped' alarm; a rate(...) schedule, or a cron that runs every N minutes or hours all day "
        "every day, gets one"
    )
    assert "  schedule:         cron(*/10 6-22 ? * MON-FRI *), 1 schedule(s)" in out.splitlines()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "healthcheck:alertEmail: [ops@example.com]",  # issue 14: "OK ... 0 email(s)", and nobody was alerted
            "error: healthcheck:alertEmail is not a setting of this project; did you mean 'alertEmails'?",
        ),
        (
            "healthcheck:timout: 60",
            "error: healthcheck:timout is not a setting of this project; did you mean 'timeout'",
        ),
        ("alertng: {failureThreshold: 2}", "error: healthcheck:alertng is not a setting of this project; did you mean"),
    ],
    ids=["alertEmail", "timout", "bare-key"],
)
def test_a_misspelt_key_is_an_error_naming_the_right_one(
    copy: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    stack_key(line).apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, out) == (1, "")
    [error] = err.splitlines()
    assert error.startswith(message), error


# One mistake of each kind, and the line that names it, in the order check-config prints them: what the
# CLI refuses (a value of the wrong type), then what the program refuses (a misspelt key first).
MISTAKES = [
    (
        stack_key("healthcheck:memorySize: lots"),
        "error: validating stack config: Stack 'dev' with configuration key 'memorySize' must be of type 'integer'",
    ),
    (
        stack_key("healthcheck:alertEmail: [ops@example.com]"),
        "error: healthcheck:alertEmail is not a setting of this project; did you mean 'alertEmails'?",
    ),
    (
        Edit("Pulumi.dev.yaml", "rate(5 minutes)", "rate(5 minute)"),
        "error: healthcheck:schedule 'rate(5 minute)': write 'rate(1 minute)' or 'rate(5 minutes)'",
    ),
    (
        stack_key("healthcheck:retentionDays: 0"),
        "error: healthcheck:retentionDays must be a whole number from 1 to 36500, got 0",
    ),
    (
        stack_key("healthcheck:maintenance:\n    - {start: '2am', duration: 1h}"),
        "error: healthcheck:maintenance: maintenance[0]: 'start' must be \"HH:MM\" (24-hour), got '2am'",
    ),
    (
        stack_key("healthcheck:statusPage: everyone"),
        "error: healthcheck:statusPage must be one of public, iam, off, got 'everyone'",
    ),
    (
        stack_key("healthcheck:regions: [us-east-1, eu-wset-1]"),
        (
            "error: healthcheck:regions: 'eu-wset-1' is not an AWS region that offers Lambda and EventBridge "
            "Scheduler; did you mean 'eu-west-1'?"
        ),
    ),
]


def test_every_mistake_is_named_in_one_run(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Issue 14: a file with 5 mistakes took 4 rounds, one error per run.
    for edit, _ in MISTAKES:
        edit.apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, out) == (1, "")
    assert err.splitlines() == [message for _, message in MISTAKES]


@pytest.mark.parametrize(
    ("edits", "errors"),
    [
        (
            [Edit("Pulumi.dev.yaml", "healthcheck:targets:", "healthcheck:target:")],
            [
                "error: validating stack config: Stack 'dev' is missing configuration value 'targets'",
                "error: healthcheck:target is not a setting of this project; did you mean 'targets'?",
            ],
        ),
        (
            [stack_key("healthcheck:timeout: soon"), stack_key("healthcheck:memorySize: 64")],
            [
                (
                    "error: validating stack config: Stack 'dev' with configuration key 'timeout' must be of type "
                    "'integer'"
                ),
                "error: healthcheck:memorySize must be a whole number from 128 to 10240, got 64",
            ],
        ),
        (
            [stack_key("healthcheck:alerting:\n    secure: AAABAGh2"), stack_key("healthcheck:retentionDays: 0")],
            [
                "error: healthcheck:alerting: encrypted values need the stack's secrets provider",
                "error: healthcheck:retentionDays must be a whole number from 1 to 36500, got 0",
            ],
        ),
    ],
    ids=["missing-targets-and-why", "a-type-and-a-range", "encrypted-and-a-range"],
)
def test_a_key_the_cli_refuses_is_named_once(
    copy: Path, capsys: pytest.CaptureFixture[str], edits: list[Edit], errors: list[str]
) -> None:
    for edit in edits:
        edit.apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, out) == (1, "")
    assert err.splitlines() == errors


def test_project_defaults_fill_what_the_stack_leaves_out(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Edit("Pulumi.yaml", "default: 30\n", "default: 90\n").apply(copy)
    status, out, _ = run(copy, capsys)
    assert status == 0
    assert "  logRetentionDays: 90" in out.splitlines()


def test_another_namespaces_secret_is_named_not_checked(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack_key("aws:secretKey:\n    secure: AAABAGh2").apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, err) == (0, "warning: aws:secretKey is encrypted and not checked offline")
    assert out.startswith("Pulumi.dev.yaml: OK")


def test_a_stack_without_a_file_is_named(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--root", str(copy), "--stack", "prod"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.splitlines()[0] == "warning: Pulumi.prod.yaml does not exist: the stack starts with no config of its own"


@pytest.mark.parametrize(("timeout", "passes"), [(70, True), (69, False)], ids=["slowest-plus-10", "one-less"])
def test_the_timeout_must_cover_the_slowest_target_plus_10_s(
    copy: Path, capsys: pytest.CaptureFixture[str], timeout: int, passes: bool
) -> None:
    Edit("Pulumi.dev.yaml", "      timeout: 5\n", "      timeout: 60\n").apply(copy)
    stack_key(f"healthcheck:timeout: {timeout}").apply(copy)
    status, _, err = run(copy, capsys)
    assert status == (0 if passes else 1)
    if not passes:
        assert err.endswith("plus 10 s to write records: raise it to at least 70")


def test_a_full_shard_says_how_many_turns_its_hanging_targets_would_take(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (copy / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    _with_more_targets(copy, text, MAX_TARGETS + 10)  # the dev stack's 4 and these: two schedules, the first full
    status, out, err = run(copy, capsys)
    assert (status, err) == (0, "")
    assert (
        f"  schedule:         rate(5 minutes), 2 schedule(s) of up to {MAX_TARGETS} targets: "
        f"{waves(MAX_TARGETS)} turns of {IN_FLIGHT} checks if they all hang"
    ) in out.splitlines()
    # Ten names, then a count: a line of 514 names would bury the lines below it.
    [targets] = [line for line in out.splitlines() if line.startswith("  targets:")]
    assert targets.startswith(f"  targets:          {MAX_TARGETS + 14} (example.com, site-0, site-1, ")
    assert targets.endswith(f", and {MAX_TARGETS + 4} more)")


def test_a_timeout_a_full_shard_of_hanging_targets_would_outlast_is_refused_as_at_preview(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (copy / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    many = "".join(
        f"    - name: slow-{n}\n      url: https://slow-{n}.example.com/\n      timeout: 30\n"
        for n in range(MAX_TARGETS)
    )
    (copy / "Pulumi.dev.yaml").write_text(text.replace(FIRST_TARGET, FIRST_TARGET + many), encoding="utf-8")
    status, out, err = run(copy, capsys)
    turns = waves(MAX_TARGETS)
    assert (status, out) == (1, "")
    # 500 HTTPS targets' handshakes take turns: the last starts 2.49 s late, 1.99 s past the half second it may lose.
    assert err == (
        f"error: healthcheck:timeout 120 s leaves no room for {turns} turns of the slowest target's timeout (30 s: "
        f"{MAX_TARGETS} targets in one schedule's run, {IN_FLIGHT} checked at once, may all hang) and 1.99 s for "
        f"their TLS handshakes to take turns, plus 10 s to write records: raise it to at least {turns * 30 + 2 + 10}"
    )


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        (
            ["healthcheck:regions: [us-east-1, eu-west-1, ap-southeast-1]"],
            "us-east-1 (home), eu-west-1, ap-southeast-1; DOWN when 2 of 3 agree, PARTIAL shown, not paged",
        ),
        (
            [
                "healthcheck:regions: [eu-west-1, us-east-1]",
                "healthcheck:quorum: 1",
                "healthcheck:alertOnPartial: true",
            ],
            "eu-west-1, us-east-1 (home); DOWN when 1 of 2 agree, PARTIAL paged",
        ),
        (
            ["healthcheck:regions: [eu-west-1, ap-southeast-1]"],
            (
                "eu-west-1, ap-southeast-1; tables and topic in us-east-1; DOWN when 2 of 2 agree, "
                "PARTIAL shown, not paged"
            ),
        ),
        (["healthcheck:regions: [us-east-1]"], "the stack's own (us-east-1)"),
    ],
    ids=["three", "quorum-and-partial-set", "home-does-not-check", "home-alone-is-the-default"],
)
def test_the_regions_line_says_where_checks_run_and_what_a_down_takes(
    copy: Path, capsys: pytest.CaptureFixture[str], lines: list[str], shown: str
) -> None:
    for line in lines:
        stack_key(line).apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, err) == (0, ""), err
    assert f"  regions:          {shown}" in out.splitlines()


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        (
            ["healthcheck:regions: [us-east-1, eu-west-1, us-east-1, mars-north-1]", "healthcheck:quorum: 9"],
            [
                (
                    "error: healthcheck:regions: 'mars-north-1' is not an AWS region that offers Lambda and "
                    "EventBridge Scheduler; did you mean 'eu-north-1'?"
                ),
                "error: healthcheck:regions names 'us-east-1' 2 times: each region checks once",
            ],
        ),
        (
            ["healthcheck:regions: [us-east-1, eu-west-1, ap-southeast-1]", "healthcheck:quorum: 4"],
            [
                (
                    "error: healthcheck:quorum must be a whole number from 1 to 3 (the 3 regions that check) or 0 (2), "
                    "got 4"
                ),
            ],
        ),
        (
            ["healthcheck:quorum: 2"],
            ["error: healthcheck:quorum must be a whole number from 1 to 1 (the only region) or 0 (1), got 2"],
        ),
        (
            ["healthcheck:regions: [us-east-1, cn-north-1]"],
            [
                (
                    "error: healthcheck:regions: 'cn-north-1' is in partition aws-cn, the stack's region us-east-1 "
                    "in aws: one stack's roles cannot reach across partitions"
                )
            ],
        ),
        (
            ["healthcheck:regions: us-east-1"],
            [
                (
                    "error: validating stack config: Stack 'dev' with configuration key 'regions' must be of type "
                    "'array<string>'"
                )
            ],
        ),
    ],
    ids=["unknown-and-duplicate-at-once", "quorum-above-n", "quorum-without-regions", "partitions", "not-a-list"],
)
def test_regions_and_quorum_mistakes_are_named_as_at_preview(
    copy: Path, capsys: pytest.CaptureFixture[str], lines: list[str], errors: list[str]
) -> None:
    for line in lines:
        stack_key(line).apply(copy)
    status, out, err = run(copy, capsys)
    assert (status, out) == (1, "")
    assert err.splitlines() == errors


def test_neighbouring_regions_that_make_a_quorum_are_a_warning_as_at_preview(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack_key("healthcheck:regions: [eu-west-1, eu-west-2, us-east-1]").apply(copy)
    status, out, err = run(copy, capsys)
    assert status == 0
    assert err.splitlines() == [
        (
            "warning: healthcheck:regions: eu-west-1 and eu-west-2 are next to each other (eu-west) and make a quorum "
            "of 2 between them: a network fault near both could page as DOWN; pick regions further apart"
        )
    ]
    assert out.startswith("Pulumi.dev.yaml: OK")
