"""The stack's configuration, validated once so a bad value fails `pulumi preview`.

Targets go through the function's own model (``healthcheck.check.targets``): the
error a user sees at preview is the one the function would have logged.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

try:
    from pulumi import RunError as _PreviewError
except ModuleNotFoundError:  # `make run` and `make serve` apply these checks without the Pulumi SDK

    class _PreviewError(Exception):  # type: ignore[no-redef]
        """Stands in for ``pulumi.RunError`` where the SDK is not installed."""


from healthcheck import budget
from healthcheck.alerting.maintenance import MaintenanceWindowError, parse_windows
from healthcheck.alerting.policy import PolicyValueError, parse_policy
from healthcheck.check.request_spec import SecretRef, SecretsManagerRef, SsmRef, is_credential_header, split_userinfo
from healthcheck.check.runner import cut_short_allowance_s, late_start_s
from healthcheck.check.targets import Target, check_config_url, parse_targets, redact_url, require_valid
from healthcheck.config import ENV_ALERTING, ENV_LOG_CHECKS, ENV_MAINTENANCE, LOG_CHECKS_MODES
from healthcheck.exceptions import HealthcheckError
from healthcheck.text import show

from . import schedules
from .environment import (
    ENV_CONNECTIVITY_CHECK,
    ENV_PER_TARGET_METRICS,
    ENV_RETENTION_DAYS,
    LAMBDA_ENV_LIMIT_BYTES,
    status_environment_size,
)
from .regions import RegionPlan, quorum_mistakes, region_mistakes
from .schedules import chunk_targets, waves
from .subscriptions import Subscription, SubscriptionError, check_emails, check_subscriptions

__all__ = [
    "CONFIG_KEYS",
    "LOG_RETENTION_DAYS",
    "Mistakes",
    "SettingsError",
    "StackSettings",
    "check_connectivity",
    "check_log_checks",
    "check_schedule",
    "check_window_targets",
    "checked_json",
    "checked_targets",
    "region_plan",
    "unknown_key_errors",
]

# Every key the program reads, in the project's namespace (``healthcheck:<key>``).
CONFIG_KEYS = (
    "targets",
    "schedule",
    "memorySize",
    "timeout",
    "logRetentionDays",
    "retentionDays",
    "alertEmails",
    "alertSubscriptions",
    "connectivityCheck",
    "perTargetMetrics",
    "alerting",
    "maintenance",
    "secretsKmsKeyArn",
    "statusPage",
    "statusPageShowUrls",
    "statusPageConcurrency",
    "logChecks",
    "pointInTimeRecovery",
    "regions",
    "quorum",
    "alertOnPartial",
)
# Who may open the status page's Function URL: anyone, IAM-signed callers, or no page at all.
STATUS_PAGE_MODES = ("public", "iam", "off")
# Lambda's default account limit: no reservation can exceed it (and each must leave 100 unreserved).
MAX_STATUS_PAGE_CONCURRENCY = 1000
# How long check records are kept (DynamoDB TTL on ExpiresAt): a day to a century.
MAX_RETENTION_DAYS = 36_500

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# EventBridge Scheduler's schedule expressions, as its user guide gives them
# ("Schedule types in EventBridge Scheduler", rate-based and cron-based:
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
# rate(value unit), value a positive whole number, unit minute|minutes|hour|
# hours|day|days, singular exactly when the value is 1 (rate(1 hours) and
# rate(5 hour) are invalid, as EventBridge's rate reference says); cron(fields)
# with six fields separated by white space.
_RATE = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
_CRON_SYNTAX = "cron(minutes hours day-of-month month day-of-week year)"
# alerting and maintenance travel in the function's environment (4 KB in all).
MAX_JSON_SETTING = 1024
# A key's ARN, not an alias's: IAM matches kms:Decrypt against the key itself.
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")


class SettingsError(HealthcheckError, _PreviewError, ValueError):
    """Stack config values that cannot be deployed: one message per mistake, each naming its key.

    A ``pulumi.RunError``, so `pulumi preview` prints the message alone rather
    than the program's traceback: one line per mistake, all of them at once.
    """

    def __init__(self, message: str, *more: str) -> None:
        super().__init__("\n".join((message, *more)))
        self.messages: tuple[str, ...] = (message, *more)


_T = TypeVar("_T")
_P = ParamSpec("_P")


class Mistakes:
    """Every mistake in a config, so that one run of preview or check-config names them all.

    A check that fails gives a fallback value instead, so the checks after it
    still run; the settings built from fallbacks are never returned.
    """

    def __init__(self, messages: Iterable[str] = ()) -> None:
        self.messages: list[str] = list(messages)

    def raise_any(self) -> None:
        """Raise one SettingsError naming every mistake noted, if there is one."""
        if self.messages:
            raise SettingsError(*self.messages)

    def value(self, fallback: _T, check: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``check(...)``'s value, or ``fallback`` once its SettingsError is noted."""
        try:
            return check(*args, **kwargs)
        except SettingsError as exc:
            self.messages.extend(exc.messages)
            return fallback

    def run(self, check: Callable[_P, object], /, *args: _P.args, **kwargs: _P.kwargs) -> None:
        """``check(...)``, its SettingsError noted."""
        self.value(None, check, *args, **kwargs)


