"""The whole stack from one config; a function so each test builds it under fresh mocks."""

from __future__ import annotations

from pathlib import Path

import pulumi

from .image import FunctionImage, FunctionImageArgs
from .monitor import Monitor, MonitorArgs
from .settings import SettingsError, StackSettings

__all__ = ["build_stack", "read_settings"]


def read_settings(config: pulumi.Config) -> StackSettings:
    """Read every key once; a bad value stops `pulumi preview` with the key's name."""
    try:
        return StackSettings.from_values(
            targets=config.get_object("targets"),
            schedule=config.get("schedule"),
            memory_size=config.get_int("memorySize"),
            timeout=config.get_int("timeout"),
            log_retention_days=config.get_int("logRetentionDays"),
        )
    except pulumi.ConfigTypeError as exc:
        raise SettingsError(str(exc)) from exc


def build_stack(config: pulumi.Config, root: Path) -> Monitor:
    settings = read_settings(config)
    image = FunctionImage("function", FunctionImageArgs(context=str(root), dockerfile=str(root / "Dockerfile")))
    monitor = Monitor("healthcheck", MonitorArgs(settings=settings, image_uri=image.image_uri))
    pulumi.export("tableName", monitor.table.name)
    pulumi.export("functionName", monitor.function.name)
    pulumi.export("imageUri", image.image_uri)
    pulumi.export("schedule", settings.schedule)
    pulumi.export("scheduleNames", [schedule.name for schedule in monitor.schedules])
    pulumi.export("failureQueueUrl", monitor.failures.url)
    return monitor
