"""One SparkSession for the whole test session: local[2], few shuffle partitions, UI off, UTC, Delta."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from jobs.config import CONF_DIR, load_config

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]


TEST_SPARK_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.driver.memory": "2g",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


def write_job_config(root: Path, *, audit_feature_writes: bool = True) -> Path:
    """conf/local.yaml with every table and output under `root` and the test session's Spark settings,
    so a job run from a test (`--config <file>`) reuses the test SparkSession unchanged."""
    raw = yaml.safe_load((CONF_DIR / "local.yaml").read_text())
    raw["spark"]["conf"] = dict(TEST_SPARK_CONF)
    raw["tables"] = {name: str(root / "tables" / name) for name in raw["tables"]}
    raw["feast"]["registry"] = str(root / "feast" / "registry.db")
    raw["quality"]["results_path"] = str(root / "quality")
    raw["monitoring"]["profiles_table"] = str(root / "monitoring" / "profiles")
    raw["monitoring"]["checks_table"] = str(root / "monitoring" / "checks")
    raw["monitoring"]["served_log"] = str(root / "monitoring" / "served_features")
    raw["quality"]["audit_feature_writes"] = audit_feature_writes
    path = root / "job_config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def job_config_file(tmp_path) -> Path:
    return write_job_config(tmp_path)


@pytest.fixture(scope="session")
def config():
    """The local configuration, as the jobs load it (tests point tables at tmp paths themselves)."""
    return load_config(env="local")


@pytest.fixture(scope="session")
def spark(config):
    from pyspark.sql import SparkSession

    from jobs.session import session_settings

    builder = SparkSession.builder.master("local[2]").appName("tests")
    settings = {**session_settings(config.spark), **TEST_SPARK_CONF}
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()
