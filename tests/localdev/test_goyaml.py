"""YAML as the Pulumi CLI's Go library (yaml.v2) reads it: what an unquoted value means is what the program gets."""

from __future__ import annotations

import pytest

from localdev import goyaml

PLAIN = [
    ("rate(5 minutes)", "rate(5 minutes)"),
    ("120", 120),
    ("-7", -7),
    ("1_000", 1000),
    ("0x1F", 31),
    ("0o17", 15),
    ("010", 8),  # a leading 0 is octal
    ("08", 8.0),  # ... unless it cannot be, then a float
    ("0b101", 5),
    ("1e3", 1000.0),  # PyYAML: the string "1e3"
    ("90.5", 90.5),
    (".5", 0.5),
    ("1e400", "1e400"),  # out of float64 range: a string
    ("18446744073709551615", 2**64 - 1),  # uint64
    ("yes", True),
    ("y", True),  # PyYAML: the string "y"
    ("Off", False),
    ("n", False),
    ("~", None),
    ("null", None),
    ("2024-01-01", "2024-01-01"),  # PyYAML: a date
    ("1:30", "1:30"),  # PyYAML: 90 (base 60)
    ("SUN", "SUN"),
    ("cron(0 12 * * ? *)", "cron(0 12 * * ? *)"),
]


@pytest.mark.parametrize(("text", "value"), PLAIN, ids=[text for text, _ in PLAIN])
def test_plain_scalars_mean_what_they_mean_to_go(text: str, value: object) -> None:
    loaded = goyaml.load(f"key: {text}\n")["key"]
    assert (type(loaded), loaded) == (type(value), value)


@pytest.mark.parametrize("text", ["'120'", '"yes"', "'2024-01-01'", "'~'"])
def test_quoted_scalars_stay_strings(text: str) -> None:
    assert goyaml.load(f"key: {text}\n")["key"] == text[1:-1]


def test_syntax_errors_read_like_go_yaml() -> None:
    with pytest.raises(goyaml.YamlSyntaxError, match=r"^yaml: line 2: mapping values are not allowed in this context$"):
        goyaml.load("name: healthcheck\ndescription: a monitor: it checks\n")


def test_merge_keys_still_merge() -> None:
    assert goyaml.load("base: &b {a: 1}\nkey:\n  <<: *b\n  c: 2\n")["key"] == {"a": 1, "c": 2}
