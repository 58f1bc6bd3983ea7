"""The wheels the image's `pip install` will get, resolved here for the image's platform, without Docker.

The Dockerfile installs image/requirements.txt with --only-binary=:all: inside
the base image: the CPython of its FROM tag, on linux/arm64 (infra/image.py
builds that platform only), with the glibc its LABEL names. A pin that ships no
wheel for that platform fails the image build, and only `pulumi up` would show
it. pip answers the same question for another platform with `pip download
--platform ... --python-version ... --implementation cp`.

One difference remains: pip evaluates environment markers (``; python_version
< "3.10"``) in dependencies' metadata for the Python running it, not the
image's, so a marker that tells the two apart could pick other dependencies.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags

from localdev.dockerfile import Dockerfile

__all__ = ["GLIBC_LABEL", "ImagePlatform", "NoWheelError", "WheelDownloadError", "download_wheels"]

# Lambda's arm64 is aarch64 to wheels and to glibc.
ARCH = "aarch64"
GLIBC_LABEL = "healthcheck.base-glibc"
# manylinux2014 (glibc 2.17) is the oldest manylinux for aarch64 (PEP 599).
OLDEST_MANYLINUX_GLIBC = (2, 17)
_LAMBDA_PYTHON = re.compile(r"public\.ecr\.aws/lambda/python:(?P<python>3\.\d+)(?:@sha256:[0-9a-f]{64})?")


class WheelDownloadError(Exception):
    """pip could not resolve the requirements; the message carries what pip said."""


class NoWheelError(WheelDownloadError):
    """A pin has no wheel the image can install: `docker build` would fail on it."""


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@dataclass(frozen=True, slots=True)
class ImagePlatform:
    python: tuple[int, int]
    glibc: tuple[int, int]
    arch: str = ARCH

    @classmethod
    def of(cls, dockerfile: Dockerfile) -> ImagePlatform:
        """The platform the Dockerfile's pip step runs on: its FROM tag's Python and its glibc LABEL."""
        match = _LAMBDA_PYTHON.fullmatch(dockerfile.base_image)
        if match is None:
            raise ValueError(f"FROM {dockerfile.base_image}: expected public.ecr.aws/lambda/python:3.N")
        if GLIBC_LABEL not in dockerfile.labels:
            raise ValueError(f"the Dockerfile needs LABEL {GLIBC_LABEL}=<the base image's glibc version>")
        return cls(python=_version(match["python"]), glibc=_version(dockerfile.labels[GLIBC_LABEL]))

    @property
    def platforms(self) -> tuple[str, ...]:
        """Every manylinux platform tag this glibc loads, newest first (pip doesn't infer the older ones)."""
        major, newest = self.glibc
        oldest_major, oldest = OLDEST_MANYLINUX_GLIBC
        assert major == oldest_major, self.glibc
        perennial = [f"manylinux_{major}_{minor}_{self.arch}" for minor in range(newest, oldest - 1, -1)]
        return (*perennial, f"manylinux2014_{self.arch}")  # manylinux_2_17's older name

    @property
    def tags(self) -> frozenset[Tag]:
        """The wheel tags pip in the image accepts: CPython and abi3 wheels for these platforms, and pure ones."""
        interpreter = f"cp{self.python[0]}{self.python[1]}"
        return frozenset(
            [
                *cpython_tags(self.python, platforms=self.platforms),
                *compatible_tags(self.python, interpreter, platforms=self.platforms),
            ]
        )

    def __str__(self) -> str:
        python = ".".join(map(str, self.python))
        glibc = ".".join(map(str, self.glibc))
        return f"CPython {python} on linux/{self.arch} with glibc {glibc}"


def download_wheels(requirements: Path, platform: ImagePlatform, dest: Path) -> list[Path]:
    """Download what `pip install --only-binary=:all: -r requirements` gets on ``platform``, into ``dest``.

    Uses pip's cache. Raises NoWheelError naming each pin that has no such wheel.
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--implementation=cp",
        f"--python-version={platform.python[0]}.{platform.python[1]}",
        *(f"--platform={tag}" for tag in platform.platforms),
        f"--dest={dest}",
        f"--requirement={requirements}",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar=off",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own arguments
    if result.returncode != 0:
        said = "\n".join(f"  {line}" for line in result.stderr.splitlines() if line.startswith("ERROR"))
        missing = re.findall(r"No matching distribution found for (\S+)", result.stderr)
        if missing:
            raise NoWheelError(
                f"{requirements}: {', '.join(missing)} has no wheel for {platform}. The image installs "
                f"wheels only (--only-binary=:all:), so its build would fail: pin a version that ships "
                f"a manylinux_*_{platform.arch} or a pure-Python wheel. pip said:\n{said}"
            )
        raise WheelDownloadError(f"pip download failed (exit {result.returncode}):\n{result.stderr}")
    return sorted(dest.iterdir())
