"""After the records: move each target's state, store the alerts that implies, claim, publish and clear them.

Order is what makes alerts never lost and at most once doubled: an alert is
written as pending in the same conditional write as the transition that
raised it, claimed by this run in a second conditional write, published only
under that claim, and cleared (with the claim released) only after the
publish. Two overlapping runs (a double delivery, or the next minute's run
while this one's SNS publish is slow) cannot both claim a target's pending
alerts, so only one sends them. A publish SNS refused releases the claim and
leaves the alert pending for the next run; one SNS did not answer leaves it
pending as "maybe sent", for the next run to send once more, marked as
resent, and then never again. A run that dies mid-publish leaves a claim that
expires at its write deadline. A write refused because another invocation
applied this event or a later one announces nothing.

Writes per target with something to send: its transition (when it moved),
the claim, and the clear; none in the steady state. Reads: one ``Query`` of
the shard's index, the items a result needs, and every item once an hour
(alerting/watch.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, NamedTuple, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..check.probe import CheckResult
from ..check.targets import Target
from ..event import format_timestamp
from ..exceptions import AlertsNotSentError, HealthcheckError, StateNotSavedError
from .messages import Message, build_messages, degraded_message
from .notify import Notifier
from .policy import AlertPolicy
from .region_state import next_region_state
from .regions import DEGRADED_AFTER, RegionRun, Vote, decide, impaired_regions, streak, votes_by_region
from .state import TRANSITIONS, Alert, TargetState, next_state
from .state_store import ABSENT, Refused, ShardIndex, StateStore, Stored
from .watch import ReadPlan, misindexed, plan_reads, reconcile_hour, seen, watch_for

__all__ = ["AlertingOutcome", "PassedBetween", "RegionVoting", "claim_expiry", "track"]

log = logging.getLogger(__name__)

PARALLEL_WRITES: Final = 8
# A state write refused by something other than a later event (a concurrent clear or claim, a
# hand edit) is applied again to the item as it now is, this many times in all.
MAX_SAVE_ATTEMPTS: Final = 3


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
    read: bool = True
    """False when the run could not read state: it knows no target's, so it counts none DOWN."""

    def failure(self) -> AlertsNotSentError | StateNotSavedError | None:
        """What to raise at the end of the run: only unsent alerts, or any state fault."""
        if not self.errors:
            return None
        message = "; ".join(self.errors)
        if len(self.errors) == len(self.unsent):
            return AlertsNotSentError(message)
        return StateNotSavedError(message)

    @property
    def down(self) -> int | None:
        """Targets DOWN after this run; None when state could not be read (a metric of 0 would say "none")."""
        if not self.read:
            return None
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


def claim_expiry(deadline: float) -> int:
    """When this run's claims expire, in epoch seconds: at its write deadline (a second later, rounded up)."""
    return int(time.time() + max(0.0, deadline - time.monotonic())) + 1


@dataclass(frozen=True, slots=True)
class _Change:
    """One target's result to apply, and how its state moves from any item it is applied to."""

    result: CheckResult
    policy: AlertPolicy
    cert_min_days: int
    at: str
    shard: str
    indexed: bool
    """The index's answer held the item."""
    passed_unread: bool = False
    """The shard's runs recorded a pass of this target after its streak's latest failure that its state never saw."""

    def apply(self, item: Stored) -> TargetState | None:
        state = item.state
        if (
            state.state == "UP"
            and state.failures
            and not self.result.success
            and (self.passed_unread or not seen(item, self.shard, self.indexed))
        ):
            # A pass since its failing streak began may have gone unread (alerting/watch.py): it counts from here.
            state = dataclasses.replace(state, failures=0, streak_start=None)
        new = next_state(state, self.result, self.policy, self.cert_min_days, self.at)
        if new is None and item.malformed is not None and not (self.result.inconclusive or self.result.maintenance):
            # A malformed item is replaced by the first conclusive result, so its warning stops.
            return dataclasses.replace(item.state, last_event=self.at)
        return new

    def applied_elsewhere(self, last_event: str | None) -> bool:
        """Another invocation applied this event or a later one: its alerts are that run's."""
        return last_event is not None and last_event >= self.at


class RegionVoting(NamedTuple):
    """Several regions check the same targets (issue 17): how this run reads their votes and decides."""

    region: str
    regions: tuple[str, ...]
    quorum: int
    alert_on_partial: bool
    runs: Callable[[str, int, float], Sequence[RegionRun]]
    """``runs(at, count, deadline)``: every region's runs of the shard at the last ``count`` event times to ``at``."""
    canary_answered: bool = True


