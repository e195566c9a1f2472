"""Resolved chargebacks: the chargeback contribution of each stored transaction, kept so a daily run
never rereads a month of silver to count chargebacks.

One row per silver transaction whose first valid chargeback (FEATURES.md: filed at or after the
transaction; several count as one) was filed within the merchant window of its day:
`transaction_id`, `merchant_id`, `event_date` (the transaction's, the partition column) and
`filed_date` (the day that chargeback was filed). A later chargeback never counts in any window, so
it has no row. The merchant windows are rolled from these rows and the merchant tiles
(jobs.features.tiles).

A run recomputes the rows of the transactions it touched: the ones it stored (new, winning or
rerun rows) and the ones its new chargebacks name, and MERGEs them in (insert, update, or delete
when a correction made the chargeback no longer count). The rows of other transactions cannot
change: only their own transaction and their own chargebacks decide them.

Shuffles: one join of the touched transactions with the stored chargebacks in reach by
`transaction_id` (a broadcast when one side is small), and the MERGE's join by `transaction_id`.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.features import raw_rules
from jobs.features.silver import EVENT_DATE, FILED_DATE

TRANSACTION_ID = "transaction_id"
MERCHANT_ID = "merchant_id"
COLUMNS = [TRANSACTION_ID, MERCHANT_ID, EVENT_DATE, FILED_DATE]


def resolve(transactions: DataFrame, chargebacks: DataFrame, *, window_days: int) -> DataFrame:
    """Rows of `transactions` (silver rows, one per id) whose first valid chargeback in `chargebacks`
    (silver_chargebacks rows) was filed within the window of the transaction's day."""
    events = transactions.select(TRANSACTION_ID, MERCHANT_ID, "event_timestamp", EVENT_DATE)
    filed = chargebacks.select(TRANSACTION_ID, "chargeback_timestamp")
    first_valid = (
        events.join(filed, on=TRANSACTION_ID, how="inner")
        .filter(raw_rules.is_not_before(F.col("chargeback_timestamp"), F.col("event_timestamp")))
        .groupBy(TRANSACTION_ID, MERCHANT_ID, EVENT_DATE)
        .agg(F.to_date(F.min("chargeback_timestamp")).alias(FILED_DATE))
    )
    return first_valid.filter(F.col(FILED_DATE) <= F.date_add(F.col(EVENT_DATE), window_days - 1)).select(*COLUMNS)


def changes(touched: DataFrame, resolved: DataFrame) -> DataFrame:
    """One row per touched id: its resolved row, or a null `filed_date` when it has none any more."""
    return (
        touched.select(TRANSACTION_ID)
        .distinct()
        .join(resolved.select(*COLUMNS), on=TRANSACTION_ID, how="left")
        .select(*COLUMNS)
    )


def replace(location: str, resolved: DataFrame) -> None:
    """The whole table from a backfill's silver (one commit)."""
    delta_io.overwrite(resolved.select(*COLUMNS), location, partition_by=[EVENT_DATE], overwrite_schema=True)


def merge(spark: SparkSession, location: str, changed: DataFrame, *, first: dt.date, last: dt.date) -> None:
    """One Delta MERGE of `changes` rows. `[first, last]` bounds the event dates of the stored rows
    the touched ids may have (the silver lookup's reach and the new chargebacks' window)."""
    condition = f"t.{TRANSACTION_ID} = s.{TRANSACTION_ID} AND {delta_io.between_days('t.' + EVENT_DATE, first, last)}"
    (
        delta_io.delta_table(spark, location)
        .alias("t")
        .merge(changed.alias("s"), condition)
        .whenMatchedDelete(condition=f"s.{FILED_DATE} IS NULL")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll(condition=f"s.{FILED_DATE} IS NOT NULL")
        .execute()
    )
