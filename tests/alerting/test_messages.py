"""Alert text: subjects SNS accepts, one message per kind, bounded size, every subscriber's format."""

from __future__ import annotations

import dataclasses
import json

import pytest

from healthcheck.alerting.messages import MAX_MESSAGE_BYTES, build_messages, format_duration, subject
from healthcheck.alerting.state import Alert

T0, T3 = "2026-11-27T18:00:00Z", "2026-11-27T18:03:00Z"


def down(name: str, url: str = "https://api.example.com/health") -> Alert:
    return Alert("DOWN", name, url, T3, T0, ("status 503 not in [2xx]", "duration 812 ms > 500 ms"))


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["api"], "DOWN: api"),
        (["api", *[f"t{i}" for i in range(36)]], "DOWN: api and 36 more"),
        (["Zürich-café ☕"], "DOWN: Zurich-cafe ?"),
        (["line\nbreak"], "DOWN: line?break"),
    ],
    ids=["one", "many", "unicode", "newline"],
)
def test_subjects(names: list[str], expected: str) -> None:
    assert subject("DOWN", [down(name) for name in names]) == expected


def test_a_long_name_is_cut_so_the_subject_fits_sns() -> None:
    text = subject("STILL DOWN", [down("ü" * 500), down("b")])
    assert len(text) == 100
    assert text.endswith("... and 1 more")
    assert all(" " <= ch <= "~" for ch in text)


def test_one_message_per_kind_whatever_the_number_of_targets() -> None:
    alerts = [down(f"svc-{i}") for i in range(30)] + [Alert("RECOVERED", "db", "https://db/", T3, T0, down_for_s=180)]
    subjects = [message.subject for message in build_messages(alerts, sent_at=T3)]
    assert subjects == ["DOWN: svc-0 and 29 more", "RECOVERED: db"]


def test_a_thousand_failing_targets_with_huge_urls_stay_within_the_sns_limit() -> None:
    alerts = [down(f"svc-{i}", "https://x/" + "a" * 2000) for i in range(1000)]
    [message] = build_messages(alerts, sent_at=T3)
    assert len(message.structured.encode()) <= MAX_MESSAGE_BYTES
    machine = json.loads(json.loads(message.structured)["sqs"])
    assert len(machine["targets"]) + machine["more"] == 1000


def test_every_protocol_gets_its_form() -> None:
    [message] = build_messages([down("api", "https://user:secret@api.example.com/health")], sent_at=T3)
    document = json.loads(message.structured)
    assert document["default"] == document["email"] == message.text
    assert "secret" not in message.structured  # the URL is shown redacted
    assert json.loads(document["sqs"]) == json.loads(document["lambda"])
    chat = json.loads(document["https"])
    assert (chat["version"], chat["source"], chat["content"]["textType"]) == ("1.0", "custom", "client-markdown")
    assert chat["content"]["title"] == "DOWN: api"
    assert "status 503 not in [2xx]" in chat["content"]["description"]


def test_the_down_text() -> None:
    [message] = build_messages([down("api")], sent_at=T3)
    assert message.text == (
        "1 target is DOWN:\n"
        "\n"
        "api\n"
        "  url:      https://api.example.com/health\n"
        "  since:    2026-11-27 18:00:00 UTC (3 min ago)\n"
        "  reasons:  status 503 not in [2xx]\n"
        "            duration 812 ms > 500 ms\n"
        "\n"
        "-- healthcheck, event 2026-11-27T18:03:00Z"
    )


def test_the_recovered_text() -> None:
    # Up again at the first success (18:02); announced at the second (18:03).
    alert = Alert("RECOVERED", "api", "https://api.example.com/health", T3, T0, down_for_s=120)
    [message] = build_messages([alert], sent_at=T3)
    assert message.text == (
        "1 target RECOVERED:\n"
        "\n"
        "api\n"
        "  url:      https://api.example.com/health\n"
        "  down for: 2 min (since 2026-11-27 18:00:00 UTC, up again at 2026-11-27 18:02:00 UTC)\n"
        "\n"
        "-- healthcheck, event 2026-11-27T18:03:00Z"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (725, "12 min"), (3 * 3600 + 300, "3 h 5 min"), (2 * 86400 + 4 * 3600, "2 d 4 h")],
)
def test_durations(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("days", "expected"), [(9, "expires in 9 days"), (1, "expires in 1 day"), (-2, "has expired")])
def test_a_certificate_subject_reads_as_english(days: int, expected: str) -> None:
    # Found by attack: an expired certificate (verifyTls: false) read "expires in expired".
    alert = Alert("CERTIFICATE", "api", "https://api/", T3, T0, cert_days_left=days)
    assert subject("CERTIFICATE", [alert]) == f"CERTIFICATE: api {expected}"


def at(minute: int) -> str:
    return f"2026-11-27T18:{minute:02d}:00Z"


@pytest.mark.parametrize(
    ("pending", "expected"),
    [
        (
            [("api", "RECOVERED", 1), ("api", "DOWN", 2)],
            ["RECOVERED: api", "DOWN: api"],
        ),
        (
            [("api", "DOWN", 2), ("web", "RECOVERED", 1), ("db", "DOWN", 3)],
            ["RECOVERED: web", "DOWN: api and 1 more"],
        ),
        (
            [("api", "DOWN", 0), ("api", "RECOVERED", 1), ("web", "DOWN", 1), ("api", "DOWN", 2)],
            ["DOWN: api and 1 more", "RECOVERED: api", "DOWN: api"],
        ),
    ],
    ids=["flap-in-order", "one-per-kind-by-earliest-event", "a-target-twice-goes-in-a-later-message"],
)
def test_pending_alerts_go_out_in_event_time_order(pending: list[tuple[str, str, int]], expected: list[str]) -> None:
    alerts = [Alert(kind, name, "https://x/", at(minute), at(0)) for name, kind, minute in pending]  # type: ignore[arg-type]
    messages = build_messages(alerts, sent_at=T3)
    assert [message.subject for message in messages] == expected
    for message in messages:  # no digest counts one target twice
        assert len({alert.target for alert in message.alerts}) == len(message.alerts)


