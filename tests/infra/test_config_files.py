"""Every file a real tool reads, read by that tool's rules: the project file, each stack file, the events.

A file that only looks right to us is no proof: the Pulumi CLI refused a
project file whose description held ": " while every test passed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infra.settings import CONFIG_KEYS
from localdev import goyaml
from localdev.pulumi_workspace import (
    PROJECT_SCHEMA,
    ItemsType,
    apply_project_config,
    load_project,
    load_stack_config,
    validate_project_schema,
)

ROOT = Path(__file__).resolve().parents[2]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
EVENTS = sorted((ROOT / "events").glob("*.json"))


def test_there_are_files_to_check() -> None:
    assert [path.name for path in STACK_FILES] == ["Pulumi.dev.yaml"]
    assert EVENTS


def project_document() -> dict[str, Any]:
    document = goyaml.load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_project_file_is_yaml_valid_against_our_project_schema() -> None:
    document = project_document()
    assert validate_project_schema(document) == []
    assert document["description"].startswith("A serverless uptime monitor: ")


def _set_config(key: str, entry: object) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["config"].__setitem__(key, entry)


# Each a typical mistake in Pulumi.yaml, made on a copy of the real file, and the one error it gets.
MISTAKES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("missing-runtime", lambda document: document.pop("runtime"), "#: 'runtime' is a required property"),
    (
        "unknown-top-level-key",
        lambda document: document.__setitem__("descripton", "typo"),
        "#: Additional properties are not allowed ('descripton' was unexpected)",
    ),
    (
        "array-without-items",
        _set_config("subnets", {"type": "array", "description": "Subnets to use."}),
        "#/config/subnets: type 'array' needs 'items', the type of its elements",
    ),
    (
        "nested-array-without-items",
        _set_config("matrix", {"type": "array", "items": {"type": "array"}}),
        "#/config/matrix/items: type 'array' needs 'items', the type of its elements",
    ),
    (
        "default-and-value",
        lambda document: document["config"]["schedule"].__setitem__("value", "rate(1 hour)"),
        (
            "#/config/schedule: 'default' and 'value' cannot both be set: "
            "'default' applies when a stack sets no value, 'value' sets it for every stack"
        ),
    ),
    (
        "namespaced-key-declared",
        _set_config("aws:region", {"type": "string", "default": "eu-west-1"}),
        (
            "#/config/aws:region: a key with a namespace (such as aws:region) only takes a value: "
            "`key: value` or `key: {value: ...}`; declare this project's own keys without a namespace"
        ),
    ),
]


@pytest.mark.parametrize(("mistake", "error"), [(m, e) for _, m, e in MISTAKES], ids=[i for i, _, _ in MISTAKES])
def test_schema_rejects_a_typical_mistake_with_a_clear_message(
    mistake: Callable[[dict[str, Any]], None], error: str
) -> None:
    document = copy.deepcopy(project_document())
    mistake(document)
    assert validate_project_schema(document) == [error]


@pytest.mark.parametrize(
    "entry",
    [{"value": "eu-west-1"}, "eu-west-1", {"value": {"Team": "ops"}}],
    ids=["value", "shorthand", "object-value"],
)
def test_schema_accepts_a_value_for_a_namespaced_key(entry: object) -> None:
    document = project_document()
    document["config"]["aws:region"] = entry
    assert validate_project_schema(document) == []


def test_project_file_loads_as_the_cli_loads_it() -> None:
    project = load_project(ROOT / "Pulumi.yaml")
    assert project.name == "healthcheck"
    assert sorted(project.config) == sorted(CONFIG_KEYS), "Pulumi.yaml declares exactly the keys the program reads"


def test_project_declares_the_promised_types_and_defaults() -> None:
    declared = load_project(ROOT / "Pulumi.yaml").config
    assert {key: (t.type, t.default) for key, t in declared.items()} == {
        "targets": (None, None),  # required: the CLI stops a stack without it
        "schedule": ("string", "rate(5 minutes)"),
        "memorySize": ("integer", 512),
        "timeout": ("integer", 120),
        "logRetentionDays": ("integer", 30),
        "retentionDays": ("integer", 90),
        "alertEmails": ("array", []),
        "alertSubscriptions": (None, []),  # a list of objects: validated by the program
        "connectivityCheck": ("string", ""),  # empty: no canary
        "perTargetMetrics": ("boolean", False),
        "alerting": (None, {"failureThreshold": 3, "successThreshold": 2, "remindEveryMinutes": 0}),
        "maintenance": (None, []),
        "secretsKmsKeyArn": ("string", ""),  # none: AWS-managed keys need no grant
        "statusPage": ("string", "off"),  # no page unless asked for: a public page is a choice
        "statusPageShowUrls": ("boolean", False),  # a public page must not publish internal endpoints
        "statusPageConcurrency": ("integer", 0),  # no cap: a new account's limit of 10 leaves none to reserve
        "logChecks": ("string", "failures"),  # a line per check that did not pass; the table holds every check
        "pointInTimeRecovery": ("boolean", True),  # the records table's; a choice, since it is billed per GB
        "regions": ("array", []),  # the stack's own region alone: a stack that does not set it is unchanged
        "quorum": ("integer", 0),  # the default: max(2, ceil(N/2)), at most N
        "alertOnPartial": ("boolean", False),  # PARTIAL is shown, not paged
    }
    assert declared["alertEmails"].items == ItemsType("string")
    assert declared["regions"].items == ItemsType("string")


def test_every_optional_key_has_a_default_so_no_stack_must_set_it() -> None:
    # The CLI refuses a stack missing a project key declared without a default.
    declared = load_project(ROOT / "Pulumi.yaml").config
    assert sorted(key for key, t in declared.items() if t.default is None) == ["targets"]


def test_schema_is_our_own_draft_2020_12_schema_citing_pulumis_docs() -> None:
    schema = json.loads(PROJECT_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    readme = (PROJECT_SCHEMA.parent / "README.md").read_text(encoding="utf-8")
    for page in (
        "https://www.pulumi.com/docs/iac/concepts/projects/project-file/",
        "https://www.pulumi.com/docs/iac/concepts/config/",
    ):
        assert page in readme


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=[path.name for path in STACK_FILES])
def test_stack_file_keys_are_namespaced_and_values_fit_the_declared_types(stack_file: Path) -> None:
    project = load_project(ROOT / "Pulumi.yaml")
    config = load_stack_config(project, stack_file)
    assert all(key.count(":") == 1 for key in config), sorted(config)
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    merged = apply_project_config(stack, project, config)
    assert {key for key in merged if key.startswith("healthcheck:")} <= {f"healthcheck:{key}" for key in CONFIG_KEYS}


@pytest.mark.parametrize("event_file", EVENTS, ids=[path.name for path in EVENTS])
def test_event_is_a_json_object(event_file: Path) -> None:
    assert isinstance(json.loads(event_file.read_text(encoding="utf-8")), dict)
