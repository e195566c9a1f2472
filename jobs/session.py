"""The one place a SparkSession is built: Delta Lake enabled, UTC, jars from the local folder.

Settings that only count when the JVM starts (master, jars, the Python workers' interpreter) come
from the configuration only when this process starts the JVM. Under spark-submit (or with a session
already running) the JVM is there: spark-submit's master and jars stand, Delta must already be on
its classpath (`--jars`, or the platform's runtime as on Databricks), and only the configuration's
`spark.conf` settings are applied.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import SparkConfig
from jobs.errors import ConfigError

DELTA_SETTINGS = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
# In every environment: UTC, and no console progress bars, which would mix into the output a scheduler
# reads for the JSON result line.
FIXED_SETTINGS = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
# Set by spark-submit for the Python driver it starts: the JVM (and its settings) already exist.
GATEWAY_VARIABLE = "PYSPARK_GATEWAY_PORT"


def local_jars(jars_dir: str) -> list[str]:
    """The Maven-resolved jars `make setup` put in `jars_dir`; nothing is downloaded at start."""
    jars = sorted(str(p) for p in Path(jars_dir).glob("*.jar"))
    if not any("delta-spark" in Path(j).name for j in jars):
        raise ConfigError(
            f"spark.jars_dir {jars_dir} holds no delta-spark jar: run `make setup`, or set FRAUD_SHIP_JARS=0 "
            "where Spark already has Delta on its classpath"
        )
    return jars


def session_settings(spark_config: SparkConfig, *, jvm_running: bool = False) -> dict[str, str]:
    """The settings to give the session builder; with `jvm_running`, none that only count at launch."""
    settings = {**DELTA_SETTINGS, **spark_config.conf, **FIXED_SETTINGS}
    if jvm_running:
        return settings
    if (spark_config.master or "").startswith("local"):
        # Local Python workers must be this interpreter (with pyarrow, boto3, ...), not whatever
        # `python3` is first on PATH; clusters set their own.
        settings.setdefault("spark.pyspark.python", sys.executable)
    if spark_config.jars_dir:
        settings["spark.jars"] = ",".join(local_jars(spark_config.jars_dir))
    return settings


def is_jvm_running() -> bool:
    """True under spark-submit (it started the JVM and this driver) or with a SparkContext already up."""
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None or GATEWAY_VARIABLE in os.environ


def build_session(spark_config: SparkConfig) -> SparkSession:
    jvm_running = is_jvm_running()
    builder = SparkSession.builder.appName(spark_config.app_name)
    if spark_config.master and not jvm_running:
        builder = builder.master(spark_config.master)
    for key, value in session_settings(spark_config, jvm_running=jvm_running).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
