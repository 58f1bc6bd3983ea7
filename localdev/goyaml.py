"""YAML read as the Pulumi CLI reads it: with Go's gopkg.in/yaml.v2 rules for plain scalars.

PyYAML and the CLI's YAML library agree on the syntax (both descend from
libyaml, whose parser PyYAML's ``CSafeLoader`` is) but not on what an unquoted
scalar means, and that decides which string the program is handed:
``timeout: 1e3`` is the number 1000 to the CLI but the string ``"1e3"`` to
PyYAML; ``2024-01-01`` stays a string for the CLI but is a date to PyYAML;
``y`` and ``n`` are booleans, ``1:30`` is a string, ``0o17`` is 15.

The rules below are yaml.v2's ``resolve()`` (resolve.go) for an untagged plain
scalar decoded into ``interface{}``, which is how the CLI loads ``Pulumi.yaml``
and ``Pulumi.<stack>.yaml`` (sdk/go/common/encoding/marshal.go uses yaml.v2).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

__all__ = ["YamlSyntaxError", "load"]

_PLAIN = "tag:go-yaml.v2,plain"
_MERGE = "tag:yaml.org,2002:merge"

# resolve.go's resolveMap: exact spellings, looked up before anything else.
_BY_SPELLING: dict[str, object] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# strconv.ParseInt(s, 0, 64)'s syntax: a sign, then 0x/0o/0b, a leading-0 octal, or decimal.
_GO_INT = re.compile(
    r"(?P<sign>[+-]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[oO](?P<oct>[0-7]+)|0[bB](?P<bin>[01]+)|(?P<dec>.+))"
)
_GO_DECIMAL_OR_OCTAL = re.compile(r"0[0-7]*|[1-9][0-9]*")
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_TIMESTAMP_START = re.compile(r"[0-9]{4}-")


class YamlSyntaxError(ValueError):
    """The text is not YAML; the message is the one Go's yaml.v2 gives (``yaml: line N: ...``)."""


def _go_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint, as resolve() tries them; None when neither parses."""
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    if match["hex"]:
        value = int(match["hex"], 16)
    elif match["oct"]:
        value = int(match["oct"], 8)
    elif match["bin"]:
        value = int(match["bin"], 2)
    elif _GO_DECIMAL_OR_OCTAL.fullmatch(match["dec"]):
        digits = match["dec"]
        value = int(digits, 8) if digits.startswith("0") else int(digits)
    else:
        return None
    if match["sign"] == "-":
        value = -value
    if -(2**63) <= value < 2**63:
        return value
    # ParseUint takes no sign at all, not even "+".
    return value if not match["sign"] and value < 2**64 else None


def _go_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64): no digit underscores without a base prefix, and out of range is an error."""
    if "_" in text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isinf(number) else number


def resolve_plain(text: str) -> object:
    """What yaml.v2 makes of an unquoted scalar decoded into ``interface{}``."""
    if text in _BY_SPELLING:
        return _BY_SPELLING[text]
    first = text[0]
    if first == ".":
        resolved = _go_float(text)
        return text if resolved is None else resolved
    if not (first.isascii() and (first.isdigit() or first in "+-")):
        return text
    if _TIMESTAMP_START.match(text):
        # A timestamp decoded into interface{} stays the string it was written as
        # (decode.go keeps it "for backward compatibility"), as does anything else
        # that starts like one; the int and float rules below cannot match it.
        return text
    plain = text.replace("_", "")
    integer = _go_int(plain)
    if integer is not None:
        return integer
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        number = _go_float(plain)
        if number is not None:
            return number
    return text


class _GoYamlV2Loader(yaml.CSafeLoader):
    """libyaml's parser with yaml.v2's meaning for every plain scalar."""


# Replace PyYAML's YAML 1.1 implicit types with one resolver that hands every
# plain scalar to resolve_plain(); quoted scalars stay strings, as in Go.
_GoYamlV2Loader.yaml_implicit_resolvers = {}
_GoYamlV2Loader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])
_GoYamlV2Loader.add_implicit_resolver(_PLAIN, re.compile(r".*", re.DOTALL), None)


def _construct_plain(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    return resolve_plain(loader.construct_scalar(node))


_GoYamlV2Loader.add_constructor(_PLAIN, _construct_plain)


def load(text: str) -> Any:
    """Parse ``text`` as the CLI does; syntax errors carry yaml.v2's ``yaml: line N: problem`` form."""
    try:
        return yaml.load(text, Loader=_GoYamlV2Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise YamlSyntaxError(f"yaml: {line}{exc.problem}") from exc
