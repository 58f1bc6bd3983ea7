"""HTTPS checks enter their connect-and-handshake phase a few at a time, so a Duration measures the target.

A TLS handshake is most of an HTTPS check's CPU (about 1 ms). Started all at
once, a run's checks share the CPU while their clocks run: on one core, among
500 HTTPS targets, a target that answers in 300 ms was recorded at 530 to
880 ms, and at 512 MB (0.29 vCPU) short timeouts failed healthy targets.

A :class:`Pacer` admits ``slots`` checks at a time; a check's clock starts once
it is admitted, and its place frees as soon as its connection is up (TCP, then
TLS), or after ``lease_s`` whatever happens: a far site, or one that never
answers, holds no other check back for longer than that. Every wait ends by the
caller's deadline. The runner paces only checks that begin with a TLS handshake.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Final

__all__ = ["UNPACED", "Admission", "Pacer"]


class Admission:
    """One check's place in the connect phase; :meth:`release` may be called any number of times."""

    __slots__ = ("_pacer", "expires", "held")

    def __init__(self, pacer: Pacer | None, expires: float) -> None:
        self._pacer = pacer
        self.expires = expires
        self.held = pacer is not None

    def release(self) -> None:
        if self.held and self._pacer is not None:
            self._pacer._release(self)


UNPACED: Final = Admission(None, math.inf)
"""What a check that is not paced holds: nothing to release."""


class Pacer:
    """At most ``slots`` checks connecting at once, each for at most ``lease_s``."""

    def __init__(self, slots: int, lease_s: float) -> None:
        if slots < 1:
            raise ValueError("a pacer needs at least one slot")
        self.slots = slots
        self.lease_s = lease_s
        self._changed = threading.Condition(threading.Lock())
        self._active: deque[Admission] = deque()  # in admission order: the oldest lease ends first
        self._waiting = 0
        self._timekeeper = False

    def admit(self, until: float) -> Admission | None:
        """Wait for a place until the monotonic time ``until``; None if none came by then."""
        with self._changed:
            while True:
                now = time.monotonic()
                while self._active and self._active[0].expires <= now:
                    self._active.popleft().held = False
                if len(self._active) < self.slots:
                    admission = Admission(self, now + self.lease_s)
                    self._active.append(admission)
                    if self._waiting and not self._timekeeper:
                        self._changed.notify()  # so that a waiter keeps the time
                    return admission
                if now >= until:
                    return None
                self._waiting += 1
                try:
                    if self._timekeeper:  # woken by a release, or to keep the time
                        self._changed.wait(until - now)
                        continue
                    # One waiter wakes when the oldest lease ends, not all: a run has a hundred.
                    self._timekeeper = True
                    try:
                        self._changed.wait(min(self._active[0].expires, until) - now)
                    finally:
                        self._timekeeper = False
                finally:
                    self._waiting -= 1

    def _release(self, admission: Admission) -> None:
        with self._changed:
            if not admission.held:
                return
            admission.held = False
            self._active.remove(admission)
            self._changed.notify()
