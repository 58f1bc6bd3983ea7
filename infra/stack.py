"""The whole stack from one config; a function so each test builds it under fresh mocks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from healthcheck.config import ENV_DEFAULT_REGION, ENV_REGION

from .image import FunctionImage, FunctionImageArgs
from .monitor import Monitor, MonitorArgs
from .settings import SettingsError, StackSettings, unknown_key_errors

__all__ = ["build_stack", "configured_keys", "home_region", "read_settings"]


def configured_keys() -> set[str]:
    """Every config key the program was given, in any namespace.

    The Python SDK has no public call for this: the language host passes the
    stack's config as ``PULUMI_CONFIG`` and loads it with
    ``pulumi.runtime.set_all_config``, which fills the ``CONFIG`` map.
    """
    return set(CONFIG.get()) | set(get_config_env())


def home_region(environ: Mapping[str, str] = os.environ) -> str | None:
    """The stack's own region, as the AWS provider finds it: ``aws:region``, else the shell's AWS_REGION.

    The tables, the alert topic and the status page are there; None when nothing names it.
    """
    configured = pulumi.Config("aws").get("region")
    return configured or environ.get(ENV_REGION) or environ.get(ENV_DEFAULT_REGION) or None


def read_settings(config: pulumi.Config) -> StackSettings:
    """Read every key once; a bad value or a key the program does not read stops `pulumi preview`.

    The SettingsError names every mistake at once, a misspelt key first.
    """
    unknown = unknown_key_errors(configured_keys(), namespace=config.name)
    try:
        settings = StackSettings.from_values(
            targets=config.get_object("targets"),
            schedule=config.get("schedule"),
            memory_size=config.get_int("memorySize"),
            timeout=config.get_int("timeout"),
            log_retention_days=config.get_int("logRetentionDays"),
            retention_days=config.get_int("retentionDays"),
            alert_emails=config.get_object("alertEmails"),
            alert_subscriptions=config.get_object("alertSubscriptions"),
            connectivity_check=config.get("connectivityCheck"),
            per_target_metrics=config.get_bool("perTargetMetrics"),
            alerting=config.get_object("alerting"),
            maintenance=config.get_object("maintenance"),
            secrets_kms_key_arn=config.get("secretsKmsKeyArn") or None,  # "" is Pulumi.yaml's default: none
            status_page=config.get("statusPage"),
            status_page_show_urls=config.get_bool("statusPageShowUrls"),
            status_page_concurrency=config.get_int("statusPageConcurrency"),
            log_checks=config.get("logChecks"),
            point_in_time_recovery=config.get_bool("pointInTimeRecovery"),
            home_region=home_region(),
            regions=config.get_object("regions"),
            quorum=config.get_int("quorum"),
            alert_on_partial=config.get_bool("alertOnPartial"),
        )
    except SettingsError as exc:
        raise SettingsError(*unknown, *exc.messages) from exc
    except pulumi.ConfigTypeError as exc:
        raise SettingsError(*unknown, str(exc)) from exc
    if unknown:
        raise SettingsError(*unknown)
    return settings


def build_stack(config: pulumi.Config, root: Path) -> Monitor:
    settings = read_settings(config)
    away = tuple(region for region in settings.regions.checkers() if region is not None)
    image = FunctionImage(
        "function", FunctionImageArgs(context=str(root), dockerfile=str(root / "Dockerfile"), regions=away)
    )
    monitor = Monitor(
        "healthcheck", MonitorArgs(settings=settings, image_uri=image.image_uri, image_uris=image.image_uris)
    )
    pulumi.export("tableName", monitor.table.name)
    pulumi.export("stateTableName", monitor.state_table.name)
    pulumi.export("alertTopicArn", monitor.topic.arn)
    pulumi.export("functionName", monitor.function.name)
    pulumi.export("imageUri", image.image_uri)
    pulumi.export("schedule", settings.schedule)
    pulumi.export("scheduleNames", [schedule.name for schedule in monitor.schedules])
    pulumi.export("failureQueueUrl", monitor.failures.url)
    pulumi.export("rollupTableName", monitor.rollup_table.name)
    plan = settings.regions
    if plan.several:  # a one-region stack exports what it always has
        pulumi.export("regions", list(plan.regions))
        pulumi.export("homeRegion", plan.home)
        pulumi.export("quorum", plan.quorum)
        pulumi.export(
            "functionNames", {checker.region or plan.home: checker.function.name for checker in monitor.checkers}
        )
    if monitor.status_page is not None:
        pulumi.export("statusPageUrl", monitor.status_page.url.function_url)
    return monitor
