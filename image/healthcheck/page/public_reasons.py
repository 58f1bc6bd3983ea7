"""Failure reasons as a public status page may show them: the kind of failure, never the detail.

A record's ``Error`` is written for the target's owner: it names hosts
(``name not resolved: db.internal``), redirect targets, secret names, and the
text or JSON a response lacked. With ``statusPageShowUrls`` off, a page must
not publish any of that. A reason is shown whole only when it is made of words
and numbers alone (``status 503 not in [2xx]``, ``timed out after 10 s``);
anything else is cut to its kind.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["public_reason"]

# Reasons whose detail is a host, URL, secret name, or text from the response or the config.
_KINDS: Final = (
    ("name not resolved", "name not resolved"),
    ("secret ", "a secret could not be read"),
    ("json ", "JSON field not as expected"),
    ("header ", "header not as expected"),
    ("body lacks", "body lacks the expected text"),
    ("body does not match", "body does not match the expected pattern"),
    ("redirect to unsupported URL", "redirect to an unsupported URL"),
    ("redirect to invalid URL", "redirect to an invalid URL"),
    ("invalid URL", "invalid URL"),
    ("internal error", "internal error"),
)
# Words, numbers (one dot between digits: 2.5, never 10.0.0.5) and the punctuation our own texts use;
# no quote, slash, '@', '_' or bare dot, so no host, path, address or quoted value.
_PLAIN: Final = re.compile(r"(?:[A-Za-z0-9 ,:;()\[\]<>=+-]|(?<=[0-9])\.(?=[0-9]+(?![0-9.])))*")
# An IPv6 address is words, numbers and colons too: two colons with hex digits (or nothing) between.
_IPV6: Final = re.compile(r"[0-9A-Fa-f]*:[0-9A-Fa-f]*:")
HIDDEN: Final = "check failed"


def _plain(text: str) -> bool:
    return _PLAIN.fullmatch(text) is not None and _IPV6.search(text) is None


def public_reason(reason: str) -> str:
    """``reason`` if it names nothing private, else its kind (the text before its first ':')."""
    for prefix, kind in _KINDS:
        if reason.startswith(prefix):
            return kind
    if _plain(reason):
        return reason
    head, colon, _detail = reason.partition(":")
    return head if colon and _plain(head) else HIDDEN
