"""The quarantine table: every row a run read but did not use, with the rule it broke and the run."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.schemas import INGEST_DATE, QUARANTINE

# Timestamps to the microsecond with their offset ("...T00:00:00.000001Z"), so a row 1 µs after the
# run's reference instant shows why it was judged in the future; Spark's default stops at milliseconds.
RECORD_JSON_OPTIONS = {"ignoreNullFields": "false", "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}


def select_quarantine_rows(
    rejected: DataFrame, *, source_table: str, run_id: str, quarantined_at: dt.datetime
) -> DataFrame:
    """`rejected` is a raw table's rows tagged with `rule`; the original row is kept as JSON.
    `quarantined_at` must be timezone-aware (a naive one would be read in the driver's local zone)."""
    if quarantined_at.tzinfo is None:
        raise ValueError("quarantined_at must be timezone-aware")
    record_columns = [c for c in rejected.columns if c != "rule"]
    return rejected.select(
        F.lit(source_table).alias("source_table"),
        F.col("rule"),
        F.lit(run_id).alias("run_id"),
        F.lit(quarantined_at).cast("timestamp").alias("quarantined_at"),
        F.col("transaction_id"),
        F.col(INGEST_DATE),
        F.to_json(F.struct(*record_columns), RECORD_JSON_OPTIONS).alias("record"),
    ).select([F.col(f.name).cast(f.dataType) for f in QUARANTINE.fields])


def replace_quarantine(
    rows: DataFrame, *, path: str, first_day: dt.date, last_day: dt.date, source_table: str | None = None
) -> None:
    """Replace the quarantined rows of the landing days the run read with this run's verdict.

    Runs overlap (a daily run rereads 30 landing days), so appending would file the same bad row
    once per run; replacing keeps one entry per rejected row, from the latest run that read its
    day. One atomic commit; earlier verdicts stay readable by Delta time travel. With `source_table`,
    only that raw table's rows of those days are replaced.
    """
    days = delta_io.between_days(INGEST_DATE, first_day, last_day)
    replace_where = days if source_table is None else f"source_table = '{source_table}' AND {days}"
    delta_io.overwrite(rows, path, replace_where=replace_where, partition_by=["source_table"])


def merge_quarantine(spark: SparkSession, rows: DataFrame, *, path: str) -> None:
    """File rows of earlier landing days (a stored row a later duplicate displaced) once: a row already
    filed is updated to this run's entry, so a repeated run files nothing twice. One MERGE commit."""
    same_row = (
        "t.source_table = s.source_table AND t.ingest_date = s.ingest_date AND t.rule = s.rule "
        "AND t.transaction_id = s.transaction_id AND t.record = s.record"
    )
    delta_io.upsert(spark, path, rows, matched_on=same_row)