_S = TypeVar("_S")


def _naming_every_mistake(
    build: Callable[Concatenate[type[_S], Mistakes, _P], _S],
) -> Callable[Concatenate[type[_S], _P], _S]:
    """``build`` with a fresh collector: it raises the mistakes it noted, and any it raised itself after them."""

    @functools.wraps(build)
    def checked(cls: type[_S], /, *args: _P.args, **kwargs: _P.kwargs) -> _S:
        mistakes = Mistakes()
        try:
            built = build(cls, mistakes, *args, **kwargs)
        except SettingsError as exc:
            raise SettingsError(*mistakes.messages, *exc.messages) from exc
        mistakes.raise_any()
        return built

    return checked


@dataclass(frozen=True, slots=True)
class _CronField:
    """One cron field: its values, the wildcards Scheduler allows in it, and its names (JAN, SUN...)."""

    name: str
    low: int
    high: int
    wildcards: str
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        names = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.low}-{self.high}{names}, with {self.wildcards}"

    def value(self, token: str) -> bool:
        if token.isascii() and token.isdigit():
            return self.low <= int(token) <= self.high
        return token.upper() in self.names

    def item(self, item: str) -> bool:
        """One comma-separated part: *, a value, a range, either with /step, or L, W and # forms."""
        if "L" in self.wildcards and item == "L":  # the last day of the month, or of the week
            return True
        if "W" in self.wildcards:  # LW: the last weekday; 15W: the weekday nearest the 15th
            weekday = re.fullmatch(r"L|(?P<day>[0-9]+)", item[:-1]) if item.endswith("W") else None
            if weekday is not None:
                return weekday["day"] is None or self.value(weekday["day"])
        if "#" in self.wildcards and "#" in item:  # 3#2: the second Tuesday
            day, _, nth = item.partition("#")
            return self.value(day) and nth in ("1", "2", "3", "4", "5")
        if "L" in self.wildcards and item.endswith("L") and self.names:  # 6L: the last Friday
            return self.value(item[:-1])
        base, slash, step = item.partition("/")
        if slash and ("/" not in self.wildcards or not (step.isascii() and step.isdigit())):
            return False
        if slash and not 1 <= int(step) <= self.high - self.low + 1:
            return False
        if base == "*":
            return True
        start, dash, end = base.partition("-")
        return self.value(start) and (not dash or self.value(end))

    def accepts(self, text: str) -> bool:
        if text == "?":
            return "?" in self.wildcards
        return all(self.item(item) for item in text.split(","))


