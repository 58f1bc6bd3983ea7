"""Shared fixtures: real local servers, a trusted test CA, an embedded DynamoDB."""

from __future__ import annotations

import itertools
import os
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import hypothesis
import pytest
import trustme

from healthcheck.check.probe import CheckResult, Probe
from healthcheck.check.runner import run_checks
from healthcheck.check.targets import Target
from healthcheck.retrying import CLIENT_CONFIG
from localdev.dynamodb import LOCAL_AWS_ENV, create_results_table, embedded_dynamodb
from tests.hostile import Peer, Request, raw_server
from tests.servers import FaultServer, running

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Dummy credentials and a region for the whole session: no test may reach a real AWS account.
os.environ.update(LOCAL_AWS_ENV)
os.environ.pop("AWS_PROFILE", None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes a second or more; left out of mutation runs (`make mutate`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under mutmut, leave out the slow tests: mutmut runs every test linked to a mutated
    function, and with these (each waits out a deadline) one store or probe mutant took ~10 s.
    docs/mutation-survivors.md lists the mutants only they would kill."""
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


# CI runs the same examples every time (a landing must not hang on what one random draw found); a local
# run draws new ones, so `make test` keeps exploring. .ci/run sets HYPOTHESIS_PROFILE=ci.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA, *identities: str, **issue: object) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*identities, **issue).configure_cert(context)  # type: ignore[arg-type]
    return context


@pytest.fixture(scope="session")
def http_server() -> Iterator[FaultServer]:
    with running() as server:
        yield server


@pytest.fixture(scope="session")
def https_server(ca: trustme.CA) -> Iterator[FaultServer]:
    with running(server_context(ca, "127.0.0.1", "localhost")) as server:
        yield server


@pytest.fixture
def probe(ca_file: str) -> Probe:
    return Probe(ca_certs=ca_file)


def check_one(probe: Probe, url: str, timeout: float = 5.0) -> CheckResult:
    """One target through the real runner: probe, watchdog and all."""
    [result] = run_checks([Target(name="t", url=url, timeout=timeout)], probe, run_deadline=time.monotonic() + 60)
    return result


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    with embedded_dynamodb() as endpoint:
        yield endpoint


def dynamodb_client(endpoint: str) -> DynamoDBClient:
    """A client built as the handler builds its own (CLIENT_CONFIG), pointed at ``endpoint``."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=CLIENT_CONFIG,
    )


@pytest.fixture
def dynamodb(dynamodb_endpoint: str) -> DynamoDBClient:
    return dynamodb_client(dynamodb_endpoint)


_table_numbers = itertools.count()


@pytest.fixture
def table(dynamodb_endpoint: str) -> str:
    """A fresh results table (same schema as deployed) for each test."""
    name = f"results-{next(_table_numbers)}"
    create_results_table(dynamodb_endpoint, name)
    return name


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def hung_url() -> Iterator[str]:
    """A server that reads the request and never answers, until the test ends."""
    release = threading.Event()

    def hang(peer: Peer, request: Request) -> bool:
        release.wait(60)
        return False

    with raw_server(hang) as server:
        yield f"{server.base_url}/health"
        release.set()
