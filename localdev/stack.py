"""A stack's config as the deployed function gets it, for `make run`, `make serve` and `make report`.

The stack file is read as `pulumi preview` and `make check-config` read it
(localdev.pulumi_workspace: yaml.v2's scalars, namespaces, Pulumi.yaml's
defaults, typed keys, encrypted values), so ``start: 12:30`` means the same
here as there. A key the program does not read is refused, as at preview, and
the keys the function reads (targets, alerting, maintenance,
connectivityCheck) are checked with infra/settings.py's own checks, as
``StackSettings.from_values`` applies them (that module needs no Pulumi SDK,
which `make run` does not install); tests/localdev/test_run.py holds both to
the same messages. Every mistake is named at once, as check-config names them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from healthcheck.alerting.maintenance import parse_windows
from healthcheck.alerting.policy import parse_policy
from healthcheck.check.request_spec import SecretRef
from healthcheck.check.targets import Target
from healthcheck.config import ENV_ALERTING, ENV_CONNECTIVITY_CHECK, ENV_LOG_CHECKS, ENV_MAINTENANCE, ENV_TARGETS
from infra.settings import (
    Mistakes,
    SettingsError,
    check_connectivity,
    check_log_checks,
    check_window_targets,
    checked_json,
    checked_targets,
    region_plan,
    unknown_key_errors,
)
from localdev.pulumi_workspace import (
    PulumiConfigError,
    StackConfigError,
    apply_project_config,
    load_project,
    load_stack_config,
    program_config,
    stack_file,
)

__all__ = ["ROOT", "FunctionConfig", "StackConfig", "StackError", "load_config", "load_stack", "url_config"]

ROOT = Path(__file__).resolve().parent.parent


class StackError(ValueError):
    """The stack's config would stop `pulumi preview`: one message per mistake, those `make check-config` prints."""

    def __init__(self, message: str, *more: str) -> None:
        super().__init__("\n".join((message, *more)))
        self.messages: tuple[str, ...] = (message, *more)


@dataclass(frozen=True, slots=True)
class StackConfig:
    """What preview's CLI half hands the program: the project's name and one string per key."""

    project: str
    stack_file: Path
    config: dict[str, str]
    unchecked: tuple[str, ...] = ()
    """Encrypted keys of other namespaces, left out: the program never reads them."""
    mistakes: tuple[str, ...] = ()
    """What the CLI half refused; preview would stop at the first."""
    refused: frozenset[str] = frozenset()
    """The keys those mistakes left out of ``config`` (the program gets Pulumi.yaml's default or nothing)."""

    def warnings(self) -> list[str]:
        return [f"{key} is encrypted and not checked offline" for key in self.unchecked]

    def with_program_mistakes(self, messages: Iterable[str]) -> list[str]:
        """The CLI's mistakes, then the program's, less those about a key the CLI already refused.

        Each program message starts with the key it names (``healthcheck:targets must be...``).
        """
        starts = tuple(f"{key}{mark}" for key in self.refused for mark in (" ", ":", "["))
        return [*self.mistakes, *(message for message in messages if not message.startswith(starts))]


def load_config(root: Path, stack: str) -> StackConfig:
    """The CLI's half of preview: a project file or stack YAML it cannot read raises PulumiConfigError.

    A value the CLI refuses is noted in ``mistakes`` and its key left out,
    so that the program can still check the others.
    """
    project = load_project(root / "Pulumi.yaml")
    path = stack_file(root, project, stack)
    given = load_stack_config(project, path)
    errors: list[StackConfigError] = []
    merged = apply_project_config(stack, project, given, errors)
    try:
        config, unchecked = program_config(merged, project.name)
    except StackConfigError as exc:  # an encrypted value of ours: nothing offline can read it
        errors.append(exc)
        merged = {key: value for key, value in merged.items() if not value.secure or not _in(project.name, key)}
        config, unchecked = program_config(merged, project.name)
    declared = {key if ":" in key else f"{project.name}:{key}" for key in project.config}
    refused = frozenset((declared | set(given)) - set(merged))
    return StackConfig(project.name, path, config, tuple(unchecked), tuple(map(str, errors)), refused)


