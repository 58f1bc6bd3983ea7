"""Reads the root Dockerfile's FROM, LABEL, ENV, COPY, RUN and CMD, and lays out the task root it builds.

No Docker engine here: `make serve` and the runtime-contract test run the
image's CMD, with its ENV, against a directory holding exactly what its COPY
lines put in ${LAMBDA_TASK_ROOT}, so a module the Dockerfile forgets to copy,
or a variable it forgets to set, shows here too.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

__all__ = ["Dockerfile", "DockerfileError", "assemble_task_root"]

TASK_ROOT_VAR = "${LAMBDA_TASK_ROOT}"
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


class DockerfileError(ValueError):
    """The Dockerfile uses a form this reader can't follow; the message names the line."""


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """What the local stand-ins follow; ``env`` is what every process in the container starts with."""

    base_image: str
    labels: Mapping[str, str]
    env: Mapping[str, str]
    copies: tuple[tuple[str, str], ...]
    runs: tuple[str, ...]
    cmd: tuple[str, ...]

    @classmethod
    def parse(cls, path: Path) -> Dockerfile:
        base = ""
        labels: dict[str, str] = {}
        env: dict[str, str] = {}
        copies: list[tuple[str, str]] = []
        runs: list[str] = []
        cmd: tuple[str, ...] = ()
        for line in _logical_lines(path.read_text()):
            keyword, _, rest = line.partition(" ")
            keyword = keyword.upper()
            if keyword == "FROM":
                base = rest.split()[0]
            elif keyword == "LABEL":
                labels.update(_key_values(line, rest, env))
            elif keyword == "ENV":
                env.update(_key_values(line, rest, env))
            elif keyword == "COPY":
                *sources, dest = shlex.split(rest)
                copies.extend((source, dest) for source in sources)
            elif keyword == "RUN":
                runs.append(rest)
            elif keyword == "CMD":
                cmd = tuple(json.loads(rest))
        return cls(
            base_image=base,
            labels=MappingProxyType(labels),
            env=MappingProxyType(env),
            copies=tuple(copies),
            runs=tuple(runs),
            cmd=cmd,
        )


def _logical_lines(text: str) -> list[str]:
    """Instructions with their backslash continuations joined; comments and blank lines dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return logical


def _key_values(line: str, rest: str, env: Mapping[str, str]) -> dict[str, str]:
    """``KEY=value KEY2="two words"``, with quotes removed and ``$VAR`` from earlier ENV lines expanded."""
    pairs: dict[str, str] = {}
    for word in shlex.split(rest):
        key, equals, value = word.partition("=")
        if not equals:
            # The legacy `ENV KEY value` form: Docker itself warns about it (LegacyKeyValueFormat).
            raise DockerfileError(f"{line!r}: write it as KEY=value")
        pairs[key] = _expand(line, value, {**env, **pairs})
    return pairs


def _expand(line: str, value: str, known: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        if name not in known:
            # e.g. a variable the base image sets: its value is only known inside the image.
            raise DockerfileError(f"{line!r}: ${name} is not set by an earlier ENV line of this Dockerfile")
        return known[name]

    return _VARIABLE.sub(substitute, value)


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