@dataclass(frozen=True, slots=True)
class _RegionChange:
    """One target's result, decided with every region's votes: applied again to whatever item a refusal returns."""

    result: CheckResult
    policy: AlertPolicy
    cert_min_days: int
    at: str
    shard: str
    votes: Mapping[str, Sequence[tuple[str, Vote | None]]]
    quorum: int
    alert_on_partial: bool

    def apply(self, item: Stored) -> TargetState | None:
        state = item.state
        decision = decide(state.state, state.since, self.votes, self.at, self.quorum, self.policy)
        failing = tuple(sorted(region for region, votes in self.votes.items() if streak(votes).fails))
        new = next_region_state(
            state,
            decision,
            failing,
            self.result,
            self.policy,
            self.cert_min_days,
            self.at,
            alert_on_partial=self.alert_on_partial,
        )
        if new is None and item.malformed is not None and not self.result.maintenance:
            return dataclasses.replace(item.state, last_event=self.at)
        return new

    def applied_elsewhere(self, last_event: str | None) -> bool:
        """Another region's run of this same event time decides again: only a later event leaves it to another run."""
        return last_event is not None and last_event > self.at


Saved = Literal["moved", "indexed", "unchanged", "left"]
"""What became of a target's result: its state written, only its index entry set right, nothing to write, or
left to another run that applied this event or a later one."""


def _save(
    store: StateStore, name: str, item: Stored, change: _Change | _RegionChange, deadline: float
) -> tuple[Stored, Saved]:
    """Apply ``change``: the item after it, and what was written.

    A write refused although no other run applied this event or a later one
    (a clear, a claim or a hand edit came between) is applied again to the
    item as the refusal returned it. An item read that nothing moves, but
    indexed wrong (``Watch``: an edit by hand, a move between shards, an item
    from before the index), is written as it is, which indexes it right.
    """
    for _ in range(MAX_SAVE_ATTEMPTS):
        new = change.apply(item)
        indexing = new is None and misindexed(item, change.shard)
        if indexing:
            log.info("the state item of %s is not indexed right for shard %s: written again", name, change.shard)
            new = item.state
        if new is None:
            return item, "unchanged"
        watch = watch_for(new, change.shard, item.watch)
        saved = store.save(name, item.version, new, deadline, watch=watch)
        if not isinstance(saved, Refused):
            return Stored(new, saved, watch=watch), "indexed" if indexing else "moved"
        item = saved.found
        if change.applied_elsewhere(item.state.last_event):
            log.info("%s: another invocation applied this event or a later one; its alerts are that run's", name)
            return item, "left"
    log.warning(
        "the state of %s: %d writes in a row were refused, each by a change no later event explains; "
        "this run's result is not applied",
        name,
        MAX_SAVE_ATTEMPTS,
    )
    return item, "left"


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
    now: datetime,
    shard: str,
    passed_between: PassedBetween | None = None,
    voting: RegionVoting | None = None,
) -> AlertingOutcome:
    """Apply this run's results; ``show`` gets each message when there is no topic to publish to.

    ``run_id`` names this run's claims (the Lambda request id); they expire at ``deadline``.
    ``now`` is the function's clock: alerts say how long ago things happened from it.
    ``shard`` is the event's (``targets`` are all of that shard's): it keys the index read and written.
    ``passed_between`` reads the shard's runs for passes a failing streak's state never saw (history.reader).
    ``voting``: several regions check these targets; each target's state is their decision (alerting/regions.py).
    No failure of an AWS call escapes: each is in ``outcome.errors``.
    """
    outcome = AlertingOutcome()
    checked = [result for result in results if result.name in targets]
    if not checked:
        return outcome
    try:
        index = store.watched(shard, deadline)
        plan = plan_reads(checked, {name: target.expect.cert_min_days for name, target in targets.items()}, index, at)
        got = store.read(plan.get, deadline)
        read = {**index.items, **{name: got.get(name, ABSENT) for name in plan.get}}  # the table's own over the copy
    except (StateNotSavedError, ClientError, BotoCoreError) as exc:
        outcome.errors.append(f"target state could not be read: {exc}")
        outcome.read = False
        return outcome

    # A target left unread has a clean item or none: both are ABSENT to its result (alerting/watch.py).
    items = {result.name: read.get(result.name, ABSENT) for result in checked}
    # Several regions count streaks from the regions' run items (below), so only one region reads for passes.
    unread = _passes_unread(checked, items, index.items, shard, at, passed_between if voting is None else None)
    changes: list[tuple[str, _Change | _RegionChange]] = []
    for result in checked:
        target = targets[result.name]
        outcome.states[result.name] = items[result.name].state
        policy = defaults.for_target(target.failure_threshold, target.success_threshold, target.remind_every_minutes)
        indexed = result.name in index.items
        change = _Change(result, policy, target.expect.cert_min_days, at, shard, indexed, result.name in unread)
        changes.append((result.name, change))
    if voting is not None:
        try:
            changes = _region_changes(outcome, changes, items, index, voting, store, notifier, show, deadline)
        except StateNotSavedError as exc:
            outcome.errors.append(f"the regions' runs could not be read, no state moved: {exc}")
            return outcome
    owned = {result.name for result in checked if not result.maintenance}

    def save(change: tuple[str, _Change | _RegionChange]) -> tuple[Stored, Saved]:
        name, applied = change
        return _save(store, name, items[name], applied, deadline)

    saved_all = True
    for (name, _change), saved in _parallel(save, changes):
        if isinstance(saved, StateNotSavedError):
            outcome.errors.append(str(saved))
            owned.discard(name)  # its alerts are not stored, so not sent: the retry will raise them
            saved_all = False
            continue
        items[name], written = saved
        outcome.states[name] = items[name].state
        if written in ("moved", "indexed"):
            outcome.written += 1
        if written == "moved":
            new = items[name].state
            outcome.transitions += [alert for alert in new.pending if alert.kind in TRANSITIONS and alert.at == at]
        elif written == "left":
            owned.discard(name)  # another invocation moved it: its alerts are that run's to send

    claimed = _claim(outcome, store, {name: items[name] for name in owned}, run_id, deadline)
    done, resend = _publish(outcome, claimed, notifier, deadline, show, format_timestamp(now))
    _clear(outcome, store, claimed, done, resend, run_id, deadline)
    if plan.reconcile and saved_all:
        _reconciled(outcome, store, plan, shard, at, deadline)
    return outcome


