"""Every `tables.*` setting as a catalog table name (Spark's embedded in-memory catalog here, Unity
Catalog on Databricks): generate -> features (write-audit-publish, staged in a schema) -> validate ->
apply (Feast sources on `SparkSource(table=...)`) -> training-set (the job and the Feast SDK) ->
materialize, run once with names and once with paths on the same generated data.

Both runs give identical rows; the feature tables match the FEATURES.md pandas oracle, the training
sets a brute-force pandas point-in-time join, the online values the latest-row oracle; and
`training-set --as-of-versions` reads the named tables back at the versions it recorded."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import uuid
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from feast import FeatureStore
from online_support import FEATURES, KEY, make_repo
from online_support import oracle as online_oracle
from pyspark.sql import functions as F

import oracle
from jobs import (
    apply_job,
    delta_io,
    feast_repo,
    features_job,
    generate_job,
    materialize_job,
    training_set_job,
    validate_job,
)
from jobs.config import load_config
from jobs.features.run_range import DateRange
from jobs.online_store.embedded import embedded_dynamodb

pytestmark = pytest.mark.integration

GENERATE = ["--users", "300", "--merchants", "30", "--days", "40", "--transactions", "20000", "--bad-rows", "2"]
GENERATE += ["--start-date", "2026-01-01"]
RUN = DateRange("2026-02-01", "2026-02-09")
DAYS = ["--start", RUN.start.isoformat(), "--end", RUN.end.isoformat()]
WINDOW = (dt.datetime(2026, 2, 1), dt.datetime(2026, 2, 10))
SERVICE = "fraud_detection_v2"
VIEWS = {"user_transaction_features": "user_features", "merchant_risk_features": "merchant_features"}
TTL = {"user_transaction_features": dt.timedelta(days=7), "merchant_risk_features": dt.timedelta(days=30)}


def named_tables(spark, root: Path) -> dict[str, str]:
    """Four schemas of the session catalog, each with its files under `root`; the tables in them."""
    prefix = f"byname_{uuid.uuid4().hex[:8]}"
    for schema in ("bronze", "features", "staging", "training"):
        location = root / "warehouse" / schema
        # Test-made identifiers and a tmp path, no user input: CREATE SCHEMA takes no parameter markers.
        spark.sql(f"CREATE SCHEMA spark_catalog.{prefix}_{schema} LOCATION '{location}'")
    catalog = f"spark_catalog.{prefix}"
    return {
        "raw_transactions": f"{catalog}_bronze.transactions",
        "raw_chargebacks": f"{catalog}_bronze.chargebacks",
        "labels": f"{catalog}_bronze.fraud_labels",
        "quarantine": f"{catalog}_bronze.quarantine",
        "user_features": f"{catalog}_features.user_transaction_features",
        "merchant_features": f"{catalog}_features.merchant_risk_features",
        "staging": f"{catalog}_staging",
        "training_sets": f"{catalog}_training",
    }


def path_tables(root: Path) -> dict[str, str]:
    tables = {key: str(root / "tables" / key) for key in ("raw_transactions", "raw_chargebacks", "labels")}
    tables.update(quarantine=str(root / "tables" / "quarantine"), staging=str(root / "tables" / "staging"))
    tables.update(training_sets=str(root / "tables" / "training_sets"))
    tables.update({key: str(root / "tables" / "features" / view) for view, key in VIEWS.items()})
    return tables


def ok(job, *args) -> dict:
    """Run a job's `main` in-process (the test session is reused); its JSON line, asserting exit 0."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = job.main(list(args))
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert code == 0, result
    return result


def rows(df) -> list[tuple]:
    return [tuple(r) for r in df.collect()]


