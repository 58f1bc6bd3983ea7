"""A proxy in front of the embedded DynamoDB that bills every call as DynamoDB would, per shard and table.

moto answers ``ReturnConsumedCapacity`` with flat figures, so the bill is worked out here from
the items themselves, by DynamoDB's rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):

- a write costs one unit per KB of the larger of the item before and after it (at least one,
  also when its condition fails or it deletes nothing); each global secondary index the item
  enters, leaves or changes in costs the same for its projection (two writes when its index
  key changes); a transaction item twice;
- a read costs half a unit per 4 KB (a whole unit when strongly consistent): per item for
  ``GetItem`` and ``BatchGetItem`` (a key not found costs the minimum), for all of a page's
  items together for ``Query`` and ``Scan`` (items a filter dropped are not seen here, so a
  filtered read is undercounted).

The item before a write is read from the server first, and the item after an ``UpdateItem``
afterwards; those reads go straight to the server and are not billed. The function's client
is pointed at ``<proxy>/shard/<key>``: the calls are counted under ``<key>``, and
``GET /units/<key>`` answers ``{table: {"write": units, "read": units, "calls": {op: n}}}``.

``python -m bench.scale_meter --upstream URL`` prints its URL and serves until killed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from healthcheck.history.item_size import item_bytes

__all__ = ["Meter", "main", "read_units", "write_units"]

Item = dict[str, Any]
WRITE_UNIT_BYTES = 1024
READ_BLOCK_BYTES = 4096


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / READ_BLOCK_BYTES)) * (1.0 if consistent else 0.5)


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str
    included: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    def key_of(self, item: Mapping[str, Any]) -> Item:
        return {name: item[name] for name in self.keys}

    def index_writes(self, before: Item | None, after: Item | None) -> int:
        """Units the item's change costs in the global secondary indexes."""
        units = 0
        for index in self.indexes:
            old = self._entry(index, before)
            new = self._entry(index, after)
            if old is None and new is None:
                continue
            if old is None or new is None:
                entry = old if new is None else new
                assert entry is not None
                units += write_units(item_bytes(entry))
            elif {k: old[k] for k in index.keys} == {k: new[k] for k in index.keys}:
                units += write_units(max(item_bytes(old), item_bytes(new)))
            else:  # a new index key: the old entry is deleted, the new one put
                units += write_units(item_bytes(old)) + write_units(item_bytes(new))
        return units

    def _entry(self, index: Index, item: Item | None) -> Item | None:
        if item is None or not all(key in item for key in index.keys):
            return None  # a sparse index holds only items that carry its keys
        if index.projection == "ALL":
            return item
        kept = set(self.keys) | set(index.keys) | (set(index.included) if index.projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in kept}


@dataclass
class Bill:
    write: float = 0.0
    read: float = 0.0
    calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def as_json(self) -> dict[str, object]:
        return {"write": self.write, "read": self.read, "calls": dict(self.calls)}


