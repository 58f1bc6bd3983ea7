"""Runs the Pulumi program under the mock runtime and records every resource it registers."""

from __future__ import annotations

import json
import logging
import os
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi
from pulumi.runtime.mocks import MockMonitor

from infra.stack import build_stack

ACCOUNT = "123456789012"
REGION = "us-east-1"
DIGEST = "sha256:" + "ab" * 32
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Registered:
    urn: str
    id: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str
    dependencies: list[str]


@dataclass
class Deployment:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the program passed to ``pulumi.log.info``."""
    component_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What each component passed to ``register_outputs``, by URN."""
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Each data source the program called (``get_caller_identity``...): its token and arguments."""
    """What the program passed to ``pulumi.log.warn``: `pulumi preview` shows these."""

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registered:
        [resource] = self.of_type(type_)
        return resource

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)


def deployment_scope(fixture_name: str, config: Any) -> Literal["function", "module"]:
    """One deployment per module, but one per test under mutmut (`make mutate`).

    mutmut links a test to the code that runs while it runs, and a module-scoped
    deployment runs inside the first test only: the policies checked by the others
    would never be linked to the code that builds them, and their mutants would survive.
    """
    return "function" if "MUTANT_UNDER_TEST" in os.environ else "module"


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


class _Mocks(pulumi.runtime.Mocks):
    """Provider stand-in: echoes inputs and adds the outputs AWS would compute."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        name = state.get("name", f"{args.name}-1234567")
        # pulumi-aws 7's per-resource region, else the provider's: it is in every regional ARN and URL.
        region = state.get("region") or REGION
        computed: dict[str, dict[str, Any]] = {
            "aws:ecr/repository:Repository": {
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{name}",
                "registryId": ACCOUNT,
                "arn": _arn("ecr", f"repository/{name}", region),
            },
            "docker-build:index:Image": {"digest": DIGEST},
            "aws:dynamodb/table:Table": {"arn": _arn("dynamodb", f"table/{name}", region)},
            "aws:sqs/queue:Queue": {
                "arn": _arn("sqs", name, region),
                "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}",
            },
            "aws:cloudwatch/logGroup:LogGroup": {"arn": _arn("logs", f"log-group:{name}", region)},
            "aws:iam/role:Role": {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"},
            "aws:lambda/function:Function": {"arn": _arn("lambda", f"function:{name}", region)},
            "aws:scheduler/schedule:Schedule": {"arn": _arn("scheduler", f"schedule/default/{name}", region)},
            "aws:sns/topic:Topic": {"arn": _arn("sns", name, region)},
            "aws:cloudwatch/metricAlarm:MetricAlarm": {"arn": _arn("cloudwatch", f"alarm:{name}", region)},
        }
        state.setdefault("name", name)
        state.update(computed.get(args.typ, {}))
        return f"{args.name}-id", state

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self._deployment.invokes.append((args.token, dict(args.args)))
        # camelCase keys: the SDK drops snake_case ones silently.
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "test",
                "id": ACCOUNT,
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION, "endpoint": f"ec2.{REGION}.amazonaws.com"}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "id": "aws",
                "reverseDnsPrefix": "com.amazonaws",
            }, []
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "ecr-password",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
                "authorizationToken": "dG9rZW4=",
                "expiresAt": "2030-01-01T00:00:00Z",
                "id": REGION,
            }, []
        raise AssertionError(f"unexpected invoke {args.token}")


class _RecordingMonitor(MockMonitor):
    """Keeps each registration's URN, parent and dependencies, which mocks alone never see."""

    def __init__(self, mocks: pulumi.runtime.Mocks, deployment: Deployment) -> None:
        super().__init__(mocks)
        self._deployment = deployment

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources.get(response.urn)
            self._deployment.resources.append(
                Registered(
                    urn=response.urn,
                    id=registration.id if registration is not None else "",
                    type=request.type,
                    name=request.name,
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                    outputs=dict(registration.state) if registration is not None else {},
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        outputs = pulumi.runtime.rpc.deserialize_properties(request.outputs)
        self._deployment.component_outputs[request.urn] = outputs
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


class _Warnings(logging.Handler):
    """The mock engine logs the program's diagnostics; keep the warnings and the notes."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(logging.INFO)
        self._deployment = deployment

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self._deployment.warnings.append(record.getMessage())
        elif record.levelno == logging.INFO:
            self._deployment.notes.append(record.getMessage())


def deploy(config: Mapping[str, object], *, via_main: bool = False) -> Deployment:
    """Run the program with ``config`` (keys without the project prefix) and return what it registered.

    ``via_main`` runs ``__main__.py`` itself, as `pulumi up` does, instead of calling ``build_stack``.
    The CLI applies Pulumi.yaml's defaults; this does not, so the program's own
    defaults are what these tests see unless set here.
    """
    return deploy_program_config(
        {f"healthcheck:{key}": value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
        via_main=via_main,
    )


def deploy_program_config(config: Mapping[str, str], *, via_main: bool = False) -> Deployment:
    """Run the program with ``config`` exactly as the language host passes it: namespaced keys, string values."""
    deployment = Deployment()
    mocks = _Mocks(deployment)
    logger = logging.getLogger(f"{__name__}.engine")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers = [_Warnings(deployment)]
    # A stack of its own: set_mocks keeps an earlier deployment's root resource, and with it that one's exports.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks,
        project="healthcheck",
        stack="test",
        preview=False,
        logger=logger,
        monitor=_RecordingMonitor(mocks, deployment),
    )
    pulumi.runtime.set_all_config(dict(config))

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> pulumi.Output[None]:
        if via_main:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        else:
            build_stack(pulumi.Config(), root=ROOT)
        # The mock runtime never registers the stack's outputs; read the exports off the root.
        exports: dict[str, Any] = dict(pulumi.runtime.get_root_resource().outputs)  # type: ignore[union-attr]
        return pulumi.Output.from_input(exports).apply(deployment.outputs.update)

    program()
    return deployment
