"""Reading the raw (bronze) tables: only the landing days a run needs, checked against the schema."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from jobs import delta_io
from jobs.errors import BadInputError
from jobs.schemas import INGEST_DATE


def read_landed_between(
    spark: SparkSession, *, table: str, path: str, schema: T.StructType, first_day: dt.date, last_day: dt.date
) -> DataFrame:
    """Rows of a raw Delta table (a path or a catalog table name) that landed on `[first_day, last_day]`
    (partition pruning on ingest_date)."""
    try:
        df = delta_io.read(spark, path)
    except AnalysisException as err:
        raise BadInputError(f"table {table}: cannot read Delta table at {path}: {err}") from err
    check_columns(df, table=table, schema=schema)
    return df.filter(F.col(INGEST_DATE).between(first_day, last_day)).select([F.col(f.name) for f in schema.fields])


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
