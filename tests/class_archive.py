"""`python tests/class_archive.py ARCHIVE`: a class-data-sharing archive of the classes a test's JVM
loads (Spark, Delta, Scala, the JDK's own), for the JVMs the tests start (`make test` builds it).

A JVM given the archive (`-XX:SharedArchiveFile`) maps those classes in already parsed and verified
instead of reading and checking them from some 250 jars: each Spark JVM starts sooner and spends less
CPU, and the suite starts dozens (its own session, the jobs run in subprocesses, the standalone
cluster's master, worker, drivers and executors). It changes no result: a class is taken from the
archive only when the JVM, its class path and the class's bytes are those it was dumped from;
otherwise the JVM loads it from the jar as always (benchmarks/RESULTS.md, "A shared class archive
for the tests' JVMs").

The archive is written when this script's JVM exits, after a small workload that loads what the jobs
load: Delta writes, a MERGE and reads, joins, windows and aggregates, pandas both ways.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from conftest import TEST_SPARK_CONF, local_config  # tests/ is this script's folder, first on sys.path
from jobs.session import session_settings


def load_what_the_jobs_load(spark: SparkSession, folder: Path) -> None:
    from delta.tables import DeltaTable

    table = str(folder / "table")
    rows = spark.range(200).select(
        F.col("id").alias("transaction_id"),
        (F.col("id") % 7).alias("user_id"),
        F.expr("timestamp'2026-01-01 00:00:00' + make_interval(0, 0, 0, 0, id, 0, 0)").alias("event_timestamp"),
        (F.col("id") * 1.5).alias("amount"),
    )
    rows = rows.withColumn("day", F.to_date("event_timestamp"))
    rows.write.format("delta").partitionBy("day").save(table)
    corrections = rows.limit(20).withColumn("amount", F.lit(1.0)).alias("s")
    DeltaTable.forPath(spark, table).alias("t").merge(
        corrections, "t.transaction_id = s.transaction_id AND t.day = s.day"
    ).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute()
    later = rows.filter("day >= '2026-01-05'")
    later.write.format("delta").mode("overwrite").option("replaceWhere", "day >= '2026-01-05'").save(table)
    read = spark.read.format("delta").load(table).filter(F.col("day") > "2026-01-02")
    window = Window.partitionBy("user_id").orderBy("event_timestamp").rowsBetween(-5, 0)
    features = (
        read.withColumn("recent", F.sum("amount").over(window))
        .groupBy("user_id", "day")
        .agg(F.count("*"), F.max("recent"), F.countDistinct("amount"), F.percentile_approx("amount", 0.5))
    )
    joined = features.join(read.select("user_id").distinct(), "user_id", "left")
    spark.createDataFrame(joined.toPandas()).count()
    DeltaTable.forPath(spark, table).history(1).collect()


def main(archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.unlink(missing_ok=True)
    dumped = archive.with_name(archive.name + ".partial")  # renamed once whole, so no test maps half of one
    dumped.unlink(missing_ok=True)
    builder = SparkSession.builder.master("local[2]").appName("class-archive")
    settings = {**session_settings(local_config().spark), **TEST_SPARK_CONF}
    settings["spark.driver.extraJavaOptions"] = f"-XX:ArchiveClassesAtExit={dumped} -Xlog:cds=off,cds+dynamic=off"
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    with tempfile.TemporaryDirectory(prefix="class-archive-") as folder:
        load_what_the_jobs_load(spark, Path(folder))
    gateway = spark.sparkContext._gateway
    spark.stop()
    # The JVM writes the archive as it exits, and it exits when its standard input closes.
    gateway.proc.stdin.close()
    if gateway.proc.wait(timeout=300) != 0 or not dumped.is_file():
        raise SystemExit(f"the JVM wrote no class archive at {dumped}")
    dumped.rename(archive)


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
