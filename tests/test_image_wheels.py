"""The image's dependencies come as wheels for the platform the image runs on, never built in the image.

These tests ask the package registry (pip's cache keeps the second run quick):
the wheels are resolved for the Dockerfile's own FROM tag and glibc LABEL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name, parse_wheel_filename

from localdev.dockerfile import Dockerfile
from localdev.wheels import ImagePlatform, NoWheelError, download_wheels

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "image" / "requirements.txt"


@pytest.fixture(scope="module")
def platform() -> ImagePlatform:
    return ImagePlatform.of(Dockerfile.parse(ROOT / "Dockerfile"))


@pytest.fixture(scope="module")
def wheels(platform: ImagePlatform, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return download_wheels(REQUIREMENTS, platform, tmp_path_factory.mktemp("wheels"))


def test_every_download_is_a_wheel_the_image_can_load(wheels: list[Path], platform: ImagePlatform) -> None:
    assert wheels
    for wheel in wheels:
        assert wheel.suffix == ".whl", f"{wheel.name}: would be built in the image"
        *_, tags = parse_wheel_filename(wheel.name)
        assert tags & platform.tags, f"{wheel.name} does not load on {platform}"


def test_the_pins_are_all_the_image_installs(wheels: list[Path]) -> None:
    # A dependency missing from the pins would be installed at whatever version is newest that day.
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            [pin] = requirement.specifier
            pins[canonicalize_name(requirement.name)] = pin.version
    downloaded = {name: str(version) for name, version, *_ in map(parse_wheel_filename, (w.name for w in wheels))}
    assert downloaded == pins


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("docopt==0.6.2", "ships only an sdist"),
        ("cryptography==3.0", "ships abi3 wheels for x86_64 only: aarch64 ones began with 3.1"),
    ],
    ids=["sdist-only", "x86_64-wheels-only"],
)
def test_a_pin_without_such_a_wheel_fails_naming_it(
    pin: str, why: str, platform: ImagePlatform, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{pin}\n")
    (tmp_path / "wheels").mkdir()
    with pytest.raises(NoWheelError) as error:
        download_wheels(requirements, platform, tmp_path / "wheels")
    assert f"{pin} has no wheel for {platform}." in str(error.value), why


@pytest.mark.parametrize(
    ("tag", "loads"),
    [
        ("{cp}-{cp}-manylinux_{glibc}_{arch}", True),
        ("cp38-abi3-manylinux_{glibc}_{arch}", True),
        ("cp38-abi3-manylinux_2_17_{arch}", True),
        ("cp38-abi3-manylinux2014_{arch}", True),
        ("py3-none-any", True),
        ("cp38-abi3-manylinux_{newer_glibc}_{arch}", False),
        ("cp38-abi3-manylinux_{glibc}_x86_64", False),
        ("{older_cp}-{older_cp}-manylinux_{glibc}_{arch}", False),
    ],
    ids=[
        "this-cpython",
        "abi3",
        "abi3-oldest-manylinux",
        "abi3-manylinux2014",
        "pure",
        "newer-glibc",
        "x86_64",
        "older-cpython",
    ],
)
def test_the_platform_takes_the_wheels_pip_in_the_image_would(platform: ImagePlatform, tag: str, loads: bool) -> None:
    (python_major, python_minor), (glibc_major, glibc_minor) = platform.python, platform.glibc
    concrete = tag.format(
        cp=f"cp{python_major}{python_minor}",
        older_cp=f"cp{python_major}{python_minor - 1}",
        glibc=f"{glibc_major}_{glibc_minor}",
        newer_glibc=f"{glibc_major}_{glibc_minor + 1}",
        arch=platform.arch,
    )
    assert (parse_tag(concrete) <= platform.tags) is loads