def _in(namespace: str, key: str) -> bool:
    return key.split(":", 1)[0] == namespace


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """The targets and settings the function is started with, as the deployed stack would set them."""

    targets: list[object]
    """TARGETS: a stack's validated targets, or a --url as given (the handler judges it)."""
    environ: dict[str, str] = field(default_factory=dict)
    """ALERTING, MAINTENANCE, CONNECTIVITY_CHECK and LOG_CHECKS, as infra's StackSettings.environment() sets them."""
    alerting: object = None
    secret_refs: tuple[SecretRef, ...] = ()
    """Every secret the targets reference, once each."""

    def environment(self) -> dict[str, str]:
        """Every variable the function gets from the stack, TARGETS included."""
        return {**self.environ, ENV_TARGETS: json.dumps(self.targets)}

    def report_config(self) -> dict[str, object]:
        """The config values healthcheck.report's stack_info reads (keys without the namespace)."""
        config: dict[str, object] = {"targets": self.targets}
        if self.alerting is not None:
            config["alerting"] = self.alerting
        return config


def url_config(url: str) -> FunctionConfig:
    """One URL, passed as given: an invalid one is recorded as such, as in an invoked event."""
    return FunctionConfig(targets=[{"url": url}])


def _object(config: Mapping[str, str], key: str) -> object:
    """pulumi.Config.get_object: the value's JSON, with the SDK's message when it is not JSON."""
    text = config.get(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SettingsError(f"Configuration '{key}' value '{text}' is not a valid 'JSON object'") from exc


def _targets(config: Mapping[str, str], key: str) -> tuple[Target, ...]:
    return checked_targets(_object(config, key))


def function_config(config: Mapping[str, str], project: str) -> FunctionConfig:
    """The function's settings from the program's config strings: SettingsError naming each mistake preview would."""
    mistakes = Mistakes(unknown_key_errors(config, namespace=project))
    targets = mistakes.value((), _targets, config, f"{project}:targets")
    environ: dict[str, str] = {}
    canary = mistakes.value(None, check_connectivity, config.get(f"{project}:connectivityCheck"))
    if canary is not None:
        environ[ENV_CONNECTIVITY_CHECK] = canary
    environ[ENV_LOG_CHECKS] = mistakes.value("failures", check_log_checks, config.get(f"{project}:logChecks"))
    alerting = mistakes.value(None, _object, config, f"{project}:alerting")
    maintenance = mistakes.value(None, _object, config, f"{project}:maintenance")
    for key, name, value, parse in (
        ("alerting", ENV_ALERTING, alerting, parse_policy),
        ("maintenance", ENV_MAINTENANCE, maintenance, parse_windows),
    ):
        text = mistakes.value(None, checked_json, key, value, parse)
        if text is not None:
            environ[name] = text
    if ENV_MAINTENANCE in environ and targets:  # windows and targets both valid: each window's targets exist
        mistakes.run(check_window_targets, maintenance, {target.name for target in targets})
    # Refused here as at preview; the local run itself checks from the regions `make run REGIONS=` names.
    quorum = config.get(f"{project}:quorum")  # the CLI's half already held it to an integer
    mistakes.run(
        region_plan,
        config.get("aws:region"),
        mistakes.value(None, _object, config, f"{project}:regions"),
        int(quorum) if quorum is not None else None,
        None,
    )
    mistakes.raise_any()
    return FunctionConfig(
        targets=[target.to_json() for target in targets],
        environ=environ,
        alerting=alerting,
        secret_refs=tuple(sorted({ref for target in targets for ref in target.request.secret_refs}, key=str)),
    )


def load_stack(stack: str, root: Path | None = None) -> FunctionConfig:
    """``Pulumi.<stack>.yaml`` read and checked as `make check-config` does; StackError naming every mistake."""
    root = ROOT if root is None else root
    try:
        path = stack_file(root, load_project(root / "Pulumi.yaml"), stack)
        if not path.is_file():
            raise StackError(f"no {path.name} here: STACK= names a stack whose Pulumi.<stack>.yaml is in {path.parent}")
        read = load_config(root, stack)
    except PulumiConfigError as exc:
        raise StackError(str(exc).rstrip()) from exc
    try:
        checked = function_config(read.config, read.project)
    except SettingsError as exc:
        raise StackError(*read.with_program_mistakes(exc.messages)) from exc
    if read.mistakes:
        raise StackError(*read.mistakes)
    return checked
