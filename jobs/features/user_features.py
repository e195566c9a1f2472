"""user_transaction_features: 7-day activity of each user, one row per user and snapshot day.

Shuffles: one, `repartition("user_id")` of the used transactions' four columns. The per-(user,
merchant, day) aggregate, the per-(user, merchant) `lead`, the per-(user, day) rollup and both
per-user windows all run inside those partitions.

`unique_merchants_7d` is exact without carrying sets: a merchant first seen by the user on day
`d` enters the count on `d` (+1) and leaves on `min(d + N, next day the user sees it again)` (-1);
the running sum of these deltas is the number of distinct merchants in the window.
`avg_time_between_transactions` is the window's (last - first) / (count - 1), because the
consecutive gaps of an ordered sequence add up to its span.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window, WindowSpec
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.features.run_range import DateRange
from jobs.features.snapshots import (
    DAY,
    all_days_so_far,
    created_timestamp,
    date_of,
    day_index,
    filter_input_days,
    filter_snapshot_rows,
    last_days,
    select_schema,
    snapshot_instant,
    with_snapshot_days,
)
from jobs.schemas import USER_TRANSACTION_FEATURES

KEY = "user_id"
WINDOW_DAYS = 7


def daily_user_partials(transactions: DataFrame, *, window_days: int) -> DataFrame:
    per_merchant_day = (
        transactions.repartition(KEY)
        .withColumn(DAY, day_index(F.col("event_timestamp")))
        .groupBy(KEY, "merchant_id", DAY)
        .agg(
            F.count(F.lit(1)).alias("txn_count"),
            F.sum("amount").alias("amount_sum"),
            F.max("amount").alias("amount_max"),
            F.min("event_timestamp").alias("first_ts"),
            F.max("event_timestamp").alias("last_ts"),
        )
    )
    same_merchant = Window.partitionBy(KEY, "merchant_id").orderBy(DAY)
    next_seen = F.coalesce(F.lead(DAY).over(same_merchant), F.col(DAY) + window_days)
    leaves_window = F.least(F.col(DAY) + window_days, F.col("_next_seen"))
    no_partials = [F.lit(None).cast(t).alias(c) for c, t in _PARTIAL_TYPES.items()]
    enter = F.struct(F.col(DAY).alias("day"), *[F.col(c) for c in _PARTIAL_TYPES], F.lit(1).alias("merchant_delta"))
    leave = F.struct(leaves_window.alias("day"), *no_partials, F.lit(-1).alias("merchant_delta"))
    return (
        per_merchant_day.withColumn("_next_seen", next_seen)
        .select(KEY, F.explode(F.array(enter, leave)).alias("e"))
        .groupBy(KEY, F.col("e.day").alias(DAY))
        .agg(
            F.sum("e.txn_count").alias("txn_count"),
            F.sum("e.amount_sum").alias("amount_sum"),
            F.max("e.amount_max").alias("amount_max"),
            F.min("e.first_ts").alias("first_ts"),
            F.max("e.last_ts").alias("last_ts"),
            F.sum("e.merchant_delta").alias("merchant_delta"),
        )
    )


_PARTIAL_TYPES = {
    "txn_count": T.LongType(),
    "amount_sum": T.DoubleType(),
    "amount_max": T.DoubleType(),
    "first_ts": T.TimestampType(),
    "last_ts": T.TimestampType(),
}


def with_window_totals(snapshots: DataFrame, window: WindowSpec) -> DataFrame:
    """Count, amount sum and max, first and last instant of the per-day partials over `window`."""
    return (
        snapshots.withColumn("w_count", F.coalesce(F.sum("txn_count").over(window), F.lit(0)))
        .withColumn("w_amount_sum", F.sum("amount_sum").over(window))
        .withColumn("w_amount_max", F.max("amount_max").over(window))
        .withColumn("w_first_ts", F.min("first_ts").over(window))
        .withColumn("w_last_ts", F.max("last_ts").over(window))
    )


def with_user_windows(snapshots: DataFrame, *, window_days: int) -> DataFrame:
    return with_window_totals(snapshots, last_days(KEY, window_days)).withColumn(
        "w_merchants", F.coalesce(F.sum("merchant_delta").over(all_days_so_far(KEY)), F.lit(0))
    )


def select_user_transaction_features(windows: DataFrame, *, computed_at: dt.datetime | None) -> DataFrame:
    has_transactions = F.col("w_count") > 0
    span_seconds = (F.unix_micros(F.col("w_last_ts")) - F.unix_micros(F.col("w_first_ts"))) / 1e6
    return windows.select(
        F.col(KEY),
        snapshot_instant(F.col(DAY)).alias("event_timestamp"),
        created_timestamp(computed_at),
        F.col("w_count").cast("long").alias("transaction_count_7d"),
        F.when(has_transactions, F.col("w_amount_sum") / F.col("w_count"))
        .cast("float")
        .alias("transaction_amount_avg_7d"),
        F.when(has_transactions, F.col("w_amount_max")).cast("float").alias("transaction_amount_max_7d"),
        F.col("w_merchants").cast("long").alias("unique_merchants_7d"),
        F.when(F.col("w_count") >= 2, span_seconds / (F.col("w_count") - 1))
        .cast("float")
        .alias("avg_time_between_transactions"),
        date_of(F.col(DAY)).alias("snapshot_date"),
    )


def build_user_transaction_features(
    transactions: DataFrame,
    *,
    run_range: DateRange,
    window_days: int = WINDOW_DAYS,
    computed_at: dt.datetime | None = None,
) -> DataFrame:
    """Snapshots of days `run_range` from used transactions (it reads the days before `start` it needs)."""
    return (
        transactions.transform(filter_input_days, window_days=window_days, run_range=run_range)
        .transform(daily_user_partials, window_days=window_days)
        .transform(with_snapshot_days, key=KEY, window_days=window_days, run_range=run_range)
        .transform(with_user_windows, window_days=window_days)
        .transform(filter_snapshot_rows, run_range=run_range)
        .transform(select_user_transaction_features, computed_at=computed_at)
        .transform(select_schema, schema=USER_TRANSACTION_FEATURES)
    )
