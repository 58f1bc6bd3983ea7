"""The target model: defaults, named errors, and bad entries that cost the others nothing."""

from __future__ import annotations

import pytest

from healthcheck.check.targets import DEFAULT_TIMEOUT_S, Target, parse_target, parse_targets, redact_url, require_valid
from healthcheck.exceptions import InvalidTargetError


def test_defaults_name_to_url_and_timeout_to_ten_seconds() -> None:
    assert parse_target({"url": "https://example.com/"}) == Target(
        name="https://example.com/", url="https://example.com/", timeout=DEFAULT_TIMEOUT_S
    )
    assert DEFAULT_TIMEOUT_S == 10


def test_explicit_fields_are_kept() -> None:
    assert parse_target({"url": "http://a.example:8080/x", "name": "a", "timeout": 2}) == Target(
        "a", "http://a.example:8080/x", 2.0
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "'url' is required"),
        ({"url": ""}, "'url' is required"),
        ({"url": 42}, "'url' is required"),
        ({"url": "ftp://example.com/"}, "must start with http:// or https://"),
        ({"url": "example.com"}, "must start with http:// or https://"),
        ({"url": "https://"}, "has no host"),
        ({"url": "https://example.com:99999/"}, "is malformed"),
        ({"url": "https://example.com:0/"}, "has port 0"),
        ({"url": "https://exa mple.com/"}, "whitespace or control characters"),
        ({"url": "https://example.com/", "name": ""}, "'name' must be a non-empty string"),
        ({"url": "https://example.com/", "name": 3}, "'name' must be a non-empty string"),
        ({"url": "https://example.com/", "timeout": 0}, "'timeout' must be more than 0"),
        ({"url": "https://example.com/", "timeout": 61}, "at most 60 seconds"),
        ({"url": "https://example.com/", "timeout": float("nan")}, "at most 60 seconds"),
        ({"url": "https://example.com/", "timeout": float("inf")}, "at most 60 seconds"),
        ({"url": "https://example.com/", "timeout": "5"}, "'timeout' must be a number"),
        ({"url": "https://example.com/", "timeout": True}, "'timeout' must be a number"),
        ({"url": "https://example.com/", "timout": 5}, "unknown field"),
        (["https://example.com/"], "must be an object"),
    ],
    ids=[
        "no-url",
        "empty-url",
        "url-not-string",
        "ftp",
        "no-scheme",
        "no-host",
        "bad-port",
        "port-zero",
        "space",
        "empty-name",
        "name-not-string",
        "zero-timeout",
        "long-timeout",
        "nan-timeout",
        "infinite-timeout",
        "timeout-string",
        "timeout-bool",
        "typo",
        "not-object",
    ],
)
def test_invalid_targets_are_named_errors(raw: object, message: str) -> None:
    with pytest.raises(InvalidTargetError, match=message):
        parse_target(raw)


def test_bad_entries_are_reported_and_good_ones_kept() -> None:
    parsed = parse_targets(
        [
            {"url": "https://ok.example/"},
            {"name": "no-url"},
            {"url": "gopher://old.example/"},
            {},
            {"url": "https://second.example/", "name": "ok2"},
        ]
    )
    assert [t.name for t in parsed.valid] == ["https://ok.example/", "ok2"]
    assert [(bad.label, bad.url) for bad in parsed.invalid] == [
        ("no-url", ""),
        ("gopher://old.example/", "gopher://old.example/"),
        ("targets[3]", ""),
    ]
    assert all(bad.error.startswith("invalid target: ") and bad.recordable for bad in parsed.invalid)


def test_duplicate_name_is_invalid_and_never_overwrites_the_first() -> None:
    parsed = parse_targets(
        [{"url": "https://a.example/", "name": "site"}, {"url": "https://b.example/", "name": "site"}]
    )
    assert [t.url for t in parsed.valid] == ["https://a.example/"]
    [duplicate] = parsed.invalid
    assert not duplicate.recordable
    assert "duplicate name 'site' (first used by targets[0])" in duplicate.error


