"""An embedded DynamoDB-compatible server (moto in server mode) on a free loopback port."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from healthcheck.alerting.state_store import WATCH
from healthcheck.history.record_store import HASH_KEY, RANGE_KEY

__all__ = [
    "LOCAL_AWS_ENV",
    "create_results_table",
    "create_state_table",
    "embedded_dynamodb",
    "local_client",
    "use_endpoint",
]

# Dummy credentials and a region: boto3 needs them, moto ignores them.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@contextmanager
def embedded_dynamodb() -> Iterator[str]:
    """Yield the endpoint URL of a running moto server; stopped on exit."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_endpoint(endpoint: str, environ: MutableMapping[str, str] = os.environ) -> None:
    """Point boto3 at ``endpoint`` with its own endpoint variables, for DynamoDB and every other service.

    moto's server also answers SSM, Secrets Manager and SNS, so nothing run
    locally reaches real AWS with the dummy credentials: a referenced secret
    is simply not found there.
    """
    environ.update(LOCAL_AWS_ENV)
    environ.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)  # would send every call to AWS itself
    environ["AWS_ENDPOINT_URL"] = endpoint
    environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint


def local_client(service: str, endpoint: str) -> Any:
    """A boto3 client of the embedded server, with the dummy credentials and region (never real AWS)."""
    return boto3.client(
        service,  # type: ignore[call-overload]  # boto3's stubs type each service name; any of them here
        endpoint_url=endpoint,
        region_name=LOCAL_AWS_ENV["AWS_REGION"],
        aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def create_results_table(endpoint: str, table_name: str) -> None:
    """The same key schema and billing mode as the deployed table (infra/table.py)."""
    client = local_client("dynamodb", endpoint)
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": HASH_KEY, "AttributeType": "S"},
            {"AttributeName": RANGE_KEY, "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": HASH_KEY, "KeyType": "HASH"},
            {"AttributeName": RANGE_KEY, "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_state_table(endpoint: str, table_name: str) -> None:
    """The per-target state table: hash key ``Id`` only, on-demand, with the sparse ``Watch`` index, as deployed."""
    client = local_client("dynamodb", endpoint)
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": HASH_KEY, "AttributeType": "S"},
            {"AttributeName": WATCH, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": WATCH,
                "KeySchema": [{"AttributeName": WATCH, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_rollup_table(endpoint: str, table_name: str) -> None:
    """The rollups table: ``Id`` (target) and ``Day`` (YYYY-MM-DD), on-demand, as deployed."""
    client = local_client("dynamodb", endpoint)
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": HASH_KEY, "AttributeType": "S"},
            {"AttributeName": "Day", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": HASH_KEY, "KeyType": "HASH"},
            {"AttributeName": "Day", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def main() -> None:
    """Run the embedded DynamoDB in a process of its own; prints its endpoint, serves until killed."""
    with embedded_dynamodb() as endpoint:
        print(endpoint, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
