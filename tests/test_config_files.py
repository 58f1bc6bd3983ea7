"""Every file a real tool reads, read by that tool's rules: the project file, each stack file, the events.

A file that only looks right to us is no proof: the Pulumi CLI refused a
project file whose description held ": " while every test passed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.settings import CONFIG_KEYS
from localdev import goyaml
from localdev.pulumi_workspace import (
    PROJECT_SCHEMA,
    apply_project_config,
    load_project,
    load_stack_config,
    validate_project_schema,
)

ROOT = Path(__file__).resolve().parent.parent
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
EVENTS = sorted((ROOT / "events").glob("*.json"))


def test_there_are_files_to_check() -> None:
    assert [path.name for path in STACK_FILES] == ["Pulumi.dev.yaml"]
    assert EVENTS


def test_project_file_is_yaml_valid_against_pulumis_project_schema() -> None:
    document = goyaml.load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert validate_project_schema(document) == []
    assert document["description"].startswith("A serverless uptime monitor: ")


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
    }


def test_vendored_schema_names_its_source_and_licence() -> None:
    schema = json.loads(PROJECT_SCHEMA.read_text(encoding="utf-8"))
    assert schema["title"] == "Pulumi Project"
    notice = (PROJECT_SCHEMA.parent / "README.md").read_text(encoding="utf-8")
    for fact in ("Apache License 2.0", "pulumi/pulumi", "5351d868b25dea431a1cddd35ccf1a41d0985a81"):
        assert fact in notice


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
