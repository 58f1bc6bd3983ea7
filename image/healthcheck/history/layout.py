"""The results table's layout: which item holds what, and the compact form a run's checks take.

Three kinds of item share the table's keys (``Id``/``Timestamp``), told apart by
an ``Id`` prefix that no target name can forge into another kind's key:

- a **run item** per shard and region per run (``run#<shard>``, ``<event time>#<region>``):
  one short entry per roster position, ``status,durationMs,certDaysLeft,flags``;
- a **failure item** per check that did not pass (``check#<name>``, the same ``Timestamp``):
  every detail of the check (URL, error, unmet expectations, ...);
- a **roster item** per shard and target list (``roster``, ``<shard>#<roster id>``): which
  target each position of a run item is.

A healthy check then costs about 11 bytes of its run's item instead of an item of its own
(1 write unit each): a run of 100 healthy targets is one item of about 1.3 KB, 2 write units.
Pure functions only; the store writes these items and the reader reads them back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..check.probe import CheckResult

__all__ = [
    "CHECK_PREFIX",
    "NO_CHECK",
    "ROSTER_ID",
    "RUN_PREFIX",
    "Entry",
    "Roster",
    "check_id",
    "run_id",
    "sort_key",
    "split_roster",
    "split_sort_key",
    "time_range",
]

RUN_PREFIX: Final = "run#"
CHECK_PREFIX: Final = "check#"
ROSTER_ID: Final = "roster"
# Between an event time and its region in a Timestamp: "2026-12-07T03:00:00Z#us-east-1".
REGION_MARK: Final = "#"
# Sorts after "#" and before any later second: the end of a time range, every region included.
_AFTER_REGIONS: Final = "$"
ENTRY_SEPARATOR: Final = ";"
FAILED: Final = "F"
INCONCLUSIVE: Final = "I"
MAINTENANCE: Final = "M"
TLS_UNVERIFIED: Final = "U"
NO_CHECK: Final = "-"
FLAGS: Final = frozenset({FAILED, INCONCLUSIVE, MAINTENANCE, TLS_UNVERIFIED, NO_CHECK})
# One item holds at most 400 KB. A shard is at most 100 targets in 192 KiB of schedule input (infra's
# chunk_targets), within both; a hand-made event with more is split into parts of these sizes, so that a
# part's hour summaries (names and at most ~320 bytes a target, history/rollup_store.py) fit one item too.
MAX_PART_ENTRIES: Final = 500
MAX_ROSTER_BYTES: Final = 200 * 1024
# Part 2 and on of a shard too big for one item: a character no shard id may hold, so never another shard's.
PART_MARK: Final = "~"


def run_id(shard: str) -> str:
    return RUN_PREFIX + shard


def check_id(name: str) -> str:
    return CHECK_PREFIX + name


def sort_key(timestamp: str, region: str) -> str:
    """A run's and its failures' ``Timestamp``: the event time, then the region that ran it."""
    return f"{timestamp}{REGION_MARK}{region}"


def split_sort_key(key: str) -> tuple[str, str]:
    """(event time, region) of a ``Timestamp``; ValueError when it is not one."""
    timestamp, mark, region = key.partition(REGION_MARK)
    if not mark or not region:
        raise ValueError(f"not an event time and region: {key[:80]!r}")
    return timestamp, region


def time_range(since: str, until: str) -> tuple[str, str]:
    """``Timestamp`` bounds for the event times from ``since`` to ``until``, both included, every region."""
    return since, until + _AFTER_REGIONS


@dataclass(frozen=True, slots=True)
class Entry:
    """One roster position's check in a run item."""

    status: int | None = None
    duration_ms: int | None = None
    cert_days_left: int | None = None
    failed: bool = False
    inconclusive: bool = False
    maintenance: bool = False
    tls_verified: bool = True
    checked: bool = True
    """False: no check of this position in this run (the run ended before its result)."""

    @classmethod
    def of(cls, result: CheckResult) -> Entry:
        return cls(
            status=result.status,
            duration_ms=result.duration_ms,
            cert_days_left=result.cert_days_left,
            failed=not result.success,
            inconclusive=result.inconclusive,
            maintenance=result.maintenance,
            tls_verified=result.tls_verified,
        )

    @property
    def needs_details(self) -> bool:
        """Whether a failure item holds the rest of this check (it did not pass)."""
        return self.checked and (self.failed or self.inconclusive)

    def encode(self) -> str:
        """``status,durationMs,certDaysLeft,flags``, trailing empty fields dropped: ``200,123,45``, ``503,80,,F``."""
        if not self.checked:
            return ",,," + NO_CHECK
        flags = "".join(
            flag
            for flag, on in (
                (FAILED, self.failed),
                (INCONCLUSIVE, self.inconclusive),
                (MAINTENANCE, self.maintenance),
                (TLS_UNVERIFIED, not self.tls_verified),
            )
            if on
        )
        fields = [_number(self.status), _number(self.duration_ms), _number(self.cert_days_left), flags]
        while fields and not fields[-1]:
            fields.pop()
        return ",".join(fields)

    @classmethod
    def decode(cls, text: str) -> Entry:
        """Read back :meth:`encode`; ValueError for anything else."""
        fields = text.split(",")
        if len(fields) > 4:
            raise ValueError(f"not a check entry: {text[:40]!r}")
        status, duration, cert, flags = [*fields, "", "", "", ""][:4]
        if not set(flags) <= FLAGS or len(set(flags)) != len(flags):
            raise ValueError(f"unknown flags in a check entry: {text[:40]!r}")
        if NO_CHECK in flags:
            return cls(checked=False)
        return cls(
            status=_parse_number(status),
            duration_ms=_parse_number(duration),
            cert_days_left=_parse_number(cert),
            failed=FAILED in flags,
            inconclusive=INCONCLUSIVE in flags,
            maintenance=MAINTENANCE in flags,
            tls_verified=TLS_UNVERIFIED not in flags,
        )


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _parse_number(text: str) -> int | None:
    if not text:
        return None
    digits = text.removeprefix("-")
    if not digits.isdigit() or not digits.isascii() or len(digits) > 12:
        raise ValueError(f"not a whole number: {text[:20]!r}")
    return int(text)