def run_pipeline(spark, root: Path, tables: dict[str, str]) -> dict:
    """The pipeline on one set of tables; returns what the checks need."""
    from conftest import write_job_config

    repo = make_repo(root)
    config_file = write_job_config(root)
    with embedded_dynamodb() as url, pytest.MonkeyPatch.context() as env:
        settings = [
            f"feast.repo_path={repo.repo_path}",
            f"feast.registry={repo.registry}",
            f"quality.results_path={root / 'quality'}",
            f"online_store.endpoint={url}",
            *(f"tables.{key}={value}" for key, value in tables.items()),
        ]
        common = ["--config", str(config_file), *(arg for s in settings for arg in ("--set", s))]
        config = load_config(config_file=str(config_file), overrides=settings)

        ok(generate_job, *GENERATE, *common)
        features = ok(features_job, *DAYS, *common)
        all_tables = "raw_transactions,raw_chargebacks,user_transaction_features,merchant_risk_features"
        ok(validate_job, "--tables", all_tables, *DAYS, *common)
        ok(apply_job, *common)
        training = ok(training_set_job, "--entities", tables["labels"], "--feature-service", SERVICE, *common)
        ok(
            validate_job,
            "--tables",
            "training_sets",
            "--path",
            training["output"],
            "--entities",
            tables["labels"],
            *common,
        )
        store = feast_repo.feature_store(config)
        labels = delta_io.read(spark, tables["labels"])
        sdk = store.get_historical_features(entity_df=labels, features=store.get_feature_service(SERVICE))
        training_set = delta_io.read(spark, training["output"])
        ok(materialize_job, "--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat(), *common)

        env.setenv("FRAUD_DYNAMODB_ENDPOINT", url)
        env.setenv("AWS_ACCESS_KEY_ID", "embedded-dynalite")
        env.setenv("AWS_SECRET_ACCESS_KEY", "embedded-dynalite")
        online = FeatureStore(repo_path=str(repo.repo_path))
        feature_frames = {view: delta_io.read(spark, tables[key]) for view, key in VIEWS.items()}
        feature_rows = {view: rows(frame) for view, frame in feature_frames.items()}
        served = {}
        for view, view_rows in feature_rows.items():
            keys = sorted({r[0] for r in view_rows})
            refs = [f"{view}:{f}" for f in FEATURES[view]]
            got = online.get_online_features(features=refs, entity_rows=[{KEY[view]: k} for k in keys]).to_dict()
            served[view] = {k: {f: got[f][i] for f in FEATURES[view]} for i, k in enumerate(keys)}
        return {
            "tables": tables,
            "config": config,
            "common": common,
            "features": features,
            "training": training,
            "training_rows": Counter(rows(training_set)),
            "training_columns": training_set.columns,
            "sdk_rows": Counter(rows(sdk.to_spark_df().select(*training_set.columns))),
            "labels": labels.toPandas(),
            "raw": {
                key: delta_io.read(spark, tables[key]).toPandas() for key in ("raw_transactions", "raw_chargebacks")
            },
            "feature_rows": feature_rows,
            "feature_frames": {view: frame.toPandas() for view, frame in feature_frames.items()},
            "served": served,
        }


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    by_path = run_pipeline(spark, (root := tmp_path_factory.mktemp("by_path")), path_tables(root))
    by_name = run_pipeline(spark, (root := tmp_path_factory.mktemp("by_name")), named_tables(spark, root))
    return {"path": by_path, "name": by_name}


def without_created(view_rows: list[tuple]) -> Counter:
    return Counter(r[:2] + r[3:] for r in view_rows)


def test_names_and_paths_give_identical_rows(runs):
    by_name, by_path = runs["name"], runs["path"]
    for view in VIEWS:
        assert without_created(by_name["feature_rows"][view]) == without_created(by_path["feature_rows"][view]), view
    assert by_name["training_rows"] == by_path["training_rows"]
    assert by_name["served"] == by_path["served"]
    assert sum(by_name["training_rows"].values()) == len(by_name["labels"])


def test_named_runs_stage_publish_and_record_by_name(spark, runs):
    tables = runs["name"]["tables"]
    published = runs["name"]["features"]["tables"]
    for view, key in VIEWS.items():
        assert published[view]["path"] == tables[key]
        assert published[view]["staging_path"].startswith(f"{tables['staging']}.{view}_features_")
    # Staged tables are dropped once published (listTables also lists the session's temporary views,
    # such as the entity frames Feast registers, which belong to no schema).
    assert [t for t in spark.catalog.listTables(tables["staging"]) if not t.isTemporary] == []
    training = runs["name"]["training"]
    assert training["output"] == f"{tables['training_sets']}.{SERVICE}"
    assert set(training["table_versions"]) == {tables["user_features"], tables["merchant_features"]}


def test_named_feature_tables_match_the_oracle(runs):
    run = runs["name"]
    first_landing = RUN.first_input_day(30)

    def landed(key: str) -> pd.DataFrame:
        raw = run["raw"][key]
        days = pd.to_datetime(raw["ingest_date"]).dt.date
        return raw[(days >= first_landing) & (days <= RUN.end)]

    reference = pd.Timestamp(RUN.reference_instant.replace(tzinfo=None))
    used, _ = oracle.used_transactions(landed("raw_transactions"), reference=reference)
    first_cb, _ = oracle.first_chargebacks(landed("raw_chargebacks"), used)
    expected = {
        "user_transaction_features": (oracle.user_features(used, start=RUN.start, end=RUN.end), "user_id"),
        "merchant_risk_features": (
            oracle.merchant_features(used, first_cb, start=RUN.start, end=RUN.end),
            "merchant_id",
        ),
    }
    for view, (frame, key) in expected.items():
        got = run["feature_frames"][view].drop(columns=["created_timestamp", "snapshot_date"])
        oracle.assert_frames_match(got, frame, key=key)


def plain(value):
    """One comparable Python value from Spark or pandas: None for null or NaN, datetime, int, float."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return plain(value.item())
    return value


def point_in_time(labels: pd.DataFrame, frames: dict[str, pd.DataFrame], columns: list[str]) -> Counter:
    """FEATURES.md's point-in-time join by brute force: per label row and view, the feature row of the
    same key with the greatest (event_timestamp, created_timestamp) in [t - ttl, t]."""
    out = labels.reset_index(names="row")
    for view, frame in frames.items():
        key, features = KEY[view], FEATURES[view]
        pairs = out[["row", key, "event_timestamp"]].merge(frame, on=key, how="inner", suffixes=("", "_feature"))
        t, event = pairs["event_timestamp"], pairs["event_timestamp_feature"]
        pairs = pairs[(event <= t) & (event >= t - TTL[view])]
        best = pairs.sort_values(["row", "event_timestamp_feature", "created_timestamp"]).groupby("row").tail(1)
        out = out.merge(best[["row", *features]], on="row", how="left")
    return Counter(tuple(plain(v) for v in record) for record in out[columns].itertuples(index=False))


def test_training_sets_by_name_match_a_pandas_point_in_time_join(runs):
    run = runs["name"]
    expected = point_in_time(run["labels"], run["feature_frames"], run["training_columns"])
    normalized = Counter({tuple(plain(v) for v in r): n for r, n in run["training_rows"].items()})
    assert normalized == expected
    assert run["sdk_rows"] == run["training_rows"]


def test_online_values_by_name_are_the_latest_rows(runs):
    run = runs["name"]
    for view in VIEWS:
        latest = online_oracle(run["feature_rows"][view], view, start=WINDOW[0], end=WINDOW[1])
        absent = dict.fromkeys(FEATURES[view])
        assert run["served"][view] == {k: latest.get(k, absent) for k in run["served"][view]}, view


def test_as_of_versions_rebuilds_from_named_tables(spark, runs):
    run = runs["name"]
    tables, recorded = run["tables"], run["training"]
    users = delta_io.read(spark, tables["user_features"])
    delta_io.overwrite(
        users.withColumn("transaction_count_7d", F.col("transaction_count_7d") + 1),
        tables["user_features"],
        replace_where=delta_io.between_days("snapshot_date", RUN.start, RUN.end),
        partition_by=["snapshot_date"],
    )
    again, fresh = f"{tables['training_sets']}.again", f"{tables['training_sets']}.fresh"
    rebuilt = ok(training_set_job, "--as-of-versions", recorded["output"], "--output", again, *run["common"])
    assert rebuilt["table_versions"] == recorded["table_versions"]
    assert Counter(rows(delta_io.read(spark, again))) == run["training_rows"]
    request = ["--entities", tables["labels"], "--feature-service", SERVICE, "--output", fresh]
    current = ok(training_set_job, *request, *run["common"])
    assert current["table_versions"][tables["user_features"]] > recorded["table_versions"][tables["user_features"]]
    assert Counter(rows(delta_io.read(spark, fresh))) != run["training_rows"]