class Upstream:
    """Raw JSON calls to the server, one keep-alive connection per thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self._local.connection = connection
        return connection

    def raw(self, headers: Mapping[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", "/", body=body, headers=dict(headers))
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def call(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        }
        status, _, body = self.raw(headers, json.dumps(request).encode())
        answer: dict[str, Any] = json.loads(body or b"{}")
        if status != 200:
            raise RuntimeError(f"{operation} failed upstream: {status} {answer}")
        return answer


class Meter:
    """The bills, per shard key and table, and what the server's tables look like."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.lock = threading.Lock()
        self.bills: defaultdict[str, defaultdict[str, Bill]] = defaultdict(lambda: defaultdict(Bill))
        self._tables: dict[str, Table] = {}

    def table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            described = self.upstream.call("DescribeTable", {"TableName": name})["Table"]
            indexes = tuple(
                Index(
                    index["IndexName"],
                    tuple(key["AttributeName"] for key in index["KeySchema"]),
                    index.get("Projection", {}).get("ProjectionType", "ALL"),
                    tuple(index.get("Projection", {}).get("NonKeyAttributes", ())),
                )
                for index in described.get("GlobalSecondaryIndexes", ())
            )
            table = Table(tuple(key["AttributeName"] for key in described["KeySchema"]), indexes)
            self._tables[name] = table
        return table

    def items(self, table: str, keys: Iterable[Item]) -> list[Item | None]:
        """The items now stored under ``keys`` (None where there is none), read strongly consistent."""
        wanted = list(keys)
        found: dict[str, Item] = {}
        spec = self.table(table)
        for start in range(0, len(wanted), 100):
            pending: dict[str, Any] = {table: {"Keys": wanted[start : start + 100], "ConsistentRead": True}}
            while pending:
                answer = self.upstream.call("BatchGetItem", {"RequestItems": pending})
                for item in answer.get("Responses", {}).get(table, []):
                    found[json.dumps(spec.key_of(item), sort_keys=True)] = item
                pending = answer.get("UnprocessedKeys") or {}
        return [found.get(json.dumps(key, sort_keys=True)) for key in wanted]

    def bill(self, shard: str, table: str, operation: str, *, write: float = 0.0, read: float = 0.0) -> None:
        with self.lock:
            bill = self.bills[shard][table]
            bill.write += write
            bill.read += read
            bill.calls[operation] += 1

    def snapshot(self, shard: str) -> dict[str, dict[str, object]]:
        with self.lock:
            return {table: bill.as_json() for table, bill in self.bills[shard].items()}


def _write_cost(table: Table, before: Item | None, after: Item | None, applied: bool) -> int:
    if not applied:  # a condition that failed still reads the item, and is billed as a write of it
        return write_units(item_bytes(before) if before else 0)
    size = max(item_bytes(before) if before else 0, item_bytes(after) if after else 0)
    return write_units(size) + table.index_writes(before, after)