def encode_checks(entries: Sequence[Entry]) -> str:
    return ENTRY_SEPARATOR.join(entry.encode() for entry in entries)


def decode_checks(text: str) -> list[Entry | None]:
    """Each position's entry; None for one that cannot be read (it costs that position only)."""
    entries: list[Entry | None] = []
    for part in text.split(ENTRY_SEPARATOR):
        try:
            entries.append(Entry.decode(part))
        except ValueError:
            entries.append(None)
    return entries


@dataclass(frozen=True, slots=True)
class Roster:
    """The targets a shard's run items refer to by position: (name, URL as recorded) in order."""

    targets: tuple[tuple[str, str], ...]

    def to_json(self) -> str:
        """Compact JSON, ``[[name, url], ...]``: what the roster item holds and its id is taken from."""
        return json.dumps([list(pair) for pair in self.targets], ensure_ascii=False, separators=(",", ":"))

    @property
    def id(self) -> str:
        """The first 16 hex digits of the SHA-256 of :meth:`to_json`: the same list, the same id."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.targets)

    @classmethod
    def from_json(cls, text: str) -> Roster:
        """ValueError when ``text`` is not a roster (a hand-edited item, say)."""
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"a roster is not JSON: {exc}") from exc
        if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair) for pair in value
        ):
            raise ValueError("a roster is not a list of [name, url] pairs")
        return cls(tuple((name, url) for name, url in value))


def split_roster(shard: str, roster: Roster) -> list[tuple[str, Roster]]:
    """The parts a run's roster is written in, each small enough for one item: ``shard``, then ``shard~2``...

    A scheduled shard is always one part; only a hand-made event with thousands of targets is split.
    """
    parts: list[list[tuple[str, str]]] = [[]]
    size = 2
    for pair in roster.targets:
        grows = len(json.dumps(list(pair), ensure_ascii=False).encode()) + 1
        if parts[-1] and (len(parts[-1]) >= MAX_PART_ENTRIES or size + grows > MAX_ROSTER_BYTES):
            parts.append([])
            size = 2
        parts[-1].append(pair)
        size += grows
    return [
        (shard if number == 1 else f"{shard}{PART_MARK}{number}", Roster(tuple(part)))
        for number, part in enumerate(parts, start=1)
    ]
