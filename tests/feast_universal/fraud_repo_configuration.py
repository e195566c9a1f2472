"""Feast's universal offline-store suite against the project's store (`FULL_REPO_CONFIGS_MODULE`).

Feast's conftest reads `AVAILABLE_OFFLINE_STORES` / `AVAILABLE_ONLINE_STORES` from the module this
variable names and runs every `universal_offline_stores` test once per creator listed. One creator
per run, chosen by two variables (tests/feast_universal/run_suite.sh sets them):

- `FEAST_SUITE_STORE`: `fraud`, the project's `FraudSparkOfflineStore` in the project's own session
  (jobs.session: conf/local.yaml, Delta), or `spark`, Feast's stock `SparkOfflineStore`, the reference;
- `FEAST_SUITE_FIXTURES`: `feast`, Feast's `SparkDataSourceCreator` unchanged, or `json`, the same
  creator storing dict columns as JSON strings first (below).

Both stores get the same fixtures: Feast's parquet tables, `SparkSource`s and saved-dataset tables.
One store per process, because the project's session needs the Delta jars at JVM start. This module
imports Feast's test packages (`tests.universal...`), which exist only in a Feast source checkout.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

import pandas as pd
from feast.data_source import DataSource
from feast.infra.offline_stores.contrib.spark_offline_store.tests.data_source import SparkDataSourceCreator

from jobs.config import load_config
from jobs.offline_store.feast_store import FraudSparkOfflineStoreConfig
from jobs.session import build_session

# The settings Feast's creator gives its own session, minus the master (conf/local.yaml's local[2] stands).
FEAST_CREATOR_SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.eventLog.enabled": "false",
    "spark.sql.parser.quotedRegexColumnNames": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
}


class FraudSparkDataSourceCreator(SparkDataSourceCreator):
    """Feast's Spark fixtures, unchanged, read through the project's offline store."""

    def __init__(self, project_name: str, *args: Any, **kwargs: Any):
        spark = load_config(env="local").spark
        # Started first, the project's session is what Feast's creator (getOrCreate) and the store reuse.
        build_session(dataclasses.replace(spark, conf={**spark.conf, **FEAST_CREATOR_SPARK_CONF}))
        super().__init__(project_name, *args, **kwargs)

    def create_offline_store_config(self) -> FraudSparkOfflineStoreConfig:
        config = FraudSparkOfflineStoreConfig(jobs_env="local", spark_conf=dict(FEAST_CREATOR_SPARK_CONF))
        config.staging_location = tempfile.mkdtemp(prefix="fraud_offline_store_staging")
        config.region = "eu-west-1"
        self.spark_offline_store_config = config
        return config


def with_json_complex_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Feast 0.67's driver fixture holds dicts of numpy strings (`driver_metadata`, `driver_profile`),
    for which Spark infers no schema, so Feast's Spark creator errors in the setup of every test built
    on the universal data sources, for either store. Feast's BigQuery, Redshift and Snowflake creators
    store such columns as JSON strings (`DataSourceCreator.serialize_complex_columns`); this does the
    same, in place like the rest of Feast's creator. No test asks for those columns."""
    serialized = SparkDataSourceCreator.serialize_complex_columns(df)
    for name in df.columns:
        if not serialized[name].equals(df[name]):
            df[name] = serialized[name]
    return df


class SparkJsonDataSourceCreator(SparkDataSourceCreator):
    def create_data_source(self, df: pd.DataFrame, *args: Any, **kwargs: Any) -> DataSource:
        return super().create_data_source(with_json_complex_columns(df), *args, **kwargs)


class FraudSparkJsonDataSourceCreator(FraudSparkDataSourceCreator):
    def create_data_source(self, df: pd.DataFrame, *args: Any, **kwargs: Any) -> DataSource:
        return super().create_data_source(with_json_complex_columns(df), *args, **kwargs)


CREATORS = {
    ("fraud", "feast"): FraudSparkDataSourceCreator,
    ("fraud", "json"): FraudSparkJsonDataSourceCreator,
    ("spark", "feast"): SparkDataSourceCreator,
    ("spark", "json"): SparkJsonDataSourceCreator,
}

AVAILABLE_OFFLINE_STORES = [
    ("local", CREATORS[os.environ.get("FEAST_SUITE_STORE", "fraud"), os.environ.get("FEAST_SUITE_FIXTURES", "json")])
]

AVAILABLE_ONLINE_STORES = {"sqlite": ({"type": "sqlite"}, None)}
