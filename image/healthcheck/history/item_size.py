"""Item sizes as DynamoDB bills them, and the read units a ``Query`` page of items costs.

A read is billed by the size of the items read, whatever a projection
returns: so a reader that must stay within a budget of read units counts
the bytes of what it has read, by DynamoDB's own rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
a name and a string count their UTF-8 bytes, a number one byte per two
significant digits plus one, a boolean or null one byte, a list or map 3
bytes plus one byte per element. A ``Query`` page costs half a read unit
(eventually consistent) per 4 KB of all its items together, rounded up.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["READ_UNIT_BYTES", "item_bytes", "page_bytes", "read_units", "value_bytes"]

# Half a read unit per 4 KB, eventually consistent: 8 KB per unit.
READ_UNIT_BYTES: Final = 8192
BLOCK_BYTES: Final = 4096


def _number_bytes(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_bytes(value: object) -> int:
    # boto3 hands binary values back as bytes (or its Binary wrapper); on the wire they are base64.
    if isinstance(value, str):
        return len(base64.b64decode(value))
    return len(bytes(value))  # type: ignore[call-overload]


def value_bytes(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's typed form (``{"S": "..."}``), without its name."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return _number_bytes(str(data))
    if kind == "B":
        return _binary_bytes(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(entry).encode()) for entry in data)
    if kind == "NS":
        return sum(_number_bytes(str(entry)) for entry in data)
    if kind == "BS":
        return sum(_binary_bytes(entry) for entry in data)
    if kind == "L":
        return 3 + sum(1 + value_bytes(entry) for entry in data)
    if kind == "M":
        return 3 + sum(1 + len(str(key).encode()) + value_bytes(entry) for key, entry in data.items())
    raise ValueError(f"not a DynamoDB attribute type: {kind[:10]!r}")


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB gives ``item``: its attributes' names and values."""
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def page_bytes(items: Iterable[Mapping[str, Mapping[str, Any]]]) -> int:
    """Bytes a ``Query`` page of ``items`` is billed for: their total, rounded up to 4 KB (4 KB when empty)."""
    total = sum(item_bytes(item) for item in items)
    return max(1, -(-total // BLOCK_BYTES)) * BLOCK_BYTES


def read_units(billed_bytes: int) -> float:
    """Eventually consistent read units for ``billed_bytes`` (a multiple of 4 KB)."""
    return billed_bytes / READ_UNIT_BYTES
