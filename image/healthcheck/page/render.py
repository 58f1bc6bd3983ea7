"""The status page and badges, rendered from :class:`~healthcheck.page.data.StatusData` (pure).

One self-contained document: inline CSS and SVG, no script, font, image or
CDN, so the page makes no request of its own and a Content-Security-Policy
of ``default-src 'none'`` holds. Colour never carries meaning alone: every
day bar has its figure as text (visually hidden, read by screen readers) and
as a tooltip (``title``), and every state is written out.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Final

from ..alerting.state import parse_time
from ..text import percent
from .data import DayStatus, Incident, StatusData, TargetStatus

__all__ = ["COLOURS", "badge", "bar_class", "duration_text", "render"]

# Each passes WCAG AA against white (4.5:1 for the white text on state labels;
# the bars need 3:1 as graphics); tests/page/test_status.py measures them in the browser.
COLOURS: Final = {
    "up": "#116329",
    "partial": "#8a5a00",
    "down": "#b3261e",
    "maintenance": "#0550ae",
    "none": "#6e7781",
}
STATE_COLOURS: Final = {
    "UP": "up",
    "PARTIAL": "partial",
    "DOWN": "down",
    "MAINTENANCE": "maintenance",
    "UNKNOWN": "none",
}
CHART_WIDTH: Final = 720
CHART_HEIGHT: Final = 120

STYLE: Final = "".join(
    [
        "body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1rem;",
        "color:#1f2328;background:#fff;overflow-wrap:anywhere}h1{font-size:1.5rem}h2{font-size:1.2rem;margin:0}",
        "section{border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:1rem 0}",
        "@media (max-width:480px){body{padding:.5rem}section{padding:.5rem}}",
        ".state{color:#fff;border-radius:4px;padding:0 .4rem;font-weight:600;white-space:nowrap}",
        *(f".state-{state}{{background:{COLOURS[colour]}}}" for state, colour in STATE_COLOURS.items()),
        "ol.bar{display:flex;gap:1px;list-style:none;padding:0;margin:.5rem 0;height:2rem}",
        "ol.bar li{flex:1;min-width:0;border-radius:1px}",
        *(f".{name}{{background:{colour}}}" for name, colour in COLOURS.items()),
        ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
        "dl.uptime{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:.5rem 0}",
        "dl.uptime dt{font-size:.8rem;color:#57606a}",
        "dl.uptime dd{margin:0;font-weight:600}svg text{font-size:11px;fill:#57606a}figure{margin:1rem 0}",
        "p.note{font-size:.9rem;color:#57606a}.nb{white-space:nowrap}",
    ]
)


def _shown_percent(value: float) -> float:
    """``value`` as the page writes it: colours follow the figure a reader sees, not digits they can't."""
    return float(percent(value))


def _figure(value: float | None, maintenance: int = 0) -> str:
    if value is not None:
        return f"{percent(value)}%"
    return "maintenance" if maintenance else "no data"


