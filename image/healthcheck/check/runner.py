"""Runs every check of an invocation concurrently, each bounded by its own deadline.

Each target gets a slot that is filled once: by its check, by the watchdog
when the check's deadline passes, or as "not checked" when the run's own
deadline (the Lambda timeout, less time to write records) arrives first. So
every target has exactly one result when :func:`run_checks` returns, however
a check misbehaves, and no check outlives the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..text import clip
from .probe import Cancel, CheckResult, Probe, is_timeout, timed_out
from .request_spec import SecretRef
from .targets import Target, redact_url
from .watchdog import Watchdog

__all__ = ["OnResult", "run_checks"]

log = logging.getLogger(__name__)

WATCHDOG_GRACE_S = 0.5
# A check given all but a sliver of its timeout had its whole timeout: at the smallest
# Lambda timeout preview accepts, the run's check deadline lands a few milliseconds short
# of the slowest target's, and a target that hangs must still be DOWN, not inconclusive.
# A sliver is at most a tenth of the timeout, and never more than half a second.
FULL_TIME_SHARE = 0.9
MAX_SHORTFALL_S = 0.5
NOT_CHECKED = "not checked: the invocation ran out of time before this check could finish"


OnResult = Callable[[CheckResult], None]


class _Slot:
    """Holds the first result offered for one target; later offers are ignored."""

    def __init__(self, target: Target, on_result: OnResult | None) -> None:
        self.target = target
        self.result: CheckResult | None = None
        self._on_result = on_result
        self._lock = threading.Lock()
        self._done = threading.Event()

    def offer(self, result: CheckResult) -> None:
        with self._lock:
            if self.result is not None:
                return
            self.result = result
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:
                # Runs on a worker or the watchdog thread: a fault here must not stop them.
                log.exception("handling the result of %s failed", result.name)
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(max(timeout, 0.0))


def _not_checked(target: Target) -> CheckResult:
    # Our fault, not the target's: recorded as inconclusive, so it never counts against the target.
    return CheckResult(target.name, redact_url(target.url), False, 0, error=NOT_CHECKED, inconclusive=True)


def _whole_time(timeout: float) -> float:
    """The least time a check may get and still count as having had its whole ``timeout``."""
    return max(timeout * FULL_TIME_SHARE, timeout - MAX_SHORTFALL_S)


def _check(
    slot: _Slot, probe: Probe, watchdog: Watchdog, run_deadline: float, secrets: Mapping[SecretRef, str]
) -> None:
    target = slot.target
    started = time.monotonic()
    if started >= run_deadline:  # the run's time ran out while this one was queued
        slot.offer(_not_checked(target))
        return
    deadline = min(started + target.timeout, run_deadline)
    # The run's deadline ends this check materially before the target's timeout: running out is ours.
    cut_short = deadline - started < _whole_time(target.timeout)
    cancel = Cancel()

    def expire() -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        slot.offer(timed_out(target, deadline - started, duration_ms, cut_short=cut_short))
        cancel.abort()

    handle = watchdog.schedule(deadline, expire)
    try:
        result = probe.check(target, cancel, started=started, deadline=deadline, secrets=secrets)
        if cut_short and is_timeout(result):
            result = timed_out(target, deadline - started, result.duration_ms, cut_short=True)
        slot.offer(result)
    except Exception as exc:
        # A bug in one check must not cost the other targets their records.
        log.exception("check of %s raised", target.name)
        duration_ms = round((time.monotonic() - started) * 1000)
        error = clip(f"internal error: {exc!r}")
        # Our bug, not the target's fault: recorded, but it never moves state.
        slot.offer(CheckResult(target.name, redact_url(target.url), False, duration_ms, error=error, inconclusive=True))
    finally:
        watchdog.cancel(handle)


def run_checks(
    targets: Sequence[Target],
    probe: Probe,
    *,
    run_deadline: float,
    max_workers: int = 128,
    on_result: OnResult | None = None,
    secrets: Mapping[SecretRef, str] | None = None,
) -> list[CheckResult]:
    """Check every target concurrently; one result per target, in the targets' order.

    ``on_result`` sees each result as soon as it is final, from whichever thread made it;
    ``secrets`` are the resolved values of the targets' secret references.
    """
    if not targets:
        return []
    slots = [_Slot(target, on_result) for target in targets]
    watchdog = Watchdog()
    executor = ThreadPoolExecutor(max_workers=min(max_workers, len(slots)), thread_name_prefix="check")
    try:
        for slot in slots:
            executor.submit(_check, slot, probe, watchdog, run_deadline, secrets or {})
        for slot in slots:
            # The grace lets the watchdog report a check cut at the run deadline as
            # the timeout it is; only what never started is "not checked".
            if not slot.wait(run_deadline + WATCHDOG_GRACE_S - time.monotonic()):
                slot.offer(_not_checked(slot.target))
    finally:
        # Don't wait: a thread stuck in DNS (which ignores socket timeouts) has
        # already been given its result by the watchdog.
        executor.shutdown(wait=False, cancel_futures=True)
        watchdog.stop()
        probe.clear()
    return [slot.result for slot in slots if slot.result is not None]
