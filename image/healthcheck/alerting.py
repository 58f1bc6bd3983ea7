"""After the records: move each target's state, store the alerts that implies, claim, publish and clear them.

Order is what makes alerts never lost and never doubled: an alert is written
as pending in the same conditional write as the transition that raised it,
claimed by this run in a second conditional write, published only under that
claim, and cleared (with the claim released) only after the publish. Two
overlapping runs (a double delivery, or the next minute's run while this
one's SNS publish is slow) cannot both claim a target's pending alerts, so
only one sends them. A failed publish releases the claim and leaves the
alert pending for the next run; a run that dies mid-publish leaves a claim
that expires at its write deadline. A write refused because another
invocation got there first announces nothing.

Writes per target with something to send: its transition (when it moved),
the claim, and the clear; none in the steady state.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from .alerts import Message, build_messages
from .exceptions import AlertsNotSentError, StateNotSavedError
from .notify import Notifier
from .policy import AlertPolicy
from .probe import CheckResult
from .state import TRANSITIONS, Alert, TargetState, next_state
from .state_store import StateStore
from .targets import Target

__all__ = ["AlertingOutcome", "track"]

log = logging.getLogger(__name__)

PARALLEL_WRITES: Final = 8


@dataclass(slots=True)
class AlertingOutcome:
    states: dict[str, TargetState] = field(default_factory=dict)
    """Each checked target's state after this run (UP when it has none stored)."""
    written: int = 0
    sent: list[Message] = field(default_factory=list)
    unsent: list[Message] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    transitions: list[Alert] = field(default_factory=list)
    """The DOWN and RECOVERED alerts this run's state writes raised: the status page's incidents."""

    def failure(self) -> AlertsNotSentError | StateNotSavedError | None:
        """What to raise at the end of the run: only unsent alerts, or any state fault."""
        if not self.errors:
            return None
        message = "; ".join(self.errors)
        if len(self.errors) == len(self.unsent):
            return AlertsNotSentError(message)
        return StateNotSavedError(message)

    @property
    def down(self) -> int:
        return sum(state.state == "DOWN" for state in self.states.values())


T = TypeVar("T")
R = TypeVar("R")


def _parallel(call: Callable[[T], R], items: Sequence[T]) -> list[tuple[T, R | StateNotSavedError]]:
    """``call`` on each item, a few at a time; a StateNotSavedError is returned, not raised, per item."""

    def one(item: T) -> R | StateNotSavedError:
        try:
            return call(item)
        except StateNotSavedError as exc:
            return exc

    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(PARALLEL_WRITES, len(items)), thread_name_prefix="state") as pool:
        return list(zip(items, pool.map(one, items), strict=True))


def _claimed_elsewhere(state: TargetState, run_id: str, now: float) -> bool:
    """Whether the state as read shows another run's unexpired claim (no write is tried then)."""
    return (
        state.claimed_by is not None
        and state.claimed_by != run_id
        and state.claim_expires is not None
        and state.claim_expires >= now
    )


def track(
    results: Sequence[CheckResult],
    targets: Mapping[str, Target],
    *,
    defaults: AlertPolicy,
    at: str,
    store: StateStore,
    notifier: Notifier | None,
    deadline: float,
    show: Callable[[Message], None],
    run_id: str,
) -> AlertingOutcome:
    """Apply this run's results; ``show`` gets each message when there is no topic to publish to.

    ``run_id`` names this run's claims (the Lambda request id); they expire at ``deadline``.
    """
    outcome = AlertingOutcome()
    checked = [result for result in results if result.name in targets]
    try:
        stored = store.load([result.name for result in checked], deadline)
    except (StateNotSavedError, ClientError, BotoCoreError) as exc:
        outcome.errors.append(f"target state could not be read: {exc}")
        return outcome

    changes: list[tuple[str, TargetState | None, TargetState]] = []
    for result in checked:
        target = targets[result.name]
        read = stored.get(result.name)
        state = read or TargetState()
        outcome.states[result.name] = state
        policy = defaults.for_target(target.failure_threshold, target.success_threshold, target.remind_every_minutes)
        new = next_state(state, result, policy, target.expect.cert_min_days, at)
        if new is not None:
            changes.append((result.name, read, new))
    owned = {result.name for result in checked if not result.maintenance}
    for (name, _read, new), saved in _parallel(lambda change: store.save(*change, deadline), changes):
        if isinstance(saved, StateNotSavedError):
            outcome.errors.append(str(saved))
            owned.discard(name)  # its alerts are not stored, so not sent: the retry will raise them
        elif saved:
            outcome.written += 1
            outcome.states[name] = new
            outcome.transitions += [alert for alert in new.pending if alert.kind in TRANSITIONS and alert.at == at]
        else:
            owned.discard(name)  # another invocation moved it: its alerts are that run's to send

    claimed = _claim(outcome, store, owned, run_id, deadline)
    sent = _publish(outcome, claimed, notifier, deadline, show)
    _clear(outcome, store, claimed, sent, run_id, deadline)
    return outcome