def _moment(iso: str) -> datetime | None:
    try:
        moment = parse_time(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _when(iso: str, *, day_of: str | None = None) -> str:
    """A readable UTC time, to the minute, in a ``<time>`` holding the exact value (also its tooltip).

    The date is left out when it is the same as ``day_of``'s (an incident's end on the day it began).
    """
    moment = _moment(iso)
    if moment is None:
        return escape(iso)
    other = _moment(day_of) if day_of is not None else None
    same_day = other is not None and other.date() == moment.date()
    text = f"{moment:%H:%M} UTC" if same_day else f"{moment.day} {moment:%b %Y %H:%M} UTC"
    return f'<time datetime="{escape(iso)}" title="{escape(iso)}">{text}</time>'


def duration_text(seconds: int) -> str:
    """A duration as people say it: "under a minute", "3 min", "2 h 05 min", "3 d 4 h"."""
    minutes = seconds // 60
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def bar_class(day: DayStatus) -> str:
    """up: every counted check passed; partial: some failed, 99% or more passed; down: under 99%.

    maintenance: checks only inside maintenance windows; none: no check. The
    figure compared is the one the bar's text shows.
    """
    if day.uptime is None:
        return "maintenance" if day.maintenance else "none"
    shown = _shown_percent(day.uptime)
    if shown == 100.0:
        return "up"
    return "partial" if shown >= 99.0 else "down"


def _day_label(day: str) -> str:
    moment = _moment(day + "T00:00:00Z")
    return f"{moment.day} {moment:%b %Y}" if moment is not None else day


def _day_text(day: DayStatus) -> str:
    text = f"{_day_label(day.day)}: {_figure(day.uptime, day.maintenance)}"
    if day.checks:
        text += f" ({day.checks} checks, {day.failed} failed"
        text += f", {day.maintenance} in maintenance)" if day.maintenance else ")"
    return text


def _bar(target: TargetStatus) -> str:
    items = "".join(
        f'<li class="{bar_class(day)}" title="{text}"><span class="sr">{text}</span></li>'
        for day, text in ((day, escape(_day_text(day))) for day in target.days)
    )
    return f'<ol class="bar" aria-label="Daily uptime, last {len(target.days)} days">{items}</ol>'


def _chart(target: TargetStatus) -> str:
    """Daily p50 and p95 response times as an inline SVG line chart."""
    points = [(index, day) for index, day in enumerate(target.days) if day.p95_ms is not None]
    title = f"Response time of {target.name}: daily median and 95th percentile"
    if not points:
        return f'<p class="chart">{escape(title)}: no data yet.</p>'
    top = max(day.p95_ms or 0 for _index, day in points) or 1
    step = CHART_WIDTH / max(1, len(target.days) - 1)

    def line(values: list[tuple[int, int]], colour: str, label: str) -> str:
        spots = {index: (index * step, CHART_HEIGHT - value / top * (CHART_HEIGHT - 10)) for index, value in values}
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in spots.values())
        # A line draws nothing at a day with no neighbour (a first day, or one between gaps): a dot does.
        dots = "".join(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>'
            for index, (x, y) in spots.items()
            if index - 1 not in spots and index + 1 not in spots
        )
        return (
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}">'
            f"<title>{label}</title></polyline>{dots}"
        )

    p50 = [(index, day.p50_ms) for index, day in points if day.p50_ms is not None]
    p95 = [(index, day.p95_ms) for index, day in points if day.p95_ms is not None]
    latest = points[-1][1]
    return (
        f'<figure><svg role="img" aria-label="{escape(title)}" viewBox="0 -14 {CHART_WIDTH} {CHART_HEIGHT + 28}" '
        f'width="100%" height="{CHART_HEIGHT + 28}"><title>{escape(title)}</title>'
        f'<text x="0" y="-2">{top} ms</text><text x="0" y="{CHART_HEIGHT + 12}">0 ms</text>'
        f"{line(p95, '#8250df', 'p95')}{line(p50, '#0969da', 'p50')}</svg>"
        f"<figcaption>Response time (ms), daily: p50 (blue) and p95 (purple). "
        f"Latest day: p50 ≤ {latest.p50_ms} ms, p95 ≤ {latest.p95_ms} ms.</figcaption></figure>"
    )


def _incident(incident: Incident) -> str:
    reason = f": {escape(incident.reason)}" if incident.reason else ""
    if incident.ongoing:
        so_far = (
            f', <span class="nb">{duration_text(incident.duration_s)} so far</span>'
            if incident.duration_s is not None
            else ""
        )
        return f"<li><strong>Ongoing</strong> since {_when(incident.start)}{so_far}{reason}</li>"
    if incident.end is None:
        return f"<li>{_when(incident.start)} to a time not recorded{reason}</li>"
    lasted = (
        f' <span class="nb">({duration_text(incident.duration_s)})</span>' if incident.duration_s is not None else ""
    )
    return f"<li>{_when(incident.start)} to {_when(incident.end, day_of=incident.start)}{lasted}{reason}</li>"


