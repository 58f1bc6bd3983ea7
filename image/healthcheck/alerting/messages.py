"""Alert text: digest messages in event-time order, in every format a subscriber needs. Pure functions.

SNS delivers the key of a ``MessageStructure="json"`` message that matches
the subscription's protocol: ``email`` (and ``default``) get plain text;
``sqs`` and ``lambda`` get a JSON form; ``https`` gets the custom-notification
schema of Amazon Q Developer in chat applications (formerly AWS Chatbot),
which subscribes to a topic over https and renders nothing else.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from ..check.targets import redact_url
from ..event import format_timestamp
from ..text import clip
from .state import Alert, AlertKind, parse_time

__all__ = ["KINDS", "Message", "build_messages", "degraded_message", "format_duration", "subject"]

# The kinds a target's pending alerts hold (PARTIAL: several regions, with alertOnPartial only).
KINDS: Final[tuple[AlertKind, ...]] = ("DOWN", "RECOVERED", "STILL DOWN", "CERTIFICATE", "PARTIAL")
MAX_SUBJECT: Final = 100  # SNS's limit, ASCII only
# A message lists this many targets and counts the rest, so it stays far
# below SNS's 256 KB however many targets fail at once.
MAX_LISTED: Final = 25
MAX_SHOWN_BYTES: Final = 300
MAX_MESSAGE_BYTES: Final = 250 * 1024
# An alert sent this long after the event that raised it says when that was
# (a run's own checks take seconds; an SNS outage or a held claim takes longer).
SHOW_RAISED_AFTER_S: Final = 120
# After each backtick in the chat form: no run of backticks is left that could close its code fence.
FENCE_BREAK: Final = "\u200b"


@dataclass(frozen=True, slots=True)
class Message:
    kind: AlertKind
    subject: str
    text: str
    """The plain text (email, and any protocol without its own key)."""
    structured: str
    """The ``MessageStructure="json"`` document to publish."""
    alerts: tuple[Alert, ...]


def _ascii(text: str) -> str:
    """Printable ASCII, as SNS subjects must be: accents dropped, other characters as '?'."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch if " " <= ch <= "~" else "?" for ch in kept)


def subject(kind: AlertKind, alerts: Sequence[Alert]) -> str:
    """``DOWN: api`` or ``DOWN: api and 36 more``, within 100 printable ASCII characters."""
    first = alerts[0]
    more = f" and {len(alerts) - 1} more" if len(alerts) > 1 else ""
    if kind == "CERTIFICATE" and len(alerts) == 1 and first.cert_days_left is not None:
        days = first.cert_days_left
        more = f" expires in {_days(days)}" if days >= 0 else " has expired"
    prefix = f"{kind}: "
    room = MAX_SUBJECT - len(prefix) - len(more)
    name = _ascii(first.target)
    if len(name) > room:
        name = name[: room - 3] + "..."
    return prefix + name + more


def _days(days: int) -> str:
    if days < 0:
        return "expired"
    return "1 day" if days == 1 else f"{days} days"


def format_duration(seconds: int) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _when(timestamp: str) -> str:
    return parse_time(timestamp).strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(text: str) -> str:
    return clip(text, MAX_SHOWN_BYTES)


def _url(alert: Alert) -> str:
    return _shown(redact_url(alert.url))


def _seconds_between(start: str, end: str) -> int:
    return int((parse_time(end) - parse_time(start)).total_seconds())


def _block(alert: Alert, sent_at: str) -> list[str]:
    lines = [_shown(alert.target), f"  url:      {_url(alert)}"]
    if alert.kind == "RECOVERED":
        # Down from the first failure to the first success (``at`` is when the success threshold was met).
        down_s = alert.down_for_s or 0
        up_again = format_timestamp(parse_time(alert.since) + timedelta(seconds=down_s))
        lines.append(
            f"  down for: {format_duration(down_s)} (since {_when(alert.since)}, up again at {_when(up_again)})"
        )
    elif alert.kind == "CERTIFICATE":
        days = alert.cert_days_left if alert.cert_days_left is not None else 0
        lines.append(f"  certificate expires in {_days(days)}" if days >= 0 else "  certificate has expired")
    else:
        # From the first failure to now, when it is sent: an alert held back an hour is an hour older.
        down_for = format_duration(max(0, _seconds_between(alert.since, sent_at)))
        lines.append(f"  since:    {_when(alert.since)} ({down_for} ago)")
        if alert.regions:
            lines.append(f"  failing:  from {', '.join(alert.regions)}")
        for index, reason in enumerate(alert.reasons):
            lines.append(f"  {'reasons:' if index == 0 else '        '}  {_shown(reason)}")
    late = _seconds_between(alert.at, sent_at)
    if late >= SHOW_RAISED_AFTER_S:
        lines.append(f"  raised:   {_when(alert.at)} (sent {format_duration(late)} later)")
    if alert.maybe_sent:
        lines.append("  resent:   SNS did not answer the first attempt, which may have been delivered")
    return lines


HEADINGS: Final[dict[AlertKind, tuple[str, str]]] = {
    "DOWN": ("1 target is DOWN", "{} targets are DOWN"),
    "RECOVERED": ("1 target RECOVERED", "{} targets RECOVERED"),
    "STILL DOWN": ("1 target is STILL DOWN", "{} targets are STILL DOWN"),
    "CERTIFICATE": ("1 certificate expires soon", "{} certificates expire soon"),
    "PARTIAL": (
        "1 target is failing from some regions (below the quorum)",
        "{} targets are failing from some regions (below the quorum)",
    ),
}


