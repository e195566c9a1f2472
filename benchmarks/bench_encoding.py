"""Our DynamoDB item encoder against Feast's own serializer, on the same rows in one process.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_encoding.py --rows 20000

Both turn one Arrow batch of `user_transaction_features` rows (a string join key, five features, a
null in one of seven amounts) into BatchWriteItem wire items:
- ours: `jobs.online_store.writer.encode_items` (what each Spark partition runs; the event_ts
  strings come precomputed by Spark, as in the job);
- Feast: `feast.utils._convert_arrow_to_proto` then `dynamodb._to_client_write_item`, what Feast's
  DynamoDB online store does per row in `online_write_batch` (it formats event_ts itself).
The items are checked to be identical before timing. Best of `--repeat` runs each, interleaved.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import pyarrow as pa
from feast import Entity, FeatureView, Field, FileSource
from feast.infra.online_stores.dynamodb import _to_client_write_item
from feast.repo_config import RepoConfig
from feast.types import Float32, Int64, String
from feast.utils import _convert_arrow_to_proto, make_tzaware
from feast.value_type import ValueType

from jobs.online_store.layout import SourceRef, ViewLayout
from jobs.online_store.select import EVENT_TS, EXPIRES_AT
from jobs.online_store.writer import encode_items

FEATURES = (
    ("transaction_count_7d", "INT64", Int64),
    ("transaction_amount_avg_7d", "FLOAT", Float32),
    ("transaction_amount_max_7d", "FLOAT", Float32),
    ("unique_merchants_7d", "INT64", Int64),
    ("avg_time_between_transactions", "FLOAT", Float32),
)


def rows(n: int) -> pa.RecordBatch:
    start = dt.datetime(2026, 3, 1)
    events = [start + dt.timedelta(seconds=37 * i) for i in range(n)]
    columns = {
        "user_id": [f"user_{i:08d}" for i in range(n)],
        "event_timestamp": events,
        "transaction_count_7d": [i % 50 for i in range(n)],
        "transaction_amount_avg_7d": [None if i % 7 == 0 else (i % 1000) / 7 for i in range(n)],
        "transaction_amount_max_7d": [(i % 3000) / 3 for i in range(n)],
        "unique_merchants_7d": [i % 13 for i in range(n)],
        "avg_time_between_transactions": [float(i % 86400) for i in range(n)],
        EVENT_TS: [str(make_tzaware(e)) for e in events],
        EXPIRES_AT: [None] * n,
    }
    schema = pa.schema(
        [
            ("user_id", pa.string()),
            ("event_timestamp", pa.timestamp("us")),
            *[(name, pa.int64() if kind == "INT64" else pa.float32()) for name, kind, _ in FEATURES],
            (EVENT_TS, pa.string()),
            (EXPIRES_AT, pa.int64()),
        ]
    )
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def ours(batch: pa.RecordBatch) -> list[dict]:
    layout = ViewLayout(
        name="user_transaction_features",
        table_name="bench.user_transaction_features",
        join_keys=(("user_id", "STRING"),),
        features=tuple((name, kind) for name, kind, _ in FEATURES),
        ttl_seconds=0,
        timestamp_field="event_timestamp",
        created_timestamp_column=None,
        source=SourceRef("path", "unused", "delta"),
    )
    return [item.wire for item in encode_items([batch], layout, None)]


def feast_items(batch: pa.RecordBatch) -> list[dict]:
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    view = FeatureView(
        name="user_transaction_features",
        entities=[user],
        ttl=dt.timedelta(days=7),
        schema=[Field(name="user_id", dtype=String), *[Field(name=n, dtype=t) for n, _, t in FEATURES]],
        source=FileSource(name="bench", path="unused.parquet", timestamp_field="event_timestamp"),
        online=True,
    )
    config = RepoConfig(
        project="bench",
        provider="local",
        registry="unused.db",
        online_store={"type": "dynamodb", "region": "us-east-1"},
        entity_key_serialization_version=3,
    )
    converted = _convert_arrow_to_proto(batch, view, {"user_id": ValueType.STRING})
    return [_to_client_write_item(config, key, values, ts) for key, values, ts, _ in converted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    batch = rows(args.rows)
    assert ours(batch) == feast_items(batch), "the encoders disagree"
    best = {"ours": float("inf"), "feast": float("inf")}
    for _ in range(args.repeat):
        for name, encode in (("ours", ours), ("feast", feast_items)):
            started = time.perf_counter()
            encode(batch)
            best[name] = min(best[name], time.perf_counter() - started)
    result = {
        "rows": args.rows,
        "ours_s": round(best["ours"], 3),
        "feast_s": round(best["feast"], 3),
        "ours_rows_per_s": round(args.rows / best["ours"]),
        "feast_rows_per_s": round(args.rows / best["feast"]),
        "feast_over_ours": round(best["feast"] / best["ours"], 2),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
