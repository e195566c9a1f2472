"""Shared by the online-store tests: a throwaway copy of the Feast repo with tiny Delta feature tables.

`OnlineRepo` copies feature_defs/ into a temporary folder, so its feature_store.yaml resolves the
registry (../data/feast/registry.db) and the sources (../data/features/...) inside that folder,
exactly as the real repository does, and the guide's inference.py runs there unchanged.
Two brute-force oracles: `materialized` is what `feast materialize START END` writes (per entity, the
row with the greatest event_timestamp in [START, END], ties by the greatest created_timestamp; no
TTL), `oracle` the point-in-time row as of END (the same, and not older than END - TTL).
`FaultProxy` is a real HTTP proxy in front of dynalite that throttles or splits writes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import shutil
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.config import REPO_ROOT, Config, load_config
from jobs.schemas import MERCHANT_RISK_FEATURES, USER_TRANSACTION_FEATURES

USER_FEATURES = ["transaction_count_7d", "transaction_amount_avg_7d", "transaction_amount_max_7d"]
USER_FEATURES += ["unique_merchants_7d", "avg_time_between_transactions"]
MERCHANT_FEATURES = ["chargeback_rate_30d", "avg_transaction_amount", "total_transactions_30d", "risk_score"]
INT64_FEATURES = {"transaction_count_7d", "unique_merchants_7d", "total_transactions_30d"}
TTL = {"user_transaction_features": dt.timedelta(days=7), "merchant_risk_features": dt.timedelta(days=30)}
KEY = {"user_transaction_features": "user_id", "merchant_risk_features": "merchant_id"}
FEATURES = {"user_transaction_features": USER_FEATURES, "merchant_risk_features": MERCHANT_FEATURES}


# The monitor's and the online store's checks read the wall clock (TTLs, freshness): rows dated from today.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
TODAY = dt.datetime.combine(NOW.date(), dt.time())


def days_ago(days: int) -> dt.datetime:
    return TODAY - dt.timedelta(days=days)


def day(d: int, month: int = 3, hour: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, d, hour, 0, second)


def user_row(user, event, count, avg, mx, unique, gap, created=None):
    created = created or event + dt.timedelta(hours=1)
    snapshot = (event - dt.timedelta(days=1)).date()
    return (user, event, created, count, avg, mx, unique, gap, snapshot)


def merchant_row(merchant, event, count, avg, rate, risk, created=None):
    created = created or event + dt.timedelta(hours=2)
    snapshot = (event - dt.timedelta(days=1)).date()
    return (merchant, event, created, count, avg, rate, risk, snapshot)


@dataclasses.dataclass
class OnlineRepo:
    root: Path

    @property
    def repo_path(self) -> Path:
        return self.root / "feature_defs"

    @property
    def registry(self) -> Path:
        return self.root / "data" / "feast" / "registry.db"

    @property
    def served_log(self) -> Path:
        return self.root / "data" / "monitoring" / "served_features"

    def table_path(self, view: str) -> str:
        return str(self.root / "data" / "features" / view)

    def config(self, endpoint: str, *extra: str) -> Config:
        return load_config(env="local", overrides=[*self.overrides(endpoint), *extra])

    def overrides(self, endpoint: str) -> list[str]:
        return [
            f"feast.repo_path={self.repo_path}",
            f"feast.registry={self.registry}",
            f"online_store.endpoint={endpoint}",
            f"tables.user_features={self.table_path('user_transaction_features')}",
            f"tables.merchant_features={self.table_path('merchant_risk_features')}",
            f"monitoring.profiles_table={self.root / 'data' / 'monitoring' / 'profiles'}",
            f"monitoring.checks_table={self.root / 'data' / 'monitoring' / 'checks'}",
            f"monitoring.served_log={self.served_log}",
        ]

    def cli_overrides(self, endpoint: str) -> list[str]:
        return [arg for o in self.overrides(endpoint) for arg in ("--set", o)]

    def write(self, spark, view: str, rows: list[tuple], mode: str = "overwrite") -> None:
        schema = USER_TRANSACTION_FEATURES if view == "user_transaction_features" else MERCHANT_RISK_FEATURES
        frame = spark.createDataFrame(rows, schema)
        frame.write.format("delta").mode(mode).partitionBy("snapshot_date").save(self.table_path(view))


def make_repo(root: Path) -> OnlineRepo:
    shutil.copytree(
        REPO_ROOT / "feature_defs", root / "feature_defs", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return OnlineRepo(root)


def oracle(rows: list[tuple], view: str, *, start: dt.datetime, end: dt.datetime) -> dict[str, dict]:
    """The point-in-time row as of `end`: the latest row in the window and not older than the view's TTL."""
    return materialized(rows, view, start=max(start, end - TTL[view]), end=end)


