"""Runs every check of an invocation concurrently, each bounded by its own deadline.

Each target gets a slot that is filled once: by its check, by the watchdog
when the check's deadline passes, or as "not checked" when the run's own
deadline (the Lambda timeout, less time to write records) arrives first. So
every target has exactly one result when :func:`run_checks` returns, however
a check misbehaves, and no check outlives the run. An HTTPS check's clock starts
when the pacer lets it connect (pacing.py): time spent waiting for the CPU is
ours, and never part of a target's Duration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..text import clip
from .pacing import UNPACED, Pacer
from .probe import Cancel, CheckResult, Probe, is_timeout, timed_out
from .request_spec import SecretRef
from .targets import Target, redact_url
from .watchdog import Watchdog

__all__ = ["OnResult", "cut_short_allowance_s", "late_start_s", "run_checks"]

log = logging.getLogger(__name__)

WATCHDOG_GRACE_S = 0.5
# A check given all but a sliver of its timeout had its whole timeout: at the smallest
# Lambda timeout preview accepts, the run's check deadline lands a few milliseconds short
# of the slowest target's, and a target that hangs must still be DOWN, not inconclusive.
# A sliver is at most a tenth of the timeout, and never more than half a second.
FULL_TIME_SHARE = 0.9
MAX_SHORTFALL_S = 0.5
# HTTPS checks connecting (TCP and TLS) at once, and how long a slow one may keep its place (pacing.py).
# Two at a time, 10 ms: on one core among 500 HTTPS targets, a 300 ms target's Duration grew
# by about 5 %, where four at a time gave 10-20 % and unpaced 70-80 %; and a run of far
# sites (50 ms handshakes) still starts 200 checks a second, more than 512 MB's 0.29 vCPU
# can finish (bench/cpu.py).
PACE_SLOTS = 2
PACE_LEASE_S = 0.010
NOT_CHECKED = "not checked: the invocation ran out of time before this check could finish"


OnResult = Callable[[CheckResult], None]


class _Board:
    """Each target's first result (later offers are ignored), and a wait until every one is handled.

    One lock for the whole run, not a lock and an event per target: those cost a
    check more CPU than its watchdog, and woke the waiting thread once per target.
    """

    def __init__(self, targets: Sequence[Target], on_result: OnResult | None) -> None:
        self.targets = targets
        self.results: list[CheckResult | None] = [None] * len(targets)
        self._on_result = on_result
        self._handled = 0
        self._changed = threading.Condition(threading.Lock())

    def offer(self, index: int, result: CheckResult) -> None:
        with self._changed:
            if self.results[index] is not None:
                return
            self.results[index] = result
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:
                # Runs on a worker or the watchdog thread: a fault here must not stop them.
                log.exception("handling the result of %s failed", result.name)
        with self._changed:
            self._handled += 1
            if self._handled == len(self.results):
                self._changed.notify()

    def wait(self, until: float) -> None:
        """Until every result is handled, or the monotonic time ``until``."""
        with self._changed:
            while self._handled < len(self.results) and (left := until - time.monotonic()) > 0:
                self._changed.wait(left)


def _not_checked(target: Target) -> CheckResult:
    # Our fault, not the target's: recorded as inconclusive, so it never counts against the target.
    return CheckResult(target.name, redact_url(target.url), False, 0, error=NOT_CHECKED, inconclusive=True)


def _whole_time(timeout: float) -> float:
    """The least time a check may get and still count as having had its whole ``timeout``."""
    return max(timeout * FULL_TIME_SHARE, timeout - MAX_SHORTFALL_S)


def late_start_s(targets: Iterable[Target]) -> float:
    """How much later than its turn the last HTTPS check of a run may start, at worst, waiting to connect.

    When every target hangs, each TLS handshake holds its place for the whole lease, so the
    n-th starts up to (n - 1) // slots leases late. A run's Lambda timeout must allow for it
    beyond what a check may lose and still count as whole (:func:`cut_short_allowance_s`).
    """
    paced = sum(1 for target in targets if _handshakes(target))
    return max(0, paced - 1) // PACE_SLOTS * PACE_LEASE_S


def cut_short_allowance_s(timeout: float) -> float:
    """What a check with ``timeout`` may lose to the run's deadline and still count as having had it whole."""
    return timeout - _whole_time(timeout)