PassedBetween = Callable[[Mapping[str, str], str], set[str]]
"""Which targets (each with its streak's latest failure) the shard's runs recorded passing after it, before a time."""


def _passes_unread(
    checked: Sequence[CheckResult],
    items: Mapping[str, Stored],
    indexed: Collection[str],
    shard: str,
    at: str,
    passed_between: PassedBetween | None,
) -> set[str]:
    """The failing targets whose streak a pass broke though their state says it goes on (the index lagged a run).

    Only a streak about to go on is asked about: a conclusive failure of an UP target already failing,
    that ``seen`` would continue. A read that fails is taken as a pass: DOWN comes later, never falsely.
    """
    going_on = {
        result.name: str(items[result.name].state.last_event)
        for result in checked
        if not (result.success or result.inconclusive or result.maintenance)
        and items[result.name].state.state == "UP"
        and items[result.name].state.failures
        and items[result.name].state.last_event is not None
        and seen(items[result.name], shard, result.name in indexed)
    }
    if not going_on or passed_between is None:
        return set()
    try:
        return passed_between(going_on, at)
    except (HealthcheckError, ClientError, BotoCoreError) as exc:
        log.warning(
            "could not read whether %d failing streak(s) were broken (%s): each counts from 1", len(going_on), exc
        )
        return set(going_on)


def _needs_deciding(change: _Change, item: Stored) -> bool:
    """Whether this region's result on a target may change what several regions decide, so their runs are read.

    A FAIL, a certificate inside its thresholds, or any counted result on an item that is not clean (DOWN,
    PARTIAL, a region failing, alerts pending). A PASS on a clean item changes nothing: the steady state
    reads nothing more than with one region.
    """
    result = change.result
    if result.inconclusive or result.maintenance:
        return False
    return not result.success or not item.state.clean or change.apply(item) is not None


