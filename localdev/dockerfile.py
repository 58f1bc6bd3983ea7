"""Reads the root Dockerfile's FROM, COPY and CMD, and lays out the task root it builds.

No Docker engine here: `make serve` and the runtime-contract test run the
image's CMD against a directory holding exactly what its COPY lines put in
${LAMBDA_TASK_ROOT}, so a module the Dockerfile forgets to copy fails here too.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Dockerfile", "assemble_task_root"]

TASK_ROOT_VAR = "${LAMBDA_TASK_ROOT}"


@dataclass(frozen=True, slots=True)
class Dockerfile:
    base_image: str
    copies: tuple[tuple[str, str], ...]
    runs: tuple[str, ...]
    cmd: tuple[str, ...]

    @classmethod
    def parse(cls, path: Path) -> Dockerfile:
        logical: list[str] = []
        pending = ""
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            logical.append(pending + line)
            pending = ""
        base = ""
        copies: list[tuple[str, str]] = []
        runs: list[str] = []
        cmd: tuple[str, ...] = ()
        for line in logical:
            keyword, _, rest = line.partition(" ")
            keyword = keyword.upper()
            if keyword == "FROM":
                base = rest.split()[0]
            elif keyword == "COPY":
                *sources, dest = shlex.split(rest)
                copies.extend((source, dest) for source in sources)
            elif keyword == "RUN":
                runs.append(rest)
            elif keyword == "CMD":
                cmd = tuple(json.loads(rest))
        return cls(base_image=base, copies=tuple(copies), runs=tuple(runs), cmd=cmd)


def assemble_task_root(dockerfile: Dockerfile, context: Path, task_root: Path) -> Path:
    """Copy into ``task_root`` what the Dockerfile's COPY lines put under ${LAMBDA_TASK_ROOT}."""
    for source, dest in dockerfile.copies:
        if not dest.startswith(TASK_ROOT_VAR):
            continue  # e.g. requirements.txt, installed rather than run
        target = task_root / dest.removeprefix(TASK_ROOT_VAR).lstrip("/")
        origin = context / source
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    return task_root
