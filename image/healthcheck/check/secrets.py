"""Secret references resolved at run time: batched, decrypted, cached for a bounded time.

Hand-written rather than Powertools' Parameters utility, although importing
that costs only ~4 ms after boto3 (measured with ``python -X importtime``):
its ``get_parameters_by_name`` reports unreadable names without the reason
(the error must say ``ParameterNotFound`` or ``AccessDeniedException``) and
fails a whole batch of ten on one denied name, and its cache expires on wall
time that a test cannot advance. Here one unreadable reference fails only the
targets that use it, and the clock is injected.

Values live in memory only; errors name a reference, never a value.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..retrying import RETRYABLE_CODES
from .request_spec import SecretRef, SecretsManagerRef, SsmRef
from .targets import Target

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CLIENT_CONFIG", "MAX_AGE_S", "Resolution", "SecretResolver", "resolve_for"]

# A rotated secret is picked up within this long, without a deploy.
MAX_AGE_S: Final = 300.0
SSM_BATCH: Final = 10  # GetParameters' limit
CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 2},
    connect_timeout=2,
    read_timeout=5,
)

ClientFactory = Callable[[], Any]
# (service, parameter name or secret ARN) -> a value, or the reason it could not be read.
_Values = dict[tuple[str, str], str]


class Resolution(NamedTuple):
    """What one resolve found (a NamedTuple: cheaper to build at cold start than a dataclass)."""

    values: Mapping[SecretRef, str]
    errors: Mapping[SecretRef, str]
    """Each unreadable reference's error, e.g. ``secret /x not readable: ParameterNotFound``."""


def _not_readable(ref: SecretRef | str, reason: str) -> str:
    return f"secret {ref} not readable: {reason}"


# Reasons that say nothing about the user's secret: AWS was busy or out of reach.
_TRANSIENT_REASONS: Final = RETRYABLE_CODES | {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "HTTPClientError",
}


def is_transient(error: str) -> bool:
    """Whether an unreadable-secret error is our passing fault (inconclusive), not the user's config.

    ParameterNotFound or AccessDeniedException is the user's to fix, so it counts
    against the target and is alerted on; a throttle or a lost connection is not.
    """
    return error.rsplit(": ", 1)[-1] in _TRANSIENT_REASONS


def _reason(exc: ClientError | BotoCoreError) -> str:
    # The code only: AWS messages may repeat the ARN and our role, and nothing a user needs.
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "") or "unknown error")
    return type(exc).__name__


class SecretResolver:
    """Reads SSM parameters and Secrets Manager secrets; clients are built only when first needed.

    Lives across warm invocations (built once in the handler module), so its
    cache does too; a value older than ``max_age_s`` is read again.
    """

    def __init__(
        self,
        ssm: ClientFactory,
        secretsmanager: ClientFactory,
        *,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factories = {"ssm": ssm, "secretsmanager": secretsmanager}
        self._clients: dict[str, Any] = {}
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self.calls = 0
        """AWS calls made so far (what the cache saves)."""

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factories[service]()
        return self._clients[service]

    def _cached(self, key: tuple[str, str], now: float) -> str | None:
        hit = self._cache.get(key)
        return hit[0] if hit is not None and now - hit[1] < self._max_age_s else None

    def resolve(self, refs: Iterable[SecretRef]) -> Resolution:
        """Every reference's value or error; never raises for AWS failures."""
        wanted = set(refs)
        if not wanted:
            return Resolution({}, {})
        with self._lock:
            now = self._clock()
            raw: _Values = {}
            failed: _Values = {}
            names = sorted({r.name for r in wanted if isinstance(r, SsmRef)})
            arns = sorted({r.arn for r in wanted if isinstance(r, SecretsManagerRef)})
            keys = [("ssm", n) for n in names] + [("secretsmanager", a) for a in arns]
            for key in keys:
                hit = self._cached(key, now)
                if hit is not None:
                    raw[key] = hit
            cached = set(raw)
            self._read_parameters([n for n in names if ("ssm", n) not in raw], raw, failed)
            for arn in arns:
                if ("secretsmanager", arn) not in raw:
                    self._read_secret(arn, raw, failed)
            for key in set(raw) - cached:
                self._cache[key] = (raw[key], now)
            for key in failed:
                # A value that can no longer be read is not used from the cache either.
                self._cache.pop(key, None)
        return self._assemble(wanted, raw, failed)

    def _read_parameters(self, names: Sequence[str], raw: _Values, failed: _Values) -> None:
        for start in range(0, len(names), SSM_BATCH):
            self._read_batch(names[start : start + SSM_BATCH], raw, failed)

    def _read_batch(self, batch: Sequence[str], raw: _Values, failed: _Values) -> None:
        try:
            self.calls += 1
            response = self._client("ssm").get_parameters(Names=list(batch), WithDecryption=True)
        except (ClientError, BotoCoreError) as exc:
            if len(batch) > 1 and isinstance(exc, ClientError):
                # One denied or undecryptable name fails the whole call: find it, so only its targets fail.
                for name in batch:
                    self._read_batch([name], raw, failed)
                return
            for name in batch:
                failed[("ssm", name)] = _reason(exc)
            return
        for parameter in response.get("Parameters", []):
            raw[("ssm", parameter["Name"])] = parameter["Value"]
        for name in batch:
            # Listed in InvalidParameters, or (never seen, but possible) in neither list: not found either way.
            if ("ssm", name) not in raw:
                failed[("ssm", name)] = "ParameterNotFound"

    def _read_secret(self, arn: str, raw: _Values, failed: _Values) -> None:
        try:
            self.calls += 1
            response = self._client("secretsmanager").get_secret_value(SecretId=arn)
        except (ClientError, BotoCoreError) as exc:
            failed[("secretsmanager", arn)] = _reason(exc)
            return
        value = response.get("SecretString")
        if value is None:
            failed[("secretsmanager", arn)] = "the secret is binary; only a SecretString can be sent"
        else:
            raw[("secretsmanager", arn)] = value

    @staticmethod
    def _assemble(wanted: set[SecretRef], raw: _Values, failed: _Values) -> Resolution:
        values: dict[SecretRef, str] = {}
        errors: dict[SecretRef, str] = {}
        for ref in wanted:
            key = ("ssm", ref.name) if isinstance(ref, SsmRef) else ("secretsmanager", ref.arn)
            if key in failed:
                errors[ref] = _not_readable(ref, failed[key])
            elif isinstance(ref, SecretsManagerRef) and ref.key is not None:
                picked = _json_field(raw[key], ref.key)
                if picked is None:
                    errors[ref] = _not_readable(ref.arn, f"no string field {ref.key!r} in its JSON")
                else:
                    values[ref] = picked
            else:
                values[ref] = raw[key]
        return Resolution(values, errors)


def _json_field(text: str, key: str) -> str | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def resolve_for(
    targets: Sequence[Target], resolver: SecretResolver
) -> tuple[list[Target], list[tuple[Target, str]], Mapping[SecretRef, str]]:
    """The targets whose secrets could all be read, each other target with its first error, and the values.

    AWS is called only when some target has a reference: a run without secrets costs nothing.
    """
    refs = [ref for target in targets for ref in target.request.secret_refs]
    if not refs:
        return list(targets), [], {}
    resolution = resolver.resolve(refs)
    ready: list[Target] = []
    failed: list[tuple[Target, str]] = []
    for target in targets:
        error = next((resolution.errors[r] for r in target.request.secret_refs if r in resolution.errors), None)
        if error is None:
            ready.append(target)
        else:
            failed.append((target, error))
    return ready, failed, resolution.values
