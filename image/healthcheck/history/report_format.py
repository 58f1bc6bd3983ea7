"""The uptime report as text: a table for people, JSON and CSV for machines. Pure functions of the data."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..text import clip, percent
from .uptime import Figures, Incident

__all__ = ["FORMATS", "ReportData", "TargetReport", "csv_cell", "json_line", "json_text", "render", "terminal_text"]

FORMATS: Final = ("table", "json", "csv")
REASON_CHARS: Final = 300  # a reason shown in a terminal; the record keeps up to 1 KB
# What a stored name or reason could use to drive or fool the reader's terminal: controls (C0, DEL and
# C1: ESC starts a sequence, and so does CSI, U+009B, on its own), format characters (bidi overrides and
# isolates show "pay\u202egnp.exe" as "payexe.png"; zero-width ones hide text), line and paragraph
# separators, and lone surrogates.
UNSAFE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NOT_PRINTABLE_ASCII: Final = re.compile(r"[^\x20-\x7e]")


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def terminal_text(text: str) -> str:
    """``text`` with each character that could drive or fool a terminal shown as U+FFFD."""
    return _NOT_PRINTABLE_ASCII.sub(lambda match: "\ufffd" if _unsafe(match[0]) else match[0], text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def json_text(value: object) -> str:
    """``value`` as indented JSON, exact, with every such character escaped (``\\u202e``), so none reaches a terminal.

    They can only stand inside strings, where an escape means the same character: ``json.dumps``
    escapes the C0 controls there itself, so a raw newline is the indentation's own.
    """
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _NOT_PRINTABLE_ASCII.sub(
        lambda match: _json_escape(match[0]) if match[0] != "\n" and _unsafe(match[0]) else match[0], text
    )


def json_line(value: object) -> str:
    """``value`` as one line of compact JSON, escaped as :func:`json_text` escapes (JSON Lines)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _NOT_PRINTABLE_ASCII.sub(lambda match: _json_escape(match[0]) if _unsafe(match[0]) else match[0], text)


def _safe(text: str, max_bytes: int = REASON_CHARS) -> str:
    """``text`` for a terminal: bounded, each unsafe character shown as U+FFFD."""
    return terminal_text(clip(text, max_bytes))


@dataclass(frozen=True, slots=True)
class TargetReport:
    name: str
    state: str
    since: str | None
    """When the current state began; None for a target that has never gone down (no state item)."""
    figures: Figures
    sparkline: str
    regions: tuple[tuple[str, Figures], ...] = ()
    """Several regions only: each region's own figures, beside the overall ones (none with one region)."""


@dataclass(frozen=True, slots=True)
class ReportData:
    period: str
    start: str
    end: str
    targets: tuple[TargetReport, ...]
    incidents: tuple[Incident, ...]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{percent(value)}%"


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value} ms"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _target_json(target: TargetReport) -> dict[str, object]:
    figures = target.figures
    return {
        "name": target.name,
        "state": target.state,
        "since": target.since,
        "uptimePct": None if figures.uptime_pct is None else float(percent(figures.uptime_pct, 4)),
        "checks": figures.checks,
        "counted": figures.counted,
        "failures": figures.failures,
        "maintenance": figures.maintenance,
        "inconclusive": figures.inconclusive,
        "p50Ms": figures.p50_ms,
        "p95Ms": figures.p95_ms,
        "p99Ms": figures.p99_ms,
        "lastFailureAt": figures.last_failure_at,
        "lastFailureReasons": list(figures.last_failure_reasons),
        "sparkline": target.sparkline,
        **(
            {"regions": {region: _region_json(figures) for region, figures in target.regions}} if target.regions else {}
        ),
    }


def _region_json(figures: Figures) -> dict[str, object]:
    return {
        "uptimePct": None if figures.uptime_pct is None else float(percent(figures.uptime_pct, 4)),
        "checks": figures.checks,
        "failures": figures.failures,
        "p50Ms": figures.p50_ms,
        "p95Ms": figures.p95_ms,
    }


