"""A count of the checks read so far, on stderr, drawn only once a read has taken more than a second.

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


class Progress:
    """Checks read so far (the shards holding the wanted targets are read together, in order of time)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        force: bool = False,
    ) -> None:
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        self._enabled = force or self._stream.isatty()
        self._drawn = False
        self.checks = 0

    def page(self, checks: int) -> None:
        """``checks`` more read."""
        self.checks += checks
        if not self._enabled or self._clock() - self._started <= DELAY_S:
            return
        self._stream.write(f"\rreading: {self.checks:,} checks")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line, so what follows starts on a fresh one."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
