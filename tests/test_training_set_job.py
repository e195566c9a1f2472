"""`python -m jobs training-set`: bad input fails with exit 2 before any Spark job; a training set
rebuilt with `--as-of-versions` equals the original after the feature tables were rewritten; a set
failing its suite is not published (exit 1, output unchanged, the set kept in staging)."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pandas as pd
import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from feast import FeatureStore
from offline_store_helpers import (
    GUIDE_EXPECTED,
    USER_ROWS,
    UTC,
    apply_repo,
    feast_repo,
    ts,
    user_and_merchant_rows,
    write_feature_tables,
)
from pyspark.sql import functions as F

from jobs.training_set_job import main
from oracle import point_in_time

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(spark, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "offline_store"
    feast_repo(spark, base)
    return base


USER_FEATURES = [
    "transaction_count_7d",
    "transaction_amount_avg_7d",
    "transaction_amount_max_7d",
    "unique_merchants_7d",
    "avg_time_between_transactions",
]
MERCHANT_REFS = [
    f"merchant_risk_features:{f}"
    for f in ("chargeback_rate_30d", "avg_transaction_amount", "total_transactions_30d", "risk_score")
]


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return round(float(value), 5)


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


# ---------------------------------------------------------------------------------------------
# --filter-by-created-timestamp: the job, the SDK and the oracle agree


def pandas_rows(spark_frame) -> pd.DataFrame:
    frame = spark_frame.toPandas()
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"]).dt.tz_localize(None).dt.tz_localize(UTC)
    return frame


def test_filter_by_created_timestamp_in_the_job_equals_the_sdk_and_the_oracle(spark, base, tmp_path, capsys):
    """user_001's 2026-03-01 00:00 row was written twice, at 01:00 (count 3) and 02:00 (count 4): at
    01:30 only the first is known, at 00:30 neither."""
    labels, output = str(tmp_path / "labels"), str(tmp_path / "filtered")
    rows = [(user, "merch_100", t, 1) for user, t in GUIDE_EXPECTED]
    rows += [
        ("user_001", "merch_100", ts("2026-03-01 01:30:00"), 0),
        ("user_001", "merch_100", ts("2026-03-01 00:30:00"), 0),
    ]
    entity_df = spark.createDataFrame(rows, "user_id string, merchant_id string, event_timestamp timestamp, label int")
    entity_df.write.format("delta").save(labels)
    request = ["--entities", labels, "--feature-service", "fraud_detection_v2", "--output", output]
    assert main(job_args(base, *request, "--filter-by-created-timestamp")) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "ok"

    job = spark.read.format("delta").load(output)
    store = FeatureStore(repo_path=str(base / "feature_repo"))
    sdk = store.get_historical_features(
        entity_df=entity_df, features=store.get_feature_service("fraud_detection_v2"), filter_by_created_timestamp=True
    ).to_spark_df()
    assert_df_equality(job, sdk, ignore_row_order=True, ignore_nullable=True)

    users, merchants = user_and_merchant_rows()
    got = pandas_rows(job.orderBy("event_timestamp", "user_id"))
    for key, features, ttl, columns in (
        ("user_id", users, pd.Timedelta(days=7), ["transaction_count_7d", "transaction_amount_avg_7d"]),
        ("merchant_id", merchants, pd.Timedelta(days=30), ["risk_score"]),
    ):
        expected = point_in_time(
            got, features, entity_key=key, feature_key=key, ttl=ttl, columns=columns, filter_by_created=True
        )
        assert [tuple(_plain(v) for v in r) for r in got[columns].itertuples(index=False)] == [
            tuple(_plain(v) for v in r) for r in expected
        ]
    early = got[got.event_timestamp < pd.Timestamp("2026-03-01 02:00:00", tz=UTC)]
    assert [_plain(v) for v in early.transaction_count_7d] == [None, 3.0]


# ---------------------------------------------------------------------------------------------
# A feature service's projections (with_join_key_map, with_name, feature subsets) as the SDK resolves them

# One base view twice needs an alias on both: Feast 0.67 cannot compare a projection without an
# alias with one that has it (FeatureService.__eq__ sorts them), in the SDK as in the job.
PROJECTED_SERVICES = """
fraud_by_sender = FeatureService(
    name="fraud_by_sender",
    features=[
        user_transaction_features.with_join_key_map({"user_id": "sender_id"}),
        merchant_risk_features[["risk_score"]].with_name("merchant_risk"),
    ],
)
both_sides = FeatureService(
    name="both_sides",
    features=[
        user_transaction_features.with_name("sender").with_join_key_map({"user_id": "sender_id"})[
            ["transaction_count_7d"]
        ],
        user_transaction_features.with_name("receiver").with_join_key_map({"user_id": "receiver_id"})[
            ["transaction_count_7d", "unique_merchants_7d"]
        ],
    ],
)
"""


@pytest.fixture(scope="module")
def projected_base(spark, tmp_path_factory):
    base = tmp_path_factory.mktemp("projected")
    feast_repo(spark, base, extra_services=PROJECTED_SERVICES)
    return base


@pytest.mark.parametrize(
    ("service", "full_names", "columns"),
    [
        ("fraud_by_sender", False, ["transaction_count_7d", "unique_merchants_7d", "risk_score"]),
        ("both_sides", True, ["sender__transaction_count_7d", "receiver__transaction_count_7d"]),
    ],
)
def test_a_services_projections_give_the_sdks_rows(
    spark, projected_base, tmp_path, capsys, service, full_names, columns
):
    """user_id, sender_id and receiver_id name different users in every row, so a join on the wrong
    column gives other values."""
    users = [u for u, _ in GUIDE_EXPECTED]
    rows = [
        (users[i], users[(i + 1) % 4], users[(i + 2) % 4], "merch_300" if i % 2 else "merch_100", t, i % 2)
        for i, (_, t) in enumerate(GUIDE_EXPECTED)
    ]
    schema = (
        "user_id string, sender_id string, receiver_id string, merchant_id string, event_timestamp timestamp, label int"
    )
    entity_df = spark.createDataFrame(rows, schema)
    labels, output = str(tmp_path / "labels"), str(tmp_path / service)
    entity_df.write.format("delta").save(labels)
    request = ["--entities", labels, "--feature-service", service, "--output", output]
    assert main(job_args(projected_base, *request, *(["--full-feature-names"] if full_names else []))) == 0
    capsys.readouterr()

    job = spark.read.format("delta").load(output)
    store = FeatureStore(repo_path=str(projected_base / "feature_repo"))
    sdk = store.get_historical_features(
        entity_df=entity_df, features=store.get_feature_service(service), full_feature_names=full_names
    ).to_spark_df()
    assert_df_equality(job, sdk, ignore_row_order=True, ignore_nullable=True)

    user_rows, merchant_rows = user_and_merchant_rows()
    got = pandas_rows(job.orderBy("event_timestamp"))
    week, month = pd.Timedelta(days=7), pd.Timedelta(days=30)

    def values(entity_key, features, ttl, wanted):
        key = "merchant_id" if entity_key == "merchant_id" else "user_id"
        return point_in_time(got, features, entity_key=entity_key, feature_key=key, ttl=ttl, columns=wanted)

    if service == "fraud_by_sender":
        parts = [
            values("sender_id", user_rows, week, columns[:2]),
            values("merchant_id", merchant_rows, month, ["risk_score"]),
        ]
    else:
        count = ["transaction_count_7d"]
        parts = [values("sender_id", user_rows, week, count), values("receiver_id", user_rows, week, count)]
        assert "receiver__unique_merchants_7d" in job.columns
        assert "sender__unique_merchants_7d" not in job.columns
    expected = [a + b for a, b in zip(*parts, strict=True)]
    got_values = [tuple(_plain(v) for v in r) for r in got[columns].itertuples(index=False)]
    assert got_values == [tuple(_plain(v) for v in r) for r in expected]


# ---------------------------------------------------------------------------------------------
# --as-of-versions rebuilds the recorded request, whatever the registry says today


def test_rebuild_uses_the_recorded_request_after_the_service_and_a_ttl_changed(spark, tmp_path, capsys):
    base = tmp_path / "repo_base"
    repo = feast_repo(spark, base)
    labels, first, again, fresh = (str(tmp_path / n) for n in ("labels", "first", "again", "fresh"))
    rows = [(user, "merch_100", t, 1) for user, t in GUIDE_EXPECTED]
    spark.createDataFrame(
        rows, "user_id string, merchant_id string, event_timestamp timestamp, label int"
    ).write.format("delta").save(labels)
    assert main(job_args(base, "--entities", labels, "--feature-service", "fraud_detection_v2", "--output", first)) == 0
    capsys.readouterr()
    original = spark.read.format("delta").load(first)

    # Today the service drops risk_score and the user view keeps one day instead of seven.
    services = (repo / "services.py").read_text()
    (repo / "services.py").write_text(
        services.replace(
            "merchant_risk_features]",
            'merchant_risk_features[["chargeback_rate_30d", "avg_transaction_amount", "total_transactions_30d"]]]',
        )
    )
    features = (repo / "features.py").read_text()
    (repo / "features.py").write_text(features.replace("ttl=timedelta(days=7)", "ttl=timedelta(days=1)", 1))
    apply_repo(repo, base / "features")
    # The registry now holds the one-day TTL; the jobs' window check (jobs.feature_windows) reads the repo's
    # files, which a one-day TTL under `_7d` names fails, so they go back to seven days.
    (repo / "features.py").write_text(features)

    assert main(job_args(base, "--as-of-versions", first, "--output", again)) == 0
    rebuilt = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rebuilt["feature_refs"] == [*[f"user_transaction_features:{f}" for f in USER_FEATURES], *MERCHANT_REFS]
    assert_df_equality(spark.read.format("delta").load(again), original, ignore_row_order=True)
    # and today's registry really differs: a fresh build has 8 features and loses user_002's week-old row
    assert main(job_args(base, "--entities", labels, "--feature-service", "fraud_detection_v2", "--output", fresh)) == 0
    today = spark.read.format("delta").load(fresh)
    assert "risk_score" not in today.columns
    assert today.filter(F.col("user_id") == "user_002").first()["transaction_count_7d"] is None
    assert original.filter(F.col("user_id") == "user_002").first()["transaction_count_7d"] == 2


def write_csv(path: Path, rows: list[tuple]) -> None:
    lines = ["user_id,merchant_id,event_timestamp,label"]
    lines += [f"{u},{m},{t.isoformat()},{label}" for u, m, t, label in rows]
    path.write_text("\n".join(lines) + "\n")


def test_a_csv_entity_input_changed_after_the_build_is_refused_on_rebuild(spark, base, tmp_path, capsys):
    csv = tmp_path / "labels.csv"
    rows = [(user, "merch_100", t, 1) for user, t in GUIDE_EXPECTED]
    write_csv(csv, rows)
    first, same, changed = (str(tmp_path / n) for n in ("first", "same", "changed"))
    assert (
        main(job_args(base, "--entities", str(csv), "--feature-service", "fraud_detection_v2", "--output", first)) == 0
    )
    recorded = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert recorded["entity_fingerprint"].startswith(f"{len(rows)}:")

    write_csv(csv, list(reversed(rows)))  # same rows in another order: the same input
    assert main(job_args(base, "--as-of-versions", first, "--output", same)) == 0
    capsys.readouterr()
    assert_df_equality(
        spark.read.format("delta").load(same), spark.read.format("delta").load(first), ignore_row_order=True
    )

    write_csv(csv, [*rows[:-1], (rows[-1][0], rows[-1][1], rows[-1][2], 0)])  # one label flipped
    code = main(job_args(base, "--as-of-versions", first, "--output", changed))
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (code, result["status"]) == (2, "failed")
    assert f"entity rows {csv} changed since {first} was built" in result["error"]
    assert not DeltaTable.isDeltaTable(spark, changed)


def test_a_record_without_view_definitions_is_refused(spark, base, labels, tmp_path, capsys):
    old = str(tmp_path / "old")
    metadata = {
        "fraud_training_set": {
            "entities": {"path": labels, "format": "delta", "version": 0},
            "feature_service": "fraud_detection_v2",
            "feature_refs": ["user_transaction_features:transaction_count_7d"],
            "tables": {},
        }
    }
    spark.read.format("delta").load(labels).write.format("delta").option("userMetadata", json.dumps(metadata)).save(old)
    code = main(job_args(base, "--as-of-versions", old, "--output", str(tmp_path / "again")))
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (code, result["status"]) == (2, "failed")
    assert "records no view definitions" in result["error"]


@pytest.mark.parametrize("entities_format", ["parquet", "delta"])
def test_entity_rows_that_cannot_be_read_are_bad_input(spark, tmp_path, entities_format):
    from jobs.errors import BadInputError
    from jobs.training_set_job import read_entities

    missing = str(tmp_path / "no_entities")
    with pytest.raises(BadInputError, match=f"entity rows {missing}: cannot be read as {entities_format}"):
        read_entities(spark, missing, entities_format, "event_timestamp", version=None)
