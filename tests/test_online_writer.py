"""The executor writer under faults, the retry bound, the endpoint going down, and backfills.

Faults come from a real HTTP proxy between the writer and dynalite that answers a share of
BatchWriteItem requests with throttling errors and forwards only half the items of others,
returning the rest as UnprocessedItems, as DynamoDB does under load. The proxy counts what dynalite
accepted, so "every item lands once" is checked on the wire, and the values are checked against
Feast's own Value decoding.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.utils import make_tzaware
from hypothesis import given
from hypothesis import strategies as st
from online_support import FaultProxy, day, make_repo, user_row
from pyspark.sql import types as T

from jobs.errors import BadInputError, InfrastructureError
from jobs.feast_repo import apply_repo
from jobs.materialize_job import main
from jobs.online_store.capacity import plan_writes
from jobs.online_store.embedded import embedded_dynamodb, free_port
from jobs.online_store.encoding import client_item, entity_id
from jobs.online_store.layout import SourceRef, ViewLayout
from jobs.online_store.materialize import write_online_items
from jobs.online_store.select import select_item_columns
from jobs.online_store.tables import dynamodb_client, ensure_table
from jobs.online_store.writer import (
    Item,
    WriterSettings,
    batches_without_duplicates,
    botocore_max_attempts,
    write_items,
)

LAYOUT = ViewLayout(
    name="faults",
    table_name="faults.view",
    join_keys=(("user_id", "STRING"),),
    features=(("count", "INT64"), ("amount", "FLOAT")),
    ttl_seconds=0,
    timestamp_field="event_timestamp",
    created_timestamp_column=None,
    source=SourceRef("path", "unused", "delta"),
)
SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType()),
        T.StructField("event_timestamp", T.TimestampType()),
        T.StructField("count", T.LongType()),
        T.StructField("amount", T.FloatType()),
    ]
)


def _settings(url: str, table: str, *, retry_max_seconds: float = 30.0) -> WriterSettings:
    return WriterSettings(url, "us-east-1", table, 2, 50_000.0, "plain", None, retry_max_seconds, 0.001, 0.05)


@pytest.fixture(scope="module")
def dynamo():
    with embedded_dynamodb() as url:
        yield url


@pytest.mark.integration
def test_throttling_and_unprocessed_items_land_once_with_the_right_value(spark, dynamo):
    rows = [(f"u{i:05d}", day(1 + i % 9), i, i / 4) for i in range(600)]
    table = "faults.injected"
    client = dynamodb_client(dynamo, region="us-east-1")
    ensure_table(client, table, ttl_attribute=None)
    proxy = FaultProxy(dynamo, throttle_every=3, split_every=4)
    try:
        frame = spark.createDataFrame(rows, SCHEMA).repartition(2)
        items = frame.transform(select_item_columns, layout=LAYOUT)
        metrics = write_online_items(items, layout=LAYOUT, settings=_settings(proxy.url, table))
    finally:
        proxy.close()
    assert proxy.throttled > 0 and proxy.split > 0
    assert metrics["throttles"] == proxy.throttled
    assert metrics["unprocessed"] > 0 and metrics["retries"] >= proxy.throttled + proxy.split
    assert metrics["items"] == len(rows) and metrics["batches"] == 24
    # Every item reached the server exactly once, and holds its own row's values.
    assert sorted(proxy.accepted) == sorted(entity_id([("user_id", "STRING", r[0])]) for r in rows)
    stored = {}
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        stored.update({item["entity_id"]["S"]: item for item in page["Items"]})
    for user, event, count, amount in rows:
        item = stored[entity_id([("user_id", "STRING", user)])]
        values = {k: ValueProto.FromString(v["B"]) for k, v in item["values"]["M"].items()}
        assert (values["count"].int64_val, values["amount"].float_val) == (count, amount)
        assert item["event_ts"]["S"] == str(make_tzaware(event))


@pytest.mark.integration
def test_retries_stop_at_the_bound_and_the_task_fails(spark, dynamo):
    client = dynamodb_client(dynamo, region="us-east-1")
    ensure_table(client, "faults.bounded", ttl_attribute=None)
    proxy = FaultProxy(dynamo, throttle_every=1)
    try:
        frame = spark.createDataFrame([("u1", day(2), 1, 1.0)], SCHEMA).coalesce(1)
        items = frame.transform(select_item_columns, layout=LAYOUT)
        with pytest.raises(
            InfrastructureError, match=r"gave up after 2 attempts \(botocore standard retries, at most 2 within 1s"
        ):
            write_online_items(
                items, layout=LAYOUT, settings=_settings(proxy.url, "faults.bounded", retry_max_seconds=1)
            )
    finally:
        proxy.close()
    assert proxy.throttled == 2  # botocore's attempts within 1s: the first and one retry


@pytest.mark.integration
@pytest.mark.parametrize("fault", ["error_every", "drop_every"])
def test_5xx_and_dropped_connections_are_retried_by_botocore(dynamo, fault):
    table = f"faults.{fault}"
    ensure_table(dynamodb_client(dynamo, region="us-east-1"), table, ttl_attribute=None)
    keys = [entity_id([("user_id", "STRING", f"u{i:03d}")]) for i in range(100)]
    items = [Item(k, "2026-03-01 00:00:00+00:00", client_item(k, "2026-03-01 00:00:00+00:00", {}), 1) for k in keys]
    proxy = FaultProxy(dynamo, **{fault: 2})
    settings = _settings(proxy.url, table)
    client = dynamodb_client(
        proxy.url, region="us-east-1", total_max_attempts=botocore_max_attempts(settings.retry_max_seconds)
    )
    try:
        counts = write_items(client, settings, items)
    finally:
        proxy.close()
    failed = proxy.errors + proxy.dropped
    assert failed > 0 and proxy.batch_requests == 4 + failed
    assert sorted(proxy.accepted) == sorted(keys)
    assert (counts.items, counts.retries, counts.requests, counts.throttles) == (100, failed, 4 + failed, 0)


@pytest.mark.integration
def test_a_null_join_key_fails_the_task_as_bad_input(spark, dynamo):
    frame = spark.createDataFrame([("u1", day(2), 1, 1.0), (None, day(2), 2, 2.0)], SCHEMA).coalesce(1)
    items = frame.transform(select_item_columns, layout=LAYOUT)
    with pytest.raises(BadInputError, match="feature view faults: join key user_id is null"):
        write_online_items(items, layout=LAYOUT, settings=_settings(dynamo, "faults.never_written"))


def test_duplicate_keys_never_share_a_batch_and_the_newer_wins():
    def item(key: str, ts: str) -> Item:
        return Item(key, ts, {"entity_id": {"S": key}}, 1)

    stream = [item(f"k{i}", "2026-03-01 00:00:00+00:00") for i in range(30)]
    stream.insert(5, item("k1", "2026-03-02 00:00:00+00:00"))
    stream.insert(7, item("k1", "2026-02-01 00:00:00+00:00"))
    groups = list(batches_without_duplicates(stream))
    assert [len(g) for g in groups] == [25, 5]
    assert all(len({i.entity_id for i in g}) == len(g) for g in groups)
    assert [i.event_ts for i in groups[0] if i.entity_id == "k1"] == ["2026-03-02 00:00:00+00:00"]


@given(st.lists(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 1, 1)), min_size=2))
def test_feast_event_ts_strings_sort_in_time_order(instants):
    # The guarded write compares event_ts strings; this is why that is a time comparison.
    assert sorted(instants, key=lambda t: str(make_tzaware(t))) == sorted(instants)


@pytest.mark.parametrize(
    ("cap", "in_flight", "slots", "expected"),
    [
        (8000, 2, 2, (2, 2, 4000.0)),
        (40000, 4, 64, (5, 4, 8000.0)),
        (500, 4, 8, (1, 1, 500.0)),
        (8000, 2, 1, (1, 2, 8000.0)),
    ],
)
def test_write_plan_follows_the_cap(cap, in_flight, slots, expected):
    plan = plan_writes(write_rate_cap=cap, max_in_flight_per_partition=in_flight, task_slots=slots)
    assert (plan.partitions, plan.in_flight_per_partition, plan.items_per_second_per_partition) == expected
    assert plan.partitions * plan.items_per_second_per_partition == cap


# ----- the job: endpoint down, failures record nothing, backfills keep newer values -----

USERS = [
    user_row("user_a", day(5), 1, 1.5, 1.5, 1, None),
    user_row("user_a", day(11), 2, 2.5, 3.0, 2, 60.0),
    user_row("user_b", day(5), 5, 5.5, 6.0, 3, 30.0),
    user_row("user_c", day(10), 7, 7.5, 8.0, 4, 15.0),
]
RECENT = ["--start", day(8).isoformat(), "--end", day(12).isoformat(), "--feature-views", "user_transaction_features"]
OLDER = ["--start", day(1).isoformat(), "--end", day(6).isoformat(), "--feature-views", "user_transaction_features"]


@pytest.fixture(scope="module")
def repo(spark, tmp_path_factory, dynamo):
    repo = make_repo(tmp_path_factory.mktemp("writer_repo"))
    repo.write(spark, "user_transaction_features", USERS)
    repo.write(spark, "merchant_risk_features", [])
    apply_repo(repo.config(dynamo), dynamo)
    return repo


def _job(command: str, args: list[str], overrides: list[str], capsys) -> tuple[int, dict]:
    code = main([*args, *[a for o in overrides for a in ("--set", o)]], command=command)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return code, json.loads(lines[-1])


def _count(repo, dynamo, user: str) -> int | None:
    client = dynamodb_client(dynamo, region="us-east-1")
    key = {"entity_id": {"S": entity_id([("user_id", "STRING", user)])}}
    item = client.get_item(TableName="fraud_detection.user_transaction_features", Key=key, ConsistentRead=True)
    if "Item" not in item:
        return None
    return ValueProto.FromString(item["Item"]["values"]["M"]["transaction_count_7d"]["B"]).int64_val


@pytest.mark.integration
def test_endpoint_down_exits_3_leaves_the_registry_and_the_rerun_succeeds(repo, dynamo, capsys):
    before = repo.registry.read_bytes()
    down = f"http://127.0.0.1:{free_port()}"
    code, result = _job("materialize", RECENT, repo.overrides(down), capsys)
    assert code == 3
    assert "unavailable" in result["error"] and down in result["error"]
    assert repo.registry.read_bytes() == before
    code, result = _job("materialize", RECENT, repo.overrides(dynamo), capsys)
    assert code == 0, result
    assert result["registry_intervals_added"] == 1
    assert (_count(repo, dynamo, "user_a"), _count(repo, dynamo, "user_c")) == (2, 7)


@pytest.mark.integration
def test_a_failed_write_records_nothing(repo, dynamo, capsys):
    proxy = FaultProxy(dynamo, throttle_every=1)
    before = repo.registry.read_bytes()
    try:
        overrides = [*repo.overrides(proxy.url), "online_store.retry_max_seconds=1"]
        code, result = _job("materialize", RECENT, overrides, capsys)
    finally:
        proxy.close()
    assert code == 3
    assert "retry_max_seconds" in result["error"]
    assert repo.registry.read_bytes() == before


@pytest.mark.integration
def test_backfill_of_an_older_window_keeps_the_newer_values(repo, dynamo, capsys):
    code, _ = _job("materialize", RECENT, repo.overrides(dynamo), capsys)
    assert code == 0
    code, result = _job("materialize", OLDER, repo.overrides(dynamo), capsys)
    assert code == 0, result
    view = result["views"]["user_transaction_features"]
    assert view["write_mode"] == "conditional"
    # user_a holds the 11th online, newer than the window's 5th: skipped. user_b had nothing online.
    assert (view["items"], view["skipped_stale"]) == (1, 1)
    assert (_count(repo, dynamo, "user_a"), _count(repo, dynamo, "user_b"), _count(repo, dynamo, "user_c")) == (2, 5, 7)
