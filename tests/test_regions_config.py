"""REGIONS, QUORUM, ALERT_ON_PARTIAL and HOME_REGION as the function reads them (issue 17)."""

from __future__ import annotations

import pytest

from healthcheck.config import Settings
from healthcheck.exceptions import ConfigError

BASE = {"TABLE_NAME": "t", "AWS_REGION": "eu-west-1"}


@pytest.mark.parametrize(
    ("environ", "regions", "quorum", "partial", "home"),
    [
        ({}, (), 1, False, None),
        ({"REGIONS": "eu-west-1"}, ("eu-west-1",), 1, False, None),
        ({"REGIONS": "us-east-1, eu-west-1"}, ("us-east-1", "eu-west-1"), 2, False, None),
        (
            {"REGIONS": "us-east-1,eu-west-1,ap-southeast-1"},
            ("us-east-1", "eu-west-1", "ap-southeast-1"),
            2,
            False,
            None,
        ),
        (
            {"REGIONS": "a-1,b-1,c-1,d-1,eu-west-1", "QUORUM": "4"},
            ("a-1", "b-1", "c-1", "d-1", "eu-west-1"),
            4,
            False,
            None,
        ),
        ({"REGIONS": "a-1,b-1,c-1,d-1,eu-west-1"}, ("a-1", "b-1", "c-1", "d-1", "eu-west-1"), 3, False, None),
        (
            {"REGIONS": "us-east-1,eu-west-1", "ALERT_ON_PARTIAL": "true", "HOME_REGION": "us-east-1"},
            ("us-east-1", "eu-west-1"),
            2,
            True,
            "us-east-1",
        ),
    ],
    ids=["unset", "one", "two", "three", "five-quorum-4", "five-default", "partial-home"],
)
def test_regions_read(
    environ: dict[str, str], regions: tuple[str, ...], quorum: int, partial: bool, home: str | None
) -> None:
    settings = Settings.from_environ({**BASE, **environ})
    assert (settings.regions, settings.quorum, settings.alert_on_partial, settings.home_region) == (
        regions,
        quorum,
        partial,
        home,
    )
    assert settings.multi_region == (len(regions) > 1)


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"REGIONS": "us-east-1,eu-west-1,us-east-1"}, r"^REGIONS names a region twice"),
        ({"REGIONS": "us-east-1,eu#west"}, r"^REGIONS must list region names"),
        ({"REGIONS": "us-east-1,eu-west-1", "QUORUM": "3"}, r"^QUORUM must be from 1 to 2"),
        ({"REGIONS": "us-east-1,eu-west-1", "QUORUM": "0"}, r"^QUORUM must be from 1 to 2"),
        ({"QUORUM": "2"}, r"^QUORUM must be from 1 to 1"),
        ({"REGIONS": "us-east-1,eu-west-1", "QUORUM": "two"}, r"^QUORUM must be a whole number"),
        ({"REGIONS": "us-east-1,ap-south-1"}, r"^AWS_REGION eu-west-1 is not one of REGIONS"),
        ({"ALERT_ON_PARTIAL": "yes"}, r'^ALERT_ON_PARTIAL must be "true" or "false"'),
        ({"HOME_REGION": "us east"}, r"^HOME_REGION must be a region name"),
    ],
    ids=[
        "duplicate",
        "bad-name",
        "quorum-above",
        "quorum-zero",
        "quorum-one-region",
        "quorum-text",
        "not-listed",
        "partial-flag",
        "home",
    ],
)
def test_mistakes_are_named(environ: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        Settings.from_environ({**BASE, **environ})
