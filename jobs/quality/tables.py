"""Which Delta table and partition column each suite validates, and the partitions it compares against."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.config import Config
from jobs.errors import BadInputError
from jobs.tables import FEATURE_TABLES, RAW_TABLES, TRAINING_SETS_SUITE


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    path: str
    partition_column: str | None


def table_spec(config: Config, table: str, *, path: str | None = None) -> TableSpec:
    known: dict[str, tuple[str | None, str | None]] = {
        t.name: (t.location(config), t.partition_column) for t in (*RAW_TABLES, *FEATURE_TABLES)
    }
    known[TRAINING_SETS_SUITE] = (None, None)
    if table not in known:
        raise BadInputError(f"--tables {table}: no suite for it (known: {', '.join(known)})")
    default_path, partition_column = known[table]
    chosen = path or default_path
    if chosen is None:
        raise BadInputError(f"--tables {table} needs --path (the training set's Delta table)")
    return TableSpec(table, chosen, partition_column)


def read_delta(spark: SparkSession, spec: TableSpec) -> DataFrame:
    try:
        return delta_io.read(spark, spec.path)
    except AnalysisException as err:
        raise BadInputError(f"table {spec.name}: cannot read Delta table at {spec.path}: {err}") from err


def filter_partitions(df: DataFrame, *, partition_column: str, start: dt.date, end: dt.date) -> DataFrame:
    return df.filter(F.col(partition_column).between(start, end))


def previous_partition_count(df: DataFrame, *, partition_column: str, before: dt.date) -> int | None:
    """Rows of the newest partition strictly before `before` (None when there is none).

    Two small jobs that read only the partition column, which Delta answers from its file listing.
    """
    latest = df.filter(F.col(partition_column) < before).agg(F.max(partition_column).alias("day")).first()
    if latest is None or latest["day"] is None:
        return None
    return df.filter(F.col(partition_column) == latest["day"]).count()
