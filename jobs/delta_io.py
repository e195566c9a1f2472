"""Delta I/O, by catalog table name or by path: the one place tables are read, written and looked up.

A location is what a `tables.*` setting holds: a catalog table name (`catalog.schema.table`, no slash;
Unity Catalog on Databricks) or a path or URI (`jobs.config.is_table_name` decides). The two differ only
at the ends of Delta's own API: `table()`/`saveAsTable()`/`DeltaTable.forName` for a name,
`load()`/`save()`/`DeltaTable.forPath` for a path. Everything in between (replaceWhere, optimizeWrite,
partitionBy, versionAsOf, history) is the same call for both.

A named table that does not exist yet is created by its first write as a managed table of its schema
(Unity Catalog places its files); the schema itself must exist, as Unity Catalog schemas belong to
their owners. A folder setting (`tables.staging`, `tables.training_sets`) given as a name is a schema
(`catalog.schema`): what would be a subfolder becomes a table of that schema (`child`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from delta.tables import DeltaTable
from pyspark import inheritable_thread_target
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, Row, SparkSession

from jobs.config import is_table_name
from jobs.errors import BadInputError

# Delta's optimized write: one small shuffle by the partition column before writing, so each partition
# gets a few well-sized files instead of one per shuffle partition.
OPTIMIZE_WRITE = "optimizeWrite"

Result = TypeVar("Result")


def read(spark: SparkSession, location: str, *, version: int | None = None) -> DataFrame:
    """The table's rows, at a Delta version (time travel) when one is given."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.table(location) if is_table_name(location) else reader.load(location)


def exists(spark: SparkSession, location: str) -> bool:
    """Whether a Delta table is at the location (a named table of another format is not one)."""
    if not is_table_name(location):
        return DeltaTable.isDeltaTable(spark, location)
    if not spark.catalog.tableExists(location):
        return False
    try:
        DeltaTable.forName(spark, location)
    except AnalysisException:
        return False
    return True


def delta_table(spark: SparkSession, location: str) -> DeltaTable:
    return DeltaTable.forName(spark, location) if is_table_name(location) else DeltaTable.forPath(spark, location)


def latest_commit(spark: SparkSession, location: str) -> Row:
    """The table's newest commit: `version`, `operation`, `operationMetrics`, `userMetadata`, ..."""
    commit = delta_table(spark, location).history(1).first()
    if commit is None:
        raise BadInputError(f"Delta table {location} has no commits")
    return commit


def overwrite(
    batch: DataFrame,
    location: str,
    *,
    replace_where: str | None = None,
    partition_by: Sequence[str] = (),
    optimize_write: bool = False,
    overwrite_schema: bool = False,
    user_metadata: str | None = None,
) -> None:
    """One atomic Delta commit: the whole table, or with `replace_where` only the rows it selects (the
    batch's rows must all satisfy it); creates the table when it does not exist."""
    # Static: the whole table or exactly `replace_where`, whatever the session's partitionOverwriteMode.
    writer = batch.write.format("delta").mode("overwrite").option("partitionOverwriteMode", "static")
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    if optimize_write:
        writer = writer.option(OPTIMIZE_WRITE, "true")
    if overwrite_schema:
        writer = writer.option("overwriteSchema", "true")
    if user_metadata is not None:
        writer = writer.option("userMetadata", user_metadata)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if is_table_name(location):
        writer.saveAsTable(location)
    else:
        writer.save(location)


def append(batch: DataFrame, location: str) -> None:
    """One atomic Delta commit adding the batch's rows; creates the table when it does not exist."""
    writer = batch.write.format("delta").mode("append")
    if is_table_name(location):
        writer.saveAsTable(location)
    else:
        writer.save(location)


def upsert(spark: SparkSession, location: str, rows: DataFrame, *, matched_on: str) -> None:
    """One Delta MERGE: each stored row (`t`) that `matched_on` pairs with a batch row (`s`) becomes
    that row, the other batch rows are inserted. At most one batch row may match a stored row."""
    (
        delta_table(spark, location)
        .alias("t")
        .merge(rows.alias("s"), matched_on)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )


def concurrently(*writes: Callable[[], Result]) -> list[Result]:
    """Run writes to different tables at the same time, each on its own driver thread; their results in
    order. A small commit is mostly the driver's planning and Delta's log work on one thread, so small
    commits overlap; heavy ones compete for the same cores and memory (a run from state 0.895 of its
    time side by side at 16M, a backfill's publish 1.256: benchmarks/RESULTS.md, "Independent commits
    side by side"). Each write stays its own atomic commit, as it would one after the other; every write
    runs to its end before the first failure, if any, is raised. Never give two writes to the same
    table: their commits would conflict."""
    if len(writes) < 2:
        return one_after_another(*writes)
    with ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="delta-write") as pool:
        # The caller's job group, description and scheduler pool (Spark's local properties) go along.
        futures = [pool.submit(inheritable_thread_target(write)) for write in writes]
    return [future.result() for future in futures]


def one_after_another(*writes: Callable[[], Result]) -> list[Result]:
    """The writes in order on this thread, their results in order: `concurrently`'s baseline."""
    return [write() for write in writes]


def between_days(column: str, first: dt.date, last: dt.date) -> str:
    """The `replaceWhere` predicate of the days `[first, last]` of a date column."""
    return f"{column} >= '{first.isoformat()}' AND {column} <= '{last.isoformat()}'"


def on_days(column: str, days: Sequence[dt.date]) -> str:
    """The `replaceWhere` predicate of a set of days of a date column (at least one)."""
    if not days:
        raise ValueError("on_days needs at least one day")
    return f"{column} IN ({', '.join(repr(d.isoformat()) for d in sorted(days))})"


def child(location: str, *parts: str) -> str:
    """A location inside a folder (`<folder>/a/b`) or a schema (`<schema>.a_b`, characters a table
    name cannot hold made `_`)."""
    if not is_table_name(location):
        return "/".join([location.rstrip("/"), *parts])
    return f"{location}.{re.sub(r'[^0-9A-Za-z_]', '_', '_'.join(parts))}"


def remove(spark: SparkSession, location: str) -> None:
    """Drop a named table, or delete a folder through Hadoop's FileSystem (local paths and object
    stores alike)."""
    if is_table_name(location):
        spark.sql("DROP TABLE IF EXISTS IDENTIFIER(:name)", args={"name": location})
        return
    jvm: Any = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(location)
    hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(hadoop_path, True)  # type: ignore[union-attr]
