"""The Pulumi CLI's rules for ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``, run without the CLI.

Before ``pulumi preview`` runs a program, the CLI loads the project file,
validates it against its JSON schema and its own rules, loads the stack's
config, namespaces bare keys with the project's name, fills in the project's
defaults, checks every typed key's value, and hands the program one string per
key. This module does the same, in the same order and with the same messages,
so ``make check-config`` fails where ``pulumi preview`` would.

Ported from pulumi/pulumi's Go sources (messages verbatim):

- ``sdk/go/common/workspace/loaders.go``: ``LoadProjectBytes``,
  ``LoadProjectStackBytes``, ``stackConfigNamespacedWithProject``;
- ``sdk/go/common/workspace/project.go``: ``ValidateProject``,
  ``findClosestKey``, ``RewriteShorthandConfigValues``, ``Project.Validate``,
  ``ValidateConfigValue``, ``InferFullTypeName``;
- ``sdk/go/common/workspace/config.go``: ``mergeConfig`` (behind
  ``ValidateStackConfigAndApplyProjectConfig``), ``validateStackConfigValue``,
  ``createConfigValue``, ``missingStackConfigurationKeysError``;
- ``sdk/go/common/resource/config/key.go`` (``ParseKey``) and ``object.go``
  (how a YAML value becomes the string the program receives);
- ``pkg/cmd/pulumi``: the ``validating stack config:`` prefix ``preview`` adds.

Not ported: secrets (an encrypted value cannot be checked offline and is
reported as such), ESC environments, and ``--path`` style keys. The project
JSON schema is not the CLI's: ``schemas/pulumi-project.schema.json`` is our own,
written from Pulumi's documentation (``schemas/README.md`` says where it is
stricter or looser than the CLI).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema

from localdev import goyaml

__all__ = [
    "PROJECT_SCHEMA",
    "ConfigType",
    "ConfigValue",
    "ItemsType",
    "Project",
    "ProjectFileError",
    "PulumiConfigError",
    "StackConfigError",
    "apply_project_config",
    "load_project",
    "load_stack_config",
    "program_config",
    "stack_file",
    "validate_project_schema",
]

PROJECT_SCHEMA = Path(__file__).resolve().parent / "schemas" / "pulumi-project.schema.json"
# findClosestKey's tolerance for a misspelt top-level attribute.
_MAX_ATTRIBUTE_DISTANCE = 2
_GO_ATOI = re.compile(r"[+-]?[0-9]+")


class PulumiConfigError(ValueError):
    """Root: the CLI would stop here, before the program runs; the message is the CLI's."""


class ProjectFileError(PulumiConfigError):
    """``Pulumi.yaml`` does not load."""


class StackConfigError(PulumiConfigError):
    """The stack's config does not load or does not fit the project's declarations."""


@dataclass(frozen=True, slots=True)
class ItemsType:
    type: str
    items: ItemsType | None = None


@dataclass(frozen=True, slots=True)
class ConfigType:
    """One entry of ``Pulumi.yaml``'s ``config:``; ``None`` is Go's nil (absent)."""

    type: str | None = None
    items: ItemsType | None = None
    default: object = None
    value: object = None
    secret: bool = False


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    config: Mapping[str, ConfigType]
    stack_config_dir: str = ""


@dataclass(frozen=True, slots=True)
class ConfigValue:
    """A stack config value as the CLI keeps it: the program's string, JSON text when ``object``."""

    text: str
    object: bool = False
    secure: bool = False


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _closest_key(needle: str, keys: Mapping[str, object]) -> str:
    """findClosestKey: the alphabetically first key within 2 edits (case-insensitive), else ''."""
    match, closest = "", _MAX_ATTRIBUTE_DISTANCE + 1
    for key in sorted(keys):
        distance = _levenshtein(needle.lower(), key.lower())
        if distance == 0:
            return key
        if distance < closest:
            match, closest = key, distance
    return match


def _multierror(errors: list[str]) -> str:
    """hashicorp/go-multierror's list format, which the CLI prints schema errors in."""
    if len(errors) == 1:
        return f"1 error occurred:\n\t* {errors[0]}\n\n"
    points = "\n\t".join(f"* {error}" for error in errors)
    return f"{len(errors)} errors occurred:\n\t{points}\n\n"


