"""Daily tiles: per (entity, event day) partial aggregates of silver, and the windows rolled from them.

User tile (user_id, event_date): `txn_count`, `amount_sum`, `amount_max`, `first_ts`, `last_ts` and
`merchants`, the sorted set of merchants of that user-day. A window's distinct merchants are the
size of the union of its tiles' sets, and its `avg_time_between_transactions` is
(max last_ts - min first_ts) / (count - 1): consecutive gaps of an ordered sequence add up to its
span. Both exact.

Merchant tile (merchant_id, event_date): `txn_count` and `amount_sum`. The chargebacks come from
jobs.features.resolved_chargebacks (one row per transaction whose first valid chargeback was filed
within its window, with the day it was filed): snapshot D counts a transaction of day d in D's window
whose chargeback was filed on or before D.

Rolling reads only the tiles and resolved chargebacks of `[start - N, end]` (the window of the first
day and of the day before it, for the quiet-window row) and reuses jobs.features.snapshots.
Chargebacks become +1 on the filing day and -1 on d + N, whose running sum over the rows read is
exact from `start` on: a transaction earlier than `start - N` has both its +1 and its -1 before
`start`.

Shuffles: building tiles, one groupBy (user, day) and one (merchant, day). Rolling: one exchange of
the tiles by entity (merchant: one groupBy (merchant, day) of the tiles and the +1/-1 events first);
every window then runs inside those partitions.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.features import merchant_features, user_features
from jobs.features.run_range import DateRange
from jobs.features.silver import EVENT_DATE, FILED_DATE
from jobs.features.snapshots import (
    DAY,
    filter_snapshot_rows,
    last_days,
    select_schema,
    with_snapshot_days,
)
from jobs.schemas import MERCHANT_RISK_FEATURES, USER_TRANSACTION_FEATURES

USER_KEY = user_features.KEY
MERCHANT_KEY = merchant_features.KEY


def build_user_tiles(silver: DataFrame) -> DataFrame:
    return silver.groupBy(USER_KEY, EVENT_DATE).agg(
        F.count(F.lit(1)).alias("txn_count"),
        F.sum("amount").alias("amount_sum"),
        F.max("amount").alias("amount_max"),
        F.min("event_timestamp").alias("first_ts"),
        F.max("event_timestamp").alias("last_ts"),
        F.array_sort(F.collect_set("merchant_id")).alias("merchants"),
    )


def build_merchant_tiles(silver: DataFrame) -> DataFrame:
    return silver.groupBy(MERCHANT_KEY, EVENT_DATE).agg(
        F.count(F.lit(1)).alias("txn_count"), F.sum("amount").alias("amount_sum")
    )


def filter_tile_days(tiles: DataFrame, *, window_days: int, run_range: DateRange) -> DataFrame:
    return tiles.filter(F.col(EVENT_DATE).between(run_range.first_input_day(window_days), run_range.end))


def with_rolled_user_windows(snapshots: DataFrame, *, window_days: int) -> DataFrame:
    window = last_days(USER_KEY, window_days)
    merchants = F.array_distinct(F.flatten(F.collect_list("merchants").over(window)))
    return user_features.with_window_totals(snapshots, window).withColumn("w_merchants", F.size(merchants))


def roll_user_features(
    tiles: DataFrame, *, run_range: DateRange, window_days: int, computed_at: dt.datetime | None = None
) -> DataFrame:
    daily = tiles.transform(filter_tile_days, window_days=window_days, run_range=run_range).select(
        USER_KEY,
        F.unix_date(F.col(EVENT_DATE)).alias(DAY),
        "txn_count",
        "amount_sum",
        "amount_max",
        "first_ts",
        "last_ts",
        "merchants",
    )
    return (
        daily.repartition(USER_KEY)
        .transform(with_snapshot_days, key=USER_KEY, window_days=window_days, run_range=run_range)
        .transform(with_rolled_user_windows, window_days=window_days)
        .transform(filter_snapshot_rows, run_range=run_range)
        .transform(user_features.select_user_transaction_features, computed_at=computed_at)
        .transform(select_schema, schema=USER_TRANSACTION_FEATURES)
    )


def merchant_daily_deltas(tiles: DataFrame, resolved: DataFrame, *, window_days: int) -> DataFrame:
    """One row per (merchant, day): the tile's own count and sum, and the chargebacks' +1/-1 deltas."""
    own = tiles.select(
        MERCHANT_KEY,
        F.unix_date(F.col(EVENT_DATE)).alias(DAY),
        "txn_count",
        "amount_sum",
        F.lit(0).cast("long").alias("chargeback_delta"),
    )
    no_txn = [F.lit(0).cast("long").alias("txn_count"), F.lit(None).cast("double").alias("amount_sum")]
    enters = resolved.select(
        MERCHANT_KEY,
        F.unix_date(F.col(FILED_DATE)).alias(DAY),
        *no_txn,
        F.lit(1).cast("long").alias("chargeback_delta"),
    )
    leaves = resolved.select(
        MERCHANT_KEY,
        (F.unix_date(F.col(EVENT_DATE)) + window_days).alias(DAY),
        *no_txn,
        F.lit(-1).cast("long").alias("chargeback_delta"),
    )
    return (
        own.unionByName(enters)
        .unionByName(leaves)
        .groupBy(MERCHANT_KEY, DAY)
        .agg(
            F.sum("txn_count").alias("txn_count"),
            F.sum("amount_sum").alias("amount_sum"),
            F.sum("chargeback_delta").alias("chargeback_delta"),
        )
        .repartition(MERCHANT_KEY)
    )


def roll_merchant_features(
    tiles: DataFrame,
    resolved: DataFrame,
    *,
    run_range: DateRange,
    window_days: int,
    computed_at: dt.datetime | None = None,
) -> DataFrame:
    """`resolved` are jobs.features.resolved_chargebacks rows."""
    in_reach = {"window_days": window_days, "run_range": run_range}
    return (
        tiles.transform(filter_tile_days, **in_reach)
        .transform(merchant_daily_deltas, resolved.transform(filter_tile_days, **in_reach), window_days=window_days)
        .transform(with_snapshot_days, key=MERCHANT_KEY, window_days=window_days, run_range=run_range)
        .transform(merchant_features.with_merchant_windows, window_days=window_days)
        .transform(filter_snapshot_rows, run_range=run_range)
        .transform(merchant_features.select_merchant_risk_features, computed_at=computed_at)
        .transform(select_schema, schema=MERCHANT_RISK_FEATURES)
    )
