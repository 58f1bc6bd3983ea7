"""A stack's config as the deployed function gets it, for `make run`, `make serve` and `make report`.

The stack file is read as `pulumi preview` and `make check-config` read it
(localdev.pulumi_workspace: yaml.v2's scalars, namespaces, Pulumi.yaml's
defaults, typed keys, encrypted values), so ``start: 12:30`` means the same
here as there. The keys the function reads (targets, alerting, maintenance,
connectivityCheck) are then checked with infra/settings.py's own checks, as
``StackSettings.from_values`` applies them (that module needs no Pulumi SDK,
which `make run` does not install); tests/test_localdev_run.py holds both to
the same messages.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from healthcheck.config import ENV_ALERTING, ENV_CONNECTIVITY_CHECK, ENV_MAINTENANCE, ENV_TARGETS
from healthcheck.maintenance import parse_windows
from healthcheck.policy import parse_policy
from infra.settings import (
    SettingsError,
    check_connectivity,
    check_window_targets,
    checked_json,
    checked_targets,
    unknown_key_warnings,
)
from localdev.pulumi_workspace import (
    PulumiConfigError,
    apply_project_config,
    load_project,
    load_stack_config,
    program_config,
    stack_file,
)

__all__ = ["ROOT", "FunctionConfig", "StackError", "load_stack", "url_config"]

ROOT = Path(__file__).resolve().parent.parent


class StackError(ValueError):
    """The stack's config would stop `pulumi preview`; the message is the one `make check-config` prints."""


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """The targets and settings the function is started with, as the deployed stack would set them."""

    targets: list[object]
    """TARGETS: a stack's validated targets, or a --url as given (the handler judges it)."""
    environ: dict[str, str] = field(default_factory=dict)
    """ALERTING, MAINTENANCE and CONNECTIVITY_CHECK, as infra's StackSettings.environment() sets them."""
    alerting: object = None
    secret_refs: int = 0
    warnings: tuple[str, ...] = ()
    """What preview warns of: keys of the project's namespace that nothing reads (a misspelt one)."""

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
        raise StackError(f"Configuration '{key}' value '{text}' is not a valid 'JSON object'") from exc


def function_config(config: Mapping[str, str], project: str) -> FunctionConfig:
    """The function's settings from the program's config strings, refused as `pulumi preview` refuses them."""
    raw_targets = _object(config, f"{project}:targets")
    alerting = _object(config, f"{project}:alerting")
    maintenance = _object(config, f"{project}:maintenance")
    environ: dict[str, str] = {}
    try:
        targets = checked_targets(raw_targets)
        canary = check_connectivity(config.get(f"{project}:connectivityCheck"))
        if canary is not None:
            environ[ENV_CONNECTIVITY_CHECK] = canary
        for key, name, value, parse in (
            ("alerting", ENV_ALERTING, alerting, parse_policy),
            ("maintenance", ENV_MAINTENANCE, maintenance, parse_windows),
        ):
            text = checked_json(key, value, parse)
            if text is not None:
                environ[name] = text
        check_window_targets(maintenance, {target.name for target in targets})
    except SettingsError as exc:
        raise StackError(str(exc)) from exc
    return FunctionConfig(
        targets=[target.to_json() for target in targets],
        environ=environ,
        alerting=alerting,
        secret_refs=len({ref for target in targets for ref in target.request.secret_refs}),
    )


def load_stack(stack: str, root: Path | None = None) -> FunctionConfig:
    """``Pulumi.<stack>.yaml`` read and checked as `make check-config` does; StackError with its message."""
    root = ROOT if root is None else root
    try:
        project = load_project(root / "Pulumi.yaml")
        path = stack_file(root, project, stack)
        if not path.is_file():
            raise StackError(f"no {path.name} here: STACK= names a stack whose Pulumi.<stack>.yaml is in {path.parent}")
        config, _ = program_config(apply_project_config(stack, project, load_stack_config(project, path)), project.name)
    except PulumiConfigError as exc:
        raise StackError(str(exc).rstrip()) from exc
    checked = function_config(config, project.name)
    return dataclasses.replace(checked, warnings=tuple(unknown_key_warnings(config, namespace=project.name)))