def _claim(
    outcome: AlertingOutcome, store: StateStore, owned: set[str], run_id: str, deadline: float
) -> dict[str, TargetState]:
    """The targets whose pending alerts this run now holds the claim to publish."""
    now = time.time()
    # Epoch seconds: a claim outlives this run's writes by nothing.
    expires = int(now + max(0.0, deadline - time.monotonic())) + 1
    wanted = [
        name
        for name in sorted(owned)
        if outcome.states[name].pending and not _claimed_elsewhere(outcome.states[name], run_id, now)
    ]
    claimed: dict[str, TargetState] = {}
    for name, won in _parallel(lambda name: store.claim(name, outcome.states[name], run_id, expires, deadline), wanted):
        if isinstance(won, StateNotSavedError):
            outcome.errors.append(f"{won} (its alerts stay pending for the next run)")
        elif won:
            outcome.written += 1
            claimed[name] = dataclasses.replace(outcome.states[name], claimed_by=run_id, claim_expires=expires)
        else:
            log.info("the pending alerts of %s are another run's to send", name)
    return claimed


def _publish(
    outcome: AlertingOutcome,
    claimed: Mapping[str, TargetState],
    notifier: Notifier | None,
    deadline: float,
    show: Callable[[Message], None],
) -> set[Alert]:
    """Publish the claimed alerts in event-time order; the alerts sent.

    After a failed message, later ones naming any of its targets are held
    back, so no target's alerts go out of order.
    """
    sent: set[Alert] = set()
    blocked: set[str] = set()
    for message in build_messages([alert for state in claimed.values() for alert in state.pending]):
        names = {alert.target for alert in message.alerts}
        if names & blocked:
            log.warning("%s is held back behind an unsent earlier alert; it stays pending", message.subject)
            outcome.unsent.append(message)
            outcome.errors.append(f"alert {message.subject!r} held back behind an unsent one (it stays pending)")
            blocked |= names
            continue
        if notifier is None:
            show(message)
            sent.update(message.alerts)
            continue
        try:
            notifier.publish(message, deadline)
        except (ClientError, BotoCoreError) as exc:
            log.error("publishing %s failed; it stays pending for the next run: %s", message.subject, exc)
            outcome.unsent.append(message)
            outcome.errors.append(f"alert {message.subject!r} not sent (it stays pending): {exc}")
            blocked |= names
            continue
        outcome.sent.append(message)
        sent.update(message.alerts)
    return sent


def _clear(
    outcome: AlertingOutcome,
    store: StateStore,
    claimed: Mapping[str, TargetState],
    sent: set[Alert],
    run_id: str,
    deadline: float,
) -> None:
    """Drop the sent alerts and release every claim (a failed publish's alerts wait for the next run)."""

    def clear(name: str) -> bool:
        state = claimed[name]
        return store.clear(name, state, [alert for alert in state.pending if alert in sent], run_id, deadline)

    for name, cleared in _parallel(clear, sorted(claimed)):
        if isinstance(cleared, StateNotSavedError):
            # Sent but still pending: once the claim expires, a later run sends it again. At least once, never lost.
            outcome.errors.append(f"{cleared} (its sent alerts may be sent again)")
        elif cleared:
            outcome.written += 1
            state = claimed[name]
            remaining = tuple(alert for alert in state.pending if alert not in sent)
            outcome.states[name] = dataclasses.replace(state, pending=remaining, claimed_by=None, claim_expires=None)
        else:
            log.warning("the claim on %s expired before its alerts were cleared: they may be sent again", name)
