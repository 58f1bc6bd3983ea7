"""`make check-config STACK=dev`: a stack's whole config checked as `pulumi preview` would, offline.

In preview's order, and with its messages:

1. ``Pulumi.yaml`` parses, fits our project schema (from Pulumi's docs) and the CLI's rules;
2. ``Pulumi.<stack>.yaml``: keys namespaced (bare keys are the project's),
   required keys present, ``Pulumi.yaml``'s defaults applied, each typed
   value of its declared type;
3. the program's own validation: ``infra.stack.read_settings`` on a real
   ``pulumi.Config`` holding the config exactly as the language host hands it
   over, so a bad target or schedule reads as preview prints it.

A ``healthcheck:`` key the program does not read is refused, as at preview.
Unlike preview, whose CLI half stops at its first mistake, every mistake is
named in one run: a value the CLI refuses is left out, and the program checks
the rest (its messages about a key the CLI already refused are not repeated).
No Pulumi CLI, backend, AWS account or Docker is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.runtime.config import _SECRET_KEYS, CONFIG

ROOT = Path(__file__).resolve().parent.parent
# The summary names this many targets, then counts the rest: a line of 500 names buries the lines below it.
SHOWN_NAMES = 10
if str(ROOT / "image") not in sys.path:
    sys.path.insert(0, str(ROOT / "image"))  # as __main__.py does: infra validates with the function's model

from infra.alarms import alarm_specs  # noqa: E402 - needs the path above
from infra.environment import LAMBDA_ENV_LIMIT_BYTES, function_environment_size  # noqa: E402
from infra.schedules import IN_FLIGHT, chunk_targets, waves  # noqa: E402
from infra.settings import SettingsError, StackSettings  # noqa: E402
from infra.stack import read_settings  # noqa: E402
from localdev.pulumi_workspace import PulumiConfigError, load_project, stack_file  # noqa: E402
from localdev.stack import StackConfig, StackError, load_config  # noqa: E402

__all__ = ["CheckedStack", "StackConfig", "check_program", "check_stack", "load_config", "main"]


@dataclass(frozen=True, slots=True)
class CheckedStack:
    project: str
    stack_file: Path
    settings: StackSettings
    schedules: int
    largest: int
    """Targets in the largest schedule's share."""

    def warnings(self) -> list[str]:
        """What preview warns about once the config is valid: no 'monitor stopped' alarm, neighbouring regions."""
        _, note = alarm_specs(self.settings.schedule, self.schedules)
        return ([] if note is None else [note]) + self.settings.regions.warnings()

    def targets_environment(self) -> str:
        """Whether the function's environment carries TARGETS, as infra/monitor.py decides it at deploy.

        Preview only logs this as info; it decides what a manual invoke without targets does.
        """
        measured = function_environment_size(self.settings.environment(), self.settings.targets_json())
        size = f"{measured} of {LAMBDA_ENV_LIMIT_BYTES} bytes"
        if measured <= LAMBDA_ENV_LIMIT_BYTES:
            return f"in the function's environment ({size}): an invoke with no 'targets' checks them all"
        return (
            f"not in the function's environment (it would take {size}): each schedule's event carries them, "
            """so a manual invoke must pass them: --payload '{"targets": [...]}'"""
        )

    def schedules_line(self) -> str:
        """How the targets are split, and how many turns a run takes if every target of its share hangs."""
        line = f"{self.settings.schedule}, {self.schedules} schedule(s)"
        turns = waves(self.largest)
        if turns > 1:
            line += f" of up to {self.largest} targets: {turns} turns of {IN_FLIGHT} checks if they all hang"
        return line

    def regions_line(self) -> str:
        """Where the checks run from, and how many regions a DOWN takes."""
        plan = self.settings.regions
        if not plan.several:
            return f"the stack's own ({plan.home})" if plan.home else "the stack's own"
        names = ", ".join(f"{region} (home)" if region == plan.home else region for region in plan.regions)
        partial = "paged" if plan.alert_on_partial else "shown, not paged"
        home = "" if plan.home in plan.regions else f"; tables and topic in {plan.home}"
        return f"{names}{home}; DOWN when {plan.quorum} of {plan.count} agree, PARTIAL {partial}"

    def summary(self) -> str:
        settings = self.settings
        shown = [target.name for target in settings.targets[:SHOWN_NAMES]]
        more = len(settings.targets) - len(shown)
        names = ", ".join(shown) + (f", and {more} more" if more else "")
        return "\n".join(
            (
                f"{self.stack_file.name}: OK, as `pulumi preview` would read it for project {self.project}",
                f"  targets:          {len(settings.targets)} ({names})",
                f"  TARGETS:          {self.targets_environment()}",
                f"  schedule:         {self.schedules_line()}",
                f"  regions:          {self.regions_line()}",
                f"  memorySize:       {settings.memory_size} MB",
                f"  timeout:          {settings.timeout} s",
                f"  logRetentionDays: {settings.log_retention_days}",
                f"  logChecks:        {settings.log_checks}",
                f"  retentionDays:    {settings.retention_days}",
                f"  records PITR:     {'on' if settings.point_in_time_recovery else 'off'}",
                (
                    f"  alerts:           {len(settings.alert_emails)} email(s), "
                    f"{len(settings.alert_subscriptions)} other subscription(s)"
                ),
                f"  connectivity:     {settings.connectivity_check or 'none'}",
                f"  perTargetMetrics: {'true' if settings.per_target_metrics else 'false'}",
                f"  maintenance:      {len(json.loads(settings.maintenance or '[]'))} window(s)",
                (
                    f"  secrets:          {len(settings.parameter_names)} SSM parameter(s), "
                    f"{len(settings.secret_arns)} Secrets Manager secret(s)"
                ),
                f"  statusPage:       {settings.status_page}"
                + (
                    f", URLs {'shown' if settings.status_page_show_urls else 'hidden'}, "
                    + (
                        f"at most {settings.status_page_concurrency} view(s) at once"
                        if settings.status_page_concurrency
                        else "views uncapped"
                    )
                    if settings.status_page != "off"
                    else ""
                ),
            )
        )