def test_invalid_entry_labelled_like_a_valid_target_is_not_recorded() -> None:
    parsed = parse_targets([{"url": "https://a.example/", "name": "site"}, {"name": "site", "timeout": -1}])
    [bad] = parsed.invalid
    assert (bad.label, bad.recordable) == ("site", False)


def test_require_valid_names_every_bad_target() -> None:
    with pytest.raises(
        InvalidTargetError, match=r"targets: b: .*must start with http.*; targets\[2\]: 'url' is required"
    ):
        require_valid([{"url": "https://a.example/"}, {"name": "b", "url": "ftp://b"}, {}])


def test_require_valid_wants_a_list() -> None:
    with pytest.raises(InvalidTargetError, match=r"^healthcheck:targets must be a list of target objects, got dict$"):
        require_valid({"url": "https://a.example/"}, source="healthcheck:targets")


def test_an_oversized_name_or_url_never_becomes_the_record_key() -> None:
    # DynamoDB refuses keys over 2048 bytes, and would refuse the whole batch with them.
    parsed = parse_targets(
        [
            {"name": "n" * 3000, "url": "https://a.example/"},
            {"url": "https://b.example/" + "p" * 5000},
        ]
    )
    assert [bad.label for bad in parsed.invalid] == ["https://a.example/", "targets[1]"]
    url = parsed.invalid[1].url
    assert (len(url.encode()), url[-1]) == (2048, "…")


def test_a_name_is_limited_in_bytes_not_characters() -> None:
    # DynamoDB counts key bytes: 512 two-byte characters fit, 513 do not.
    assert parse_target({"url": "https://a.example/", "name": "é" * 512}).name == "é" * 512
    with pytest.raises(InvalidTargetError, match="'name' is longer than 1024 bytes"):
        parse_target({"url": "https://a.example/", "name": "é" * 513})


LONE_SURROGATE = "\ud800"  # valid JSON ("\\ud800"), not valid UTF-8: DynamoDB refuses the batch


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"url": "https://a.example/", "name": f"api{LONE_SURROGATE}"}, "'name' is not valid Unicode"),
        ({"url": f"https://a.example/{LONE_SURROGATE}"}, "'url' is not valid Unicode"),
    ],
    ids=["name", "url"],
)
def test_a_lone_surrogate_is_a_named_error_not_a_crash(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidTargetError, match=message):
        parse_target(raw)
    [bad] = parse_targets([raw, {"url": "https://ok.example/"}]).invalid
    # Both storable: they encode as UTF-8 (a lone surrogate would raise here).
    assert bad.label.encode()
    assert bad.url.encode()
    assert bad.label.startswith("https://a.example/")


@pytest.mark.parametrize(
    "raw",
    [
        {"url": "https://a.example/", "timeout": "9" * 500_000},
        {"url": "https://a.example/", "timeout": ["x" * 1000] * 1000},
        {"url": "https://a.example/", "timeout": 10**4000},
        {"url": "https://a.example/", **{f"field{i}": 1 for i in range(10_000)}},
        {"url": "ftp://a.example/" + "x" * 2000},
    ],
    ids=["long-string", "big-list", "huge-int", "many-unknown-fields", "long-bad-url"],
)
def test_an_invalid_entrys_reason_is_bounded_whatever_its_value(raw: dict[str, object]) -> None:
    [bad] = parse_targets([raw]).invalid
    assert len(bad.error.encode()) <= 1024
    assert bad.error.startswith("invalid target: ")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:hunter2-pw@a.example/", "https://***@a.example/"),
        ("https://user:hunter2-pw@a.example:8443/x?q=1", "https://***@a.example:8443/x?q=1"),
        ("http://:hunter2-pw@a.example/", "http://***@a.example/"),
        # A token as the user name (GitHub, many webhooks), alone or beside a password that is none.
        ("https://hunter2-token@a.example/", "https://***@a.example/"),
        ("https://hunter2-token:@a.example/", "https://***@a.example/"),
        ("https://hunter2-token:x-oauth-basic@a.example/", "https://***@a.example/"),
        ("https://hunter2-token@a.example/p@th?to=x@y", "https://***@a.example/p@th?to=x@y"),
    ],
    ids=["user-password", "with-port-and-query", "password-only", "token", "token-colon", "token-beside", "at-in-path"],
)
def test_any_user_information_is_a_credential_the_name_and_every_label_hide(url: str, shown: str) -> None:
    target = parse_target({"url": url})
    assert target.url == url  # sent as Basic auth by the probe
    assert target.name == shown
    assert redact_url(url) == shown
    [bad] = parse_targets([{"url": url, "timeout": -1}]).invalid
    assert (bad.label, bad.url) == (shown, shown)
    assert "hunter2" not in bad.error