def materialized(rows: list[tuple], view: str, *, start: dt.datetime, end: dt.datetime) -> dict[str, dict]:
    """What `feast materialize START END` writes: the latest row per entity in [START, END], whatever
    its age (the TTL bounds reads of historical features, not materialization): {entity: {feature: value}}."""
    columns = ["key", "event", "created", *_feature_columns(view), "snapshot"]
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame[(frame["event"] >= start) & (frame["event"] <= end)]
    expected = {}
    for key, group in frame.groupby("key"):
        best = group.sort_values(["event", "created"], na_position="first").iloc[-1]  # a null created loses
        expected[key] = {f: _as_served(f, best[f]) for f in FEATURES[view]}
    return expected


def _feature_columns(view: str) -> list[str]:
    if view == "user_transaction_features":
        return USER_FEATURES
    return ["total_transactions_30d", "avg_transaction_amount", "chargeback_rate_30d", "risk_score"]


def _as_served(feature: str, value):
    """Feast serves Int64 features as int and Float32 features as the float32 value, nulls as None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if feature in INT64_FEATURES:
        return int(value)
    return float(np.float32(value))


BATCH_WRITE = "DynamoDB_20120810.BatchWriteItem"


class FaultProxy:
    """Loopback proxy to dynalite: every `throttle_every`-th BatchWriteItem is throttled, every
    `split_every`-th has only its first half forwarded and the rest returned as UnprocessedItems.
    Every BatchWriteItem into one of `throttled_tables` is throttled, and once `accept_writes`
    BatchWriteItems have been accepted, every later one is (a table that stays overloaded). Every
    `error_every`-th is answered 503 ServiceUnavailable, every `drop_every`-th gets its connection closed
    without an answer."""

    def __init__(
        self,
        target: str,
        *,
        throttle_every: int = 0,
        split_every: int = 0,
        throttled_tables: frozenset[str] = frozenset(),
        accept_writes: int | None = None,
        error_every: int = 0,
        drop_every: int = 0,
    ) -> None:
        self.target = target.removeprefix("http://")
        self.throttle_every = throttle_every
        self.split_every = split_every
        self.throttled_tables = throttled_tables
        self.accept_writes = accept_writes
        self.error_every = error_every
        self.drop_every = drop_every
        self.errors = 0
        self.dropped = 0
        self.lock = threading.Lock()
        self.batch_requests = 0
        self.throttled = 0
        self.split = 0
        self.accepted: list[str] = []
        self.admitted = 0  # BatchWriteItems let through towards `accept_writes`
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = proxy.handle(self.headers, body)
                if answer is None:
                    self.close_connection = True
                    return
                status, payload = answer
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amz-crc32", str(zlib.crc32(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, headers, body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.target, timeout=30)
        names = ("Content-Type", "X-Amz-Target", "Authorization", "X-Amz-Date")
        connection.request("POST", "/", body=body, headers={n: headers[n] for n in names if headers[n]})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, data

    def handle(self, headers, body: bytes) -> tuple[int, bytes] | None:
        if headers["X-Amz-Target"] != BATCH_WRITE:
            return self.forward(headers, body)
        request = json.loads(body)
        ((table, puts),) = request["RequestItems"].items()
        with self.lock:
            self.batch_requests += 1
            n = self.batch_requests
            saturated = self.accept_writes is not None and self.admitted >= self.accept_writes
            if not saturated and table not in self.throttled_tables:
                self.admitted += 1
        if self.drop_every and n % self.drop_every == 0:
            with self.lock:
                self.dropped += 1
            return None
        if self.error_every and n % self.error_every == 0:
            with self.lock:
                self.errors += 1
            error = {"__type": "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "message": "injected 503"}
            return 503, json.dumps(error).encode()
        if table in self.throttled_tables or saturated or (self.throttle_every and n % self.throttle_every == 0):
            with self.lock:
                self.throttled += 1
            error = {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}
            return 400, json.dumps({**error, "message": "injected throttling"}).encode()
        keep, rest = puts, []
        if self.split_every and n % self.split_every == 0 and len(puts) > 1:
            keep, rest = puts[: len(puts) // 2], puts[len(puts) // 2 :]
            with self.lock:
                self.split += 1
        status, data = self.forward(headers, json.dumps({"RequestItems": {table: keep}}).encode())
        if status != 200:
            return status, data
        with self.lock:
            self.accepted += [p["PutRequest"]["Item"]["entity_id"]["S"] for p in keep]
        response = json.loads(data)
        response["UnprocessedItems"] = {table: rest} if rest else {}
        return 200, json.dumps(response).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
