"""Item sizes by DynamoDB's documented rules: what the status page counts to stay within its read budget."""

from __future__ import annotations

from typing import Any

import pytest
from moto.dynamodb.models.dynamo_type import DynamoType

from healthcheck.check.probe import CheckResult
from healthcheck.history.item_size import item_bytes, page_bytes, read_units
from healthcheck.history.record_store import to_item


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"Id": {"S": "api"}}, 2 + 3),
        ({"Id": {"S": "café"}}, 2 + 5),  # UTF-8 bytes, not characters
        ({"N": {"N": "12345"}}, 1 + 3 + 1),  # 5 significant digits: 3 bytes, plus 1
        ({"N": {"N": "-0.00120"}}, 1 + 1 + 1),  # leading and trailing zeros trimmed: "12"
        ({"Ok": {"BOOL": True}, "No": {"NULL": True}}, 2 + 1 + 2 + 1),
        ({"L": {"L": [{"S": "a"}, {"S": "bc"}]}}, 1 + 3 + (1 + 1) + (1 + 2)),  # 3 for the list, 1 per element
        ({"M": {"M": {"k": {"S": "v"}}}}, 1 + 3 + (1 + 1 + 1)),
        ({"SS": {"SS": ["ab", "c"]}}, 2 + 3),
        ({"B": {"B": b"\x00\x01\x02"}}, 1 + 3),
    ],
    ids=["string", "utf8", "number", "number-zeros", "bool-null", "list", "map", "string-set", "binary"],
)
def test_item_sizes_follow_dynamodbs_rules(item: dict[str, Any], size: int) -> None:
    assert item_bytes(item) == size


def test_strings_and_booleans_measure_as_moto_measures_them() -> None:
    """moto sizes items on its own (for its 400 KB limit); for scalars without overheads the two agree."""
    item = to_item(CheckResult("api", "https://api.test/health", True, 80), "2026-11-28T10:00:00Z")
    scalars = {name: value for name, value in item.items() if "S" in value or "BOOL" in value}
    by_moto = 0
    for name, value in scalars.items():
        by_moto += len(name) + DynamoType(dict(value)).size()
    assert item_bytes(scalars) == by_moto


def test_a_failure_item_with_30_long_unmet_expectations_measures_as_dynamodb_bills_it() -> None:
    success = to_item(CheckResult("api", "https://api.test/health", True, 80, 200), "2026-11-28T10:00:00Z")
    lines = tuple(f"json $.checks[{n}].status is 'degraded', expected 'ok' ".ljust(512, "x") for n in range(30))
    failure = to_item(
        CheckResult("api", "https://api.test/health", False, 80, 503, failures=lines), "2026-11-28T10:00:00Z"
    )
    # 11 Id (check#api) + 35 Timestamp (<time>#local) + 26 Url + 8 Success + 10 Duration + 8 Status.
    assert item_bytes(success) == 98
    # The same, Status 9 (503: 2 digits' worth), Error 517 (the first line), Failures 8 + 3 + 30 x (1 + 512).
    assert item_bytes(failure) == 98 + 1 + 517 + 15_401


@pytest.mark.parametrize(
    ("sizes", "billed", "units"),
    [([], 4096, 0.5), ([100] * 40, 4096, 0.5), ([4000, 97], 8192, 1.0), ([15_539, 15_539], 32768, 4.0)],
    ids=["empty-page", "40-small-records", "just-over-4-kb", "two-large-failures"],
)
def test_a_query_page_is_billed_by_its_items_together_in_4_kb_steps(
    sizes: list[int], billed: int, units: float
) -> None:
    items = [{"x": {"S": "y" * (size - 1)}} for size in sizes]
    assert page_bytes(items) == billed
    assert read_units(billed) == units
