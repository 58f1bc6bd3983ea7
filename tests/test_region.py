"""The region a run records with its checks: the function's own AWS_REGION (Settings.region)."""

from __future__ import annotations

import pytest

from healthcheck.config import Settings
from healthcheck.exceptions import ConfigError


@pytest.mark.parametrize(
    ("environ", "region"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "ap-southeast-2"}, "ap-southeast-2"),
        ({"AWS_REGION": " ", "AWS_DEFAULT_REGION": "us-west-2"}, "us-west-2"),
        ({}, "local"),
    ],
    ids=["lambda-sets-it", "a-shells-default", "blank", "none"],
)
def test_the_region_is_the_functions_own(environ: dict[str, str], region: str) -> None:
    assert Settings.from_environ({"TABLE_NAME": "t", **environ}).region == region


@pytest.mark.parametrize("value", ["us-east-1#x", "a" * 65, "eu west"], ids=["hash", "too-long", "space"])
def test_a_region_that_cannot_name_a_key_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^AWS_REGION must be a region name"):
        Settings.from_environ({"TABLE_NAME": "t", "AWS_REGION": value})