def _string_keys(value: object) -> object:
    """SimplifyMarshalledValue: YAML maps may have any key; the CLI accepts only strings."""
    if isinstance(value, dict):
        simplified = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise PulumiConfigError(f"expected only string keys, got '{key}'")
            simplified[key] = _string_keys(item)
        return simplified
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def _schema_errors(project: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(instance path, message) per error of our project schema, sorted, without repeats.

    A subschema's ``errorMessage`` annotation replaces python-jsonschema's wording
    for the errors its own keywords raise.
    """
    schema = json.loads(PROJECT_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    found: dict[tuple[str, str], None] = {}
    for error in validator.iter_errors(project):
        custom = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
        message = custom if isinstance(custom, str) else error.message
        found["".join(f"/{part}" for part in error.absolute_path), message] = None
    return sorted(found)


def validate_project_schema(project: Mapping[str, Any]) -> list[str]:
    """Our project schema's verdict, each error as ``#<instance path>: <message>`` (``#: ...`` at the root)."""
    return [f"#{path}: {message}" for path, message in _schema_errors(project)]


def _validate_project(raw: object) -> dict[str, Any]:
    """ValidateProject: name and runtime first (with a did-you-mean), then the JSON schema."""
    project = _string_keys(raw)
    if not isinstance(project, dict):
        raise ProjectFileError(f"expected project to be an object, was '{type(project).__name__}'")
    for attribute in ("name", "runtime"):
        if attribute not in project:
            closest = _closest_key(attribute, project)
            found = f"; found '{closest}' instead" if closest else ""
            raise ProjectFileError(f"project is missing a '{attribute}' attribute{found}")
        if attribute == "name" and (not isinstance(project["name"], str) or not project["name"]):
            raise ProjectFileError("project is missing a non-empty string 'name' attribute")
    # Errors at the document root (an unknown top-level key) have no instance
    # location, and ValidateProject leaves them out; `make test` still checks them.
    errors = [f"#{path}: {message}" for path, message in _schema_errors(project) if path]
    if errors:
        raise ProjectFileError(_multierror(errors))
    return project


def _namespaced_by_project(project_name: str, key: str) -> bool:
    return ":" not in key or key.startswith(f"{project_name}:")


def _items_type(raw: object) -> ItemsType | None:
    if not isinstance(raw, dict):
        return None
    return ItemsType(type=str(raw.get("type", "")), items=_items_type(raw.get("items")))


def _config_types(project: dict[str, Any]) -> dict[str, ConfigType]:
    """RewriteShorthandConfigValues, then the ProjectConfigType each entry unmarshals into."""
    declared = project.get("config")
    if not isinstance(declared, dict):
        return {}
    types = {}
    for key, entry in declared.items():
        if isinstance(entry, str | int | bool | list):  # shorthand: `key: value`
            entry = {"default": entry} if _namespaced_by_project(project["name"], key) else {"value": entry}
        elif not isinstance(entry, dict):
            entry = {}
        types[key] = ConfigType(
            type=entry.get("type"),
            items=_items_type(entry.get("items")),
            default=entry.get("default"),
            value=entry.get("value"),
            secret=bool(entry.get("secret", False)),
        )
    return types


def _type_name(type_name: str, items: ItemsType | None) -> str:
    """InferFullTypeName: ``array<integer>`` for typed lists."""
    return f"array<{_type_name(items.type, items.items)}>" if items is not None else type_name


def _go_atoi(text: str) -> bool:
    return _GO_ATOI.fullmatch(text) is not None and -(2**63) <= int(text) < 2**63


def _valid_value(type_name: str, items: ItemsType | None, value: object) -> bool:
    """ValidateConfigValue: the CLI's test of one value against a declared type."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):  # YAML and JSON numbers: whole ones pass (Go: f == math.Trunc(f))
            return not math.isnan(value) and (math.isinf(value) or value == math.trunc(value))
        return isinstance(value, str) and _go_atoi(value)
    if type_name == "boolean":
        return value in ("true", "false") if isinstance(value, str) else isinstance(value, bool)
    if not isinstance(value, list) or items is None:
        return False
    return all(_valid_value(items.type, items.items, item) for item in value)


def _validate_declarations(project: Project) -> None:
    """Project.Validate: what each ``config:`` entry may declare."""
    for key in sorted(project.config):
        declared = project.config[key]
        if declared.default is not None and declared.value is not None:
            raise ProjectFileError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if _namespaced_by_project(project.name, key):
            if declared.type == "array" and declared.items is None:
                raise ProjectFileError(
                    f"The configuration key '{key}' declares an array "
                    "but does not specify the underlying type via the 'items' attribute"
                )
            if (
                declared.type is not None
                and declared.default is not None
                and not _valid_value(declared.type, declared.items, declared.default)
            ):
                raise ProjectFileError(
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{_type_name(declared.type, declared.items)}'"
                )
        elif declared.type is not None:
            raise ProjectFileError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a type"
            )
        elif declared.default is not None:
            raise ProjectFileError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?"
            )
        elif declared.value is None:
            raise ProjectFileError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")


def load_project(path: Path) -> Project:
    """LoadProjectBytes: parse, ValidateProject, rewrite shorthands, Project.Validate."""
    try:
        raw = goyaml.load(path.read_text(encoding="utf-8-sig"))
    except goyaml.YamlSyntaxError as exc:
        raise ProjectFileError(f"could not unmarshal '{path}': invalid YAML file: {exc}") from exc
    try:
        document = _validate_project(raw)
    except PulumiConfigError as exc:
        raise ProjectFileError(f"could not validate '{path}': {exc}") from exc
    stack_config_dir = document.get("stackConfigDir") or ""
    if isinstance(document.get("config"), str):  # RewriteConfigPathIntoStackConfigDir
        if "stackConfigDir" in document:
            raise ProjectFileError(
                "Should not use both config and stackConfigDir to define the stack directory. "
                "Use only stackConfigDir instead."
            )
        stack_config_dir, document["config"] = document["config"], None
    project = Project(name=document["name"], config=_config_types(document), stack_config_dir=stack_config_dir)
    try:
        _validate_declarations(project)
    except ProjectFileError as exc:
        raise ProjectFileError(f"could not unmarshal '{path}': {exc}") from exc
    return project


def stack_file(root: Path, project: Project, stack: str) -> Path:
    """Where the CLI looks for a stack's config: ``Pulumi.<stack>.yaml`` beside Pulumi.yaml (or in stackConfigDir)."""
    return root / project.stack_config_dir / f"Pulumi.{stack}.yaml"


def _parse_key(key: str) -> str:
    """config.ParseKey: ``<namespace>:<name>``, or the legacy ``<namespace>:config:<name>``."""
    parts = key.split(":")
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    raise StackConfigError(
        f"could not parse {key} as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"
    )


def _project_key(project_name: str, key: str) -> str:
    """parseConfigKey: a key without a namespace belongs to the project."""
    return _parse_key(key) if ":" in key else f"{project_name}:{key}"


def _go_float_text(number: float) -> str:
    """encoding/json's float64: shortest digits, plain notation from 1e-6 up to 1e21."""
    if not math.isfinite(number):
        raise StackConfigError(f"json: unsupported value: {'NaN' if math.isnan(number) else number}")
    magnitude = abs(number)
    if magnitude == 0 or 1e-6 <= magnitude < 1e21:
        text = format(Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = repr(number).split("e")
    return (
        f"{mantissa}e{exponent[0]}{int(exponent[1:])}" if exponent[0] == "-" else f"{mantissa}e+{int(exponent[1:]):02d}"
    )


def _go_json(value: object) -> str:
    """json.Marshal of a config object: sorted keys, Go's numbers; the program reads it back as JSON."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return _go_float_text(value)
    if isinstance(value, list):
        return "[" + ",".join(_go_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_json(str(k))}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"
    raise StackConfigError(f"unexpected config value {value!r}")


def _stack_value(value: object) -> ConfigValue:
    """How config.Value keeps a YAML value (object.go: unmarshalObject, then MarshalString)."""
    if isinstance(value, bool):
        return ConfigValue("true" if value else "false")
    if isinstance(value, int):
        return ConfigValue(str(value))
    if isinstance(value, float):
        return ConfigValue(_go_float_text(value))
    if isinstance(value, str):
        return ConfigValue(value)
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str):
        return ConfigValue(value["secure"], secure=True)
    return ConfigValue(_go_json(value), object=True)


def load_stack_config(project: Project, path: Path) -> dict[str, ConfigValue]:
    """LoadProjectStackBytes: the stack's ``config:``, every key namespaced (bare keys get the project's)."""
    if not path.exists():
        return {}  # the CLI starts a stack with no file from empty config
    try:
        raw = goyaml.load(path.read_text(encoding="utf-8-sig"))
    except goyaml.YamlSyntaxError as exc:
        raise StackConfigError(f"{path.name}: invalid YAML file: {exc}") from exc
    if raw is None:
        return {}
    try:
        document = _string_keys(raw)
    except PulumiConfigError as exc:
        raise StackConfigError(str(exc)) from exc
    if not isinstance(document, dict):
        raise StackConfigError(f"expected project to be an object, was '{type(document).__name__}'")
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{path.name}: config must be a map of keys to values")
    return {_project_key(project.name, key): _stack_value(value) for key, value in config.items()}


def _default_value(raw: object) -> ConfigValue:
    """createConfigValue: strings, ints and bools as ``%v``; anything else as a JSON object."""
    if isinstance(raw, str | int | bool):
        return _stack_value(raw)
    return ConfigValue(_go_json(raw), object=True)


def _missing_error(stack: str, keys: list[str]) -> StackConfigError:
    noun = "values" if len(keys) > 1 else "value"
    if len(keys) == 1:
        listed = f"'{keys[0]}'"
    else:
        listed = ", ".join(f"'{key}'" for key in keys[:-2]) + (", " if len(keys) > 2 else "")
        listed += f"'{keys[-2]}' and '{keys[-1]}'"
    return StackConfigError(f"validating stack config: Stack '{stack}' is missing configuration {noun} {listed}")


def apply_project_config(
    stack: str,
    project: Project,
    config: Mapping[str, ConfigValue],
    errors: list[StackConfigError] | None = None,
) -> dict[str, ConfigValue]:
    """ValidateStackConfigAndApplyProjectConfig: required keys, project defaults, then each typed value.

    Returns the stack's config with the defaults filled in; raises with the
    message ``pulumi preview`` prints. Given ``errors``, it goes on past a
    mistake as the CLI does not: each is appended there, and a key whose value
    is refused is left out of the config returned.
    """

    def refuse(error: StackConfigError) -> None:
        if errors is None:
            raise error
        errors.append(error)

    merged = dict(config)
    missing = []
    for key in sorted(project.config):
        declared = project.config[key]
        full_key = _project_key(project.name, key)
        if full_key in merged:
            continue
        if declared.value is None and declared.default is None:
            if full_key.split(":", 1)[0] == project.name:
                missing.append(key)
            continue
        merged[full_key] = _default_value(declared.default if declared.default is not None else declared.value)
    if missing:
        refuse(_missing_error(stack, missing))
    for key in sorted(project.config):
        declared = project.config[key]
        full_key = _project_key(project.name, key)
        if declared.type is None or full_key not in merged:
            continue
        value = merged[full_key]
        error = None
        if declared.secret and not value.secure:
            error = StackConfigError(
                f"validating stack config: Stack '{stack}' with configuration key '{key}' must be encrypted "
                "as it's secret"
            )
        elif value.secure:
            error = StackConfigError(f"{full_key} is encrypted: checking it needs the stack's secrets provider")
        elif not _valid_value(declared.type, declared.items, json.loads(value.text) if value.object else value.text):
            error = StackConfigError(
                f"validating stack config: Stack '{stack}' with configuration key '{key}' must be of type "
                f"'{_type_name(declared.type, declared.items)}'"
            )
        if error is not None:
            refuse(error)
            del merged[full_key]
    return merged


def program_config(config: Mapping[str, ConfigValue], project: str) -> tuple[dict[str, str], list[str]]:
    """What the language host hands the program (``PULUMI_CONFIG``): one string per key; and the keys left out.

    Encrypted values need the stack's secrets provider. One the program reads
    (the project's namespace) can't be checked offline: an error. Another
    namespace's (``aws:secretKey``) is left out, and named, since the program
    never reads it.
    """
    encrypted = sorted(key for key, value in config.items() if value.secure)
    ours = [key for key in encrypted if key.split(":", 1)[0] == project]
    if ours:
        raise StackConfigError(f"{', '.join(ours)}: encrypted values need the stack's secrets provider")
    return {key: value.text for key, value in config.items() if not value.secure}, encrypted
