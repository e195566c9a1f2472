"""The monitoring history: daily feature profiles and every monitor check's result, as Delta tables.

- Profiles (`monitoring.profiles_table`): one row per (table, snapshot day, feature), see
  `jobs.monitoring.profiles`. Profiling days replaces exactly those days' rows of those tables in one
  Delta commit (`replaceWhere`), so rerunning a day replaces its profile and nothing is half-written.
- Checks (`monitoring.checks_table`): one appended row per `monitor` run: the check, its status and its
  JSON result, so the report shows the latest freshness and skew verdicts without recomputing them.

Only aggregates reach the driver: a profile read is days x features rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import delta_io
from jobs.config import Config
from jobs.errors import BadInputError
from jobs.monitoring.profiles import PROFILES, build_profiles
from jobs.monitoring.stats import feature_columns
from jobs.schemas import SNAPSHOT_DATE
from jobs.tables import feature_table

CHECKS = T.StructType(
    [
        T.StructField("check", T.StringType(), nullable=False),
        T.StructField("run_id", T.StringType(), nullable=False),
        T.StructField("checked_at", T.TimestampType(), nullable=False),
        T.StructField("status", T.StringType(), nullable=False),
        T.StructField("result", T.StringType(), nullable=False),
    ]
)


def profile_days(
    spark: SparkSession, config: Config, *, days: Mapping[str, tuple[dt.date, dt.date]], run_id: str
) -> list[dict[str, Any]]:
    """Profile each feature table's snapshot days `[start, end]` and replace their rows in the history,
    all tables in one Delta commit (one write job instead of one per table)."""
    profiled, batches, predicates = [], [], []
    for table, (start, end) in days.items():
        location = feature_table(table).location(config)
        if not delta_io.exists(spark, location):
            raise BadInputError(f"table {table}: no Delta table at {location} (run the features job first)")
        version = int(delta_io.latest_commit(spark, location)["version"])
        rows = delta_io.read(spark, location, version=version).filter(
            F.col(SNAPSHOT_DATE).between(F.lit(start), F.lit(end))
        )
        batches.append(
            build_profiles(
                rows,
                table=table,
                features=feature_columns(table),
                run_id=run_id,
                source_version=version,
                profiled_at=dt.datetime.now(dt.UTC),
            )
        )
        predicates.append(f"({_profile_days_predicate(table, start, end)})")
        profiled.append({"table": table, "start": start.isoformat(), "end": end.isoformat(), "source_version": version})
    if batches:
        delta_io.overwrite(
            functools.reduce(DataFrame.unionByName, batches),
            config.monitoring.profiles_table,
            replace_where=" OR ".join(predicates),
            partition_by=["table_name"],
        )
    return profiled


def _profile_days_predicate(table: str, start: dt.date, end: dt.date) -> str:
    # `table` is a feature table's name (checked above), the days are dates: nothing user-typed is quoted in.
    return f"table_name = '{table}' AND {delta_io.between_days(SNAPSHOT_DATE, start, end)}"


def read_profiles(spark: SparkSession, config: Config, *, table: str, start: dt.date, end: dt.date) -> list[Row]:
    """The stored profiles of a table's days `[start, end]` (days x features small rows), by day and feature."""
    target = config.monitoring.profiles_table
    if not delta_io.exists(spark, target):
        return []
    return (
        delta_io.read(spark, target)
        .filter((F.col("table_name") == table) & F.col(SNAPSHOT_DATE).between(F.lit(start), F.lit(end)))
        .select([f.name for f in PROFILES.fields])
        .orderBy(SNAPSHOT_DATE, "feature")
        .collect()
    )


def profiled_days(spark: SparkSession, config: Config, *, table: str, start: dt.date, end: dt.date) -> set[dt.date]:
    return {row[SNAPSHOT_DATE] for row in read_profiles(spark, config, table=table, start=start, end=end)}


def record_check(spark: SparkSession, config: Config, *, check: str, run_id: str, result: dict[str, Any]) -> None:
    """Append one monitor run's verdict (its whole JSON result) to the checks history."""
    row = (check, run_id, dt.datetime.now(dt.UTC), str(result.get("status", "ok")), json.dumps(result, default=str))
    delta_io.append(spark.createDataFrame([row], CHECKS), config.monitoring.checks_table)


def latest_checks(spark: SparkSession, config: Config) -> dict[str, dict[str, Any]]:
    """The newest recorded result of each check (empty when nothing was recorded)."""
    target = config.monitoring.checks_table
    if not delta_io.exists(spark, target):
        return {}
    newest = (
        delta_io.read(spark, target)
        .groupBy("check")
        .agg(F.max_by(F.struct("checked_at", "result"), "checked_at").alias("last"))
    )
    return {
        row["check"]: {**json.loads(row["last"]["result"]), "checked_at": row["last"]["checked_at"]}
        for row in newest.collect()
    }
