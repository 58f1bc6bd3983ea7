"""What a first `make run`, `make serve` or `make test` installs, read from make's own plan (--dry-run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
        ("bench", ["requirements-local.txt"]),
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
