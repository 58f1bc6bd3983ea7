"""Every form a secret can come back in is hidden, and nothing else is: the scrubber as a table.

Found by attack (issue 14): a server that echoed a header secret base64-, hex-
or percent-encoded (as JavaScript encodes), or upper-cased, had it quoted in
the check's Error and Failures, whence it reached records, logs and alerts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from healthcheck.check import redaction
from healthcheck.check.request_spec import RequestSpec, SsmRef, prepare, scrub

KEY = SsmRef("/healthcheck/api-key")

# Every character class an encoder treats differently: letters of both cases, digits,
# what percent-encoders disagree on (/ ! ~ * ' ( ) space +), JSON's escapes, and Latin-1.
SECRET = "Tok/en+1 !~*'()\\\"é-x"
# And lengths of each remainder modulo 3 (21, 16 and 17 bytes as UTF-8), so that base64 pads
# with none, two and one "="; one holds only ', one only " (repr() quotes each differently),
# and a no-break space, which repr() escapes and JSON need not.
SECRETS = {
    "both-quotes": SECRET,
    "single-quote": "Tok'en\\pa\xa0th-12",
    "double-quote": 'Tok"en\\pa\xa0th-123',
}


def forms(secret: str) -> frozenset[str]:
    """What the probe hides for a check that sends ``secret`` in a header."""
    return prepare("https://api.example/", RequestSpec(headers=(("X-Api-Key", KEY),)), {KEY: secret}, {}).secrets


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _url64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


ENCODERS: dict[str, Callable[[str], str]] = {
    "as-sent": lambda s: s,
    "upper-case": str.upper,
    "lower-case": str.lower,
    "mixed-case": str.swapcase,
    "json-escaped": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-ascii-escaped": lambda s: json.dumps(s)[1:-1],
    "repr-escaped": lambda s: repr(s)[1:-1],
    "repr-beside-both-quotes": lambda s: repr(s + "'\"")[1:-4],  # a quoted text that holds ' and " too
    "base64": lambda s: _b64(s.encode()),
    "base64-unpadded": lambda s: _b64(s.encode()).rstrip("="),
    "base64url": lambda s: _url64(s.encode()),
    "base64url-unpadded": lambda s: _url64(s.encode()).rstrip("="),
    "base64-latin1": lambda s: _b64(s.encode("latin-1")),
    "base64url-latin1-unpadded": lambda s: _url64(s.encode("latin-1")).rstrip("="),
    "base64-upper-cased": lambda s: _b64(s.encode()).upper(),
    "hex": lambda s: s.encode().hex(),
    "hex-upper": lambda s: s.encode().hex().upper(),
    "hex-latin1": lambda s: s.encode("latin-1").hex(),
    "quote-safe-none": lambda s: quote(s, safe=""),
    "quote-safe-slash": lambda s: quote(s, safe="/"),
    "quote-latin1": lambda s: quote(s, safe="", encoding="latin-1"),
    "quote-lower-hex": lambda s: quote(s, safe="").lower(),
    "quote-plus": quote_plus,
    "quote-plus-latin1": lambda s: quote_plus(s, encoding="latin-1"),
    "form-urlencoded-keeps-star": lambda s: quote_plus(s, safe="*"),
    "encodeURIComponent": lambda s: quote(s, safe="!~*'()"),
    "encodeURI": lambda s: quote(s, safe="!~*'();,/?:@&=+$#"),
}


@pytest.mark.parametrize("encoding", list(ENCODERS), ids=list(ENCODERS))
@pytest.mark.parametrize("secret", list(SECRETS.values()), ids=list(SECRETS))
def test_each_encoded_form_is_hidden_wherever_it_stands(secret: str, encoding: str) -> None:
    form = ENCODERS[encoding](secret)
    hidden = forms(secret)
    for text in (form, f"got {form}.", f"a={form}&b=1", f"'{form}'"):
        assert scrub(text, hidden) == text.replace(form, "***"), text


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"use", b"user:"], ids=["0", "1", "2", "3", "5"])
@pytest.mark.parametrize("secret", list(SECRETS.values()), ids=list(SECRETS))
def test_base64_of_a_longer_text_holding_the_secret_hides_the_secrets_part(secret: str, prefix: bytes) -> None:
    # A Basic token, a JWT or a cookie wrapping the secret: its bits fall on base64's characters at any offset.
    data = secret.encode()
    for encode in (_b64, _url64):
        wrapped = encode(prefix + b"-token-" + data + b";tail")
        scrubbed = scrub(wrapped, forms(secret))
        assert scrubbed.count("***") == 1, scrubbed
        # Gone: every character made of the secret's bits alone (all but the 1-2 it shares with its neighbours).
        assert len(wrapped) - (len(scrubbed) - 3) >= 8 * len(data) // 6 - 1, scrubbed


def test_no_form_of_an_empty_text_is_searched_for() -> None:
    # An empty form would match between every two characters: the whole text would go.
    assert redaction.forms("") == frozenset()
    assert scrub("connection refused", redaction.forms("")) == "connection refused"


def test_a_percent_or_form_decoded_secret_is_hidden() -> None:
    # A server that decodes what it read (a form parser reading "+" as a space) echoes the decoded text.
    hidden = forms("abc%2Fdef+ghi-jkl")
    assert scrub("got abc/def ghi-jkl", hidden) == "got ***"
    assert scrub("got abc/def+ghi-jkl", hidden) == "got ***"


def test_a_decoded_form_shorter_than_the_minimum_is_not_searched_for() -> None:
    # "%41%42%43" decodes to "ABC": hidden, it would mangle every "abc" in an error text.
    assert scrub("ABC connection refused", forms("%41%42%43-x")) == "ABC connection refused"


@pytest.mark.parametrize(
    "text",
    ["Tok/en+1 !~*'()", "connection refused", "dG9r", "546f6b2f", "Tok%2Fen%2B1"],
    ids=["its-first-part", "plain-error", "base64-of-its-start", "hex-of-its-start", "percent-of-its-start"],
)
def test_what_is_not_a_whole_form_is_left_as_it_is(text: str) -> None:
    assert scrub(text, forms(SECRET)) == text


@pytest.mark.parametrize(
    ("text", "hidden", "scrubbed"),
    [
        ("token abc-abcdef and abc", {"abc", "abc-abcdef"}, "token *** and ***"),
        ("xabcdefghijk!", {"abcdefghijk", "xabcdefgh"}, "***!"),  # overlapping: every character of both goes
        ("aaaaaaaabbbbbbbb", {"aaaaaaaa", "bbbbbbbb"}, "***"),  # touching: one ***
        ("aaaaaaaa-bbbbbbbb", {"aaaaaaaa", "bbbbbbbb"}, "***-***"),
        ("AAAAAAAA aAaAaAaA", {"aaaaaaaa"}, "*** ***"),
        ("no secret here", set(), "no secret here"),
        ("a.b", {"a.b"}, "***"),  # a form is a string, never a pattern
        ("axb", {"a.b"}, "axb"),
        # U+0130 lowers to two characters: the text is then searched as it is, ignoring case.
        ("\u0130stanbul aAaAaAaA xabcdefghijk", {"aaaaaaaa", "abcdefghijk", "xabcdefgh"}, "\u0130stanbul *** ***"),
        ("aaaaaaaaaaaaaaaaaaaa", {"aaaaaaaa"}, "***"),  # found at every place
    ],
    ids=[
        "longest-first",
        "overlapping",
        "touching",
        "apart",
        "any-case",
        "nothing-to-hide",
        "dot-itself",
        "dot-literal",
        "lowers-longer",
        "repeated",
    ],
)
def test_scrub_hides_every_character_of_every_form(text: str, hidden: set[str], scrubbed: str) -> None:
    assert scrub(text, frozenset(hidden)) == scrubbed


def test_forms_never_hold_the_empty_string() -> None:
    # An empty form would match between every two characters: the whole text would go.
    assert "" not in forms("%%%%%%%%")
    assert scrub("connection refused", forms("%%%%%%%%")) == "connection refused"


def test_a_secret_whose_upper_case_is_longer_is_hidden_upper_cased() -> None:
    # "ß".upper() is "SS": no case-insensitive match finds it, so the upper-cased secret is a form of its own.
    assert scrub("got STRASSE-TOKEN-1", forms("straße-token-1")) == "got ***"
