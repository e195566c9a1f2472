"""Reading the raw (bronze) tables: only the landing days a run needs, checked against the schema."""

from __future__ import annotations

import datetime as dt

from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from jobs import delta_io
from jobs.errors import BadInputError
from jobs.schemas import INGEST_DATE
from jobs.spark_errors import unreadable_delta_log_file


def read_raw(spark: SparkSession, *, table: str, path: str, schema: T.StructType) -> DataFrame:
    """Every row of a raw Delta table, checked against its schema."""
    try:
        df = delta_io.read(spark, path)
        # Delta reads the log's file actions lazily, at the first query; reading them here (one small
        # job whose state the scan reuses) names a truncated or corrupt commit as this table's input.
        delta_io.delta_table(spark, path).detail().collect()
    except AnalysisException as err:
        raise BadInputError(f"table {table}: cannot read Delta table at {path}: {err}") from err
    except Py4JJavaError as err:
        broken = unreadable_delta_log_file(err)
        if broken is None:
            raise
        _, version, file = broken
        raise BadInputError(
            f"table {table}: version {int(version)} of the Delta log at {path} cannot be read ({file}): "
            "the commit is truncated or corrupt, and retrying cannot help"
        ) from err
    check_columns(df, table=table, schema=schema)
    return df.select([F.col(f.name) for f in schema.fields])


def filter_landed_between(raw: DataFrame, *, first_day: dt.date, last_day: dt.date) -> DataFrame:
    """The rows that landed on `[first_day, last_day]` (partition pruning on ingest_date)."""
    return raw.filter(F.col(INGEST_DATE).between(first_day, last_day))


def read_landed_between(
    spark: SparkSession, *, table: str, path: str, schema: T.StructType, first_day: dt.date, last_day: dt.date
) -> DataFrame:
    """Rows of a raw Delta table that landed on `[first_day, last_day]`."""
    raw = read_raw(spark, table=table, path=path, schema=schema)
    return filter_landed_between(raw, first_day=first_day, last_day=last_day)


def check_columns(df: DataFrame, *, table: str, schema: T.StructType) -> None:
    actual = {f.name: f.dataType for f in df.schema.fields}
    for field in schema.fields:
        if field.name not in actual:
            raise BadInputError(f"table {table}: column {field.name} is missing (rule: schema)")
        if actual[field.name] != field.dataType:
            raise BadInputError(
                f"table {table}: column {field.name} is {actual[field.name].simpleString()}, "
                f"expected {field.dataType.simpleString()} (rule: schema)"
            )
