"""The packaged jobs on a real cluster shape: a Spark standalone master and worker on 127.0.0.1.

Every command goes through `spark-submit.sh` (by absolute path, from a temporary folder outside the
checkout) with the artifact of `make package`, in an environment where neither the checkout nor
.venv is importable or on PATH: the driver runs the unpacked environment, executors the archive
Spark unpacks in the worker's folder. The pipeline (generate, features, validate, apply,
training-set, materialize into a dynalite started here) writes under the temporary folder with the
packaged conf/local.yaml, whose relative paths resolve against the working directory. The checks
run in this process: Delta tables against the JSON lines and direct counts, the online items
through Feast's get_online_features against a pandas oracle of the feature tables.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cluster_support import SPARK_HOME, Cluster, inside_project, standalone_cluster
from delta.tables import DeltaTable
from feast import FeatureStore
from online_support import FEATURES, KEY, oracle
from package_support import built

from conftest import SHORT_LIVED_JVM_OPTIONS
from jobs.config import load_config
from jobs.feast_repo import repo_config
from jobs.online_store.embedded import embedded_dynamodb
from jobs.schemas import MERCHANT_RISK_FEATURES, USER_TRANSACTION_FEATURES

pytestmark = pytest.mark.integration

DAYS = ["--start", "2026-02-01", "--end", "2026-02-09"]
WINDOW = (dt.datetime(2026, 2, 1), dt.datetime(2026, 2, 11))
FEATURE_TABLES = {"user_transaction_features": "user_features", "merchant_risk_features": "merchant_features"}
SCHEMAS = {"user_transaction_features": USER_TRANSACTION_FEATURES, "merchant_risk_features": MERCHANT_RISK_FEATURES}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    built("package")
    with standalone_cluster(tmp_path_factory.mktemp("cluster"), java_options=SHORT_LIVED_JVM_OPTIONS) as running:
        yield running


@pytest.fixture(scope="module")
def deployment(cluster):
    return cluster.submit("check-deployment", "--env", "local")


@pytest.fixture(scope="module")
def pipeline(cluster):
    data = cluster.folder / "data"
    with embedded_dynamodb() as url:
        online = ["--set", f"online_store.endpoint={url}"]
        results = {
            "generate": cluster.submit(
                "generate", "--env", "local", "--users", "300", "--merchants", "30", "--days", "40",
                "--transactions", "20000", "--bad-rows", "2", "--start-date", "2026-01-01",
            ),
            "features": cluster.submit("features", "--env", "local", *DAYS),
            "validate": cluster.submit(
                "validate", "--env", "local", *DAYS,
                "--tables", "raw_transactions,raw_chargebacks,user_transaction_features,merchant_risk_features",
            ),
            "apply": cluster.submit("apply", "--env", "local", *online),
            "training-set": cluster.submit(
                "training-set", "--env", "local", "--entities", str(data / "raw" / "labels"),
                "--feature-service", "fraud_detection_v2", "--output", str(data / "training_sets" / "fraud_v2"),
            ),
            "materialize": cluster.submit(
                "materialize", "--env", "local", *online,
                "--start", WINDOW[0].isoformat(), "--end", WINDOW[1].isoformat(),
            ),
        }  # fmt: skip
        yield results, url


def test_executors_import_the_project_only_from_the_archive(cluster, deployment):
    check = deployment
    driver = check["driver"]
    assert driver["checkout"] == ""  # the driver runs the installed package, not this checkout
    assert Path(driver["jobs"]).is_relative_to(cluster.env["FRAUD_ENV_CACHE"])
    assert driver["spark_master"] == cluster.url and driver["delta_on_classpath"]
    assert check["executors"], check
    for executor in check["executors"]:
        prefix = Path(executor["prefix"])
        # ./environment of the executor's folder in the worker's work dir: the archive Spark unpacked.
        assert prefix.name == "environment" and prefix.is_relative_to(cluster.work_dir), executor
        assert Path(executor["jobs"]).is_relative_to(prefix), executor
        assert executor["python"].endswith("environment/bin/python"), executor
        for where in (executor["jobs"], executor["pyspark"]):
            assert not inside_project(Path(where)) or Path(where).is_relative_to(SPARK_HOME), executor
    assert sum(e["rows"] for e in check["executors"]) == 4 * check["partitions"]


def test_delta_tables_agree_with_the_json_lines(spark, cluster, pipeline):
    results = pipeline[0]
    config = _config(cluster)
    for name, written in results["generate"]["tables"].items():
        path = getattr(config.tables, name)
        assert written["path"] == path  # relative data/... resolved against the submitting folder
        assert _version(spark, path) == written["version"] == 0
        assert spark.read.format("delta").load(path).count() == written["rows"] > 0
    for table, key in FEATURE_TABLES.items():
        path = getattr(config.tables, key)
        written = results["features"]["tables"][table]
        assert _version(spark, path) == written["delta_version"]
        days = spark.read.format("delta").load(path).filter("snapshot_date between '2026-02-01' and '2026-02-09'")
        assert days.count() == written["rows_written"] > 0
    assert results["validate"]["status"] == "ok"
    training = spark.read.format("delta").load(str(cluster.folder / "data" / "training_sets" / "fraud_v2"))
    labels = spark.read.format("delta").load(config.tables.labels)
    assert training.count() == labels.count()


def test_online_items_read_back_through_feast(spark, cluster, pipeline, monkeypatch):
    results, url = pipeline
    assert results["materialize"]["status"] == "ok"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "embedded-dynalite")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "embedded-dynalite")
    config = _config(cluster)
    store = FeatureStore(config=repo_config(config, url))
    for table, key in FEATURE_TABLES.items():
        table_rows = spark.read.format("delta").load(getattr(config.tables, key))
        rows = [tuple(r) for r in table_rows.select(*SCHEMAS[table].fieldNames()).collect()]
        expected = oracle(rows, table, start=WINDOW[0], end=WINDOW[1])
        keys = sorted(expected)[:40] + ["nobody"]
        refs = [f"{table}:{f}" for f in FEATURES[table]]
        got = store.get_online_features(features=refs, entity_rows=[{KEY[table]: k} for k in keys]).to_dict()
        served = {k: {f: got[f][i] for f in FEATURES[table]} for i, k in enumerate(keys)}
        assert served == {k: expected.get(k, dict.fromkeys(FEATURES[table])) for k in keys}


def _config(cluster: Cluster):
    """The packaged conf/local.yaml as the submissions saw it: data/... under the submitting folder."""
    data = cluster.folder / "data"
    overrides = [
        f"tables.{name}={data / path}"
        for name, path in {
            "raw_transactions": "raw/transactions",
            "raw_chargebacks": "raw/chargebacks",
            "labels": "raw/labels",
            "user_features": "features/user_transaction_features",
            "merchant_features": "features/merchant_risk_features",
        }.items()
    ]
    return load_config(env="local", overrides=[*overrides, f"feast.registry={data / 'feast' / 'registry.db'}"])


def _version(spark, path: str) -> int:
    return int(DeltaTable.forPath(spark, path).history(1).first()["version"])
