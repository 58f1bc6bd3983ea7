"""The stack's regions and quorum: what each region's function is told, and every mistake named at preview."""

from __future__ import annotations

from typing import Any

import pytest

from infra.regions import default_quorum, known_regions, partition_of
from infra.settings import SettingsError, StackSettings

TARGETS = [{"name": "example", "url": "https://example.com/"}]
BASE = {"RETENTION_DAYS": "90", "PER_TARGET_METRICS": "false", "LOG_CHECKS": "failures"}


def settings(**values: Any) -> StackSettings:
    return StackSettings.from_values(targets=TARGETS, **{"home_region": "us-east-1", **values})


@pytest.mark.parametrize(("count", "quorum"), [(1, 1), (2, 2), (3, 2), (4, 2), (5, 3), (8, 4)], ids=lambda v: str(v))
def test_the_default_quorum_is_at_least_two_and_half_the_regions_at_most_all(count: int, quorum: int) -> None:
    assert default_quorum(count) == quorum


@pytest.mark.parametrize(
    "values",
    [{}, {"regions": []}, {"regions": ["us-east-1"]}, {"regions": ["us-east-1"], "quorum": 1}, {"home_region": None}],
    ids=["unset", "empty", "the-home-alone", "quorum-one", "no-home-known"],
)
def test_one_region_at_home_adds_nothing_to_the_environment(values: dict[str, Any]) -> None:
    chosen = settings(**values)
    assert chosen.environment() == BASE
    assert not chosen.regions.several
    assert chosen.regions.checkers() == [None]


@pytest.mark.parametrize(
    ("values", "added", "checkers"),
    [
        (
            {"regions": ["us-east-1", "eu-west-1", "ap-southeast-1"]},
            {
                "REGIONS": "us-east-1,eu-west-1,ap-southeast-1",
                "QUORUM": "2",
                "ALERT_ON_PARTIAL": "false",
                "HOME_REGION": "us-east-1",
            },
            [None, "eu-west-1", "ap-southeast-1"],
        ),
        (
            {"regions": ["eu-west-1", "us-east-1"], "quorum": 1, "alert_on_partial": True},
            {"REGIONS": "eu-west-1,us-east-1", "QUORUM": "1", "ALERT_ON_PARTIAL": "true", "HOME_REGION": "us-east-1"},
            ["eu-west-1", None],
        ),
        (
            {"regions": ["eu-west-1"]},  # one region, not the home: it must know where the tables are
            {"REGIONS": "eu-west-1", "QUORUM": "1", "ALERT_ON_PARTIAL": "false", "HOME_REGION": "us-east-1"},
            ["eu-west-1"],
        ),
        (
            {"regions": ["us-east-1", "eu-west-1", "ap-southeast-1", "sa-east-1", "ap-northeast-1"], "quorum": 0},
            {
                "REGIONS": "us-east-1,eu-west-1,ap-southeast-1,sa-east-1,ap-northeast-1",
                "QUORUM": "3",
                "ALERT_ON_PARTIAL": "false",
                "HOME_REGION": "us-east-1",
            },
            [None, "eu-west-1", "ap-southeast-1", "sa-east-1", "ap-northeast-1"],
        ),
    ],
    ids=["three-default-quorum", "order-kept-quorum-and-partial-set", "one-away-from-home", "five-zero-is-default"],
)
def test_several_regions_give_every_function_the_four_variables(
    values: dict[str, Any], added: dict[str, str], checkers: list[str | None]
) -> None:
    chosen = settings(**values)
    assert chosen.environment() == {**BASE, **added}
    assert chosen.regions.checkers() == checkers