def _text(kind: AlertKind, alerts: Sequence[Alert], listed: int, sent_at: str) -> str:
    count = len(alerts)
    one, many = HEADINGS[kind]
    lines = [(one if count == 1 else many.format(count)) + ":", ""]
    for alert in alerts[:listed]:
        lines += [*_block(alert, sent_at), ""]
    if count > listed:
        lines += [f"... and {count - listed} more (see the results table).", ""]
    lines.append(f"-- healthcheck, event {alerts[-1].at}")
    return "\n".join(lines)


def _machine(kind: AlertKind, alerts: Sequence[Alert], listed: int, sent_at: str) -> dict[str, object]:
    def entry(alert: Alert) -> dict[str, object]:
        form: dict[str, object] = {
            "target": _shown(alert.target),
            "state": "DOWN" if kind in ("DOWN", "STILL DOWN") else "PARTIAL" if kind == "PARTIAL" else "UP",
            "since": alert.since,
            "url": _url(alert),
            "reasons": [_shown(reason) for reason in alert.reasons],
            "eventTime": alert.at,
            "sentTime": sent_at,
        }
        if alert.down_for_s is not None:
            form["downForSeconds"] = alert.down_for_s
        if alert.cert_days_left is not None:
            form["certDaysLeft"] = alert.cert_days_left
        if alert.maybe_sent:
            form["resent"] = True
        if alert.regions:
            form["regions"] = list(alert.regions)
        return form

    return {"kind": kind, "targets": [entry(alert) for alert in alerts[:listed]], "more": max(0, len(alerts) - listed)}


def _chat(kind: AlertKind, title: str, text: str, alerts: Sequence[Alert]) -> dict[str, object]:
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"healthcheck-{kind.replace(' ', '-').lower()}-{alerts[-1].at}",
        # Server text quoted in a reason must not end the fence and post its own markdown or links.
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": "```\n" + text.replace("`", "`" + FENCE_BREAK) + "\n```",
        },
        "metadata": {"summary": title, "eventType": kind},
    }


def _message(kind: AlertKind, alerts: Sequence[Alert], sent_at: str) -> Message:
    title = subject(kind, alerts)
    listed = MAX_LISTED
    while True:
        text = _text(kind, alerts, listed, sent_at)
        machine = json.dumps(_machine(kind, alerts, listed, sent_at), ensure_ascii=False)
        document = {
            "default": text,
            "email": text,
            "sqs": machine,
            "lambda": machine,
            "https": json.dumps(_chat(kind, title, text, alerts), ensure_ascii=False),
        }
        structured = json.dumps(document, ensure_ascii=False)
        if len(structured.encode()) <= MAX_MESSAGE_BYTES or listed == 1:
            return Message(kind, title, text, structured, tuple(alerts))
        listed //= 2


def build_messages(alerts: Sequence[Alert], *, sent_at: str) -> list[Message]:
    """Digest messages in event-time order: one per kind, unless one target's alerts need more.

    ``sent_at`` (an event-time string: now, as they are published) is what
    "ago" is measured from; an alert sent well after it was raised says when that was.

    A target's alerts go out in the order they happened, each in a later
    message than the one before, so its last message matches its state
    (a RECOVERED at 18:01 before a DOWN at 18:02), and no message names a
    target twice. With one alert per target (the usual case) this is one
    message per kind, ordered by the earliest event of each kind (at the
    same event time: DOWN, RECOVERED, STILL DOWN, CERTIFICATE).
    """
    groups: list[tuple[AlertKind, list[Alert]]] = []
    last_group: dict[str, int] = {}
    for alert in sorted(alerts, key=lambda a: (a.at, KINDS.index(a.kind), a.target)):
        after = last_group.get(alert.target, -1)
        index = next(
            (index for index in range(after + 1, len(groups)) if groups[index][0] == alert.kind),
            None,
        )
        if index is None:
            groups.append((alert.kind, []))
            index = len(groups) - 1
        groups[index][1].append(alert)
        last_group[alert.target] = index
    return [_message(kind, matching, sent_at) for kind, matching in groups]


def degraded_message(reporting: Sequence[str], regions: Sequence[str], quorum: int, at: str) -> Message:
    """The monitor's own alarm: fewer than ``quorum`` regions vote, so target states hold (or, all back, that it ended).

    Sent once when it begins and once when it ends (alerting/track.py), not once per run.
    """
    missing = [region for region in regions if region not in reporting]
    ended = len(reporting) >= quorum
    if ended:
        title = f"DEGRADED: ended, {len(reporting)} of {len(regions)} regions reporting"
        text = (
            f"The monitor is no longer degraded: {len(reporting)} of {len(regions)} regions report "
            f"(quorum {quorum}).\nTarget states move again from the next runs.\n"
        )
    else:
        title = f"DEGRADED: only {len(reporting)} of {len(regions)} regions reporting"
        text = (
            f"The monitor is degraded: only {len(reporting)} of {len(regions)} regions reporting, fewer than "
            f"the quorum of {quorum}.\nEvery target's state holds (no DOWN, no RECOVERED) until enough regions "
            f"report again.\n  reporting: {', '.join(reporting) or 'none'}\n  missing or impaired: "
            f"{', '.join(missing)}\n"
        )
    text += f"\n-- healthcheck, event {at}"
    machine = json.dumps(
        {
            "kind": "DEGRADED",
            "ended": ended,
            "reporting": list(reporting),
            "regions": list(regions),
            "quorum": quorum,
            "eventTime": at,
        },
    )
    chat = {
        "version": "1.0",
        "source": "custom",
        "id": f"healthcheck-degraded-{at}",
        "content": {"textType": "client-markdown", "title": title, "description": "```\n" + text + "\n```"},
        "metadata": {"summary": title, "eventType": "DEGRADED"},
    }
    document = {"default": text, "email": text, "sqs": machine, "lambda": machine, "https": json.dumps(chat)}
    return Message("DEGRADED", title, text, json.dumps(document), ())