class Handler(BaseHTTPRequestHandler):
    server: MeterServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per request otherwise."""

    def do_GET(self) -> None:
        shard = self.path.removeprefix("/units/")
        body = json.dumps(self.server.meter.snapshot(shard)).encode()
        self._reply(200, [("Content-Type", "application/json")], body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        shard = self.path.strip("/").removeprefix("shard/").split("/")[0] or "-"
        operation = (self.headers.get("X-Amz-Target") or ".").rsplit(".", 1)[1]
        request: dict[str, Any] = json.loads(body or b"{}")
        headers = {key: value for key, value in self.headers.items() if key.lower() not in ("host", "content-length")}
        meter = self.server.meter
        before = self._before(operation, request)
        status, reply_headers, answer = meter.upstream.raw(headers, body)
        try:
            self._account(shard, operation, request, before, status, answer)
        finally:
            self._reply(status, reply_headers, answer)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _before(self, operation: str, request: dict[str, Any]) -> dict[str, list[Item | None]]:
        """The items a write is about to change, per table, in the order of its requests."""
        meter = self.server.meter
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = meter.table(request["TableName"])
            key = table.key_of(request["Item"]) if operation == "PutItem" else request["Key"]
            return {request["TableName"]: meter.items(request["TableName"], [key])}
        if operation == "BatchWriteItem":
            olds: dict[str, list[Item | None]] = {}
            for name, writes in request["RequestItems"].items():
                table = meter.table(name)
                keys = [
                    table.key_of(w["PutRequest"]["Item"]) if "PutRequest" in w else w["DeleteRequest"]["Key"]
                    for w in writes
                ]
                olds[name] = meter.items(name, keys)
            return olds
        if operation == "TransactWriteItems":
            olds = defaultdict(list)
            for entry in request["TransactItems"]:
                ((kind, spec),) = entry.items()
                table = meter.table(spec["TableName"])
                key = table.key_of(spec["Item"]) if kind == "Put" else spec["Key"]
                olds[spec["TableName"]] += meter.items(spec["TableName"], [key])
            return dict(olds)
        return {}

    def _account(
        self,
        shard: str,
        operation: str,
        request: dict[str, Any],
        before: dict[str, list[Item | None]],
        status: int,
        body: bytes,
    ) -> None:
        meter = self.server.meter
        answer: dict[str, Any] = json.loads(body or b"{}")
        failed_condition = status == 400 and "ConditionalCheckFailed" in str(answer.get("__type", ""))
        if status != 200 and not failed_condition:
            meter.bill(shard, request.get("TableName", "-"), f"{operation}!{status}")
            return
        consistent = bool(request.get("ConsistentRead"))
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            name = request["TableName"]
            table = meter.table(name)
            [old] = before[name]
            if operation == "PutItem":
                new: Item | None = request["Item"]
            elif operation == "UpdateItem":
                [new] = meter.items(name, [request["Key"]])
            else:
                new = None
            meter.bill(shard, name, operation, write=_write_cost(table, old, new, not failed_condition))
        elif operation == "BatchWriteItem":
            unprocessed = answer.get("UnprocessedItems") or {}
            for name, writes in request["RequestItems"].items():
                table = meter.table(name)
                left = {json.dumps(w, sort_keys=True) for w in unprocessed.get(name, [])}
                units = 0
                for write, old in zip(writes, before[name], strict=True):
                    if json.dumps(write, sort_keys=True) in left:
                        continue
                    new = write["PutRequest"]["Item"] if "PutRequest" in write else None
                    units += _write_cost(table, old, new, applied=True)
                meter.bill(shard, name, operation, write=units)
        elif operation == "TransactWriteItems":
            olds = {name: iter(items) for name, items in before.items()}
            for entry in request["TransactItems"]:
                ((kind, spec),) = entry.items()
                name = spec["TableName"]
                table = meter.table(name)
                old = next(olds[name])
                if kind == "Put":
                    new = spec["Item"]
                elif kind == "Update":
                    [new] = meter.items(name, [spec["Key"]])
                elif kind == "Delete":
                    new = None
                else:  # ConditionCheck
                    new = old
                meter.bill(shard, name, operation, write=2 * _write_cost(table, old, new, not failed_condition))
        elif operation == "GetItem":
            item = answer.get("Item")
            meter.bill(
                shard, request["TableName"], operation, read=read_units(item_bytes(item) if item else 0, consistent)
            )
        elif operation == "BatchGetItem":
            unprocessed = answer.get("UnprocessedKeys") or {}
            for name, asked in request["RequestItems"].items():
                strong = bool(asked.get("ConsistentRead"))
                items = answer.get("Responses", {}).get(name, [])
                missing = len(asked["Keys"]) - len(items) - len(unprocessed.get(name, {}).get("Keys", []))
                read = sum(read_units(item_bytes(item), strong) for item in items) + missing * read_units(0, strong)
                meter.bill(shard, name, operation, read=read)
        elif operation in ("Query", "Scan"):
            size = sum(item_bytes(item) for item in answer.get("Items", []))
            meter.bill(shard, request["TableName"], operation, read=read_units(size, consistent))
        elif operation == "TransactGetItems":
            for entry, response in zip(request["TransactItems"], answer.get("Responses", []), strict=False):
                item = response.get("Item")
                meter.bill(
                    shard,
                    entry["Get"]["TableName"],
                    operation,
                    read=2 * read_units(item_bytes(item) if item else 0, True),
                )
        else:
            meter.bill(shard, request.get("TableName", "-"), operation)


class MeterServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, meter: Meter) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.meter = meter

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet about a client gone mid-call: a function ended at its timeout, as Lambda ends one."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="the embedded DynamoDB's URL")
    args = parser.parse_args()
    server = MeterServer(Meter(Upstream(args.upstream)))
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
