"""After the records: move each target's state, store the alerts that implies, publish them, and clear them.

Order is what makes alerts never lost and never doubled: an alert is written
as pending in the same conditional write as the transition that raised it,
published only after that write, and cleared only after the publish. A
failed publish leaves it pending for the next run; a write refused because
another invocation got there first announces nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from botocore.exceptions import BotoCoreError, ClientError

from .alerts import Message, build_messages
from .exceptions import AlertsNotSentError, StateNotSavedError
from .notify import Notifier
from .policy import AlertPolicy
from .probe import CheckResult
from .state import AlertKind, TargetState, next_state
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


def _save_all(
    store: StateStore, changes: Sequence[tuple[str, TargetState | None, TargetState]], deadline: float
) -> list[tuple[str, TargetState | None, TargetState, bool | StateNotSavedError]]:
    def save(change: tuple[str, TargetState | None, TargetState]) -> bool | StateNotSavedError:
        name, read, new = change
        try:
            return store.save(name, read, new, deadline)
        except StateNotSavedError as exc:
            return exc

    if not changes:
        return []
    with ThreadPoolExecutor(max_workers=min(PARALLEL_WRITES, len(changes)), thread_name_prefix="state") as pool:
        outcomes = list(pool.map(save, changes))
    return [(*change, outcome) for change, outcome in zip(changes, outcomes, strict=True)]


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
) -> AlertingOutcome:
    """Apply this run's results; ``show`` gets each message when there is no topic to publish to."""
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
    for name, _read, new, saved in _save_all(store, changes, deadline):
        if isinstance(saved, StateNotSavedError):
            outcome.errors.append(str(saved))
            owned.discard(name)  # its alerts are not stored, so not sent: the retry will raise them
        elif saved:
            outcome.written += 1
            outcome.states[name] = new
        else:
            owned.discard(name)  # another invocation moved it: its alerts are that run's to send

    pending = [alert for name in owned for alert in outcome.states[name].pending]
    sent_kinds: set[AlertKind] = set()
    for message in build_messages(pending):
        if notifier is None:
            show(message)
            sent_kinds.add(message.kind)
            continue
        try:
            notifier.publish(message, deadline)
        except (ClientError, BotoCoreError) as exc:
            log.error("publishing %s failed; it stays pending for the next run: %s", message.subject, exc)
            outcome.unsent.append(message)
            outcome.errors.append(f"alert {message.subject!r} not sent (it stays pending): {exc}")
            continue
        outcome.sent.append(message)
        sent_kinds.add(message.kind)

    clears: list[tuple[str, TargetState | None, TargetState]] = []
    for name in sorted(owned):
        state = outcome.states[name]
        remaining = tuple(alert for alert in state.pending if alert.kind not in sent_kinds)
        if remaining != state.pending:
            clears.append((name, state, dataclasses.replace(state, pending=remaining)))
    for name, _read, cleared, saved in _save_all(store, clears, deadline):
        if isinstance(saved, StateNotSavedError):
            # Sent but still pending: the next run sends it again. At least once, never lost.
            outcome.errors.append(f"{saved} (its sent alerts may be sent again)")
        elif saved:
            outcome.written += 1
            outcome.states[name] = cleared
    return outcome