_CRON_FIELDS = (
    _CronField("minutes", 0, 59, ", - * /"),
    _CronField("hours", 0, 23, ", - * /"),
    _CronField("day-of-month", 1, 31, ", - * ? / L W"),
    _CronField(
        "month",
        1,
        12,
        ", - * /",
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    _CronField("day-of-week", 1, 7, ", - * ? L #", ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
    _CronField("year", 1970, 2199, ", - * /"),
)


def _check_cron(expression: str, fields: list[str]) -> None:
    """Each field as Scheduler's cron table allows it, and exactly one day field left to '?'."""
    where = f"healthcheck:schedule {expression!r}"
    if len(fields) != len(_CRON_FIELDS):
        raise SettingsError(f"{where} has {len(fields)} fields; write {_CRON_SYNTAX}")
    for field, text in zip(_CRON_FIELDS, fields, strict=True):
        if not field.accepts(text):
            raise SettingsError(f"{where}: {field.name} {text!r} must be {field.describe()}")
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise SettingsError(
            f"{where}: exactly one of day-of-month ({day_of_month}) and day-of-week ({day_of_week}) must be '?'"
        )


def check_schedule(expression: str) -> str:
    """A Scheduler rate or cron expression, or a SettingsError saying what is wrong with it."""
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if (value == 1) != (not unit.endswith("s")):
            raise SettingsError(f"healthcheck:schedule {expression!r}: write 'rate(1 minute)' or 'rate(5 minutes)'")
        return expression
    cron = _CRON.match(expression)
    if cron:
        _check_cron(expression, cron["fields"].split())
        return expression
    raise SettingsError(f"healthcheck:schedule {expression!r} must be 'rate(N minutes|hours|days)' or '{_CRON_SYNTAX}'")


def unknown_key_errors(keys: Iterable[str], namespace: str = "healthcheck") -> list[str]:
    """One error per key in the project's namespace that the program does not read.

    The CLI passes any ``healthcheck:<key>`` through, so a misspelt
    ``healthcheck:alertEmail`` would deploy a stack that alerts nobody:
    refused, naming the key it most likely means.
    """
    by_lower = {key.lower(): key for key in CONFIG_KEYS}
    errors = []
    for key in sorted(keys):
        prefix, _, name = key.partition(":")
        if prefix != namespace or name in CONFIG_KEYS:
            continue
        close = difflib.get_close_matches(name.lower(), by_lower, n=1)
        hint = f"did you mean '{by_lower[close[0]]}'?" if close else f"the settings are {', '.join(CONFIG_KEYS)}"
        errors.append(f"{key} is not a setting of this project; {hint}")
    return errors


def _check_range(key: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"healthcheck:{key} must be a whole number from {low} to {high}, got {value!r}")
    return value


# The targets' messages name their field; here the key is the field.
_URL_FIELD = "'url' "


def checked_targets(raw: object) -> tuple[Target, ...]:
    """The targets by the function's own model, and at least one."""
    try:
        checked = require_valid(raw, source="healthcheck:targets")
    except HealthcheckError as exc:
        raise SettingsError(str(exc)) from exc
    if not checked:
        raise SettingsError("healthcheck:targets is empty: give at least one {url: ...}")
    return tuple(checked)


def check_connectivity(url: str | None) -> str | None:
    """A URL by the targets' own rules; empty (Pulumi.yaml's default) means no canary."""
    if url is None or url == "":
        return None
    try:
        return check_config_url(url)
    except HealthcheckError as exc:
        raise SettingsError(f"healthcheck:connectivityCheck {str(exc).removeprefix(_URL_FIELD)}") from exc


def checked_json(key: str, value: object, parse: Callable[[object], object]) -> str | None:
    """``value`` as the function will read it, refused at preview with the key's name if the function would."""
    if value is None:
        return None
    try:
        parse(value)
    except (PolicyValueError, MaintenanceWindowError) as exc:
        raise SettingsError(f"healthcheck:{key}: {exc}") from exc
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_JSON_SETTING:
        # It travels in the function's environment, whose 4 KB it shares with the targets.
        raise SettingsError(f"healthcheck:{key} is {len(text)} characters as JSON; at most {MAX_JSON_SETTING} fit")
    return text


def _refuse_plain_credentials(target: Target) -> None:
    """A credential written into the config would land in the schedule input, the environment and Pulumi state.

    The function accepts them (a manual invoke may carry them); a deployed stack
    carries references only, so the secret is read at run time.
    """
    where = f"healthcheck:targets: {target.name}"
    if split_userinfo(target.url)[0] != target.url:
        # Any user information: a password, or a token as the user name (https://<token>@host/).
        raise SettingsError(
            f"{where}: the URL's user information (a credential) would be stored in the schedule input and "
            "Pulumi state. Store 'Basic <base64 of user:password>' (of '<token>:' for a token alone) as an SSM "
            'SecureString and send it as "headers": {"Authorization": {"ssm": "<parameter name>"}}, with no '
            "user name or password in the URL"
        )
    for name, value in target.request.headers:
        if isinstance(value, str) and is_credential_header(name):
            raise SettingsError(
                f"{where}: header {name!r} holds a credential in plain text, which would be stored in the "
                f'schedule input and Pulumi state: reference it instead, {{"ssm": "<parameter name>"}} or '
                '{"secretsManager": "<secret ARN>"}'
            )


def _refuse_url_names(targets: Iterable[Target]) -> None:
    """A page that hides URLs still shows names: a target named by its URL would publish it."""
    for target in targets:
        if target.name == redact_url(target.url):
            raise SettingsError(
                f"healthcheck:targets: {show(target.name)} has no name of its own, so the status page would "
                "show its URL, which statusPageShowUrls is false to hide: give it a 'name' "
                "(or set statusPageShowUrls to true)"
            )


def _check_status_environment(settings: StackSettings) -> None:
    """The status function learns its targets from its environment: refuse a list Lambda would refuse at deploy."""
    size = status_environment_size(settings.status_targets_json(), settings.status_page_show_urls)
    if size > LAMBDA_ENV_LIMIT_BYTES:
        # As Lambda counts it: the list is a JSON string inside the variables' JSON, its quotes escaped.
        rest = status_environment_size("", settings.status_page_show_urls)
        shrink = "" if not settings.status_page_show_urls else ", or set statusPageShowUrls to false (names only)"
        raise SettingsError(
            f"healthcheck:statusPage: the page's list of {len(settings.targets)} targets takes {size - rest} "
            f"bytes, and Lambda's 4 KB environment leaves it {LAMBDA_ENV_LIMIT_BYTES - rest}: "
            f"shorten the targets' names{shrink}"
        )


def check_window_targets(maintenance: object, names: set[str]) -> None:
    """A window naming no configured target would silently cover nothing, and alerts would go out during it."""
    if maintenance is None:
        return
    for index, window in enumerate(parse_windows(maintenance).windows):
        unknown = sorted((window.targets or frozenset()) - names)
        if unknown:
            hints = [difflib.get_close_matches(name, sorted(names), n=1) for name in unknown]
            hint = "; ".join(f"did you mean {show(h[0])}?" for h in hints if h)
            raise SettingsError(
                f"healthcheck:maintenance[{index}]: 'targets' names {', '.join(map(show, unknown))}, "
                f"which no target is called{': ' + hint if hint else ''}"
            )


def _check_timeout(timeout: int, targets: tuple[Target, ...], *, canary: bool) -> None:
    """Refuse a timeout at which a run could cut a target short, so a hung one would be inconclusive, never DOWN.

    Each schedule's run checks its own share of the targets and reads only their secrets. It
    keeps ``IN_FLIGHT`` checks going at once, so if every one of its targets hangs they take
    ``waves`` turns, each as long as the slowest target's timeout at most: the hanging-target
    arithmetic, targets per schedule <= in flight x (time for the checks / slowest timeout).
    """
    needed, slowest, reads, turns, count, late = 0, 0.0, 0, 1, 0, 0.0
    for chunk in chunk_targets(targets):
        chunk_slowest, chunk_reads = max(target.timeout for target in chunk), budget.secret_reads(chunk)
        chunk_turns = waves(len(chunk))
        # HTTPS checks connect a few at a time (check/pacing.py): the last may start late, by more than it may lose.
        allowance = min(cut_short_allowance_s(target.timeout) for target in chunk)
        chunk_late = max(0.0, late_start_s(chunk) - allowance)
        # Every turn but the last may end only when a name lookup gives up (budget.LOOKUP_BOUND_S).
        turn = max(chunk_slowest, budget.LOOKUP_BOUND_S)
        chunk_needed = budget.minimum_timeout(
            (chunk_turns - 1) * turn + chunk_slowest + chunk_late, canary=canary, secret_reads=chunk_reads
        )
        if chunk_needed > needed:
            needed, slowest, reads, turns, count = chunk_needed, chunk_slowest, chunk_reads, chunk_turns, len(chunk)
            late = chunk_late
    if timeout >= needed:
        return
    spent = [f"{budget.CANARY_TIMEOUT_S:g} s for the connectivity check"] if canary else []
    if reads:
        spent.append(f"{reads} secret read(s) at {budget.SECRET_READ_S:g} s each")
    spent.append(f"{budget.MAX_WRITE_RESERVE_S:g} s to write records")
    too_long = f" (Lambda allows 900: shorten the targets' timeouts{' or use fewer secrets' if reads else ''})"
    checks = f"the slowest target ({slowest:g} s)"
    if turns > 1:
        checks = (
            f"{turns} turns of the slowest target's timeout ({slowest:g} s: {count} targets in one schedule's run, "
            f"{schedules.IN_FLIGHT} checked at once, may all hang)"
        )
        if slowest < budget.LOOKUP_BOUND_S:
            checks += f", each turn but the last at least the {budget.LOOKUP_BOUND_S:g} s a name lookup may take,"
    if late > 0:
        checks += f" and {late:.2f} s for their TLS handshakes to take turns,"
    raise SettingsError(
        f"healthcheck:timeout {timeout} s leaves no room for {checks} plus "
        f"{', '.join(spent[:-1])}{' and ' if len(spent) > 1 else ''}{spent[-1]}: "
        f"raise it to at least {needed}{too_long if needed > 900 else ''}"
    )


def _recipients(check: Callable[[object], tuple[Subscription, ...]], raw: object) -> tuple[Subscription, ...]:
    try:
        return check(raw)
    except SubscriptionError as exc:
        raise SettingsError(*exc.messages) from exc
    except HealthcheckError as exc:
        raise SettingsError(str(exc)) from exc


def _check_log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise SettingsError(
            f"healthcheck:logRetentionDays must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}, got {days!r}"
        )
    return days


def check_log_checks(mode: str | None) -> str:
    """``logChecks``: which checks get a log line (Pulumi.yaml's default, failures, when unset)."""
    if mode is None:
        return LOG_CHECKS_MODES[0]
    if mode not in LOG_CHECKS_MODES:
        raise SettingsError(f"healthcheck:logChecks must be one of {', '.join(LOG_CHECKS_MODES)}, got {mode!r}")
    return mode


def _check_kms_key_arn(arn: str | None) -> str | None:
    if arn is not None and not _KMS_KEY_ARN.match(arn):
        raise SettingsError(
            "healthcheck:secretsKmsKeyArn must be a KMS key's ARN "
            f"(arn:aws:kms:<region>:<account>:key/<id>), not an alias, got {arn!r}"
        )
    return arn


def _status_page_mode(mode: str | None) -> str:
    if mode is None or mode == "false":  # an unquoted `off` in a stack file is YAML's false, and means just that
        return "off"
    if mode not in STATUS_PAGE_MODES:
        quoted = " (unquoted on, yes or true are YAML's true: write public or iam)" if mode == "true" else ""
        raise SettingsError(
            f"healthcheck:statusPage must be one of {', '.join(STATUS_PAGE_MODES)}, got {mode!r}{quoted}"
        )
    return mode


def _checked_maintenance(maintenance: object, names: set[str] | None) -> str | None:
    """MAINTENANCE; and with the targets' ``names`` (None while the targets are a mistake), each window's targets."""
    text = checked_json("maintenance", maintenance, parse_windows)
    if names is not None:
        check_window_targets(maintenance, names)
    return text


def region_plan(home: str | None, regions: object, quorum: object, alert_on_partial: bool | None) -> RegionPlan:
    """The regions and the quorum; the quorum is held to the regions' number only once they are right."""
    wrong = region_mistakes(regions, home)
    count = len(regions) if isinstance(regions, list) and regions else 1
    wrong += [] if wrong else quorum_mistakes(quorum, count)
    if wrong:
        raise SettingsError(*wrong)
    return RegionPlan.from_values(home, regions, quorum, alert_on_partial)


@dataclass(frozen=True, slots=True)
class StackSettings:
    targets: tuple[Target, ...]
    schedule: str = "rate(5 minutes)"
    memory_size: int = 512
    timeout: int = 120
    log_retention_days: int = 30
    retention_days: int = 90
    alert_emails: tuple[Subscription, ...] = ()
    alert_subscriptions: tuple[Subscription, ...] = ()
    connectivity_check: str | None = None
    per_target_metrics: bool = False
    alerting: str | None = None
    """The ALERTING variable (compact JSON), checked by the function's own parser; None: the defaults."""
    maintenance: str | None = None
    """The MAINTENANCE variable (compact JSON), checked by the function's own parser; None: no windows."""
    secrets_kms_key_arn: str | None = None
    """A customer-managed key the referenced SecureStrings/secrets are encrypted with (kms:Decrypt is granted)."""
    status_page: str = "off"
    """public (Function URL, auth NONE), iam (AWS_IAM) or off (no status function)."""
    status_page_show_urls: bool = False
    status_page_concurrency: int = 0
    """The status function's reserved concurrency: at most this many views at once; 0: no cap, none reserved."""
    log_checks: str = "failures"
    """LOG_CHECKS: a log line for each check that did not pass (failures), or for every check (all)."""
    point_in_time_recovery: bool = True
    """The records table's point-in-time recovery (the state table always has it; the rollups have none)."""
    regions: RegionPlan = RegionPlan()  # noqa: RUF009 - frozen: one shared default is safe
    """The regions that check, the home region (the stack's) and the quorum; by default the home alone."""

    @property
    def parameter_names(self) -> list[str]:
        """Every SSM parameter a target references, once each."""
        return sorted({ref.name for ref in self._refs() if isinstance(ref, SsmRef)})

    @property
    def secret_arns(self) -> list[str]:
        """Every Secrets Manager secret a target references, once each."""
        return sorted({ref.arn for ref in self._refs() if isinstance(ref, SecretsManagerRef)})

    def _refs(self) -> list[SecretRef]:
        return [ref for target in self.targets for ref in target.request.secret_refs]

    @classmethod
    @_naming_every_mistake
    def from_values(
        cls,
        mistakes: Mistakes,
        *,
        targets: object,
        schedule: str | None = None,
        memory_size: int | None = None,
        timeout: int | None = None,
        log_retention_days: int | None = None,
        retention_days: int | None = None,
        alert_emails: object = None,
        alert_subscriptions: object = None,
        connectivity_check: str | None = None,
        per_target_metrics: bool | None = None,
        alerting: object = None,
        maintenance: object = None,
        secrets_kms_key_arn: str | None = None,
        status_page: str | None = None,
        status_page_show_urls: bool | None = None,
        status_page_concurrency: int | None = None,
        log_checks: str | None = None,
        point_in_time_recovery: bool | None = None,
        home_region: str | None = None,
        regions: object = None,
        quorum: object = None,
        alert_on_partial: bool | None = None,
    ) -> StackSettings:
        """Validate raw config values (None means the default); the SettingsError names every mistake at once.

        A check that needs another value (a window's targets, the timeout's
        minimum) is skipped while that value is itself a mistake, so each
        mistake is named once.
        """
        defaults = cls(targets=())
        checked = mistakes.value((), checked_targets, targets)
        # The valid ones are checked for credentials even while others are wrong: every mistake at once.
        valid = checked or (parse_targets(targets).valid if isinstance(targets, list) else ())
        for target in valid:
            mistakes.run(_refuse_plain_credentials, target)
        # `is None`, never `or`: 0 is a value (and a wrong one), not a request for the default.
        chosen_timeout = mistakes.value(
            None, _check_range, "timeout", timeout if timeout is not None else defaults.timeout, 1, 900
        )
        settings = cls(
            targets=checked,
            schedule=mistakes.value(
                defaults.schedule, check_schedule, schedule if schedule is not None else defaults.schedule
            ),
            memory_size=mistakes.value(
                defaults.memory_size,
                _check_range,
                "memorySize",
                memory_size if memory_size is not None else defaults.memory_size,
                128,
                10240,
            ),
            timeout=chosen_timeout if chosen_timeout is not None else defaults.timeout,
            log_retention_days=mistakes.value(
                defaults.log_retention_days,
                _check_log_retention,
                log_retention_days if log_retention_days is not None else defaults.log_retention_days,
            ),
            retention_days=mistakes.value(
                defaults.retention_days,
                _check_range,
                "retentionDays",
                retention_days if retention_days is not None else defaults.retention_days,
                1,
                MAX_RETENTION_DAYS,
            ),
            connectivity_check=mistakes.value(None, check_connectivity, connectivity_check),
            per_target_metrics=per_target_metrics if per_target_metrics is not None else defaults.per_target_metrics,
            alert_emails=mistakes.value((), _recipients, check_emails, alert_emails),
            alert_subscriptions=mistakes.value((), _recipients, check_subscriptions, alert_subscriptions),
            alerting=mistakes.value(None, checked_json, "alerting", alerting, parse_policy),
            maintenance=mistakes.value(
                None, _checked_maintenance, maintenance, {target.name for target in checked} if checked else None
            ),
            secrets_kms_key_arn=mistakes.value(None, _check_kms_key_arn, secrets_kms_key_arn),
            status_page=mistakes.value("off", _status_page_mode, status_page),
            status_page_show_urls=bool(status_page_show_urls),
            status_page_concurrency=mistakes.value(
                defaults.status_page_concurrency,
                _check_range,
                "statusPageConcurrency",
                status_page_concurrency if status_page_concurrency is not None else defaults.status_page_concurrency,
                0,
                MAX_STATUS_PAGE_CONCURRENCY,
            ),
            log_checks=mistakes.value(defaults.log_checks, check_log_checks, log_checks),
            point_in_time_recovery=(
                point_in_time_recovery if point_in_time_recovery is not None else defaults.point_in_time_recovery
            ),
            regions=mistakes.value(RegionPlan(), region_plan, home_region, regions, quorum, alert_on_partial),
        )
        if settings.status_page != "off":
            if not settings.status_page_show_urls:
                mistakes.run(_refuse_url_names, checked)
            mistakes.run(_check_status_environment, settings)
        if not checked or chosen_timeout is None:
            return settings  # no minimum to hold the timeout to: the mistakes noted are raised instead
        _check_timeout(settings.timeout, settings.targets, canary=settings.connectivity_check is not None)
        return settings

    def targets_json(self) -> str:
        """TARGETS for the environment: the targets as compact JSON."""
        return json.dumps([t.to_json() for t in self.targets], separators=(",", ":"))

    def status_targets_json(self) -> str:
        """TARGETS for the status page: what it shows, names (and URLs, when shown) only."""
        if not self.status_page_show_urls:
            return json.dumps([t.name for t in self.targets], separators=(",", ":"), ensure_ascii=False)
        return json.dumps([{"name": t.name, "url": t.url} for t in self.targets], separators=(",", ":"))

    def environment(self) -> dict[str, str]:
        """The function's variables that come from config alone (the rest name resources)."""
        variables = {
            ENV_RETENTION_DAYS: str(self.retention_days),
            ENV_PER_TARGET_METRICS: "true" if self.per_target_metrics else "false",
            ENV_LOG_CHECKS: self.log_checks,
        }
        if self.connectivity_check is not None:
            variables[ENV_CONNECTIVITY_CHECK] = self.connectivity_check
        if self.alerting is not None:
            variables[ENV_ALERTING] = self.alerting
        if self.maintenance is not None:
            variables[ENV_MAINTENANCE] = self.maintenance
        variables.update(self.regions.environment())
        return variables
