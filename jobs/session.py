"""The one place a SparkSession is built: Delta Lake enabled, UTC, jars from the local folder."""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import SparkConfig
from jobs.errors import ConfigError

DELTA_SETTINGS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def local_jars(jars_dir: str) -> list[str]:
    """The Maven-resolved jars `make setup` put in `jars_dir`; nothing is downloaded at start."""
    jars = sorted(str(p) for p in Path(jars_dir).glob("*.jar"))
    if not any("delta-spark" in Path(j).name for j in jars):
        raise ConfigError(f"spark.jars_dir {jars_dir} holds no delta-spark jar: run `make setup`")
    return jars


def session_settings(spark_config: SparkConfig) -> dict[str, str]:
    settings = {**DELTA_SETTINGS, **spark_config.conf, "spark.sql.session.timeZone": "UTC"}
    if (spark_config.master or "").startswith("local"):
        # Local Python workers must be this interpreter (with pyarrow, boto3, ...), not whatever
        # `python3` is first on PATH; clusters set their own.
        settings.setdefault("spark.pyspark.python", sys.executable)
    if spark_config.jars_dir:
        settings["spark.jars"] = ",".join(local_jars(spark_config.jars_dir))
    return settings


def build_session(spark_config: SparkConfig) -> SparkSession:
    builder = SparkSession.builder.appName(spark_config.app_name)
    if spark_config.master:
        builder = builder.master(spark_config.master)
    for key, value in session_settings(spark_config).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