@pytest.mark.parametrize(
    ("values", "messages"),
    [
        (
            {"regions": ["us-east-1", "eu-west-9", "us-east-1", "moon-1"]},
            [
                (
                    "healthcheck:regions: 'eu-west-9' is not an AWS region that offers Lambda and EventBridge "
                    "Scheduler; did you mean 'eu-west-3'?"
                ),
                (
                    "healthcheck:regions: 'moon-1' is not an AWS region that offers Lambda and EventBridge Scheduler; "
                    "e.g. [us-east-1, eu-west-1, ap-southeast-1]"
                ),
                "healthcheck:regions names 'us-east-1' 2 times: each region checks once",
            ],
        ),
        (
            {"regions": "us-east-1,eu-west-1"},
            [
                (
                    "healthcheck:regions must be a list of region names, e.g. [us-east-1, eu-west-1, ap-southeast-1], "
                    "got 'us-east-1,eu-west-1'"
                )
            ],
        ),
        (
            {"regions": ["us-east-1", 2]},
            [
                (
                    "healthcheck:regions must be a list of region names, e.g. [us-east-1, eu-west-1, ap-southeast-1], "
                    "got ['us-east-1', 2]"
                )
            ],
        ),
        (
            {"regions": ["us-east-1", "eu-west-1"], "home_region": None},
            [
                (
                    "healthcheck:regions needs the stack's own region, where the tables and the alert topic are: "
                    "set aws:region (pulumi config set aws:region us-east-1)"
                )
            ],
        ),
        (
            {"regions": ["us-east-1", "us-gov-west-1"]},
            [
                (
                    "healthcheck:regions: 'us-gov-west-1' is in partition aws-us-gov, the stack's region us-east-1 in "
                    "aws: one stack's roles cannot reach across partitions"
                )
            ],
        ),
        (
            {"regions": ["us-east-1", "eu-west-1"], "quorum": 3},
            ["healthcheck:quorum must be a whole number from 1 to 2 (the 2 regions that check) or 0 (2), got 3"],
        ),
        (
            {"regions": ["us-east-1", "eu-west-1"], "quorum": -1},
            ["healthcheck:quorum must be a whole number from 1 to 2 (the 2 regions that check) or 0 (2), got -1"],
        ),
        (
            {"quorum": 2},
            ["healthcheck:quorum must be a whole number from 1 to 1 (the only region) or 0 (1), got 2"],
        ),
        (
            {"regions": ["us-east-1", "eu-west-1"], "quorum": True},
            ["healthcheck:quorum must be a whole number from 1 to 2 (the 2 regions that check) or 0 (2), got True"],
        ),
    ],
    ids=[
        "unknown-twice-and-a-duplicate",
        "a-string",
        "not-all-strings",
        "no-home",
        "another-partition",
        "quorum-above-n",
        "quorum-negative",
        "quorum-above-one-region",
        "quorum-bool",
    ],
)
def test_region_mistakes_are_all_named_at_once(values: dict[str, Any], messages: list[str]) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    assert list(caught.value.messages) == messages


def test_region_mistakes_come_with_the_others_in_one_error() -> None:
    with pytest.raises(SettingsError) as caught:
        settings(timeout=0, regions=["us-east-1", "eu-west-9"])
    assert [message.split(" ")[0] for message in caught.value.messages] == [
        "healthcheck:timeout",
        "healthcheck:regions:",
    ]


def test_known_regions_come_from_botocores_own_data_per_partition() -> None:
    # The commercial partition's regions that run Lambda and Scheduler, China's and GovCloud's apart.
    assert {"us-east-1", "eu-west-1", "ap-southeast-1", "cn-north-1", "us-gov-west-1"} <= known_regions()
    assert [partition_of(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1", "eu-west-9")] == [
        "aws",
        "aws-cn",
        "aws-us-gov",
        None,
    ]


@pytest.mark.parametrize(
    ("regions", "quorum", "warnings"),
    [
        (["us-east-1", "eu-west-1", "ap-southeast-1"], 0, []),
        (
            ["us-east-1", "us-east-2", "eu-west-1"],
            0,
            [
                (
                    "healthcheck:regions: us-east-1 and us-east-2 are next to each other (us-east) and make a "
                    "quorum of 2 between them: a network fault near both could page as DOWN; pick regions further apart"
                )
            ],
        ),
        (["us-east-1", "us-east-2", "eu-west-1"], 3, []),  # a quorum of 3 needs a region from elsewhere
        (["ap-southeast-1", "ap-southeast-2", "eu-west-1"], 0, []),  # Singapore and Sydney: far apart
        (["eu-west-1", "eu-west-2"], 1, []),  # a quorum of 1: any single region pages, neighbours or not
    ],
    ids=["far-apart", "virginia-and-ohio", "quorum-needs-a-third", "singapore-and-sydney", "quorum-one"],
)
def test_regions_next_to_each_other_that_make_a_quorum_alone_are_a_warning(
    regions: list[str], quorum: int, warnings: list[str]
) -> None:
    assert settings(regions=regions, quorum=quorum).regions.warnings() == warnings
