"""The raw-row rules of FEATURES.md: every row read is either used or quarantined with one rule.

A row is tagged with the first rule it breaks, in table order; rows that pass every row rule are
then deduplicated by `transaction_id` (latest `created_timestamp` wins). A chargeback is checked
against the transactions this run uses. `rule` is null for a used row.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.schemas import INGEST_DATE

log = logging.getLogger(__name__)

TRANSACTION_ID_NOT_NULL = "transaction_id_not_null"
USER_ID_NOT_NULL = "user_id_not_null"
MERCHANT_ID_NOT_NULL = "merchant_id_not_null"
AMOUNT_POSITIVE_FINITE = "amount_positive_finite"
EVENT_TIMESTAMP_NOT_FUTURE = "event_timestamp_not_future"
CREATED_TIMESTAMP_NOT_BEFORE_EVENT = "created_timestamp_not_before_event"
DUPLICATE_TRANSACTION_ID = "duplicate_transaction_id"
CHARGEBACK_REFERS_TO_TRANSACTION = "transaction_id_refers_to_transaction"
CHARGEBACK_NOT_BEFORE_TRANSACTION = "chargeback_not_before_transaction"

TRANSACTION_RULES = (
    TRANSACTION_ID_NOT_NULL,
    USER_ID_NOT_NULL,
    MERCHANT_ID_NOT_NULL,
    AMOUNT_POSITIVE_FINITE,
    EVENT_TIMESTAMP_NOT_FUTURE,
    CREATED_TIMESTAMP_NOT_BEFORE_EVENT,
    DUPLICATE_TRANSACTION_ID,
)
CHARGEBACK_RULES = (CHARGEBACK_REFERS_TO_TRANSACTION, CHARGEBACK_NOT_BEFORE_TRANSACTION)

# Which column each rule judges, for error messages and the quarantine table.
RULE_COLUMNS = {
    TRANSACTION_ID_NOT_NULL: "transaction_id",
    USER_ID_NOT_NULL: "user_id",
    MERCHANT_ID_NOT_NULL: "merchant_id",
    AMOUNT_POSITIVE_FINITE: "amount",
    EVENT_TIMESTAMP_NOT_FUTURE: "event_timestamp",
    CREATED_TIMESTAMP_NOT_BEFORE_EVENT: "created_timestamp",
    DUPLICATE_TRANSACTION_ID: "transaction_id",
    CHARGEBACK_REFERS_TO_TRANSACTION: "transaction_id",
    CHARGEBACK_NOT_BEFORE_TRANSACTION: "chargeback_timestamp",
}


def is_positive_finite(amount: Column) -> Column:
    # NaN compares greater than every number in Spark, so `amount > 0` alone would let it through.
    return amount.isNotNull() & ~F.isnan(amount) & (amount > 0) & (amount < float("inf"))


def is_not_after(ts: Column, reference_instant: dt.datetime) -> Column:
    return ts.isNotNull() & (ts <= F.lit(reference_instant))


def is_not_before(ts: Column, earlier: Column) -> Column:
    return ts.isNotNull() & (ts >= earlier)


def first_broken_transaction_rule(reference_instant: dt.datetime) -> Column:
    return (
        F.when(F.col("transaction_id").isNull(), TRANSACTION_ID_NOT_NULL)
        .when(F.col("user_id").isNull(), USER_ID_NOT_NULL)
        .when(F.col("merchant_id").isNull(), MERCHANT_ID_NOT_NULL)
        .when(~is_positive_finite(F.col("amount")), AMOUNT_POSITIVE_FINITE)
        .when(~is_not_after(F.col("event_timestamp"), reference_instant), EVENT_TIMESTAMP_NOT_FUTURE)
        .when(~is_not_before(F.col("created_timestamp"), F.col("event_timestamp")), CREATED_TIMESTAMP_NOT_BEFORE_EVENT)
    )


def with_transaction_rule(transactions: DataFrame, *, reference_instant: dt.datetime) -> DataFrame:
    """Tag each transaction with the first rule it breaks (row rules, then duplicates); null if used.

    Shuffle: one, by `transaction_id`, to rank duplicates. Rows that broke a row rule rank after
    every passing row of the same id, so they never displace the winner.
    """
    tagged = transactions.withColumn("rule", first_broken_transaction_rule(reference_instant))
    same_id_best_first = Window.partitionBy("transaction_id").orderBy(
        F.col("rule").isNull().desc(),
        F.col("created_timestamp").desc(),
        # Exact ties on created_timestamp: keep the smallest row by these columns, a fixed rule.
        F.col("event_timestamp").asc(),
        F.col("user_id").asc(),
        F.col("merchant_id").asc(),
        F.col("amount").asc(),
        # Last, the landing day: a row landing twice unchanged keeps its first landing, so a daily run
        # from stored state (jobs/features/silver.py) and a backfill keep the same one.
        F.col(INGEST_DATE).asc(),
    )
    is_duplicate_loser = F.col("rule").isNull() & (F.row_number().over(same_id_best_first) > 1)
    return tagged.withColumn("rule", F.when(is_duplicate_loser, DUPLICATE_TRANSACTION_ID).otherwise(F.col("rule")))


def with_chargeback_rule(chargebacks: DataFrame, *, used_transactions: DataFrame) -> DataFrame:
    """Tag each chargeback: it must name a used transaction and not precede it; null if used.

    `used_transactions` has one row per `transaction_id`, so the left join never multiplies rows.
    """
    events = used_transactions.select("transaction_id", F.col("event_timestamp").alias("_transaction_event"))
    joined = chargebacks.join(events, on="transaction_id", how="left")
    rule = F.when(F.col("_transaction_event").isNull(), CHARGEBACK_REFERS_TO_TRANSACTION).when(
        ~is_not_before(F.col("chargeback_timestamp"), F.col("_transaction_event")), CHARGEBACK_NOT_BEFORE_TRANSACTION
    )
    return joined.withColumn("rule", rule).drop("_transaction_event")


def filter_used(df: DataFrame) -> DataFrame:
    return df.filter(F.col("rule").isNull()).drop("rule")


def filter_quarantined(df: DataFrame) -> DataFrame:
    return df.filter(F.col("rule").isNotNull())


def first_chargeback_per_transaction(used_chargebacks: DataFrame) -> DataFrame:
    """Several chargebacks on one transaction count as one: the earliest is the one that matters."""
    return used_chargebacks.groupBy("transaction_id").agg(
        F.min("chargeback_timestamp").alias("first_chargeback_timestamp")
    )


def rule_counts(checked: DataFrame) -> dict[str, Any]:
    """`read = used + quarantined` for one raw table, from the cached checked rows (one small job)."""
    by_rule = {row["rule"]: row["count"] for row in checked.groupBy("rule").count().collect()}
    used = by_rule.pop(None, 0)
    quarantined = sum(by_rule.values())
    return {
        "read": used + quarantined,
        "used": used,
        "quarantined": quarantined,
        "by_rule": dict(sorted(by_rule.items())),
    }


def log_rejects(counts: dict[str, dict[str, Any]], *, run_id: str) -> None:
    """One warning per broken rule of each raw table, naming its column and the run."""
    for name, table_counts in counts.items():
        for rule, n in table_counts["by_rule"].items():
            log.warning(
                "table %s: %d row(s) broke rule %s (column %s); quarantined under run %s",
                name,
                n,
                rule,
                RULE_COLUMNS[rule],
                run_id,
            )