@pytest.mark.parametrize(
    "url",
    ["https://a.example/", "https://a.example/p@th", "https://a.example/?to=x@y", "https://a.example/#x@y"],
    ids=["plain", "at-in-path", "at-in-query", "at-in-fragment"],
)
def test_a_url_without_user_information_is_shown_as_it_is(url: str) -> None:
    assert redact_url(url) == url


@pytest.mark.parametrize(
    "name",
    [
        "api\nRECOVERED: db",  # a line break could forge a line of an alert email
        "api\r\nRECOVERED: db",
        "api\rRECOVERED",
        "tab\there",
        "nul\x00",
        "escape\x1b[2J",  # a terminal escape, for whoever tails the logs
        "del\x7f",
        "next-line\x85",  # C1
        "line\u2028separator",
        "paragraph\u2029separator",
    ],
    ids=["lf", "crlf", "cr", "tab", "nul", "esc", "del", "nel", "line-separator", "paragraph-separator"],
)
def test_a_name_with_a_control_character_is_refused_and_never_labels_its_entry(name: str) -> None:
    with pytest.raises(InvalidTargetError, match=r"^'name' .* has a control character \(a line break, tab...\)"):
        parse_target({"url": "https://a.example/", "name": name})
    [bad] = parse_targets([{"url": "https://a.example/", "name": name}]).invalid
    assert (bad.label, bad.url) == ("https://a.example/", "https://a.example/")
    assert name not in bad.error  # quoted escaped, on one line
    with pytest.raises(InvalidTargetError, match=r"^healthcheck:targets: https://a.example/: 'name' "):
        require_valid([{"url": "https://a.example/", "name": name}], source="healthcheck:targets")


@pytest.mark.parametrize(
    "name",
    ["api — prod", "ünïcødé", "👍🏽 thumbs", "zero\u200bwidth", "a  b"],
    ids=["dash", "accents", "emoji", "zwsp", "spaces"],
)
def test_a_name_on_one_line_is_accepted_as_written(name: str) -> None:
    assert parse_target({"url": "https://a.example/", "name": name}).name == name


def test_an_entry_whose_name_and_url_both_break_lines_is_labelled_on_one_line() -> None:
    [bad] = parse_targets([{"url": "https://a.example/\nRECOVERED", "name": "x\ny"}]).invalid
    assert (bad.label, bad.url) == ("https://a.example/\ufffdRECOVERED", "https://a.example/\ufffdRECOVERED")


def test_an_entry_that_is_not_an_object_is_labelled_by_its_position() -> None:
    parsed = parse_targets([{"url": "https://a.example/"}, "https://b.example/", 5])
    assert [(bad.label, bad.url, bad.recordable) for bad in parsed.invalid] == [
        ("targets[1]", "", True),
        ("targets[2]", "", True),
    ]
    assert parsed.invalid[0].error == "invalid target: a target must be an object with a 'url', got str"


@pytest.mark.parametrize(
    ("size", "label"),
    [(1024, "n" * 1024), (1025, "ftp://a.example/")],
    ids=["1024-bytes-is-the-label", "1025-bytes-falls-back-to-the-url"],
)
def test_an_invalid_entry_is_labelled_by_a_name_of_up_to_1024_bytes(size: int, label: str) -> None:
    [bad] = parse_targets([{"name": "n" * size, "url": "ftp://a.example/"}]).invalid
    assert bad.label == label
