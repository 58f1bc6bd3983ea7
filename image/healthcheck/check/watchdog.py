"""One thread that fires callbacks at monotonic deadlines.

One watchdog per run rather than a timer thread per check: a run of 300
targets would otherwise start 300 extra threads.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Watchdog"]


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._ids = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="healthcheck-watchdog", daemon=True)
        self._thread.start()

    def schedule(self, when: float, callback: Callable[[], None]) -> int:
        """Call ``callback`` at monotonic time ``when``; returns a handle for :meth:`cancel`."""
        with self._cond:
            handle = next(self._ids)
            heapq.heappush(self._heap, (when, handle, callback))
            if self._heap[0][1] == handle:  # only an earlier deadline changes how long to sleep
                self._cond.notify()
            return handle

    def cancel(self, handle: int) -> None:
        with self._cond:
            self._cancelled.add(handle)

    def stop(self) -> None:
        """Stop without firing what is left; returns once the thread has ended."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0][1] in self._cancelled:
                        _, handle, _ = heapq.heappop(self._heap)
                        self._cancelled.discard(handle)
                        continue
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._heap)
            callback()
