"""Text that is safe to store and log: valid UTF-8, and bounded whatever the input.

Targets and events are arbitrary JSON. A lone surrogate (valid JSON, not
valid UTF-8) or a 500 KB value echoed into an error would make DynamoDB
refuse the whole batch of 25 records it travels in, costing other targets
their records. So every string that leaves the function goes through here.
"""

from __future__ import annotations

import re
import reprlib
from typing import Final

__all__ = ["MAX_ERROR_BYTES", "clip", "has_control_character", "one_line", "percent", "show", "utf8_size"]

# An Error attribute long enough for any message we write, short enough that
# a record stays far below DynamoDB's 400 KB item limit.
MAX_ERROR_BYTES: Final = 1024
ELLIPSIS: Final = "…"
REPLACEMENT: Final = "\ufffd"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# Control characters (C0, DEL, C1) and the line and paragraph separators: each breaks
# a line, or hides text, where a name or URL is shown (alert emails, log lines, the page).
_LINE_BREAKING: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_repr = reprlib.Repr()
_repr.maxstring = 100
_repr.maxother = 60
_repr.maxlong = 40


def utf8_size(text: str) -> int | None:
    """Bytes ``text`` takes as UTF-8, or None when it cannot be encoded (lone surrogates)."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return None


def clip(text: str, max_bytes: int = MAX_ERROR_BYTES) -> str:
    """``text`` as valid UTF-8 in at most ``max_bytes`` bytes; each lone surrogate becomes U+FFFD."""
    data = _SURROGATE.sub(REPLACEMENT, text).encode()
    if len(data) <= max_bytes:
        return data.decode()
    # Cut on a character boundary, leaving room for the ellipsis (3 bytes).
    return data[: max_bytes - len(ELLIPSIS.encode())].decode(errors="ignore") + ELLIPSIS


def has_control_character(text: str) -> bool:
    """Whether ``text`` holds a character that breaks a line or hides text where it is shown."""
    return _LINE_BREAKING.search(text) is not None


def one_line(text: str) -> str:
    """``text`` with each such character (see :func:`has_control_character`) replaced by U+FFFD."""
    return _LINE_BREAKING.sub(REPLACEMENT, text)


def show(value: object) -> str:
    """A short repr for an error message: a bad value is named, never echoed whole."""
    try:
        shown = _repr.repr(value)
    except ValueError:  # an int too long to convert to text at all
        shown = f"<{type(value).__name__} too large to show>"
    return clip(shown, 200)


def percent(value: float, places: int = 2) -> str:
    """``value`` (0-100) to ``places`` decimals, never rounded onto an end it did not reach.

    99.9977 is "99.99", not "100.00": a period with a failure never reads as
    perfect, nor one with a success as 0.
    """
    text = f"{value:.{places}f}"
    step = 10.0**-places
    if float(text) == 100.0 and value < 100.0:
        return f"{100.0 - step:.{places}f}"
    if float(text) == 0.0 and value > 0.0:
        return f"{step:.{places}f}"
    return text