@contextmanager
def _program_config(config: dict[str, str]) -> Iterator[None]:
    """The config the program sees, as the language host sets it; put back afterwards."""
    saved, saved_secrets = dict(CONFIG.get()), sorted(_SECRET_KEYS.get())
    pulumi.runtime.set_all_config(config, [])
    try:
        yield
    finally:
        pulumi.runtime.set_all_config(saved, saved_secrets)


def check_program(stack: StackConfig) -> CheckedStack:
    """Step 3, the program's: raise SettingsError naming each of its mistakes (a misspelt key first)."""
    with _program_config(stack.config):
        settings = read_settings(pulumi.Config(stack.project))
    chunks = chunk_targets(settings.targets)
    return CheckedStack(stack.project, stack.stack_file, settings, len(chunks), max(map(len, chunks)))


def check_stack(stack: StackConfig) -> CheckedStack:
    """The CLI's half and the program's together: StackError naming every mistake of both, each once."""
    try:
        checked = check_program(stack)
    except SettingsError as exc:
        raise StackError(*stack.with_program_mistakes(exc.messages)) from exc
    if stack.mistakes:
        raise StackError(*stack.mistakes)
    return checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml to check (default: dev)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the folder holding Pulumi.yaml")
    args = parser.parse_args(argv)
    try:
        path = stack_file(args.root, load_project(args.root / "Pulumi.yaml"), args.stack)
        if not path.exists():  # most often a misspelt STACK=
            print(f"warning: {path.name} does not exist: the stack starts with no config of its own", file=sys.stderr)
        stack = load_config(args.root, args.stack)
        for warning in stack.warnings():
            print(f"warning: {warning}", file=sys.stderr)
        checked = check_stack(stack)
    except PulumiConfigError as exc:
        print(f"error: {str(exc).rstrip()}", file=sys.stderr)
        return 1
    except StackError as exc:
        for message in exc.messages:
            print(f"error: {message.rstrip()}", file=sys.stderr)
        return 1
    for warning in checked.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    print(checked.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
