"""Our Feast offline store through the Feast SDK: the guide's script, Spark output, and the cases
where Feast 0.67's own Spark store is wrong (ties on event_timestamp, colliding multi-column keys,
a non-UTC session time zone). Expected values are worked out by hand from FEATURES.md's rule.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from feast import Entity, FeatureStore, FeatureView, Field, ValueType
from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource
from feast.repo_config import RepoConfig
from feast.table_format import DeltaFormat
from feast.types import Float64, Int64
from offline_store_helpers import GUIDE_EXPECTED, feast_repo, ts
from package_support import install_wheel
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from jobs.config import REPO_ROOT
from jobs.offline_store.feast_store import FraudSparkOfflineStore, FraudSparkOfflineStoreConfig

FEATURES = [
    "transaction_count_7d",
    "transaction_amount_avg_7d",
    "transaction_amount_max_7d",
    "unique_merchants_7d",
    "chargeback_rate_30d",
    "risk_score",
]


@pytest.fixture(scope="module")
def repo(spark, tmp_path_factory):
    return feast_repo(spark, tmp_path_factory.getbasetemp() / "offline_store")


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return round(float(value), 5)


def by_entity(frame: pd.DataFrame) -> dict:
    got = {}
    for row in frame.to_dict("records"):
        key = (row["user_id"], pd.Timestamp(row["event_timestamp"]).tz_convert("UTC").to_pydatetime())
        assert key not in got, f"duplicate output row for {key}"
        got[key] = tuple(_plain(row[f]) for f in FEATURES)
    return got


EXPECTED = {k: tuple(_plain(v) for v in values) for k, values in GUIDE_EXPECTED.items()}


def run_guide_script(repo: Path) -> pd.DataFrame:
    """The guide's training_data.py, run from a copy inside the test repo so its repo_path is that repo."""
    script = repo / "examples" / "training_data.py"
    script.parent.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "feature_defs" / "examples" / "training_data.py", script)
    return runpy.run_path(str(script))["training_df"]


def test_guide_script_returns_point_in_time_values(repo):
    training_df = run_guide_script(repo)
    assert list(training_df.columns) == ["user_id", "merchant_id", "event_timestamp", "label", *FEATURES]
    assert len(training_df) == 4  # the tie on user_001's 2026-03-01 row must not duplicate it
    assert by_entity(training_df) == EXPECTED


def test_non_utc_session_time_zone_gives_the_same_values(spark, repo):
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Seoul")
    try:
        training_df = run_guide_script(repo)
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)
    assert by_entity(training_df) == EXPECTED


def test_spark_frame_for_big_results_is_lazy_and_equal(spark, repo):
    store = FeatureStore(repo_path=str(repo))
    entity_df = spark.createDataFrame(
        [(user, t, "merch_100" if user != "user_002" else "merch_200") for user, t in GUIDE_EXPECTED],
        "user_id string, event_timestamp timestamp, merchant_id string",
    )
    job = store.get_historical_features(entity_df=entity_df, features=store.get_feature_service("fraud_detection_v2"))
    frame = job.to_spark_df()
    assert isinstance(frame, DataFrame)
    rows = {(r.user_id, r.event_timestamp.astimezone(dt.UTC)): r.transaction_count_7d for r in frame.collect()}
    assert rows == {k: v[0] for k, v in GUIDE_EXPECTED.items()}
    assert job.metadata.min_event_timestamp == ts("2026-03-01 10:00:00")


def test_multi_column_keys_whose_concatenations_collide(spark, tmp_path):
    """(1, 12) and (11, 2) both concatenate to "112"; each must get its own row's values."""
    table = tmp_path / "pairs"
    schema = T.StructType(
        [
            T.StructField("a", T.LongType()),
            T.StructField("b", T.LongType()),
            T.StructField("event_timestamp", T.TimestampType()),
            T.StructField("created_timestamp", T.TimestampType()),
            T.StructField("score", T.DoubleType()),
        ]
    )
    rows = [(1, 12, ts("2026-03-01 00:00:00"), None, 1.0), (11, 2, ts("2026-03-01 00:00:00"), None, 2.0)]
    spark.createDataFrame(rows, schema).write.format("delta").save(str(table))
    a = Entity(name="a", join_keys=["a"], value_type=ValueType.INT64)
    b = Entity(name="b", join_keys=["b"], value_type=ValueType.INT64)
    view = FeatureView(
        name="pair_scores",
        entities=[a, b],
        ttl=dt.timedelta(days=1),
        schema=[Field(name="a", dtype=Int64), Field(name="b", dtype=Int64), Field(name="score", dtype=Float64)],
        source=SparkSource(
            name="pairs",
            path=str(table),
            table_format=DeltaFormat(),
            timestamp_field="event_timestamp",
            created_timestamp_column="created_timestamp",
        ),
    )
    config = RepoConfig(
        project="pairs",
        registry=str(tmp_path / "registry.db"),
        provider="local",
        offline_store=FraudSparkOfflineStoreConfig(),
        online_store={"type": "sqlite", "path": str(tmp_path / "online.db")},
        entity_key_serialization_version=3,
    )
    store = FeatureStore(config=config)
    store.apply([a, b, view])
    entity_df = pd.DataFrame(
        {"a": [1, 11, 1], "b": [12, 2, 2], "event_timestamp": pd.to_datetime(["2026-03-01 05:00:00"] * 3)}
    )
    got = store.get_historical_features(entity_df=entity_df, features=["pair_scores:score"]).to_df()
    assert sorted(zip(got["a"], got["b"], map(_plain, got["score"]), strict=True)) == [
        (1, 2, None),
        (1, 12, 1.0),
        (11, 2, 2.0),
    ]


