"""`python -m jobs check-deployment`: where the driver and every executor import the project from.

    ./spark-submit.sh check-deployment --env emr          # after `make package`, on the cluster

The driver reports its interpreter, `jobs.__file__`, the conf/ and Feast repo it reads and whether
Delta is on Spark's classpath; a small `mapInArrow` over a few partitions per core reports the same
from each executor's Python worker. Exit 2 when Delta is missing, or when the driver runs the
installed package and an executor imports the project from outside its interpreter's environment
(e.g. a stray PYTHONPATH): a job would then fail at its first Delta read, or run other code than
the one submitted.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import resources
from jobs.cli import command_parser, run_command
from jobs.config import Config
from jobs.errors import BadInputError

DELTA_CLASS = "io.delta.sql.DeltaSparkSessionExtension"
WORKER_SCHEMA = "host string, python string, prefix string, jobs string, pyspark string, rows long"


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("check-deployment", "where the driver and each executor import the project from.")
    parser.add_argument("--partitions", type=int, help="probe partitions (default: 2 per core of the cluster)")
    return parser


def main(argv: Sequence[str] | None = None, *, command: str = "check-deployment") -> int:
    return run_command(command, build_parser(), argv, run)


def run(spark: SparkSession, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    import jobs

    partitions = args.partitions or 2 * spark.sparkContext.defaultParallelism
    executors = [row.asDict() for row in _probe_executors(spark, partitions).collect()]
    driver = {
        "host": socket.gethostname(),
        "python": sys.executable,
        "prefix": sys.prefix,
        "jobs": jobs.__file__,
        "checkout": str(resources.checkout_root() or ""),
        "conf_dir": str(resources.conf_dir()),
        "feature_repo": config.feast.repo_path,
        "spark_master": spark.sparkContext.master,
        "spark_version": spark.version,
        "delta_on_classpath": _has_class(spark, DELTA_CLASS),
    }
    # From a checkout (editable install, PYTHONPATH) the code is outside every environment by design.
    outside = [] if driver["checkout"] else [e for e in executors if not _inside(e["jobs"], e["prefix"])]
    result = {"driver": driver, "executors": executors, "partitions": partitions}
    if outside or not driver["delta_on_classpath"]:
        problems = [f"executor on {e['host']} imports jobs from {e['jobs']}, outside {e['prefix']}" for e in outside]
        problems += [] if driver["delta_on_classpath"] else [f"{DELTA_CLASS} is not on Spark's classpath"]
        error = BadInputError("; ".join(problems))
        error.details = result  # type: ignore[attr-defined]
        raise error
    return result


def _probe_executors(spark: SparkSession, partitions: int) -> Any:
    return (
        spark.range(0, partitions * 4, numPartitions=partitions)
        .mapInArrow(_where_am_i, WORKER_SCHEMA)
        .groupBy("host", "python", "prefix", "jobs", "pyspark")
        .agg(F.count(F.lit(1)).alias("partitions"), F.sum("rows").alias("rows"))
    )


def _where_am_i(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import pyspark

    import jobs

    rows = sum(batch.num_rows for batch in batches)
    yield pa.RecordBatch.from_pydict(
        {
            "host": [socket.gethostname()],
            "python": [sys.executable],
            "prefix": [os.path.realpath(sys.prefix)],
            "jobs": [os.path.realpath(jobs.__file__ or "")],
            "pyspark": [os.path.realpath(pyspark.__file__ or "")],
            "rows": [rows],
        },
        schema=pa.schema(
            [
                ("host", pa.string()),
                ("python", pa.string()),
                ("prefix", pa.string()),
                ("jobs", pa.string()),
                ("pyspark", pa.string()),
                ("rows", pa.int64()),
            ]
        ),
    )


def _inside(path: str, prefix: str) -> bool:
    return os.path.commonpath([path, prefix]) == prefix


def _has_class(spark: SparkSession, name: str) -> bool:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    try:
        jvm.java.lang.Class.forName(name, False, jvm.Thread.currentThread().getContextClassLoader())
    except Exception:  # noqa: BLE001 - py4j wraps ClassNotFoundException
        return False
    return True