@pytest.mark.parametrize(
    ("sent_at", "since_line", "raised_line"),
    [
        (T3, "  since:    2026-11-27 18:00:00 UTC (3 min ago)", None),
        ("2026-11-27T18:03:59Z", "  since:    2026-11-27 18:00:00 UTC (3 min ago)", None),
        ("2026-11-27T18:04:00Z", "  since:    2026-11-27 18:00:00 UTC (4 min ago)", None),
        (
            "2026-11-27T18:05:00Z",
            "  since:    2026-11-27 18:00:00 UTC (5 min ago)",
            "  raised:   2026-11-27 18:03:00 UTC (sent 2 min later)",
        ),
        (
            "2026-11-27T19:03:00Z",
            "  since:    2026-11-27 18:00:00 UTC (1 h 3 min ago)",
            "  raised:   2026-11-27 18:03:00 UTC (sent 1 h later)",
        ),
    ],
    ids=["sent-at-once", "sent-within-the-minute", "a-minute-late", "two-minutes-late", "an-hour-late"],
)
def test_how_long_ago_is_measured_from_when_the_alert_is_sent(
    sent_at: str, since_line: str, raised_line: str | None
) -> None:
    # Found in review: an alert held back an hour by an SNS outage still said "(3 min ago)".
    [message] = build_messages([down("api")], sent_at=sent_at)
    lines = message.text.splitlines()
    assert since_line in lines
    assert [line for line in lines if line.startswith("  raised:")] == ([raised_line] if raised_line else [])


@pytest.mark.parametrize(
    "alert",
    [
        Alert("RECOVERED", "api", "https://api/", T3, T0, down_for_s=120),
        Alert("CERTIFICATE", "api", "https://api/", T3, T3, cert_days_left=9),
        Alert("STILL DOWN", "api", "https://api/", T3, T0, ("status 503",)),
    ],
    ids=["recovered", "certificate", "reminder"],
)
def test_every_kind_held_back_says_when_it_was_raised(alert: Alert) -> None:
    [message] = build_messages([alert], sent_at="2026-11-28T18:03:00Z")
    assert "  raised:   2026-11-27 18:03:00 UTC (sent 1 d later)" in message.text.splitlines()
    [entry] = json.loads(json.loads(message.structured)["sqs"])["targets"]
    assert (entry["eventTime"], entry["sentTime"]) == (T3, "2026-11-28T18:03:00Z")


@pytest.mark.parametrize(
    "reason",
    [
        "body lacks ```\n[click here](https://evil.example/) **now**",
        "status 503 ``` `` ` ````",
        "`",
    ],
    ids=["fence-then-markdown", "runs-of-backticks", "a-single-backtick"],
)
def test_server_text_never_closes_the_chat_code_fence(reason: str) -> None:
    # Found in review: a reason quoting the server's body could end the fence and post a link.
    [message] = build_messages([Alert("DOWN", "api", "https://api/", T3, T0, (reason,))], sent_at=T3)
    description = json.loads(json.loads(message.structured)["https"])["content"]["description"]
    assert description.startswith("```\n")
    assert description.endswith("\n```")
    inside = description[4:-4]
    assert "``" not in inside  # no run of backticks, so nothing in it can close the fence
    assert inside.replace("\u200b", "") == message.text  # the same text, every character still shown
    assert message.text.count("`") == reason.count("`")  # email and SQS get the reason as it was


def test_a_resent_alert_says_so_in_every_form() -> None:
    alert = dataclasses.replace(down("api"), maybe_sent=True)
    [message] = build_messages([alert, down("web")], sent_at=T3)
    assert message.text.splitlines()[2:9] == [
        "api",
        "  url:      https://api.example.com/health",
        "  since:    2026-11-27 18:00:00 UTC (3 min ago)",
        "  reasons:  status 503 not in [2xx]",
        "            duration 812 ms > 500 ms",
        "  resent:   SNS did not answer the first attempt, which may have been delivered",
        "",
    ]
    assert message.text.count("resent:") == 1  # web's alert is new
    entries = json.loads(json.loads(message.structured)["sqs"])["targets"]
    assert [entry.get("resent") for entry in entries] == [True, None]


@pytest.mark.parametrize(
    ("alert", "chat_id"),
    [
        (Alert("CERTIFICATE", "api", "https://api/", T3, T3, cert_days_left=9), "healthcheck-certificate-" + T3),
        (Alert("STILL DOWN", "api", "https://api/", T3, T0, ("status 503",)), "healthcheck-still-down-" + T3),
        (down("api"), "healthcheck-down-" + T3),
    ],
    ids=["certificate", "reminder", "down"],
)
def test_each_form_names_the_event_that_raised_it(alert: Alert, chat_id: str) -> None:
    [message] = build_messages([alert], sent_at="2026-11-27T18:09:00Z")
    document = json.loads(message.structured)
    chat = json.loads(document["https"])
    assert (chat["id"], chat["metadata"]) == (chat_id, {"summary": message.subject, "eventType": alert.kind})
    [entry] = json.loads(document["sqs"])["targets"]
    assert (entry["eventTime"], entry["since"], entry["state"]) == (T3, alert.since, "DOWN" if alert.reasons else "UP")
    assert message.text.endswith(f"-- healthcheck, event {T3}")
