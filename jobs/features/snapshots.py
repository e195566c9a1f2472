"""Daily snapshots over sliding windows, shared by both feature tables.

Input is one row per (entity, day) holding that day's partial aggregates (`txn_count` > 0 on days
with transactions) and, on any day, integer `*_delta` columns whose running sum is a windowed
count (see the builders). Output is one row per (entity, snapshot day) for every day whose window
holds a transaction, plus the first empty day after, within the run's range.

Rows for the snapshot days are generated without a join: each active day `d` whose next active day
is `n` owns the days `d .. min(n - 1, d + N)`, so every snapshot day is produced exactly once (day
`d + N` is the quiet-window row, produced only when no transaction came in between). All windows
share `partitionBy(entity)`, so after the builder's one shuffle by entity every step is local.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import WindowSpec

from jobs.features.run_range import DateRange

DAY = "day_index"  # days since 1970-01-01, so range frames can count days


def day_index(ts: Column) -> Column:
    return F.unix_date(F.to_date(ts))


def date_of(index: Column) -> Column:
    return F.date_from_unix_date(index)


def snapshot_instant(index: Column) -> Column:
    """The instant a snapshot of day D describes: D + 1 at 00:00 UTC."""
    return F.to_timestamp(F.date_from_unix_date(index + 1))


def filter_input_days(transactions: DataFrame, *, window_days: int, run_range: DateRange) -> DataFrame:
    """The transactions whose event day some window of the range (or the day before it) reads."""
    first_day = run_range.first_input_day(window_days)
    return transactions.filter(F.to_date("event_timestamp").between(first_day, run_range.end))


def created_timestamp(computed_at: dt.datetime | None) -> Column:
    """When the job computed the row: one instant for the whole run when given."""
    value = F.current_timestamp() if computed_at is None else F.lit(computed_at)
    return value.cast("timestamp").alias("created_timestamp")


def select_schema(df: DataFrame, *, schema: T.StructType) -> DataFrame:
    return df.select([F.col(f.name).cast(f.dataType) for f in schema.fields])


def with_snapshot_days(daily: DataFrame, *, key: str, window_days: int, run_range: DateRange) -> DataFrame:
    """Add the snapshot days each active day owns as extra rows with null partials; flag them.

    Keeps every input row (earlier days still feed the windows) and adds `is_snapshot`, true for the
    rows that become output: active days and generated days inside the run range.
    """
    start = run_range.start.toordinal() - _EPOCH_ORDINAL
    end = run_range.end.toordinal() - _EPOCH_ORDINAL
    # Only a next active day within N days changes what a day owns. A bounded frame also keeps the
    # window linear: Spark recomputes an unbounded-following frame from scratch for every row.
    later_days = Window.partitionBy(key).orderBy(DAY).rangeBetween(1, window_days)
    is_active = F.coalesce(F.col("txn_count"), F.lit(0)) > 0
    next_active = F.col("_next_active")
    owned_last = F.least(F.coalesce(next_active - 1, F.col(DAY) + window_days), F.col(DAY) + window_days, F.lit(end))
    owned_first = F.greatest(F.col(DAY) + 1, F.lit(start))
    has_owned_days = is_active & (owned_first <= owned_last)
    generated = F.when(has_owned_days, F.sequence(owned_first, owned_last)).otherwise(F.array().cast("array<int>"))
    partials = [c for c in daily.columns if c not in (key, DAY)]
    # One explode (the row's own day first) rather than a union, so the rows stay where the
    # shuffle by entity put them and the next window needs no exchange.
    exploded = daily.withColumn("_next_active", F.min(F.when(is_active, F.col(DAY))).over(later_days)).select(
        key,
        *partials,
        is_active.alias("_is_active"),
        F.col(DAY).alias("_owner_day"),
        F.explode(F.concat(F.array(F.col(DAY)), generated)).alias(DAY),
    )
    is_own_day = F.col(DAY) == F.col("_owner_day")
    return exploded.select(
        key,
        F.col(DAY),
        *[F.when(is_own_day, F.col(c)).alias(c) for c in partials],
        F.when(is_own_day, F.col("_is_active")).otherwise(F.lit(True)).alias("is_snapshot"),
    )


def last_days(key: str, days: int) -> WindowSpec:
    return Window.partitionBy(key).orderBy(DAY).rangeBetween(-(days - 1), Window.currentRow)


def all_days_so_far(key: str) -> WindowSpec:
    return Window.partitionBy(key).orderBy(DAY).rangeBetween(Window.unboundedPreceding, Window.currentRow)


def filter_snapshot_rows(df: DataFrame, *, run_range: DateRange) -> DataFrame:
    start = run_range.start.toordinal() - _EPOCH_ORDINAL
    end = run_range.end.toordinal() - _EPOCH_ORDINAL
    return df.filter(F.col("is_snapshot") & F.col(DAY).between(start, end)).drop("is_snapshot")


_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()
