"""Where the monitor checks from: the stack's ``regions``, ``quorum`` and ``alertOnPartial``, checked offline.

Region names are checked against botocore's own endpoint data (shipped with
it, no network): a region is known when both Lambda and EventBridge Scheduler
are offered there, in the same partition as the stack's region (one IAM role
cannot reach across partitions). Each check returns its mistakes as messages,
so the settings can name every one at once.
"""

from __future__ import annotations

import difflib
import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import botocore.session

from healthcheck.alerting.regions import default_quorum
from healthcheck.config import ENV_ALERT_ON_PARTIAL, ENV_HOME_REGION, ENV_QUORUM, ENV_REGIONS

__all__ = [
    "REGION_SERVICES",
    "RegionPlan",
    "area_of",
    "default_quorum",
    "known_regions",
    "neighbour_warnings",
    "partition_of",
    "quorum_mistakes",
    "region_mistakes",
]

# What a checking region runs: the function and its schedules (logs, queues and alarms are everywhere these are).
REGION_SERVICES = ("lambda", "scheduler")
# Regions whose names differ only in their number are next to each other (Virginia and Ohio, Ireland and
# London, Tokyo and Osaka), but for these areas, whose numbers span thousands of kilometres (Singapore and
# Sydney): no warning there rather than a false one.
_FAR_APART_AREAS = frozenset({"ap-southeast"})
_EXAMPLE = "[us-east-1, eu-west-1, ap-southeast-1]"


@functools.cache
def _regions_by_partition() -> dict[str, frozenset[str]]:
    session = botocore.session.get_session()
    by_partition = {}
    for partition in session.get_available_partitions():
        offered = [frozenset(session.get_available_regions(service, partition)) for service in REGION_SERVICES]
        by_partition[partition] = frozenset.intersection(*offered)
    return by_partition


def known_regions() -> frozenset[str]:
    """Every region, in any partition, that offers Lambda and EventBridge Scheduler."""
    return frozenset().union(*_regions_by_partition().values())


def partition_of(region: str) -> str | None:
    """``aws``, ``aws-cn``, ``aws-us-gov``...; None for a name no partition knows."""
    return next((name for name, regions in _regions_by_partition().items() if region in regions), None)


def region_mistakes(raw: object, home: str | None) -> list[str]:
    """Everything wrong with ``healthcheck:regions`` (None or [] means the stack's own region): one message each."""
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        return [f"healthcheck:regions must be a list of region names, e.g. {_EXAMPLE}, got {raw!r}"]
    mistakes = []
    known = sorted(known_regions())
    for name in dict.fromkeys(raw):
        if partition_of(name) is None:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"e.g. {_EXAMPLE}"
            mistakes.append(
                f"healthcheck:regions: '{name}' is not an AWS region that offers Lambda and EventBridge Scheduler; "
                + hint
            )
    for name, times in Counter(raw).items():
        if times > 1:
            mistakes.append(f"healthcheck:regions names '{name}' {times} times: each region checks once")
    if home is None:
        mistakes.append(
            "healthcheck:regions needs the stack's own region, where the tables and the alert topic are: "
            "set aws:region (pulumi config set aws:region us-east-1)"
        )
        return mistakes
    home_partition = partition_of(home)
    for name in dict.fromkeys(raw):
        partition = partition_of(name)
        if home_partition is not None and partition is not None and partition != home_partition:
            mistakes.append(
                f"healthcheck:regions: '{name}' is in partition {partition}, the stack's region {home} in "
                f"{home_partition}: one stack's roles cannot reach across partitions"
            )
    return mistakes


def quorum_mistakes(quorum: object, count: int) -> list[str]:
    """``healthcheck:quorum``: 0 or unset is the default; else a whole number from 1 to the number of regions."""
    if quorum is None or (isinstance(quorum, int) and not isinstance(quorum, bool) and quorum == 0):
        return []
    if isinstance(quorum, bool) or not isinstance(quorum, int) or not 1 <= quorum <= count:
        regions = "the only region" if count == 1 else f"the {count} regions that check"
        default = default_quorum(count)
        return [
            f"healthcheck:quorum must be a whole number from 1 to {count} ({regions}) or 0 ({default}), got {quorum!r}"
        ]
    return []


def area_of(region: str) -> str:
    """``us-east`` for us-east-1 and us-east-2: the name without its number."""
    return region.rsplit("-", 1)[0]


def neighbour_warnings(regions: tuple[str, ...], quorum: int) -> list[str]:
    """A warning for each area whose regions alone make a quorum: an outage near them all could be a false DOWN."""
    by_area: dict[str, list[str]] = {}
    for region in regions:
        by_area.setdefault(area_of(region), []).append(region)
    return [
        f"healthcheck:regions: {' and '.join(near)} are next to each other ({area}) and make a quorum of "
        f"{quorum} between them: a network fault near both could page as DOWN; pick regions further apart"
        for area, near in by_area.items()
        if quorum >= 2 and len(near) >= quorum and area not in _FAR_APART_AREAS
    ]


@dataclass(frozen=True, slots=True)
class RegionPlan:
    """The regions that check, where the tables are, and how many regions must agree.

    ``home`` is the stack's region (``aws:region``), None when only the provider
    knows it (then the stack checks from that one region, as it always has).
    """

    home: str | None = None
    regions: tuple[str, ...] = ()
    """In the stack's order; empty: the home region alone."""
    quorum: int = 1
    alert_on_partial: bool = False

    @classmethod
    def from_values(
        cls, home: str | None, regions: object, quorum: object, alert_on_partial: bool | None
    ) -> RegionPlan:
        """The plan from values :func:`region_mistakes` and :func:`quorum_mistakes` found nothing wrong with."""
        chosen = tuple(regions) if isinstance(regions, list) and regions else ()
        count = len(chosen) or 1
        number = quorum if isinstance(quorum, int) and not isinstance(quorum, bool) and quorum > 0 else 0
        return cls(home, chosen, number or default_quorum(count), bool(alert_on_partial))

    @property
    def several(self) -> bool:
        """Whether anything differs from a one-region stack: more regions, or one that is not the home."""
        return bool(self.regions) and self.regions != (self.home,)

    @property
    def count(self) -> int:
        return len(self.regions) or 1

    def checkers(self) -> list[str | None]:
        """Each checking region, None for the home (its resources keep today's names and the provider's region)."""
        if not self.several:
            return [None]
        return [None if region == self.home else region for region in self.regions]

    def warnings(self) -> list[str]:
        """What preview warns about: regions close enough together to make a DOWN between them."""
        return neighbour_warnings(self.regions, self.quorum) if self.several else []

    def environment(self) -> Mapping[str, str]:
        """The four variables every region's function gets; none for a one-region stack (as before)."""
        if not self.several or self.home is None:
            return {}
        return {
            ENV_REGIONS: ",".join(self.regions),
            ENV_QUORUM: str(self.quorum),
            ENV_ALERT_ON_PARTIAL: "true" if self.alert_on_partial else "false",
            ENV_HOME_REGION: self.home,
        }
