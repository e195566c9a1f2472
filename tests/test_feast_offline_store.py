"""Our Feast offline store through the Feast SDK: the guide's script, Spark output, and the cases
where Feast 0.67's own Spark store is wrong (ties on event_timestamp, colliding multi-column keys,
a non-UTC session time zone). Expected values are worked out by hand from FEATURES.md's rule.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
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
from feast.types import Float64, Int32, Int64
from offline_store_helpers import GUIDE_EXPECTED, feast_repo, ts
from package_support import install_wheel
from pyspark.sql import DataFrame
from pyspark.sql import types as T

from jobs.config import REPO_ROOT
from jobs.offline_store.feast_store import FraudSparkOfflineStore, FraudSparkOfflineStoreConfig
from oracle import point_in_time

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


@pytest.mark.integration
def test_guide_script_returns_point_in_time_values(repo):
    training_df = run_guide_script(repo)
    assert list(training_df.columns) == ["user_id", "merchant_id", "event_timestamp", "label", *FEATURES]
    assert len(training_df) == 4  # the tie on user_001's 2026-03-01 row must not duplicate it
    assert by_entity(training_df) == EXPECTED


@pytest.mark.integration
def test_non_utc_session_time_zone_gives_the_same_values(spark, repo):
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Seoul")
    try:
        training_df = run_guide_script(repo)
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)
    assert by_entity(training_df) == EXPECTED


@pytest.mark.integration
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


@pytest.mark.integration
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
        source=delta_source("pairs", table, created="created_timestamp"),
    )
    store = applied_store(tmp_path, "pairs", [a, b, view])
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


@pytest.mark.integration
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


# ---------------------------------------------------------------------------------------------
# filter_by_created_timestamp (Feast's test_historical_features_filter_by_created_timestamp and
# test_historical_features_containing_backfills, on our store; values from tests/oracle.py)

NOW = ts("2026-03-10 12:00:00")
DAY = dt.timedelta(days=1)


def driver_store(spark, tmp_path, rows: list[tuple], *, ttl: dt.timedelta | None = None) -> FeatureStore:
    """A repo with one view `driver_stats` (key driver_id, feature avg_daily_trips) on a Delta table of
    `rows` = (driver_id, avg_daily_trips, event_timestamp, created)."""
    table = tmp_path / "driver_stats"
    schema = "driver_id long, avg_daily_trips int, event_timestamp timestamp, created timestamp"
    spark.createDataFrame(rows, schema).write.format("delta").save(str(table))
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="driver_stats",
        entities=[driver],
        ttl=ttl,
        schema=[Field(name="driver_id", dtype=Int64), Field(name="avg_daily_trips", dtype=Int32)],
        source=delta_source("driver_stats_source", table, created="created"),
    )
    return applied_store(tmp_path, "drivers", [driver, view])


def delta_source(name: str, table: Path, *, created: str) -> SparkSource:
    return SparkSource(
        name=name,
        path=str(table),
        table_format=DeltaFormat(),
        timestamp_field="event_timestamp",
        created_timestamp_column=created,
    )


def applied_store(tmp_path, project: str, objects: list) -> FeatureStore:
    """A Feast repo under `tmp_path` on this project's offline store (sqlite online), `objects` applied."""
    config = RepoConfig(
        project=project,
        registry=str(tmp_path / "registry.db"),
        provider="local",
        offline_store=FraudSparkOfflineStoreConfig(),
        online_store={"type": "sqlite", "path": str(tmp_path / "online.db")},
        entity_key_serialization_version=3,
    )
    store = FeatureStore(config=config)
    store.apply(objects)
    return store


def trips(store: FeatureStore, entity_df: pd.DataFrame, **kwargs) -> list:
    """avg_daily_trips for each entity row, in the entity rows' order."""
    numbered = entity_df.assign(row=range(len(entity_df)))
    got = store.get_historical_features(entity_df=numbered, features=["driver_stats:avg_daily_trips"], **kwargs)
    frame = got.to_df()
    assert sorted(frame.row) == list(range(len(entity_df)))
    return [_plain(v) for v in frame.sort_values("row").avg_daily_trips]


@pytest.mark.integration
def test_filter_by_created_timestamp_leaves_out_a_backfill_created_after_the_entity_row(spark, tmp_path):
    tomorrow, day_after = NOW + DAY, NOW + 2 * DAY
    rows = [(1001, 10, NOW, NOW), (1002, 30, NOW, NOW), (1001, 20, NOW, day_after), (1002, 40, NOW, day_after)]
    store = driver_store(spark, tmp_path, rows)
    entity_df = pd.DataFrame({"driver_id": [1001, 1002], "event_timestamp": [tomorrow, tomorrow]})
    assert trips(store, entity_df) == [20.0, 40.0]  # by default the backfill wins the tie
    assert trips(store, entity_df, filter_by_created_timestamp=True) == [10.0, 30.0]


@pytest.mark.integration
def test_backfills_without_the_filter_take_the_latest_event_then_the_latest_created(spark, tmp_path):
    tomorrow, day_after = NOW + DAY, NOW + 2 * DAY
    rows = [(1001, 10, NOW, NOW), (1001, 20, NOW, tomorrow), (1002, 30, NOW, tomorrow), (1002, 40, tomorrow, NOW)]
    store = driver_store(spark, tmp_path, rows)
    entity_df = pd.DataFrame({"driver_id": [1001, 1002], "event_timestamp": [day_after, day_after]})
    assert trips(store, entity_df) == [20.0, 40.0]


@pytest.mark.parametrize("ttl_hours", [None, 30])
@pytest.mark.integration
def test_filter_by_created_timestamp_on_random_backfills_matches_the_oracle(spark, tmp_path, ttl_hours):
    """Rows land from an hour before to four days after their event, some never stamped; entity rows
    fall before, between and after them. Every row's value is checked against the brute-force oracle,
    with and without the flag."""
    rng = random.Random(ttl_hours or 0)
    hour = dt.timedelta(hours=1)
    rows, seen = [], set()
    for i in range(150):
        driver, event = rng.randint(1, 4), NOW + rng.randint(0, 60) * hour
        created = None if rng.random() < 0.1 else event + rng.choice([-1, 0, 2, 12, 50, 96]) * hour
        if (driver, event, created) not in seen:  # no exact ties on both instants: the oracle needs none
            seen.add((driver, event, created))
            rows.append((driver, i, event, created))
    ttl = dt.timedelta(hours=ttl_hours) if ttl_hours else None
    store = driver_store(spark, tmp_path, rows, ttl=ttl)
    entity_df = pd.DataFrame(
        {
            "driver_id": [rng.randint(1, 5) for _ in range(80)],
            "event_timestamp": [NOW + rng.randint(-2, 120) * hour for _ in range(80)],
        }
    ).drop_duplicates()
    features = pd.DataFrame(rows, columns=["driver_id", "avg_daily_trips", "event_timestamp", "created_timestamp"])
    for flag in (False, True):
        expected = point_in_time(
            entity_df,
            features,
            entity_key="driver_id",
            feature_key="driver_id",
            ttl=pd.Timedelta(ttl) if ttl else None,
            columns=["avg_daily_trips"],
            filter_by_created=flag,
        )
        assert trips(store, entity_df, filter_by_created_timestamp=flag) == [_plain(v) for (v,) in expected]
    unfiltered = point_in_time(
        entity_df, features, entity_key="driver_id", feature_key="driver_id", ttl=None, columns=["avg_daily_trips"]
    )
    assert expected != unfiltered  # the flag changes answers on this data


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
