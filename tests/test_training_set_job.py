"""`python -m jobs training-set`: bad input fails with exit 2 before any Spark job; a training set
rebuilt with `--as-of-versions` equals the original after the feature tables were rewritten; a set
failing its suite is not published (exit 1, output unchanged, the set kept in staging)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from offline_store_helpers import GUIDE_EXPECTED, USER_ROWS, feast_repo, write_feature_tables
from pyspark.sql import functions as F

from jobs.training_set_job import main


@pytest.fixture(scope="module")
def base(spark, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "offline_store"
    feast_repo(spark, base)
    return base


def job_args(base, *args):
    return [
        *args,
        "--set",
        f"feast.repo_path={base / 'feature_repo'}",
        "--set",
        f"feast.registry={base / 'feast' / 'registry.db'}",
        "--set",
        f"tables.training_sets={base / 'training_sets'}",
        "--set",
        f"tables.staging={base / 'staging'}",
        "--set",
        f"quality.results_path={base / 'quality'}",
    ]


@pytest.fixture(scope="module")
def labels(spark, base):
    """The guide's entity rows as a Delta table (the labels table's shape)."""
    path = str(base / "labels")
    rows = [(user, "merch_100", t, 1) for user, t in GUIDE_EXPECTED]
    spark.createDataFrame(
        rows, "user_id string, merchant_id string, event_timestamp timestamp, label int"
    ).write.format("delta").mode("overwrite").save(path)
    return path


def run_without_spark_jobs(spark, argv, capsys):
    """Run the job; return (exit code, its JSON line, ids of Spark jobs it started)."""
    group = f"training-set-test-{uuid.uuid4().hex}"
    spark.sparkContext.setJobGroup(group, "bad input must not start Spark jobs")
    try:
        code = main(argv)
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return code, result, list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


@pytest.mark.parametrize(
    ("select", "features", "message"),
    [
        ("user_id, event_timestamp", ["--feature-service", "fraud_detection_v2"], "missing column(s) merchant_id"),
        ("merchant_id, event_timestamp", ["--features", "user_transaction_features:transaction_count_7d"], "user_id"),
        ("user_id, merchant_id", ["--feature-service", "fraud_detection_v2"], "missing column(s) event_timestamp"),
        (
            "user_id, merchant_id, CAST(event_timestamp AS STRING) AS event_timestamp",
            ["--feature-service", "fraud_detection_v2"],
            "column event_timestamp must be a timestamp (UTC instant), got string",
        ),
        ("*", ["--features", "no_such_view:x"], "unknown feature view(s) no_such_view"),
        ("*", ["--features", "user_transaction_features:nope"], "has no feature(s) nope"),
        ("*", ["--features", " , "], "the feature list is empty"),
        ("*", ["--feature-service", "no_such_service"], "no_such_service"),
        ("*", ["--feature-service", "fraud_detection_v2", "--time-bucket-days", "-1"], "--time-bucket-days must be"),
        ("*", ["--feature-service", "fraud_detection_v2", "--hot-key-rows", "-5"], "--hot-key-rows must be >= 0"),
    ],
)
def test_bad_input_exits_2_before_any_spark_job(spark, base, labels, capsys, select, features, message):
    entities = str(base / f"entities_{uuid.uuid4().hex[:8]}")
    spark.read.format("delta").load(labels).selectExpr(*select.split(", ")).write.format("delta").save(entities)
    code, result, jobs = run_without_spark_jobs(spark, job_args(base, "--entities", entities, *features), capsys)
    assert (code, result["status"]) == (2, "failed")
    assert message in result["error"]
    assert jobs == []


def test_rebuild_from_recorded_versions_equals_the_original(spark, base, labels, capsys):
    first, again, fresh = (str(base / "training_sets" / n) for n in ("first", "again", "fresh"))
    assert main(job_args(base, "--entities", labels, "--feature-service", "fraud_detection_v2", "--output", first)) == 0
    recorded = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    original = spark.read.format("delta").load(first)
    assert original.count() == len(GUIDE_EXPECTED)

    changed = [(*r[:3], r[3] + 100, *r[4:]) for r in USER_ROWS]
    write_feature_tables(spark, base / "features", user_rows=changed)
    try:
        assert main(job_args(base, "--as-of-versions", first, "--output", again)) == 0
        rebuilt = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert (
            main(job_args(base, "--entities", labels, "--feature-service", "fraud_detection_v2", "--output", fresh))
            == 0
        )
    finally:
        write_feature_tables(spark, base / "features")
    assert rebuilt["table_versions"] == recorded["table_versions"]
    assert_df_equality(spark.read.format("delta").load(again), original, ignore_row_order=True)
    # and the tables really changed: a build at the current versions differs
    counts = spark.read.format("delta").load(fresh).agg(F.sum("transaction_count_7d")).first()[0]
    assert counts == original.agg(F.sum("transaction_count_7d")).first()[0] + 300


def test_a_training_set_failing_its_suite_is_not_published(spark, base, labels, capsys):
    output = str(base / "training_sets" / "audited")
    request = ["--entities", labels, "--feature-service", "fraud_detection_v2", "--output", output]
    assert main(job_args(base, *request)) == 0
    published = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert published["audit"]["success"] is True
    assert not Path(published["staging_path"]).exists()  # removed once published

    negative_counts = [(*r[:3], -r[3], *r[4:]) for r in USER_ROWS]
    write_feature_tables(spark, base / "features", user_rows=negative_counts)
    try:
        code = main(job_args(base, *request))
    finally:
        write_feature_tables(spark, base / "features")
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert (code, result["status"]) == (1, "failed")
    assert "expect_column_values_to_be_between(transaction_count_7d)" in result["error"]
    assert DeltaTable.forPath(spark, output).history(1).first()["version"] == published["output_version"]
    rejected = spark.read.format("delta").load(result["staging_path"])
    assert rejected.filter(F.col("transaction_count_7d") < 0).count() == 3  # the entity rows with a count
