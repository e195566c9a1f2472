"""One SparkSession for the whole test session: local[2], few shuffle partitions, UI off, UTC, Delta."""

from __future__ import annotations

import os

import pytest

from jobs.config import load_config

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def config():
    """The local configuration, as the jobs load it (tests point tables at tmp paths themselves)."""
    return load_config(env="local")


@pytest.fixture(scope="session")
def spark(config):
    from pyspark.sql import SparkSession

    from jobs.session import session_settings

    builder = SparkSession.builder.master("local[2]").appName("tests")
    settings = {
        **session_settings(config.spark),
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.sql.adaptive.enabled": "false",
        "spark.driver.memory": "2g",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()
