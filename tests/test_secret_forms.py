"""Every form a secret can come back in is hidden, and nothing else is: the scrubber as a table.

Found by attack (issue 14): a server that echoed a header secret base64-, hex-
or percent-encoded (as JavaScript encodes), or upper-cased, had it quoted in
the check's Error and Failures, whence it reached records, logs and alerts.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from healthcheck.request_spec import RequestSpec, SsmRef, prepare, scrub

KEY = SsmRef("/healthcheck/api-key")

# Every character class an encoder treats differently: letters of both cases, digits,
# what percent-encoders disagree on (/ ! ~ * ' ( ) space +), JSON's escapes, and Latin-1.
SECRET = "Tok/en+1 !~*'()\\\"é-x"


def forms(secret: str) -> frozenset[str]:
    """What the probe hides for a check that sends ``secret`` in a header."""
    return prepare("https://api.example/", RequestSpec(headers=(("X-Api-Key", KEY),)), {KEY: secret}, {}).secrets


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _url64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


UTF8, LATIN1 = SECRET.encode(), SECRET.encode("latin-1")
ENCODED = {
    "as-sent": SECRET,
    "upper-case": SECRET.upper(),
    "lower-case": SECRET.lower(),
    "mixed-case": SECRET.swapcase(),
    "json-escaped": json.dumps(SECRET, ensure_ascii=False)[1:-1],
    "json-ascii-escaped": json.dumps(SECRET)[1:-1],
    "repr-escaped": repr(SECRET)[1:-1],
    "base64": _b64(UTF8),
    "base64-unpadded": _b64(UTF8).rstrip("="),
    "base64url": _url64(UTF8),
    "base64url-unpadded": _url64(UTF8).rstrip("="),
    "base64-latin1": _b64(LATIN1),
    "base64-upper-cased": _b64(UTF8).upper(),
    "hex": UTF8.hex(),
    "hex-upper": UTF8.hex().upper(),
    "hex-latin1": LATIN1.hex(),
    "quote-safe-none": quote(SECRET, safe=""),
    "quote-safe-slash": quote(SECRET, safe="/"),
    "quote-latin1": quote(SECRET, safe="", encoding="latin-1"),
    "quote-lower-hex": quote(SECRET, safe="").lower(),
    "quote-plus": quote_plus(SECRET),
    "form-urlencoded-keeps-star": quote_plus(SECRET, safe="*"),
    "encodeURIComponent": quote(SECRET, safe="!~*'()"),
    "encodeURI": quote(SECRET, safe="!~*'();,/?:@&=+$#"),
}


@pytest.mark.parametrize("form", list(ENCODED.values()), ids=list(ENCODED))
def test_each_encoded_form_is_hidden_wherever_it_stands(form: str) -> None:
    hidden = forms(SECRET)
    for text in (form, f"got {form}.", f"a={form}&b=1", f"'{form}'"):
        assert scrub(text, hidden) == text.replace(form, "***"), text


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"use", b"user:"], ids=["0", "1", "2", "3", "5"])
def test_base64_of_a_longer_text_holding_the_secret_hides_the_secrets_part(prefix: bytes) -> None:
    # A Basic token, a JWT or a cookie wrapping the secret: its bits fall on base64's characters at any offset.
    for encode in (_b64, _url64):
        wrapped = encode(prefix + b"-token-" + UTF8 + b";tail")
        scrubbed = scrub(wrapped, forms(SECRET))
        assert "***" in scrubbed
        # What is left can be decoded to no more than the bytes around the secret, and a few bits.
        assert len(wrapped) - len(scrubbed) >= 4 * len(UTF8) // 3 - 3 - 3


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