def _incidents(target: TargetStatus) -> str:
    if not target.incidents:
        return "<p>No incidents in the last 90 days.</p>"
    return f'<ul class="incidents">{"".join(_incident(incident) for incident in target.incidents)}</ul>'


def _state_line(target: TargetStatus) -> str:
    return _state_only(target) + _regions(target)


def _regions(target: TargetStatus) -> str:
    """Several regions: which see it up, and which don't (each region's latest check)."""
    if not target.regions_up and not target.regions_down:
        return ""
    parts = []
    if target.regions_up:
        parts.append(f"up from {escape(', '.join(target.regions_up))}")
    if target.regions_down:
        parts.append(f"failing from {escape(', '.join(target.regions_down))}")
    return f' <span class="regions">{"; ".join(parts)}</span>'


def _state_only(target: TargetStatus) -> str:
    label = f'<span class="state state-{escape(target.state)}">{escape(target.state)}</span>'
    if target.state == "UNKNOWN":
        last = target.last_check
        detail = f"no check since {_when(last)}" if last is not None else "no recent checks"
        return f'{label} <span class="since">{detail}</span>'
    if target.since is None:
        return label
    return f'{label} <span class="since">since {_when(target.since)}</span>'


def _unread(target: TargetStatus) -> str:
    if target.unread_from is None or target.unread_until is None:
        return ""
    return (
        f'<p class="note">Checks from {_when(target.unread_from)} to {_when(target.unread_until)} are not in '
        "these figures yet: too much to read for one view (failures with many unmet expectations). "
        "They are counted once their hour is summarised, within two hours.</p>"
    )


def _target(index: int, target: TargetStatus) -> str:
    url = f'<p class="url">{escape(target.url)}</p>' if target.url else ""
    figures = "".join(
        f"<div><dt>{label}</dt><dd>{_figure(value, target.maintenance.get(label, 0))}</dd></div>"
        for label, value in target.uptime.items()
    )
    return (
        f'<section aria-labelledby="t-{index}"><h2 id="t-{index}">{escape(target.name)}</h2>'
        f"<p>{_state_line(target)}</p>{url}"
        f'<dl class="uptime">{figures}</dl>{_unread(target)}{_bar(target)}{_chart(target)}'
        f"<h3>Recent incidents</h3>{_incidents(target)}</section>"
    )


def render(data: StatusData) -> str:
    """The whole page, UTF-8 HTML."""
    body = (
        "".join(_target(index, target) for index, target in enumerate(data.targets)) or "<p>No targets configured.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>Status</title><style>{STYLE}</style></head><body><main><h1>Status</h1>"
        f"<p>Updated {_when(data.generated_at)}. Uptime leaves out maintenance windows and "
        f"checks made while the monitor itself was offline.</p>{body}</main></body></html>"
    )


def badge(label: str, value: float | None, maintenance: int = 0) -> str:
    """A flat "uptime | 99.95%" badge, its text readable without the colours.

    Green from 99.90%, orange from 99.00%, red below, as the badge writes the figure.
    """
    text = _figure(value, maintenance)
    if value is None:
        colour = COLOURS["maintenance"] if maintenance else COLOURS["none"]
    else:
        shown = _shown_percent(value)
        colour = COLOURS["up"] if shown >= 99.9 else COLOURS["partial"] if shown >= 99.0 else COLOURS["down"]
    left, right = 7 * len(label) + 10, 7 * len(text) + 10
    width = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{escape(label)}: {escape(text)}"><title>{escape(label)}: {escape(text)}</title>'
        f'<rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" font-family="Verdana,sans-serif" font-size="11">'
        f'<text x="5" y="14">{escape(label)}</text><text x="{left + 5}" y="14">{escape(text)}</text></g></svg>'
    )