def _incident_json(incident: Incident, end: str) -> dict[str, object]:
    return {
        "target": incident.target,
        "start": incident.start,
        "end": incident.end,
        "durationS": incident.duration_s(end),
        "ongoing": incident.end is None,
        "firstReason": incident.first_reason,
    }


def render_json(data: ReportData) -> str:
    return json_text(
        {
            "period": data.period,
            "start": data.start,
            "end": data.end,
            "targets": [_target_json(target) for target in data.targets],
            "incidents": [_incident_json(incident, data.end) for incident in data.incidents],
        }
    )


def render_csv(data: ReportData) -> str:
    """One row per target (JSON also lists the incidents); text a terminal could act on shows as U+FFFD."""
    out = io.StringIO()
    fields = [key for key in _target_json(data.targets[0]) if key != "sparkline"] if data.targets else ["name"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for target in data.targets:
        row = _target_json(target)
        row["lastFailureReasons"] = " | ".join(target.figures.last_failure_reasons)
        row.pop("regions", None)  # a column per region would differ per stack: the JSON has them
        writer.writerow({key: "" if value is None else csv_cell(value) for key, value in row.items()})
    return out.getvalue().rstrip("\n")


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, quoted with a leading "'"; numbers as they are."""
    if not isinstance(value, str):
        return value
    return "'" + terminal_text(value) if value.startswith(_FORMULA_STARTS) else terminal_text(value)


def render_table(data: ReportData) -> str:
    header = ("target", "state", "since", "uptime", "checks", "failures", "left out", "p50", "p95", "p99", "latency")
    rows = [header]
    for target in data.targets:
        figures = target.figures
        left_out = f"{figures.maintenance} maint, {figures.inconclusive} inconcl"
        rows.append(
            (
                _safe(target.name),
                target.state,
                target.since or "-",
                _pct(figures.uptime_pct),
                str(figures.checks),
                str(figures.failures),
                left_out,
                _ms(figures.p50_ms),
                _ms(figures.p95_ms),
                _ms(figures.p99_ms),
                target.sparkline,
            )
        )
        for region, own in target.regions:
            rows.append(
                (
                    f"  from {region}",
                    "",
                    "",
                    _pct(own.uptime_pct),
                    str(own.checks),
                    str(own.failures),
                    f"{own.maintenance} maint, {own.inconclusive} inconcl",
                    _ms(own.p50_ms),
                    _ms(own.p95_ms),
                    _ms(own.p99_ms),
                    "",
                )
            )
    lines = [f"uptime report, last {data.period}: {data.start} to {data.end}", "", *_columns(rows)]
    failed = [target for target in data.targets if target.figures.last_failure_at]
    if failed:
        lines += ["", "last failure:"]
        for target in failed:
            reasons = "; ".join(target.figures.last_failure_reasons) or "(no reason recorded)"
            lines.append(f"  {_safe(target.name)} at {target.figures.last_failure_at}: {_safe(reasons)}")
    lines.append("")
    if not data.incidents:
        lines.append("incidents: none in this period")
    else:
        lines.append("incidents (DOWN periods):")
        incident_rows: list[Sequence[str]] = [("target", "start", "duration", "first reason")]
        for incident in data.incidents:
            duration = _duration(incident.duration_s(data.end)) + (" (ongoing)" if incident.end is None else "")
            incident_rows.append(
                (_safe(incident.target), incident.start, duration, _safe(incident.first_reason) or "-")
            )
        lines += _columns(incident_rows)
    lines += [
        "",
        "uptime leaves out maintenance and inconclusive checks; p50/p95/p99: nearest-rank, over responses",
    ]
    # Every cell, the state table's and the records' text included (a Since or Timestamp written by hand).
    return "\n".join(terminal_text(line) for line in lines)


def render(data: ReportData, output_format: str) -> str:
    if output_format == "json":
        return render_json(data)
    if output_format == "csv":
        return render_csv(data)
    return render_table(data)