def _handshakes(target: Target) -> bool:
    """Whether the check begins with a TLS handshake (an https URL; its scheme was checked when parsed)."""
    return target.url[:6].lower() == "https:"


def _check(
    board: _Board,
    index: int,
    probe: Probe,
    watchdog: Watchdog,
    pacer: Pacer,
    run_deadline: float,
    secrets: Mapping[SecretRef, str],
) -> None:
    target = board.targets[index]
    # Admitted before its clock starts: waiting for the CPU is ours, not the target's. Only a
    # TLS handshake is worth pacing: a plain connect costs next to nothing, and its turn would
    # cost a thread switch (100 checks of 300 ms took 420 ms paced, 355 ms not).
    admission = pacer.admit(run_deadline) if _handshakes(target) else UNPACED
    started = time.monotonic()
    if admission is None or started >= run_deadline:  # the run's time ran out while this one was queued
        if admission is not None:
            admission.release()
        board.offer(index, _not_checked(target))
        return
    deadline = min(started + target.timeout, run_deadline)
    # The run's deadline ends this check materially before the target's timeout: running out is ours.
    cut_short = deadline - started < _whole_time(target.timeout)
    cancel = Cancel(on_connected=admission.release)

    def expire() -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        board.offer(index, timed_out(target, deadline - started, duration_ms, cut_short=cut_short))
        cancel.abort()

    handle = watchdog.schedule(deadline, expire)
    try:
        result = probe.check(target, cancel, started=started, deadline=deadline, secrets=secrets)
        if cut_short and is_timeout(result):
            result = timed_out(target, deadline - started, result.duration_ms, cut_short=True)
        board.offer(index, result)
    except Exception as exc:
        # A bug in one check must not cost the other targets their records.
        log.exception("check of %s raised", target.name)
        duration_ms = round((time.monotonic() - started) * 1000)
        error = clip(f"internal error: {exc!r}")
        # Our bug, not the target's fault: recorded, but it never moves state.
        board.offer(
            index, CheckResult(target.name, redact_url(target.url), False, duration_ms, error=error, inconclusive=True)
        )
    finally:
        admission.release()
        watchdog.cancel(handle)


def run_checks(
    targets: Sequence[Target],
    probe: Probe,
    *,
    run_deadline: float,
    max_workers: int = 128,
    on_result: OnResult | None = None,
    secrets: Mapping[SecretRef, str] | None = None,
    pace: tuple[int, float] | None = None,
) -> list[CheckResult]:
    """Check every target concurrently; one result per target, in the targets' order.

    ``on_result`` sees each result as soon as it is final, from whichever thread made it;
    ``secrets`` are the resolved values of the targets' secret references; ``pace`` the
    checks that may connect at once, and for how long each (see pacing.py).
    """
    if not targets:
        return []
    board = _Board(targets, on_result)
    watchdog = Watchdog()
    pacer = Pacer(*(pace or (PACE_SLOTS, PACE_LEASE_S)))
    executor = ThreadPoolExecutor(max_workers=min(max_workers, len(targets)), thread_name_prefix="check")
    try:
        for index in range(len(targets)):
            executor.submit(_check, board, index, probe, watchdog, pacer, run_deadline, secrets or {})
        # The grace lets the watchdog report a check cut at the run deadline as
        # the timeout it is; only what never started is "not checked".
        board.wait(run_deadline + WATCHDOG_GRACE_S)
        for index, target in enumerate(targets):
            if board.results[index] is None:
                board.offer(index, _not_checked(target))
    finally:
        # Don't wait: a thread stuck in DNS (which ignores socket timeouts) has
        # already been given its result by the watchdog.
        executor.shutdown(wait=False, cancel_futures=True)
        watchdog.stop()
    return [result for result in board.results if result is not None]
