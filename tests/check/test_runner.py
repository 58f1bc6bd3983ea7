"""Many targets at once: concurrency, per-check deadlines, the run's deadline, isolation."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping

import pytest

from healthcheck.check.probe import Cancel, CheckResult, Probe, timed_out
from healthcheck.check.request_spec import SecretRef
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target
from tests.servers import FaultServer


def test_targets_are_checked_concurrently(
    http_server: FaultServer, probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    # /together answers 200 only when all n requests are in flight at once,
    # so a sequential (or too narrow) runner records 503s.
    n = 40
    targets = [Target(name=f"t{i}", url=f"{http_server.base_url}/together?n={n}", timeout=10) for i in range(n)]
    results = run_checks(targets, probe, run_deadline=time.monotonic() + 30)
    assert [r.name for r in results] == [t.name for t in targets]
    assert all(r.success for r in results), {r.error for r in results}
    # Forty checks of one host are expected, not a warning per surplus connection.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_each_target_gets_its_own_timeout(http_server: FaultServer, probe: Probe) -> None:
    targets = [
        Target(name="fast", url=f"{http_server.base_url}/slow?ms=10", timeout=5),
        Target(name="dripping", url=f"{http_server.base_url}/drip-body", timeout=0.5),
    ]
    fast, dripping = run_checks(targets, probe, run_deadline=time.monotonic() + 30)
    assert fast.success
    assert dripping.error == "timed out after 0.5 s"


@pytest.mark.slow
def test_run_deadline_cuts_checks_and_reports_the_unstarted(http_server: FaultServer, probe: Probe) -> None:
    # One worker, three 5 s drips, and a run with 1 s left: the first is cut
    # short by the run, the other two never start and say so, as inconclusive.
    targets = [Target(name=f"t{i}", url=f"{http_server.base_url}/drip-body", timeout=5) for i in range(3)]
    results = run_checks(targets, probe, run_deadline=time.monotonic() + 1, max_workers=1)
    assert results[0].error is not None
    assert results[0].error.startswith("not checked in full: the invocation ran out of time after")
    assert results[1:] == [
        CheckResult(
            f"t{i}",
            f"{http_server.base_url}/drip-body",
            False,
            0,
            error="not checked: the invocation ran out of time before this check could finish",
            inconclusive=True,
        )
        for i in (1, 2)
    ]
    assert not any(r.success for r in results)
    # The run's deadline, not the target's timeout, cut the first one: our fault too.
    assert results[0].inconclusive


def test_a_run_deadline_cuts_the_running_check_and_reports_the_unstarted_fast(
    http_server: FaultServer, probe: Probe
) -> None:
    # The same as above with 0.2 s left: one worker, so t0 is cut and t1, t2 never start.
    url = f"{http_server.base_url}/drip-body"
    targets = [Target(name=f"t{i}", url=url, timeout=5) for i in range(3)]
    offered: dict[str, float] = {}

    def on_result(result: CheckResult) -> None:
        offered.setdefault(result.name, time.monotonic())

    started = time.monotonic()
    results = run_checks(targets, probe, run_deadline=started + 0.2, max_workers=1, on_result=on_result)
    assert (results[0].name, results[0].success) == ("t0", False)
    # Its limit is what was left of the run when it started: 0.2 s, less however late its thread
    # started (a millisecond or two on an idle machine, 35 ms and more on a busy one).
    cut = re.fullmatch(
        r"not checked in full: the invocation ran out of time after (0\.\d+) s \(the target.s timeout is 5 s\)",
        results[0].error or "",
    )
    assert cut, results[0].error
    limit_s, duration_s = float(cut[1]), results[0].duration_ms / 1000
    # It ran its whole limit (cut at the run's deadline, never before), and it started no later than
    # its result came in less its duration. (0.001 s: the message's 3 digits and the rounded duration.)
    assert limit_s <= min(0.2, duration_s + 0.001)
    assert limit_s >= started + 0.2 - (offered["t0"] - duration_s) - 0.001
    not_checked = "not checked: the invocation ran out of time before this check could finish"
    assert results[1:] == [CheckResult(f"t{i}", url, False, 0, error=not_checked, inconclusive=True) for i in (1, 2)]
    assert time.monotonic() - started < 1


class _BuggyProbe(Probe):
    """A probe with a bug for one URL: the runner, not the probe, is under test."""

    def check(
        self,
        target: Target,
        cancel: Cancel,
        *,
        started: float,
        deadline: float,
        secrets: Mapping[SecretRef, str] | None = None,
    ) -> CheckResult:
        if target.name == "buggy":
            raise KeyError("bug")
        return super().check(target, cancel, started=started, deadline=deadline, secrets=secrets)


def test_a_bug_in_one_check_costs_no_other_target_its_result(
    http_server: FaultServer, ca_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    targets = [
        Target(name="buggy", url=f"{http_server.base_url}/ok"),
        Target(name="fine", url=f"{http_server.base_url}/ok"),
    ]
    buggy, fine = run_checks(targets, _BuggyProbe(ca_certs=ca_file), run_deadline=time.monotonic() + 30)
    assert (buggy.name, buggy.url, buggy.success) == ("buggy", targets[0].url, False)
    assert buggy.error == "internal error: KeyError('bug')"
    assert 0 <= buggy.duration_ms < 30_000  # a real duration for the record, not None or a clock reading
    assert fine.success
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == ["check of buggy raised"]


def test_no_targets_no_results(probe: Probe) -> None:
    assert run_checks([], probe, run_deadline=time.monotonic() + 1) == []


class _StuckProbe(Probe):
    """A check that ignores its abort, as one stuck in DNS does (getaddrinfo ignores every timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.woke = threading.Event()

    def check(
        self,
        target: Target,
        cancel: Cancel,
        *,
        started: float,
        deadline: float,
        secrets: Mapping[SecretRef, str] | None = None,
    ) -> CheckResult:
        self.release.wait(timeout=10)
        self.woke.set()
        return CheckResult(target.name, target.url, True, 0, status=200)


def test_a_check_stuck_past_its_abort_never_holds_the_run_past_its_deadline() -> None:
    # One worker, held by t0: t1 never starts. The run must end at its deadline, not when t0 wakes.
    probe = _StuckProbe()
    targets = [Target(name=f"t{i}", url=f"http://t{i}.example/", timeout=5) for i in range(2)]
    try:
        results = run_checks(targets, probe, run_deadline=time.monotonic() + 0.2, max_workers=1)
        returned_while_stuck = not probe.woke.is_set()
    finally:
        probe.release.set()
    assert returned_while_stuck
    assert [(r.name, r.success) for r in results] == [("t0", False), ("t1", False)]
    assert (results[0].error or "").startswith("not checked in full: the invocation ran out of time after")
    assert 100 <= results[0].duration_ms < 30_000  # cut at its deadline (0.2 s less its queueing), recorded so
    assert results[1].error == "not checked: the invocation ran out of time before this check could finish"


def test_a_fault_in_the_result_handler_is_logged_by_target_and_costs_no_other_result(
    http_server: FaultServer, probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    def on_result(result: CheckResult) -> None:
        if result.name == "b":
            raise RuntimeError("the writer broke")

    targets = [Target(name=name, url=f"{http_server.base_url}/ok") for name in ("a", "b", "c")]
    results = run_checks(targets, probe, run_deadline=time.monotonic() + 30, on_result=on_result)
    assert [(r.name, r.success) for r in results] == [("a", True), ("b", True), ("c", True)]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["handling the result of b failed"]
    assert errors[0].exc_info is not None


def test_a_check_cut_short_by_the_run_deadline_is_inconclusive(probe: Probe, http_server: FaultServer) -> None:
    # Found by attack: a 10 s target started 0.5 s before the run's deadline was
    # recorded as the target's own timeout, and counted against it.
    # (2 s, not 0.5 s: on a busy machine the check's thread once started past a 0.5 s deadline,
    # or its cut came past the runner's grace, and the result was "not checked" instead.)
    cut = Target("slow", f"{http_server.base_url}/slow?ms=5000", timeout=10)
    [result] = run_checks([cut], probe, run_deadline=time.monotonic() + 2)
    assert result.inconclusive
    assert result.error is not None
    cut_at = r"not checked in full: the invocation ran out of time after (1\.\d+|2) s "
    assert re.match(cut_at, result.error), result.error
    assert result.error.endswith("(the target's timeout is 10 s)")


def test_a_check_that_uses_its_whole_timeout_is_the_targets_failure(probe: Probe, http_server: FaultServer) -> None:
    own = Target("slow", f"{http_server.base_url}/slow?ms=3000", timeout=0.5)
    [result] = run_checks([own], probe, run_deadline=time.monotonic() + 30)
    assert (result.inconclusive, result.error) == (False, "timed out after 0.5 s")


class _OwnTimeoutProbe(Probe):
    """A probe whose own socket timeout reports first (before the watchdog), as a silent server's does."""

    def check(
        self,
        target: Target,
        cancel: Cancel,
        *,
        started: float,
        deadline: float,
        secrets: Mapping[SecretRef, str] | None = None,
    ) -> CheckResult:
        return timed_out(target, deadline - started, 7)


def test_the_probes_own_timeout_in_a_cut_short_check_is_inconclusive_too() -> None:
    target = Target("late", "http://late.example/", timeout=10)
    [result] = run_checks([target], _OwnTimeoutProbe(), run_deadline=time.monotonic() + 5)
    assert (result.inconclusive, result.duration_ms) == (True, 7)
    assert (result.error or "").startswith("not checked in full: the invocation ran out of time after")


@pytest.mark.parametrize(
    ("timeout", "run_left", "cut_short"),
    [
        (10, 30, False),
        (10, 9.7, False),
        (10, 9.3, True),
        (2, 1.95, False),
        (2, 1.6, True),
    ],
    ids=[
        "own-timeout",
        "all-but-0.3-s-of-10-is-the-whole-time",
        "0.7-s-short-of-10-is-cut-short-though-under-a-tenth",
        "all-but-0.05-s-of-2-is-the-whole-time",
        "0.4-s-short-of-2-is-cut-short-though-under-half-a-second",
    ],
)
def test_only_a_check_given_materially_less_than_its_timeout_is_cut_short(
    timeout: float, run_left: float, cut_short: bool
) -> None:
    # At the smallest Lambda timeout preview accepts, the run's deadline lands a hair before the
    # slowest target's: that check had its whole time, and a target that hangs must go DOWN.
    # "Materially": more than a tenth of the timeout, or more than half a second.
    target = Target("hung", "http://hung.example/", timeout=timeout)
    [result] = run_checks([target], _OwnTimeoutProbe(), run_deadline=time.monotonic() + run_left)
    assert result.inconclusive is cut_short
    expected = "not checked in full: the invocation ran out of time after " if cut_short else "timed out after "
    assert (result.error or "").startswith(expected), result.error
