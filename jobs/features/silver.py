"""Silver tables: the used rows of every landing day processed so far, stored by event date.

`silver_transactions` holds one row per `transaction_id`, the one FEATURES.md's dedup rule keeps
(latest `created_timestamp`, then jobs.features.raw_rules' fixed tie rule, the landing day last):
the raw columns plus `event_date`, its partition column. A run judges the winners of its new
landing days against the stored rows of the same ids and MERGEs the ones that win (or are new).
The stored rows are looked up only in the partitions of the incoming event dates widened by
`features.correction_horizon_days`: a later duplicate that moves its transaction's event date
further than that (a correction of more than the horizon) is not found, and both rows would be
kept. A stored row a later duplicate displaces is quarantined as a duplicate under its own landing
day, exactly as a backfill over both landing days files it.

`silver_chargebacks` holds every chargeback row with an id and a timestamp (raw columns plus
`filed_date`, its partition). Whether one counts is decided against silver_transactions whenever
tiles are built (jobs.features.tiles), so a chargeback that lands before its transaction counts
once the transaction lands, as in a backfill.

Shuffles: judging incoming rows joins them with the stored rows in reach by `transaction_id` (one
exchange of each side, or a broadcast of the smaller); Delta's MERGE joins the same way again.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.features import raw_rules
from jobs.schemas import INGEST_DATE, RAW_CHARGEBACKS, RAW_TRANSACTIONS

EVENT_DATE = "event_date"
FILED_DATE = "filed_date"
OUTCOME = "_outcome"
STORED = "_stored"
NEW, WINS, SAME, LOSES = "new", "wins", "same", "loses"

RAW_TRANSACTION_COLUMNS = [f.name for f in RAW_TRANSACTIONS.fields]
RAW_CHARGEBACK_COLUMNS = [f.name for f in RAW_CHARGEBACKS.fields]


def rank_key(row: Column) -> Column:
    """The dedup order of raw_rules.with_transaction_rule as one comparable struct: smaller is better."""
    return F.struct(
        (-F.unix_micros(row["created_timestamp"])).alias("created_desc"),
        F.unix_micros(row["event_timestamp"]).alias("event"),
        row["user_id"].alias("user_id"),
        row["merchant_id"].alias("merchant_id"),
        row["amount"].alias("amount"),
        row[INGEST_DATE].alias(INGEST_DATE),
    )


def select_silver_transactions(used: DataFrame) -> DataFrame:
    return used.select(*RAW_TRANSACTION_COLUMNS, F.to_date("event_timestamp").alias(EVENT_DATE))


def select_silver_chargebacks(chargebacks: DataFrame) -> DataFrame:
    """Rows that could ever count: an id and a filing instant."""
    return chargebacks.filter(F.col("transaction_id").isNotNull() & F.col("chargeback_timestamp").isNotNull()).select(
        *RAW_CHARGEBACK_COLUMNS, F.to_date("chargeback_timestamp").alias(FILED_DATE)
    )


def with_stored_outcome(checked: DataFrame, *, stored: DataFrame) -> DataFrame:
    """Judge rows tagged by raw_rules against the stored row of their id.

    Adds `_stored` (the stored row, null if none) and `_outcome` for rows that passed every rule of
    their own batch: new, wins (replaces the stored row), same (is the stored row: a rerun), loses
    (quarantined as a duplicate). `stored` holds one row per id, so the join multiplies nothing.
    """
    stored_rows = stored.select("transaction_id", F.struct(*RAW_TRANSACTION_COLUMNS, EVENT_DATE).alias(STORED))
    joined = checked.join(stored_rows, on="transaction_id", how="left")
    incoming, kept = rank_key(F.struct(*RAW_TRANSACTION_COLUMNS)), rank_key(F.col(STORED))
    outcome = (
        F.when(F.col("rule").isNotNull(), F.lit(None))
        .when(F.col(STORED).isNull(), NEW)
        .when(incoming == kept, SAME)
        .when(incoming < kept, WINS)
        .otherwise(LOSES)
    )
    judged = joined.withColumn(OUTCOME, outcome)
    rule = F.when(F.col(OUTCOME) == LOSES, F.lit(raw_rules.DUPLICATE_TRANSACTION_ID)).otherwise(F.col("rule"))
    return judged.withColumn("rule", rule)


def filter_upserts(judged: DataFrame) -> DataFrame:
    """The incoming rows silver must hold after the run, as silver rows."""
    return judged.filter(F.col(OUTCOME).isin(NEW, WINS)).transform(select_silver_transactions)


def filter_displaced(judged: DataFrame) -> DataFrame:
    """Stored rows a later duplicate beat, as raw rows tagged with the duplicate rule."""
    return judged.filter(F.col(OUTCOME) == WINS).select(
        *[F.col(f"{STORED}.{c}").alias(c) for c in RAW_TRANSACTION_COLUMNS],
        F.lit(raw_rules.DUPLICATE_TRANSACTION_ID).alias("rule"),
    )


def affected_event_dates(judged: DataFrame) -> DataFrame:
    """Event dates whose silver rows this batch may change: its used rows' (also the rerun's `same`
    rows, so a run repeated after a failure rebuilds their tiles) and the displaced rows'."""
    used = judged.filter(F.col(OUTCOME).isin(NEW, WINS, SAME)).select(F.to_date("event_timestamp").alias(EVENT_DATE))
    displaced = judged.filter(F.col(OUTCOME) == WINS).select(F.col(f"{STORED}.{EVENT_DATE}").alias(EVENT_DATE))
    return used.unionByName(displaced).distinct()


def read_stored(spark: SparkSession, location: str, *, first: dt.date, last: dt.date) -> DataFrame:
    """Silver rows of the event dates `[first, last]` (partition pruning)."""
    return delta_io.read(spark, location).filter(F.col(EVENT_DATE).between(first, last))


def merge_transactions(
    spark: SparkSession, location: str, upserts: DataFrame, *, first: dt.date, last: dt.date
) -> None:
    """One Delta MERGE: replace the stored row of each winning id, insert new ids. `[first, last]`
    bounds the event dates the MERGE scans for a stored row (it holds every stored row judged)."""
    condition = f"t.transaction_id = s.transaction_id AND {delta_io.between_days('t.' + EVENT_DATE, first, last)}"
    delta_io.upsert(spark, location, upserts, matched_on=condition)


def replace_transactions(spark: SparkSession, location: str, used: DataFrame) -> None:
    """The whole silver table from a backfill's used rows."""
    delta_io.overwrite(
        used.transform(select_silver_transactions), location, partition_by=[EVENT_DATE], overwrite_schema=True
    )


def replace_chargebacks(location: str, chargebacks: DataFrame, *, first: dt.date, last: dt.date | None) -> None:
    """The stored chargebacks of landing days `[first, last]` (every day with `last` None) in one commit."""
    rows = chargebacks.transform(select_silver_chargebacks)
    if last is None:
        delta_io.overwrite(rows, location, partition_by=[FILED_DATE], overwrite_schema=True)
        return
    delta_io.overwrite(
        rows, location, replace_where=delta_io.between_days(INGEST_DATE, first, last), partition_by=[FILED_DATE]
    )
