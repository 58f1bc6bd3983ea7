"""What a response must show to count as UP (a target's ``expect``).

The defaults ask for a 2xx status only, so a target without ``expect`` is
judged as before; ``needs_body`` tells the probe whether to keep the body.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_CERT_MIN_DAYS", "DEFAULT_EXPECT", "Expect"]

DEFAULT_CERT_MIN_DAYS = 14


@dataclass(frozen=True, slots=True)
class Expect:
    """A target's expectations, validated; see DESIGN.md's target contract (``expect``)."""

    status: tuple[str, ...] = ("2xx",)
    max_duration_ms: int | None = None
    body_contains: tuple[str, ...] = ()
    body_regex: str | None = None
    json: tuple[tuple[str, object], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cert_min_days: int = DEFAULT_CERT_MIN_DAYS

    @property
    def needs_body(self) -> bool:
        return bool(self.body_contains or self.body_regex is not None or self.json)


DEFAULT_EXPECT = Expect()
