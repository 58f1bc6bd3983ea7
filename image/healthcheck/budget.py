"""How an invocation spends its Lambda timeout, so `pulumi preview` and the handler agree on the minimum.

A run spends its time in this order: the connectivity canary, the secret
reads, the checks (concurrently: the slowest target sets the pace), then the
writes of records, state and alerts. The handler ends the checks a write
reserve before Lambda would end the invocation (:class:`Deadlines`); preview
refuses a timeout (:func:`minimum_timeout`) at which the slowest target could
get less than its own timeout, so a target that hangs is recorded as timed out
(its failure), not as "not checked in full" (ours, inconclusive).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final, NamedTuple, Protocol

from .check.request_spec import SecretsManagerRef, SsmRef
from .check.secrets import SSM_BATCH
from .check.targets import Target

__all__ = [
    "CANARY_TIMEOUT_S",
    "LOCAL_RUN_BUDGET_S",
    "LOOKUP_BOUND_S",
    "MAX_FINISH_MARGIN_S",
    "MAX_WRITE_RESERVE_S",
    "SECRET_READ_S",
    "Deadlines",
    "RemainingTime",
    "minimum_timeout",
    "secret_reads",
]

# The connectivity canary runs before the checks, so it is kept short.
CANARY_TIMEOUT_S: Final = 5.0
# Time kept back from the Lambda timeout for writing records, state and alerts after the checks.
MAX_WRITE_RESERVE_S = 10.0
# Time kept back after the writes, so the handler raises its own error (and
# Lambda retries the event) before Lambda ends the invocation for it.
MAX_FINISH_MARGIN_S = 1.0
# Without a Lambda context (a local run) the run has this long.
LOCAL_RUN_BUDGET_S: Final = 900.0
# One SSM or Secrets Manager call answered within its client's timeouts at the
# first attempt: secrets.CLIENT_CONFIG's connect (2 s) and read (5 s) timeouts
# (a test holds the two together). A call that has to be retried can still cut
# the checks short: they are then "not checked in full", inconclusive, never a false DOWN.
SECRET_READ_S: Final = 7.0
# How long a check's name lookup may hold its thread: the Dockerfile's RES_OPTIONS (2 s, twice, one
# name server; a test holds the two together). Nothing interrupts a lookup, so a check of a shorter
# timeout is recorded at its deadline while its thread is still held: the next check on that thread
# starts only when the lookup gives up, and a shard of several turns must allow for it.
LOOKUP_BOUND_S = 4.0


class RemainingTime(Protocol):
    """The part of Lambda's context the deadlines read."""

    def get_remaining_time_in_millis(self) -> int: ...


class Deadlines(NamedTuple):
    """Monotonic times: checks end by ``checks``, and every write by ``writes`` (a NamedTuple: cheap at cold start)."""

    checks: float
    writes: float

    @classmethod
    def for_invocation(cls, context: RemainingTime | None, start: float) -> Deadlines:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        remaining_s = float(remaining()) / 1000 if remaining is not None else LOCAL_RUN_BUDGET_S
        end = start + remaining_s
        # A short timeout keeps a quarter for the writes (and a twentieth after them), not 10 s of it.
        return cls(
            checks=end - min(MAX_WRITE_RESERVE_S, remaining_s / 4),
            writes=end - min(MAX_FINISH_MARGIN_S, remaining_s / 20),
        )


def secret_reads(targets: Iterable[Target]) -> int:
    """The AWS calls one run makes to read these targets' secrets with nothing cached.

    As :meth:`SecretResolver.resolve` makes them, one after another: one
    GetParameters per batch of SSM names, one GetSecretValue per secret. (A
    batch refused for one name is read again name by name, but those calls
    are answered at once: AWS has just said no.)
    """
    refs = {ref for target in targets for ref in target.request.secret_refs}
    names = {ref.name for ref in refs if isinstance(ref, SsmRef)}
    arns = {ref.arn for ref in refs if isinstance(ref, SecretsManagerRef)}
    return math.ceil(len(names) / SSM_BATCH) + len(arns)


def minimum_timeout(slowest_s: float, *, canary: bool, secret_reads: int) -> int:
    """The smallest Lambda timeout (whole seconds) at which the slowest target gets its whole timeout.

    Even when the canary and every secret read take all of theirs: the checks
    start after them and must end ``MAX_WRITE_RESERVE_S`` before the timeout.
    (At that timeout the run's check deadline lands a few milliseconds short of
    the slowest target's: the runner counts such a check as having had its
    whole timeout.)
    """
    before = (CANARY_TIMEOUT_S if canary else 0.0) + secret_reads * SECRET_READ_S
    return math.ceil(before + slowest_s + MAX_WRITE_RESERVE_S)
