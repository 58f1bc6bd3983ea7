"""The Makefile as users meet it: plain `make`, what a first run installs (make's own --dry-run plan), `make mutate`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.servers import FaultServer

ROOT = Path(__file__).resolve().parents[2]


def first_run_plan(goal: str, venv: Path) -> list[str]:
    """The commands make would run for ``goal`` in a clone that has no venv yet."""
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", goal, f"VENV={venv}"],  # noqa: S607 - make from PATH, as a user
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.splitlines()


def installs(plan: list[str]) -> list[str]:
    return [line.split(" -r ")[1] for line in plan if "pip install" in line and " -r " in line]


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("run", ["requirements-local.txt"]),
        ("serve", ["requirements-local.txt"]),
        ("bench", ["requirements-dev.txt"]),  # trustme's certificates, and aiohttp to compare with
        ("test", ["requirements-dev.txt"]),
    ],
)
def test_a_first_run_installs_only_what_the_goal_needs(tmp_path: Path, goal: str, expected: list[str]) -> None:
    plan = first_run_plan(goal, tmp_path / ".venv")
    assert installs(plan) == expected
    [announced] = [line for line in plan if line.startswith("echo") and "Installing" in line]
    assert " MB" in announced, "says roughly how big"


def test_the_full_install_includes_the_local_one() -> None:
    # make test's venv must run make run and make serve too, and their tests.
    assert "-r requirements-local.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()


def make(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``make`` as a user runs it from the repo root (never reinstalling the shared virtualenv)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv/.installed-local", *args],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _phony_targets() -> set[str]:
    [line] = [line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith(".PHONY:")]
    return set(line.removeprefix(".PHONY:").split())


def test_plain_make_lists_every_target_and_runs_nothing() -> None:
    result = make()
    assert (result.returncode, result.stderr) == (0, "")
    listed = {
        name
        for line in result.stdout.splitlines()
        if re.match(r"^[a-z-]+(, [a-z-]+)*: ", line)
        for name in line.split(":", 1)[0].split(", ")
    }
    assert listed == _phony_targets()
    assert "check cycle" in result.stdout  # what `run` does, not just its name


def test_make_report_format_json_writes_json_alone_to_stdout(http_server: FaultServer) -> None:
    # Issue 14: `make report FORMAT=json > file` held make's echo of the command before the JSON.
    url = f"{http_server.base_url}/ok"
    result = make("report", "FORMAT=json", "RUNS=2", f"URL={url}", timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(target["name"], target["checks"]) for target in report["targets"]] == [(url, 2)]


@pytest.mark.parametrize("goal", ["run", "report", "test"])
def test_a_first_runs_messages_go_to_stderr_not_into_the_output(tmp_path: Path, goal: str) -> None:
    # `make report FORMAT=json > report.json` in a fresh clone installs first: its words must not land in the file.
    echoes = [line for line in first_run_plan(goal, tmp_path / ".venv") if line.startswith("echo ")]
    assert echoes
    assert all(line.endswith(">&2") for line in echoes), echoes


def _mutate_plan(*variables: str) -> list[str]:
    result = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "mutate", "VENV=/nonexistent/venv", *variables],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.splitlines()


def test_make_mutate_copies_what_mutmuts_copy_holds() -> None:
    # Issue 14: stats collection failed, as a test ran `make --dry-run report` in a copy without the Makefile.
    # Make copies the tree into .mutate/, mutmut copies .mutate/ into mutants/: the two lists must agree.
    [copy] = [line for line in _mutate_plan() if line.startswith("cp -a ") and line.endswith(" .mutate/")]
    copied = set(copy.removeprefix("cp -a ").removesuffix(" .mutate/").split())
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    mutmut_copies = {"tests", "pyproject.toml"}  # mutmut's own, always
    assert {"Makefile", "requirements-local.txt", "image"} <= set(config["also_copy"])
    assert copied - mutmut_copies - set(config["source_paths"]) == set(config["also_copy"]) - {"image"}
    assert "mkdir -p .mutate/image && cp -a image/requirements.txt .mutate/image/" in _mutate_plan()


def test_make_mutate_passes_each_mutant_pattern_unexpanded() -> None:
    plan = _mutate_plan("MUTANTS=healthcheck.alerting.policy.* healthcheck.alerting.maintenance.x_parse__mutmut_1")
    [run] = [line for line in plan if "mutmut run" in line]
    assert run.endswith(
        "mutmut run 'healthcheck.alerting.policy.*' 'healthcheck.alerting.maintenance.x_parse__mutmut_1'"
    )


def test_the_readme_states_no_hand_typed_test_count() -> None:
    # A count typed into the README goes stale with the next test; pytest's own last line is always right.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.findall(r"\b\d[\d,]*\s+tests\b", readme)