def test_the_repo_names_our_store():
    store = FeatureStore(repo_path=str(REPO_ROOT / "feature_defs"))
    assert isinstance(store.config.offline_store, FraudSparkOfflineStoreConfig)
    assert store._get_provider().offline_store.__class__ is FraudSparkOfflineStore


def test_sdk_and_job_return_identical_rows(spark, repo, tmp_path):
    from chispa import assert_df_equality

    from jobs.training_set_job import main

    labels, output = str(tmp_path / "labels"), str(tmp_path / "training_set")
    rows = [(user, "merch_100", t, i % 2) for i, (user, t) in enumerate(GUIDE_EXPECTED)]
    rows += [rows[0], (None, "merch_300", ts("2026-03-05 17:00:00"), 1)]  # a duplicate and a null key
    spark.createDataFrame(
        rows, "user_id string, merchant_id string, event_timestamp timestamp, label int"
    ).write.format("delta").save(labels)
    code = main(
        [
            "--entities", labels, "--feature-service", "fraud_detection_v2", "--output", output,
            "--set", f"feast.repo_path={repo}", "--set", f"feast.registry={repo.parent / 'feast' / 'registry.db'}",
            # the join itself is compared here, null key included; the suite would (rightly) reject that key
            "--set", "quality.audit_training_sets=false",
        ]
    )  # fmt: skip
    assert code == 0
    store = FeatureStore(repo_path=str(repo))
    sdk = store.get_historical_features(
        entity_df=spark.read.format("delta").load(labels), features=store.get_feature_service("fraud_detection_v2")
    ).to_spark_df()
    job = spark.read.format("delta").load(output)
    assert job.count() == len(rows)
    assert_df_equality(job, sdk, ignore_row_order=True, ignore_nullable=True)


# Run in a fresh Python whose Spark has Delta from its launch classpath, as on Databricks: the guide's
# script through the installed wheel (no checkout, no ./jars next to it or in the working directory).
PLATFORM_PROBE = """
import json, runpy, sys
from pyspark.sql import SparkSession
import jobs
training_df = runpy.run_path(sys.argv[1])["training_df"]
spark = SparkSession.getActiveSession()
print(json.dumps({"jobs": jobs.__file__, "jars": spark.conf.get("spark.jars", ""),
                  "rows": training_df.to_json(orient="records", date_format="iso")}))
"""


@pytest.mark.integration
def test_historical_features_where_spark_already_has_delta(repo, tmp_path):
    site = install_wheel(tmp_path / "site")
    platform_jars = tmp_path / "platform-jars"
    shutil.copytree(REPO_ROOT / "jars", platform_jars, ignore=shutil.ignore_patterns(".*"))
    run_guide_script(repo)  # puts the guide's script inside the test repo
    env = {key: os.environ[key] for key in ("PATH", "HOME", "JAVA_HOME", "LANG") if key in os.environ} | {
        "PYTHONPATH": str(site),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "FRAUD_SHIP_JARS": "0",
        "PYSPARK_SUBMIT_ARGS": f"--jars {','.join(sorted(map(str, platform_jars.glob('*.jar'))))} pyspark-shell",
    }
    done = subprocess.run(
        [sys.executable, "-c", PLATFORM_PROBE, str(repo / "examples" / "training_data.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["jobs"]).is_relative_to(site)
    assert result["jars"] and all(
        Path(jar.removeprefix("file:")).parent == platform_jars for jar in result["jars"].split(",")
    )
    training_df = pd.DataFrame(json.loads(result["rows"]))
    training_df["event_timestamp"] = pd.to_datetime(training_df["event_timestamp"], utc=True)
    assert by_entity(training_df) == EXPECTED
