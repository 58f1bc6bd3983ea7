"""Local values for a stack's secret references, put into the embedded SSM and Secrets Manager (moto).

A deployable stack sends a credential header only as a reference
(``{"ssm": name}`` or ``{"secretsManager": arn}``), and `make run` never calls
AWS: it reads references from the embedded moto server, which starts empty.
This file, git-ignored, says what that server holds, so the stack's real
references are checked locally, through the same code path as deployed:

    ssm:
      /healthcheck/api-token: Bearer ${API_TOKEN}     # ${NAME}: from the environment; $$ is a lone $
    secretsManager:
      arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/orders-AbC123:
        apiKey: ${ORDERS_API_KEY}                      # a JSON secret, as {"apiKey": "..."}

Messages name a reference or a variable, never a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from botocore.exceptions import ClientError

from healthcheck.check.request_spec import SecretRef, SsmRef
from localdev.dynamodb import local_client

__all__ = ["DEFAULT_FILE", "LocalSecrets", "LocalSecretsError", "describe", "load_local_secrets", "seed"]

DEFAULT_FILE = "local-secrets.yaml"
_SECTIONS = ("ssm", "secretsManager")
_VARIABLE = re.compile(r"\$(?:\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<dollar>\$))")


class LocalSecretsError(ValueError):
    """The local secrets file cannot be used; the message names the file and the entry, never a value."""


@dataclass(frozen=True, slots=True)
class LocalSecrets:
    """What the embedded server is to hold: parameter values by name, secret strings by ARN."""

    source: str = DEFAULT_FILE
    parameters: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def holds(self, ref: SecretRef) -> bool:
        if isinstance(ref, SsmRef):
            return ref.name in self.parameters
        return ref.arn in self.secrets


def _expand(text: str, environ: Mapping[str, str], where: str) -> str:
    def variable(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        name = match["name"]
        if name not in environ:
            raise LocalSecretsError(f"{where} uses ${{{name}}}, which is not set in the environment")
        return environ[name]

    return _VARIABLE.sub(variable, text)


def _json_strings(value: object, environ: Mapping[str, str], where: str) -> object:
    """A JSON secret's document, each string in it expanded."""
    if isinstance(value, str):
        return _expand(value, environ, where)
    if isinstance(value, dict):
        return {str(key): _json_strings(item, environ, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_strings(item, environ, where) for item in value]
    return value


def _section(document: dict[object, object], name: str, where: str) -> dict[str, object]:
    section = document.get(name) or {}
    if not isinstance(section, dict) or not all(isinstance(key, str) for key in section):
        raise LocalSecretsError(f"{where}: '{name}' must map each name to its value")
    return {str(key): value for key, value in section.items()}


def load_local_secrets(path: Path, environ: Mapping[str, str]) -> LocalSecrets:
    """The file's values, ``${NAME}`` taken from ``environ``; no file: nothing to hold."""
    if not path.is_file():
        return LocalSecrets(path.name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise LocalSecretsError(f"{path.name} is not valid YAML{line}") from None  # its text may quote a value
    if not isinstance(document, dict) or set(document) - set(_SECTIONS):
        raise LocalSecretsError(f"{path.name} must be a mapping with 'ssm' and/or 'secretsManager' only")
    parameters = {}
    for name, value in _section(document, "ssm", path.name).items():
        where = f"{path.name}: ssm {name}"
        if not isinstance(value, str):
            raise LocalSecretsError(f"{where} must be a string (quote it)")
        parameters[name] = _expand(value, environ, where)
    secrets = {}
    for arn, value in _section(document, "secretsManager", path.name).items():
        where = f"{path.name}: secretsManager {arn}"
        if isinstance(value, str):
            secrets[arn] = _expand(value, environ, where)
        elif isinstance(value, dict):  # a JSON secret, for references with a "key"
            secrets[arn] = json.dumps(_json_strings(value, environ, where), separators=(",", ":"))
        else:
            raise LocalSecretsError(f"{where} must be a string, or a mapping for a JSON secret")
    return LocalSecrets(path.name, parameters, secrets)


def _secret_name(arn: str) -> str:
    """The name Secrets Manager looks a full ARN up by: what follows ``:secret:``, its suffix included."""
    return arn.split(":secret:", 1)[1] if ":secret:" in arn else arn


def seed(secrets: LocalSecrets, endpoint: str) -> None:
    """Put every value into the embedded server at ``endpoint``, as SecureStrings and secrets."""
    ssm = local_client("ssm", endpoint)
    for name, value in secrets.parameters.items():
        try:
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "an error")
            raise LocalSecretsError(f"{secrets.source}: ssm {name} was refused: {code}") from None
    manager = local_client("secretsmanager", endpoint)
    for arn, value in secrets.secrets.items():
        try:
            # The embedded server finds a full ARN by this name (AWS by the whole ARN), so the stack's own
            # ARN, account, region and suffix are read as written.
            manager.create_secret(Name=_secret_name(arn), SecretString=value)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "an error")
            raise LocalSecretsError(f"{secrets.source}: secretsManager {arn} was refused: {code}") from None


def describe(refs: tuple[SecretRef, ...], secrets: LocalSecrets) -> list[str]:
    """One line per reference: held locally, or why its targets will fail."""
    lines = []
    for ref in dict.fromkeys(SsmRef(r.name) if isinstance(r, SsmRef) else r._replace(key=None) for r in refs):
        name = ref.name if isinstance(ref, SsmRef) else ref.arn
        if secrets.holds(ref):
            lines.append(f"  {name}: from {secrets.source}")
        else:
            code = "ParameterNotFound" if isinstance(ref, SsmRef) else "ResourceNotFoundException"
            lines.append(f"  {name}: not in {secrets.source}, so its targets fail with {code}")
    return lines
