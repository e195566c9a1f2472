"""merchant_risk_features: 30-day volume and chargeback risk of each merchant, per snapshot day.

Shuffles: `groupBy(merchant_id, day)` (partial aggregation first, so a hot merchant costs one row
per map task and day), then one small exchange of those daily rows by merchant for the windows.

A chargeback counts in snapshot D when its transaction is in D's window and it was filed before
D + 1 00:00, i.e. from day `date(chargeback)` until its transaction leaves the window on `d + N`.
That is a +1 on `date(chargeback)` and a -1 on `d + N` (only when the chargeback came in time),
and the running sum of these deltas is the window's chargeback count.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
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
from jobs.schemas import MERCHANT_RISK_FEATURES

KEY = "merchant_id"
WINDOW_DAYS = 30
PRIOR_RATE = 0.01
PRIOR_WEIGHT = 20


def daily_merchant_partials(transactions: DataFrame, *, window_days: int) -> DataFrame:
    """`transactions` carry `first_chargeback_timestamp` (null when none was filed)."""
    day = day_index(F.col("event_timestamp"))
    chargeback_day = day_index(F.col("first_chargeback_timestamp"))
    is_chargeback_in_window = chargeback_day.isNotNull() & (chargeback_day <= day + (window_days - 1))
    no_amount = F.lit(None).cast(T.DoubleType())

    def event(on_day, txn, amount, chargeback_delta):
        return F.struct(
            on_day.alias("day"), F.lit(txn).alias("txn"), amount.alias("amount"), F.lit(chargeback_delta).alias("cb")
        )

    own_day = event(day, 1, F.col("amount"), 0)
    chargeback_enters_and_leaves = [event(chargeback_day, 0, no_amount, 1), event(day + window_days, 0, no_amount, -1)]
    # One or three events chosen by a CASE, not a lambda filter over three: Spark evaluates lambdas
    # without code generation, row by row (the profile before and after is in benchmarks/RESULTS.md).
    events = F.when(is_chargeback_in_window, F.array(own_day, *chargeback_enters_and_leaves)).otherwise(
        F.array(own_day)
    )
    return (
        transactions.select(KEY, F.explode(events).alias("e"))
        .groupBy(KEY, F.col("e.day").alias(DAY))
        .agg(
            F.sum("e.txn").cast("long").alias("txn_count"),
            F.sum("e.amount").alias("amount_sum"),
            F.sum("e.cb").cast("long").alias("chargeback_delta"),
        )
        .repartition(KEY)
    )


def with_merchant_windows(snapshots: DataFrame, *, window_days: int) -> DataFrame:
    window = last_days(KEY, window_days)
    return (
        snapshots.withColumn("w_count", F.coalesce(F.sum("txn_count").over(window), F.lit(0)))
        .withColumn("w_amount_sum", F.sum("amount_sum").over(window))
        .withColumn("w_chargebacks", F.coalesce(F.sum("chargeback_delta").over(all_days_so_far(KEY)), F.lit(0)))
    )


def select_merchant_risk_features(windows: DataFrame, *, computed_at: dt.datetime | None) -> DataFrame:
    has_transactions = F.col("w_count") > 0
    return windows.select(
        F.col(KEY),
        snapshot_instant(F.col(DAY)).alias("event_timestamp"),
        created_timestamp(computed_at),
        F.col("w_count").cast("long").alias("total_transactions_30d"),
        F.when(has_transactions, F.col("w_amount_sum") / F.col("w_count"))
        .cast("float")
        .alias("avg_transaction_amount"),
        F.when(has_transactions, F.col("w_chargebacks") / F.col("w_count"))
        .otherwise(F.lit(0.0))
        .cast("float")
        .alias("chargeback_rate_30d"),
        ((F.col("w_chargebacks") + PRIOR_RATE * PRIOR_WEIGHT) / (F.col("w_count") + PRIOR_WEIGHT))
        .cast("float")
        .alias("risk_score"),
        date_of(F.col(DAY)).alias("snapshot_date"),
    )


def build_merchant_risk_features(
    transactions: DataFrame,
    *,
    run_range: DateRange,
    window_days: int = WINDOW_DAYS,
    computed_at: dt.datetime | None = None,
) -> DataFrame:
    """Snapshots of days `run_range` from used transactions joined to their first chargeback."""
    return (
        transactions.transform(filter_input_days, window_days=window_days, run_range=run_range)
        .transform(daily_merchant_partials, window_days=window_days)
        .transform(with_snapshot_days, key=KEY, window_days=window_days, run_range=run_range)
        .transform(with_merchant_windows, window_days=window_days)
        .transform(filter_snapshot_rows, run_range=run_range)
        .transform(select_merchant_risk_features, computed_at=computed_at)
        .transform(select_schema, schema=MERCHANT_RISK_FEATURES)
    )
