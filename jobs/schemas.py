"""Every table's schema, declared once; readers, writers, tests and the Feast contract test use these.

Raw (bronze) tables carry `ingest_date`, the UTC date the row landed, as their partition column:
a run reads the landing days its windows need, and rows that land later are picked up by the run
that recomputes those days (the late-arrival lookback).
"""

from __future__ import annotations

from pyspark.sql import types as T

INGEST_DATE = "ingest_date"
SNAPSHOT_DATE = "snapshot_date"

RAW_TRANSACTIONS = T.StructType(
    [
        T.StructField("transaction_id", T.StringType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("merchant_id", T.StringType()),
        T.StructField("amount", T.DoubleType()),
        T.StructField("event_timestamp", T.TimestampType()),
        T.StructField("created_timestamp", T.TimestampType()),
        T.StructField(INGEST_DATE, T.DateType()),
    ]
)

RAW_CHARGEBACKS = T.StructType(
    [
        T.StructField("transaction_id", T.StringType()),
        T.StructField("chargeback_timestamp", T.TimestampType()),
        T.StructField(INGEST_DATE, T.DateType()),
    ]
)

LABELS = T.StructType(
    [
        T.StructField("user_id", T.StringType()),
        T.StructField("merchant_id", T.StringType()),
        T.StructField("event_timestamp", T.TimestampType()),
        T.StructField("label", T.IntegerType()),
    ]
)

QUARANTINE = T.StructType(
    [
        T.StructField("source_table", T.StringType(), nullable=False),
        T.StructField("rule", T.StringType(), nullable=False),
        T.StructField("run_id", T.StringType(), nullable=False),
        T.StructField("quarantined_at", T.TimestampType(), nullable=False),
        T.StructField("transaction_id", T.StringType()),
        T.StructField(INGEST_DATE, T.DateType()),
        T.StructField("record", T.StringType(), nullable=False),
    ]
)

USER_TRANSACTION_FEATURES = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("event_timestamp", T.TimestampType(), nullable=False),
        T.StructField("created_timestamp", T.TimestampType(), nullable=False),
        T.StructField("transaction_count_7d", T.LongType(), nullable=False),
        T.StructField("transaction_amount_avg_7d", T.FloatType()),
        T.StructField("transaction_amount_max_7d", T.FloatType()),
        T.StructField("unique_merchants_7d", T.LongType(), nullable=False),
        T.StructField("avg_time_between_transactions", T.FloatType()),
        T.StructField(SNAPSHOT_DATE, T.DateType(), nullable=False),
    ]
)

MERCHANT_RISK_FEATURES = T.StructType(
    [
        T.StructField("merchant_id", T.StringType(), nullable=False),
        T.StructField("event_timestamp", T.TimestampType(), nullable=False),
        T.StructField("created_timestamp", T.TimestampType(), nullable=False),
        T.StructField("total_transactions_30d", T.LongType(), nullable=False),
        T.StructField("avg_transaction_amount", T.FloatType()),
        T.StructField("chargeback_rate_30d", T.FloatType(), nullable=False),
        T.StructField("risk_score", T.FloatType(), nullable=False),
        T.StructField(SNAPSHOT_DATE, T.DateType(), nullable=False),
    ]
)