def _region_changes(
    outcome: AlertingOutcome,
    changes: Sequence[tuple[str, _Change | _RegionChange]],
    items: Mapping[str, Stored],
    index: ShardIndex,
    voting: RegionVoting,
    store: StateStore,
    notifier: Notifier | None,
    show: Callable[[Message], None],
    deadline: float,
) -> list[tuple[str, _Change | _RegionChange]]:
    """Each target that needs deciding, decided with every region's latest runs (read once, only if any needs it)."""
    wanted = [(name, change) for name, change in changes if isinstance(change, _Change)]
    shard = wanted[0][1].shard if wanted else ""
    deciding = [(name, change) for name, change in wanted if _needs_deciding(change, items[name])]
    if not deciding and voting.canary_answered and index.degraded is None:
        return list(changes)
    window = max(
        (max(change.policy.failure_threshold, change.policy.success_threshold) for _, change in wanted), default=1
    )
    at = wanted[0][1].at if wanted else ""
    runs = voting.runs(at, window, deadline)
    _degradation(outcome, runs, at, shard, index, voting, store, notifier, show, deadline)
    names = {name for name, _ in deciding}
    decided: list[tuple[str, _Change | _RegionChange]] = [
        (name, change) for name, change in changes if name not in names
    ]
    for name, change in deciding:
        votes = votes_by_region(runs, name)
        decided.append(
            (
                name,
                _RegionChange(
                    change.result,
                    change.policy,
                    change.cert_min_days,
                    change.at,
                    change.shard,
                    votes,
                    voting.quorum,
                    voting.alert_on_partial,
                ),
            )
        )
    return decided


def _degradation(
    outcome: AlertingOutcome,
    runs: Sequence[RegionRun],
    at: str,
    shard: str,
    index: ShardIndex,
    voting: RegionVoting,
    store: StateStore,
    notifier: Notifier | None,
    show: Callable[[Message], None],
    deadline: float,
) -> None:
    """Tell the alert topic once when fewer than a quorum of regions report, and once when enough do again.

    Judged on the ``DEGRADED_AFTER`` event times before this run's, which every region has had a whole
    interval to finish (this run's own time is still being written by the others), and said only when
    they agree: a region missing every other interval makes no message at all, not one each time.
    """
    earlier = sorted({run.at for run in runs if run.at < at})[-DEGRADED_AFTER:]
    if len(earlier) < DEGRADED_AFTER:
        return
    judged = [_reporting([run for run in runs if run.at == moment]) for moment in earlier]
    if len({len(reporting) < voting.quorum for reporting in judged}) > 1:
        return  # not settled
    reporting = judged[-1]
    degraded = len(reporting) < voting.quorum
    now = ",".join(reporting) or "-" if degraded else None
    if degraded == (index.degraded is not None):
        return  # said already: which regions report may change while degraded, without a message each time
    try:
        if not store.mark_degraded(shard, index.degraded, now, deadline):
            return  # another run recorded the same change and sends its message
    except StateNotSavedError as exc:
        log.warning("%s; the next run judges the regions again", exc)
        return
    outcome.written += 1
    message = degraded_message(reporting, voting.regions, voting.quorum, earlier[-1])
    if notifier is None:
        show(message)
        return
    published = notifier.publish(message, deadline)
    if published.outcome == "sent":
        outcome.sent.append(message)
    else:
        log.error("publishing %s failed: %s", message.subject, published.error)
        outcome.unsent.append(message)
        outcome.errors.append(f"alert {message.subject!r} may not have been sent: {published.error}")


def _reporting(runs: Sequence[RegionRun]) -> list[str]:
    """The regions that reported at one event time: ran, not impaired, and their canary answered."""
    blind = impaired_regions(runs) | {run.region for run in runs if not run.canary_answered}
    return sorted({run.region for run in runs if run.region not in blind})


def _reconciled(
    outcome: AlertingOutcome, store: StateStore, plan: ReadPlan, shard: str, at: str, deadline: float
) -> None:
    """After a full read whose every item is indexed right: strays out of the index, and the read recorded.

    Neither costs a target anything if it fails: the next run reads every item again.
    """
    try:
        for name in plan.strays:
            store.unwatch(name, shard, deadline)
            outcome.written += 1
        store.mark_reconciled(shard, reconcile_hour(at), plan.roster, deadline)
        outcome.written += 1
    except StateNotSavedError as exc:
        log.warning("%s; the next run of shard %s reads every state item again", exc, shard)


