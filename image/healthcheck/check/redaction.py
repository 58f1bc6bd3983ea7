"""What no output may hold: every form a check's secrets can come back in, and the scrubber that hides them.

A server echoes what it was sent, but seldom as sent: percent-encoded into a
``Location``, base64- or hex-encoded into a token or a body, JSON- or
repr-escaped, upper-cased, its host name lower-cased. A text is scrubbed of
all of these forms (:func:`forms`), matched case-insensitively, before
anything cuts or escapes it; cut or escaped first, a secret no longer matches
and its pieces leak.

A secret shorter than :data:`MIN_SECRET_LENGTH` is refused rather than hidden:
its ``***`` would fall all over ordinary words, mangling every error text,
and where they fall would spell it out.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from typing import Final
from urllib.parse import quote, quote_plus, unquote, unquote_plus

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "forms", "scrub", "too_short"]

REDACTED: Final = "***"
MIN_SECRET_LENGTH: Final = 8
# Characters left as they are by each percent-encoder a server may use (letters,
# digits and _.-~ always are): Python's quote(safe=""), quote() (safe "/"),
# JavaScript's encodeURIComponent and encodeURI.
_PERCENT_SAFE: Final = ("", "/", "!~*'()", "!~*'();,/?:@&=+$#")
# A form body (application/x-www-form-urlencoded): Python's quote_plus, and URLSearchParams (keeps "*").
_FORM_SAFE: Final = ("", "*")
_URLSAFE_ALPHABET: Final = str.maketrans("+/", "-_")


def too_short(value: str) -> bool:
    """Whether ``value`` is too short to hide (see the module's docstring)."""
    return len(value) < MIN_SECRET_LENGTH


def _bytes_sent(secret: str) -> list[bytes]:
    """The secret's bytes as a server may have received them: a header goes out as Latin-1, a URL as UTF-8."""
    found = [secret.encode()]
    try:
        latin = secret.encode("latin-1")
    except UnicodeEncodeError:
        return found
    return found if latin == found[0] else [*found, latin]


def _base64(data: bytes) -> set[str]:
    """``data`` in base64: whole (with and without padding), and inside any longer base64 text.

    Inside a longer text (``Basic`` of ``user:secret``, a token wrapping it),
    how the secret's bits fall on base64's 6-bit characters depends on the bytes
    before it, modulo 3: for each offset, the characters made of the secret's
    bits alone are a form of it.
    """
    whole = base64.b64encode(data).decode()
    found = {whole, whole.rstrip("=")}
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        first = -(-8 * offset // 6)  # the first character whose 6 bits are all the secret's
        end = 8 * (offset + len(data)) // 6
        found.add(encoded[first:end])
    return found | {form.translate(_URLSAFE_ALPHABET) for form in found}


def _escaped(secret: str) -> set[str]:
    """The secret inside a JSON string or a Python repr, whose backslashes, quotes and controls are escaped."""
    return {
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        # repr() escapes ' only when the text holds " too: both ways.
        repr(f"{secret}'\"")[1:-4],
    }


def forms(secret: str) -> frozenset[str]:
    """Every form of ``secret`` that no output may contain; hidden case-insensitively by :func:`scrub`.

    The secret as sent (in any case, and upper-cased); JSON- and repr-escaped; percent-encoded as
    Python's ``quote`` (``safe=""`` and ``safe="/"``), ``quote_plus``, JavaScript's
    ``encodeURIComponent`` and ``encodeURI`` and a browser's form encoding do it; its
    percent- and form-decoded text (when 8 characters or more); base64 and base64url,
    padded or not, also inside a longer base64 text; and hex. Encoded forms are of its
    UTF-8 bytes, and of its Latin-1 bytes when those differ.
    """
    # Matched in any case; upper() is a form of its own where it changes the length (ß -> SS).
    found = {secret, secret.upper(), *_escaped(secret)}
    found.update(decoded for decoded in (unquote(secret), unquote_plus(secret)) if not too_short(decoded))
    for data in _bytes_sent(secret):
        found.add(data.hex())
        found.update(_base64(data))
        found.update(quote(data, safe=safe) for safe in _PERCENT_SAFE)
        found.update(quote_plus(data, safe=safe) for safe in _FORM_SAFE)
    found.discard("")
    return frozenset(found)


@functools.lru_cache(maxsize=64)
def _pattern(hidden: frozenset[str], *, folded: bool) -> re.Pattern[str]:
    """The forms as one alternation, longest first: at a place, the longest form that starts there matches.

    ``folded``: of the lower-cased forms, for a lower-cased text, and case-sensitive.
    An IGNORECASE pattern runs ~50 times slower, so it is kept for a text whose
    lower-casing changes its length (a character such as U+0130 lowers to two).
    """
    forms = {form.lower() for form in hidden} if folded else hidden
    alternatives = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(map(re.escape, alternatives)), 0 if folded else re.IGNORECASE)


def _spans(pattern: re.Pattern[str], text: str) -> list[list[int]]:
    """Where any form stands in ``text``, overlapping and touching ones merged."""
    spans: list[list[int]] = []
    position = 0
    while (match := pattern.search(text, position)) is not None:
        start, end = match.span()
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
        position = start + 1  # a form may start inside the one just found
    return spans


def scrub(text: str, hidden: frozenset[str]) -> str:
    """``text`` with every string of ``hidden`` (in any case) replaced by ``***``.

    Forms that overlap or touch are hidden as one: every character that is part
    of any form goes, whichever form would have been replaced first.
    """
    if not hidden:
        return text
    lowered = text.lower()
    folded = len(lowered) == len(text)  # then each character lowered to one, in its place
    spans = _spans(_pattern(hidden, folded=folded), lowered if folded else text)
    parts, kept_from = [], 0
    for start, end in spans:
        parts += [text[kept_from:start], REDACTED]
        kept_from = end
    parts.append(text[kept_from:])
    return "".join(parts)
