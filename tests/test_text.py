"""Text that leaves the function: valid UTF-8, bounded in bytes, and a bad value named, never echoed whole."""

from __future__ import annotations

import pytest

from healthcheck.text import clip, has_control_character, one_line, percent, show, utf8_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("", 0), ("abc", 3), ("é", 2), ("€", 3), ("\U0001f600", 4), ("a\ud800", None)],
    ids=["empty", "ascii", "two-byte", "three-byte", "four-byte", "lone-surrogate"],
)
def test_utf8_size_counts_bytes_and_refuses_lone_surrogates(text: str, size: int | None) -> None:
    assert utf8_size(text) == size


@pytest.mark.parametrize(
    ("text", "max_bytes", "clipped"),
    [
        ("abcde", 5, "abcde"),
        ("abcdef", 5, "ab…"),
        ("éééé", 6, "é…"),
        ("a\ud800b", 1024, "a\ufffdb"),
        ("a" * 1024, None, "a" * 1024),
        ("a" * 1025, None, "a" * 1021 + "…"),
    ],
    ids=["fits", "cut-with-ellipsis", "cut-on-a-character", "surrogate-replaced", "1024-fits", "1025-cut"],
)
def test_clip_keeps_text_within_its_bytes_and_valid(text: str, max_bytes: int | None, clipped: str) -> None:
    result = clip(text) if max_bytes is None else clip(text, max_bytes)
    assert result == clipped
    assert len(result.encode()) <= (1024 if max_bytes is None else max_bytes)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x" * 500, "'" + "x" * 47 + "..." + "x" * 48 + "'"),
        (10**5000, "<int too large to show>"),
        (2**200, "160693804425899027...2993782792835301376"),
        ([1, 2, 3, 4, 5, 6, 7, 8], "[1, 2, 3, 4, 5, 6, ...]"),
        (True, "True"),
    ],
    ids=["long-string-100-chars", "int-too-long-for-text", "long-int-40-chars", "long-list", "bool"],
)
def test_show_names_a_value_in_short(value: object, shown: str) -> None:
    assert show(value) == shown


def test_show_is_at_most_200_bytes_whatever_the_value() -> None:
    shown = show({str(i) * 100: "v" * 100 for i in range(4)})
    assert len(shown.encode()) == 200
    assert shown.endswith("…")


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (100.0, 2, "100.00"),
        (100.0 * 43_199 / 43_200, 2, "99.99"),  # one failure in 30 days of 1-minute checks: never "100.00"
        (100.0 * 43_199 / 43_200, 4, "99.9977"),
        (99.995, 2, "99.99"),
        (87.5, 2, "87.50"),
        (100.0 / 3, 2, "33.33"),
        (200.0 / 3, 2, "66.67"),  # rounded as usual away from the ends
        (0.0, 2, "0.00"),
        (100.0 / 43_200, 2, "0.01"),  # one success is not "0.00"
    ],
)
def test_a_percentage_never_reaches_an_end_it_did_not(value: float, places: int, text: str) -> None:
    assert percent(value, places) == text


# Every character that breaks a line or hides text where a name is shown, at both ends of each range.
BREAKING = ["\x00", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"]
ON_ONE_LINE = [" ", "~", "\xa0", "é", "\u200b", "\u2027", "\u202a", "\U0001f600"]


@pytest.mark.parametrize("char", BREAKING, ids=[f"U+{ord(c):04X}" for c in BREAKING])
def test_a_control_character_or_line_separator_is_found_and_replaced(char: str) -> None:
    assert has_control_character(f"api{char}db")
    assert one_line(f"api{char}db{char}") == "api\ufffddb\ufffd"


@pytest.mark.parametrize("char", ON_ONE_LINE, ids=[f"U+{ord(c):04X}" for c in ON_ONE_LINE])
def test_a_printable_or_format_character_keeps_to_one_line(char: str) -> None:
    assert not has_control_character(f"api{char}db")
    assert one_line(f"api{char}db") == f"api{char}db"