def _claim(
    outcome: AlertingOutcome, store: StateStore, owned: Mapping[str, Stored], run_id: str, deadline: float
) -> dict[str, Stored]:
    """The targets whose pending alerts this run now holds the claim to publish."""
    now = time.time()
    expires = claim_expiry(deadline)  # a claim outlives this run's writes by nothing
    wanted = [
        name
        for name in sorted(owned)
        if owned[name].state.pending and not _claimed_elsewhere(owned[name].state, run_id, now)
    ]
    claimed: dict[str, Stored] = {}
    for name, won in _parallel(lambda name: store.claim(name, owned[name].version, run_id, expires, deadline), wanted):
        if isinstance(won, StateNotSavedError):
            outcome.errors.append(f"{won} (its alerts stay pending for the next run)")
        elif won:
            outcome.written += 1
            state = dataclasses.replace(owned[name].state, claimed_by=run_id, claim_expires=expires)
            claimed[name] = dataclasses.replace(owned[name], state=state)
        else:
            log.info("the pending alerts of %s are another run's to send", name)
    return claimed


def _publish(
    outcome: AlertingOutcome,
    claimed: Mapping[str, Stored],
    notifier: Notifier | None,
    deadline: float,
    show: Callable[[Message], None],
    sent_at: str,
) -> tuple[set[Alert], set[Alert]]:
    """Publish the claimed alerts in event-time order: the alerts done with, and those to send once more.

    Done: sent, or given up after a second attempt SNS did not answer
    either. Once more: SNS did not answer, so they may have been delivered;
    the next run sends them again, marked as resent (at most one extra copy).
    After a message that did not certainly go out, later ones naming any of
    its targets are held back, so no target's alerts go out of order.
    """
    done: set[Alert] = set()
    resend: set[Alert] = set()
    blocked: set[str] = set()
    pending = [alert for item in claimed.values() for alert in item.state.pending]
    for message in build_messages(pending, sent_at=sent_at):
        names = {alert.target for alert in message.alerts}
        if names & blocked:
            log.warning("%s is held back behind an earlier alert not certainly sent; it stays pending", message.subject)
            outcome.unsent.append(message)
            outcome.errors.append(f"alert {message.subject!r} held back behind an unsent one (it stays pending)")
            blocked |= names
            continue
        if notifier is None:
            show(message)
            done.update(message.alerts)
            continue
        published = notifier.publish(message, deadline)
        if published.outcome == "sent":
            outcome.sent.append(message)
            done.update(message.alerts)
            continue
        blocked |= names
        outcome.unsent.append(message)
        if published.outcome == "not sent":
            log.error("publishing %s failed; it stays pending for the next run: %s", message.subject, published.error)
            outcome.errors.append(f"alert {message.subject!r} not sent (it stays pending): {published.error}")
            continue
        again = {alert for alert in message.alerts if not alert.maybe_sent}
        done.update(alert for alert in message.alerts if alert.maybe_sent)
        resend.update(again)
        if again:
            log.warning(
                "publishing %s got no answer from SNS, which may have delivered it; the next run sends it once more, "
                "marked as resent: %s",
                message.subject,
                published.error,
            )
            outcome.errors.append(f"alert {message.subject!r} may not have been sent (sent once more next run)")
        else:
            log.warning(
                "publishing %s (a resend) got no answer from SNS either; it is not sent again: %s",
                message.subject,
                published.error,
            )
            outcome.errors.append(f"alert {message.subject!r} may not have been sent (not sent again)")
    return done, resend


def _clear(
    outcome: AlertingOutcome,
    store: StateStore,
    claimed: Mapping[str, Stored],
    done: set[Alert],
    resend: set[Alert],
    run_id: str,
    deadline: float,
) -> None:
    """Drop the alerts done with, mark those to send once more, and release every claim."""

    def clear(name: str) -> bool:
        return store.clear(name, claimed[name], done, resend, run_id, deadline)

    for name, cleared in _parallel(clear, sorted(claimed)):
        if isinstance(cleared, StateNotSavedError):
            # Sent but still pending: once the claim expires, a later run sends it again. At least once, never lost.
            outcome.errors.append(f"{cleared} (its sent alerts may be sent again)")
        elif cleared:
            outcome.written += 1
            state = claimed[name].state
            remaining = tuple(
                dataclasses.replace(alert, maybe_sent=True) if alert in resend else alert
                for alert in state.pending
                if alert not in done
            )
            outcome.states[name] = dataclasses.replace(state, pending=remaining, claimed_by=None, claim_expires=None)
        else:
            log.warning("the claim on %s expired before its alerts were cleared: they may be sent again", name)
