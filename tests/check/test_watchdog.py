"""The watchdog alone: callbacks at their deadlines, in order, cancellable, and a thread that ends."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from healthcheck.check.watchdog import Watchdog

# (name, seconds from now, cancelled?) -> what fires, in order.
SCHEDULES = {
    "in-deadline-order": ([("late", 0.2, False), ("early", 0.1, False)], ["early", "late"]),
    "earlier-added-last-wakes-it": ([("far", 5.0, False), ("near", 0.1, False)], ["near"]),
    "cancelled-first-in-line": ([("gone", 0.05, True), ("kept", 0.15, False)], ["kept"]),
    "cancelled-last-in-line": ([("kept", 0.05, False), ("gone", 0.15, True)], ["kept"]),
    "already-due": ([("past", -1.0, False), ("now", 0.0, False)], ["past", "now"]),
}


def _record(seen: list[tuple[str, float]], name: str) -> None:
    seen.append((name, time.monotonic()))


@pytest.mark.parametrize(("schedule", "fired"), list(SCHEDULES.values()), ids=list(SCHEDULES))
def test_callbacks_fire_at_their_deadlines_in_order_unless_cancelled(
    schedule: list[tuple[str, float, bool]], fired: list[str]
) -> None:
    watchdog = Watchdog()
    seen: list[tuple[str, float]] = []
    start = time.monotonic()
    try:
        for name, delay, cancelled in schedule:
            handle = watchdog.schedule(start + delay, functools.partial(_record, seen, name))
            if cancelled:
                watchdog.cancel(handle)
        time.sleep(0.4)
    finally:
        watchdog.stop()
    assert [name for name, _ in seen] == fired
    delays = {name: delay for name, delay, _ in schedule}
    for name, at in seen:
        # Never early, and never more than 0.1 s late.
        assert start + delays[name] <= at < start + max(delays[name], 0) + 0.1, name


def test_stop_ends_the_thread_at_once_without_firing_what_is_left() -> None:
    before = set(threading.enumerate())
    watchdog = Watchdog()
    [thread] = [t for t in threading.enumerate() if t not in before and t.name == "healthcheck-watchdog"]
    assert thread.daemon  # never keeps the runtime from exiting
    fired: list[str] = []
    watchdog.schedule(time.monotonic() + 0.2, lambda: fired.append("left"))
    started = time.monotonic()
    watchdog.stop()
    assert time.monotonic() - started < 0.1
    assert not thread.is_alive()
    time.sleep(0.3)
    assert fired == []
