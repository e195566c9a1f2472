"""Golden tests: our DynamoDB items are the bytes Feast 0.67 itself computes and writes.

The expectations come from Feast's own functions (serialize_entity_key, compute_entity_id,
python_values_to_proto_values, make_tzaware) and from the items Feast's
DynamoDBOnlineStore.online_write_batch puts into a real dynalite server, never from our code.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from feast import Entity, FeatureView, Field, FileSource
from feast.infra.key_encoding_utils import serialize_entity_key as feast_serialize_entity_key
from feast.infra.online_stores.dynamodb import DynamoDBOnlineStore
from feast.infra.online_stores.helpers import compute_entity_id
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from feast.type_map import python_values_to_proto_values
from feast.types import Bool, Float32, Float64, Int32, Int64, String
from feast.utils import _convert_arrow_to_proto, make_tzaware
from feast.value_type import ValueType
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.online_store.embedded import embedded_dynamodb
from jobs.online_store.encoding import entity_id, serialize_entity_key, value_bytes, varint
from jobs.online_store.layout import layout_from_feature_view
from jobs.online_store.select import feast_event_ts, select_item_columns
from jobs.online_store.tables import dynamodb_client, ensure_table
from jobs.online_store.writer import WriterSettings

KEYS = ["user_001", "", "ünïcødé-€", "x" * 300, "merch_100"]


def _feast_key(pairs: list[tuple[str, ValueProto]]) -> EntityKeyProto:
    return EntityKeyProto(join_keys=[k for k, _ in pairs], entity_values=[v for _, v in pairs])


@pytest.mark.parametrize("key", KEYS)
def test_string_key_bytes_and_id_match_feast(key):
    feast_key = _feast_key([("user_id", ValueProto(string_val=key))])
    ours = [("user_id", "STRING", key)]
    assert serialize_entity_key(ours) == feast_serialize_entity_key(feast_key, entity_key_serialization_version=3)
    assert entity_id(ours) == compute_entity_id(feast_key, entity_key_serialization_version=3)


@pytest.mark.parametrize("number", [0, 1, -1, 2**31, 2**63 - 1, -(2**63)])
def test_composite_key_sorted_by_name_matches_feast(number):
    # Feast sorts (join key, value) pairs by name; give them unsorted.
    feast_key = _feast_key([("user_id", ValueProto(string_val="u1")), ("account_no", ValueProto(int64_val=number))])
    ours = [("user_id", "STRING", "u1"), ("account_no", "INT64", number)]
    assert serialize_entity_key(ours) == feast_serialize_entity_key(feast_key, entity_key_serialization_version=3)
    assert entity_id(ours) == compute_entity_id(feast_key, entity_key_serialization_version=3)


def test_int32_key_matches_feast():
    feast_key = _feast_key([("terminal", ValueProto(int32_val=-7))])
    assert entity_id([("terminal", "INT32", -7)]) == compute_entity_id(feast_key, entity_key_serialization_version=3)


VALUES = {
    ValueType.FLOAT: np.array([0.0, -1.5, 0.1, 3.4e38, 1e-45, float("nan"), None, float("inf")], dtype=object),
    ValueType.INT64: np.array([0, 1, -1, 300, 2**63 - 1, -(2**63), None], dtype=object),
    ValueType.INT32: np.array([0, -1, 2**31 - 1, -(2**31), None], dtype=object),
    ValueType.DOUBLE: np.array([0.0, -2.5, 1e300, 5e-324, None], dtype=object),
    ValueType.STRING: np.array(["", "abc", "ünï", None], dtype=object),
    ValueType.BOOL: np.array([True, False, None], dtype=object),
}


@pytest.mark.parametrize("value_type", list(VALUES), ids=lambda v: v.name)
def test_value_bytes_match_feast_conversion(value_type):
    values = VALUES[value_type]
    if value_type == ValueType.FLOAT:
        # Spark hands float32 columns over as Python floats holding the float32 value.
        values = np.array([None if v is None else float(np.float32(v)) for v in values], dtype=object)
    expected = [p.SerializeToString() for p in python_values_to_proto_values(values, value_type)]
    assert [value_bytes(value_type.name, v) for v in values] == expected


def test_null_and_zero_are_different_values():
    assert value_bytes("INT64", None) == b""
    assert value_bytes("INT64", 0) == ValueProto(int64_val=0).SerializeToString() != b""
    assert value_bytes("FLOAT", 0.0) == ValueProto(float_val=0.0).SerializeToString() != b""


@pytest.mark.parametrize("number", [0, 1, 127, 128, 300, 2**63 - 1, -1, -(2**63)])
def test_varint_matches_protobuf(number):
    assert b"\x20" + varint(number) == ValueProto(int64_val=number).SerializeToString()


def test_event_ts_string_matches_feast(spark):
    instants = [
        dt.datetime(2026, 3, 2, 0, 0, 0),
        dt.datetime(2026, 3, 2, 0, 0, 0, 500_000),
        dt.datetime(2026, 12, 31, 23, 59, 59, 1),
        dt.datetime(1999, 1, 1, 12, 30, 5, 999_999),
    ]
    frame = spark.createDataFrame([(t,) for t in instants], "ts timestamp")
    got = [r[0] for r in frame.select(feast_event_ts(F.col("ts"))).collect()]
    assert got == [str(make_tzaware(t)) for t in instants]


# ----- whole items: our Spark writer vs Feast's own online_write_batch, both into dynalite -----

SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType()),
        T.StructField("account_no", T.LongType()),
        T.StructField("event_timestamp", T.TimestampType()),
        T.StructField("count_7d", T.LongType()),
        T.StructField("big", T.LongType()),
        T.StructField("amount", T.FloatType()),
        T.StructField("ratio", T.DoubleType()),
        T.StructField("small", T.IntegerType()),
        T.StructField("label", T.StringType()),
        T.StructField("flag", T.BooleanType()),
    ]
)
ROWS = [
    ("user_001", 1, dt.datetime(2026, 3, 2), 23, 2**62 + 1, 45000.5, 0.02, 7, "a", True),
    ("user_002", -5, dt.datetime(2026, 3, 2, 0, 0, 0, 250_000), 0, -(2**63), 0.0, 0.0, 0, "", False),
    ("ünïcødé", 2**40, dt.datetime(2026, 3, 1, 13, 5, 9), None, 0, None, None, None, None, None),
    ("user_004", 0, dt.datetime(2026, 2, 28), 5, 2**63 - 1, float("nan"), -1.25, -3, "z€", True),
]


def _feature_view(project_source: str) -> FeatureView:
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    account = Entity(name="account", join_keys=["account_no"], value_type=ValueType.INT64)
    return FeatureView(
        name="golden_view",
        entities=[user, account],
        ttl=dt.timedelta(days=7),
        schema=[
            Field(name="user_id", dtype=String),
            Field(name="account_no", dtype=Int64),
            Field(name="count_7d", dtype=Int64),
            Field(name="big", dtype=Int64),
            Field(name="amount", dtype=Float32),
            Field(name="ratio", dtype=Float64),
            Field(name="small", dtype=Int32),
            Field(name="label", dtype=String),
            Field(name="flag", dtype=Bool),
        ],
        source=FileSource(name="golden", path=project_source, timestamp_field="event_timestamp"),
        online=True,
    )


def _repo_config(project: str, url: str, tmp_path) -> RepoConfig:
    return RepoConfig(
        project=project,
        provider="local",
        registry=str(tmp_path / f"{project}.db"),
        online_store={"type": "dynamodb", "region": "us-east-1", "endpoint_url": url},
        entity_key_serialization_version=3,
    )


def _scan(client, table: str) -> dict[str, dict]:
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["entity_id"]["S"]: item for item in items}


@pytest.mark.integration
def test_items_are_byte_identical_to_feasts_writer(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "embedded-dynalite")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "embedded-dynalite")
    view = _feature_view(str(tmp_path / "unused.parquet"))
    pandas_rows = pd.DataFrame(ROWS, columns=SCHEMA.fieldNames())
    with embedded_dynamodb() as url:
        client = dynamodb_client(url, region="us-east-1")
        # Feast: its table layout and its writer, fed by its own Arrow -> proto conversion.
        feast_config = _repo_config("golden_feast", url, tmp_path)
        store = DynamoDBOnlineStore()
        store.update(feast_config, [], [view], [], [], partial=False)
        arrow_rows = pa.Table.from_pandas(
            pandas_rows.astype({"count_7d": "Int64", "small": "Int32", "flag": "boolean"}), schema=_arrow_schema()
        )
        join_keys = {c.name: c.dtype.to_value_type() for c in view.entity_columns}
        store.online_write_batch(feast_config, view, _convert_arrow_to_proto(arrow_rows, view, join_keys), None)
        # Ours: the layout from the same view, the Spark item columns and the executor writer.
        our_config = _repo_config("golden_ours", url, tmp_path)
        layout = layout_from_feature_view(view, our_config)
        assert layout.table_name == "golden_ours.golden_view"
        ensure_table(client, layout.table_name, ttl_attribute=None)
        settings = WriterSettings(url, "us-east-1", layout.table_name, 2, 10_000.0, "plain", None, 30.0)
        frame = spark.createDataFrame(ROWS, SCHEMA).repartition(2)
        from jobs.online_store.materialize import write_online_items

        metrics = write_online_items(
            frame.transform(select_item_columns, layout=layout), layout=layout, settings=settings
        )
        feast_items = _scan(client, "golden_feast.golden_view")
        our_items = _scan(client, layout.table_name)
    assert metrics["items"] == len(ROWS)
    assert len(feast_items) == len(ROWS)
    assert our_items == feast_items
    # The null and the NaN amount are both an empty Value, as in Feast; the zero is not.
    empty_amount = sorted(i["event_ts"]["S"] for i in feast_items.values() if i["values"]["M"]["amount"]["B"] == b"")
    assert math.isnan(ROWS[3][5])
    assert empty_amount == ["2026-02-28 00:00:00+00:00", "2026-03-01 13:05:09+00:00"]


def _arrow_schema() -> pa.Schema:
    return pa.schema(
        [
            ("user_id", pa.string()),
            ("account_no", pa.int64()),
            ("event_timestamp", pa.timestamp("us")),
            ("count_7d", pa.int64()),
            ("big", pa.int64()),
            ("amount", pa.float32()),
            ("ratio", pa.float64()),
            ("small", pa.int32()),
            ("label", pa.string()),
            ("flag", pa.bool_()),
        ]
    )
