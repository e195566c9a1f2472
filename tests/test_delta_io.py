"""jobs/delta_io.py: the same calls for a catalog table name and for a path: a replaceWhere commit
replaces exactly its days, time travel reads an earlier version, `exists` tells a Delta table from
nothing, `remove` drops or deletes, and `child` names a staged table inside a schema or a folder."""

from __future__ import annotations

import datetime as dt
import functools
import threading
import uuid

import pytest
from pyspark.sql import types as T

from jobs import delta_io
from jobs.errors import BadInputError
from jobs.feast_repo import feature_tables_folder

SCHEMA = T.StructType([T.StructField("id", T.StringType()), T.StructField("day", T.DateType())])
D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


@pytest.fixture(scope="module")
def schema_name(spark, tmp_path_factory) -> str:
    name = f"spark_catalog.delta_io_{uuid.uuid4().hex[:8]}"
    location = tmp_path_factory.mktemp("delta_io_schema")
    # Test-made identifier and tmp path: CREATE SCHEMA takes no parameter markers.
    spark.sql(f"CREATE SCHEMA {name} LOCATION '{location}'")
    return name


@pytest.fixture(params=["name", "path"])
def location(request, schema_name, tmp_path) -> str:
    table = f"t_{uuid.uuid4().hex[:8]}"
    return f"{schema_name}.{table}" if request.param == "name" else str(tmp_path / table)


def frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def content(spark, location, version=None) -> set:
    return {tuple(r) for r in delta_io.read(spark, location, version=version).collect()}


def test_replace_where_time_travel_and_history_by_name_or_path(spark, location):
    assert not delta_io.exists(spark, location)
    delta_io.overwrite(frame(spark, [("a", D1), ("b", D2), ("c", D3)]), location, partition_by=["day"])
    assert delta_io.exists(spark, location)
    delta_io.overwrite(
        frame(spark, [("x", D2)]),
        location,
        replace_where=delta_io.between_days("day", D2, D3),
        partition_by=["day"],
        optimize_write=True,
    )
    assert content(spark, location) == {("a", D1), ("x", D2)}
    assert content(spark, location, version=0) == {("a", D1), ("b", D2), ("c", D3)}
    commit = delta_io.latest_commit(spark, location)
    assert (commit["version"], commit["operationMetrics"]["numOutputRows"]) == (1, "1")


def test_a_batch_outside_its_replace_where_is_refused_and_nothing_is_committed(spark, location):
    delta_io.overwrite(frame(spark, [("a", D1)]), location, partition_by=["day"])
    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):
        delta_io.overwrite(
            frame(spark, [("z", D3)]),
            location,
            replace_where=delta_io.between_days("day", D1, D2),
            partition_by=["day"],
        )
    assert delta_io.latest_commit(spark, location)["version"] == 0


def test_upsert_replaces_matched_rows_and_inserts_the_rest_in_one_merge(spark, location):
    delta_io.overwrite(frame(spark, [("a", D1), ("b", D1)]), location)
    delta_io.upsert(spark, location, frame(spark, [("b", D2), ("c", D3)]), matched_on="t.id = s.id")
    assert content(spark, location) == {("a", D1), ("b", D2), ("c", D3)}
    commit = delta_io.latest_commit(spark, location)
    assert (commit["version"], commit["operation"]) == (1, "MERGE")
    metrics = commit["operationMetrics"]
    assert (metrics["numTargetRowsUpdated"], metrics["numTargetRowsInserted"]) == ("1", "1")


def test_concurrent_writes_run_together_each_its_commit_with_the_callers_local_properties(spark, tmp_path):
    # Both writes must reach the barrier before either goes on: one after the other, it times out.
    together = threading.Barrier(2, timeout=60)
    context = spark.sparkContext

    def write(name: str) -> str | None:
        together.wait()
        delta_io.overwrite(frame(spark, [(name, D1)]), str(tmp_path / name))
        return context.getLocalProperty("spark.job.description")

    context.setLocalProperty("spark.job.description", "nightly features")
    try:
        results = delta_io.concurrently(functools.partial(write, "a"), functools.partial(write, "b"))
    finally:
        context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
    assert results == ["nightly features", "nightly features"]
    assert [content(spark, str(tmp_path / name)) for name in "ab"] == [{("a", D1)}, {("b", D1)}]
    assert [delta_io.latest_commit(spark, str(tmp_path / name))["version"] for name in "ab"] == [0, 0]


def test_a_failing_concurrent_write_is_raised_after_the_others_committed(spark, tmp_path):
    def fail() -> None:
        raise BadInputError("table t: broken")

    def write() -> None:
        delta_io.overwrite(frame(spark, [("a", D1)]), str(tmp_path / "a"))

    with pytest.raises(BadInputError, match="table t: broken"):
        delta_io.concurrently(fail, write)
    assert content(spark, str(tmp_path / "a")) == {("a", D1)}


def test_remove_drops_a_named_table_or_deletes_a_folder(spark, location):
    delta_io.overwrite(frame(spark, [("a", D1)]), location, user_metadata='{"run": 1}')
    assert delta_io.latest_commit(spark, location)["userMetadata"] == '{"run": 1}'
    delta_io.remove(spark, location)
    assert not delta_io.exists(spark, location)


def test_a_table_of_another_format_is_not_a_delta_table(spark, schema_name):
    name = f"{schema_name}.parquet_{uuid.uuid4().hex[:8]}"
    frame(spark, [("a", D1)]).write.format("parquet").saveAsTable(name)
    assert not delta_io.exists(spark, name)


def test_child_is_a_table_of_a_schema_or_a_subfolder():
    run_id = "features-20260301T000000-ab12cd34"
    assert delta_io.child("cat.staging", "user_transaction_features", run_id) == (
        "cat.staging.user_transaction_features_features_20260301T000000_ab12cd34"
    )
    assert delta_io.child("cat.staging", "training_sets", "fraud-v2", run_id).startswith(
        "cat.staging.training_sets_fraud_v2_features_"
    )
    assert delta_io.child("s3://lake/staging/", "user_transaction_features", run_id) == (
        f"s3://lake/staging/user_transaction_features/{run_id}"
    )


def test_feature_tables_by_name_share_a_schema(config):
    from dataclasses import replace

    def tables(users: str, merchants: str):
        return replace(config, tables=replace(config.tables, user_features=users, merchant_features=merchants))

    named = tables("fraud.features.user_transaction_features", "fraud.features.merchant_risk_features")
    assert feature_tables_folder(named) == "fraud.features"
    with pytest.raises(Exception, match=r"must end in \.user_transaction_features"):
        feature_tables_folder(tables("fraud.features.users", "fraud.features.merchant_risk_features"))
    with pytest.raises(Exception, match="must share a folder or schema"):
        feature_tables_folder(tables("a.b.user_transaction_features", "a.c.merchant_risk_features"))
