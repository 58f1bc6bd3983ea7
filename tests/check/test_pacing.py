"""Pacing: HTTPS checks connect a few at a time, the clock starts once one may, and nothing hung holds a run.

Real servers on 127.0.0.1: a TLS site that answers, and a listener that takes
the TCP connection and never says a word (a handshake that hangs).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from healthcheck.check.pacing import Pacer
from healthcheck.check.probe import CheckResult, Probe
from healthcheck.check.runner import NOT_CHECKED, run_checks
from healthcheck.check.targets import Target
from tests.servers import FaultServer


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An HTTPS URL whose server completes TCP (the kernel's backlog does) and never reads the ClientHello."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as listener:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/"


def test_a_pacer_admits_its_slots_then_one_per_release() -> None:
    pacer = Pacer(2, lease_s=60)
    soon = time.monotonic() + 0.2
    first, second = pacer.admit(soon), pacer.admit(soon)
    assert first is not None
    assert second is not None
    assert pacer.admit(soon) is None  # full until the deadline
    first.release()
    first.release()  # twice is once
    third = pacer.admit(time.monotonic() + 0.2)
    assert third is not None
    assert pacer.admit(time.monotonic() + 0.05) is None


def test_a_lease_ends_by_itself() -> None:
    # A check still connecting after its lease (a far site, a hung one) holds no one back.
    pacer = Pacer(1, lease_s=0.05)
    held = pacer.admit(time.monotonic() + 1)
    assert held is not None
    started = time.monotonic()
    assert pacer.admit(started + 5) is not None
    assert time.monotonic() - started < 2  # 0.05 s, with room for a loaded machine
    held.release()  # after its lease: nothing left to free, and nothing breaks


def test_every_waiter_gets_a_place_as_leases_end() -> None:
    # A hundred waiters: one of them keeps the time, the others are woken in turn.
    pacer = Pacer(2, lease_s=0.01)
    until = time.monotonic() + 10  # half a second is what it takes
    admitted: list[bool] = []

    def wait() -> None:
        admitted.append(pacer.admit(until) is not None)

    threads = [threading.Thread(target=wait) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted == [True] * 100


def test_a_checks_duration_starts_when_it_may_connect(https_server: FaultServer, probe: Probe, silent_url: str) -> None:
    # One place, held for 0.8 s by a handshake that hangs: the site behind it waits for
    # the place, and that wait is ours; its Duration is the site's own few milliseconds.
    targets = [Target("hung", silent_url, timeout=1), Target("fast", f"{https_server.base_url}/ok", timeout=5)]
    started = time.monotonic()
    hung, fast = run_checks(targets, probe, run_deadline=started + 30, max_workers=2, pace=(1, 0.8))
    assert time.monotonic() - started >= 0.8  # the fast site did wait for its place
    assert fast.success
    assert fast.duration_ms < 500
    assert hung.error == "timed out after 1 s"


def test_a_place_frees_once_the_connection_is_up(https_server: FaultServer, probe: Probe) -> None:
    # One place and a 60 s lease: the second check may only connect because the first
    # gave its place up when connected, not when its slow answer came.
    finished: list[str] = []
    targets = [
        Target("slow", f"{https_server.base_url}/slow?ms=1500", timeout=10),
        Target("fast", f"{https_server.base_url}/ok", timeout=10),
    ]

    def note(result: CheckResult) -> None:
        finished.append(result.name)

    results = run_checks(targets, probe, run_deadline=time.monotonic() + 30, on_result=note, pace=(1, 60))
    assert [r.success for r in results] == [True, True]
    assert finished == ["fast", "slow"]


def test_plain_http_checks_are_not_paced(http_server: FaultServer, probe: Probe, silent_url: str) -> None:
    # Only a TLS handshake is worth a turn: a hung one holding the only place holds no HTTP check back.
    finished: list[str] = []
    targets = [Target("hung", silent_url, timeout=2), Target("plain", f"{http_server.base_url}/ok", timeout=5)]

    def note(result: CheckResult) -> None:
        finished.append(result.name)

    hung, plain = run_checks(targets, probe, run_deadline=time.monotonic() + 30, on_result=note, pace=(1, 60))
    assert plain.success
    assert hung.error == "timed out after 2 s"
    assert finished == ["plain", "hung"]


@pytest.mark.slow
def test_checks_waiting_for_a_place_at_the_run_deadline_are_not_checked(probe: Probe, silent_url: str) -> None:
    # Hung handshakes hold the only place (a long lease): every target still gets exactly
    # one result by the run's deadline, the ones that never connected as inconclusive.
    targets = [Target(f"t{i}", silent_url, timeout=10) for i in range(3)]
    started = time.monotonic()
    results = run_checks(targets, probe, run_deadline=started + 1, pace=(1, 60))
    assert time.monotonic() - started < 3
    assert [r.name for r in results] == ["t0", "t1", "t2"]
    assert results[0].inconclusive
    assert results[0].error is not None
    assert results[0].error.startswith("not checked in full")
    assert [(r.error, r.inconclusive) for r in results[1:]] == [(NOT_CHECKED, True)] * 2
