"""A progress bar on stderr, drawn only once a read has taken more than a second.

A few lines rather than a dependency: the image carries only what the
function needs. Quick reads print nothing, and neither does a stream that is
not a terminal (a pipe or a CI log gets no carriage-return noise).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

__all__ = ["Progress"]

DELAY_S: Final = 1.0
BAR_WIDTH: Final = 20


class Progress:
    """Targets read out of ``total``, and records so far."""

    def __init__(
        self,
        total: int,
        stream: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        force: bool = False,
    ) -> None:
        self._total = max(total, 1)
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        self._enabled = force or self._stream.isatty()
        self._drawn = False
        self.targets = 0
        self.records = 0

    def page(self, records: int) -> None:
        self.records += records
        self._draw()

    def target_done(self) -> None:
        self.targets += 1
        self._draw()

    def _draw(self) -> None:
        if not self._enabled or self._clock() - self._started <= DELAY_S:
            return
        filled = BAR_WIDTH * self.targets // self._total
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        self._stream.write(f"\rreading {bar} {self.targets}/{self._total} targets, {self.records} records")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line, so what follows starts on a fresh one."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
