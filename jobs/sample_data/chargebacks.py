"""Chargebacks filed against the good transactions: rare, commoner at risky merchants and on bursts."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.sample_data import params as p
from jobs.sample_data.params import SampleDataParams
from jobs.sample_data.random_columns import uniform, uniform_index
from jobs.sample_data.transactions import is_risky_merchant
from jobs.schemas import INGEST_DATE, RAW_CHARGEBACKS


def with_chargeback_probability(transactions: DataFrame, *, params: SampleDataParams) -> DataFrame:
    probability = (
        F.when(F.col("is_burst"), F.lit(p.CHARGEBACK_BURST_RATE))
        .when(is_risky_merchant(params, F.col("merchant_index")), F.lit(p.CHARGEBACK_RISKY_MERCHANT_RATE))
        .otherwise(F.lit(p.CHARGEBACK_BASE_RATE))
    )
    return transactions.withColumn("chargeback_probability", probability)


def filter_charged_back(transactions: DataFrame, *, params: SampleDataParams) -> DataFrame:
    return transactions.filter(uniform(params.seed, "chargeback", "id") < F.col("chargeback_probability"))


def with_chargeback_timestamp(transactions: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """Filed CHARGEBACK_MIN_DAYS to CHARGEBACK_MIN_DAYS + CHARGEBACK_SPREAD_DAYS after the transaction;
    it lands (ingest_date) the day it was filed."""
    delay = F.lit(p.CHARGEBACK_MIN_DAYS * p.SECONDS_PER_DAY) + uniform_index(
        params.seed, "chargeback_delay", "id", n=p.CHARGEBACK_SPREAD_DAYS * p.SECONDS_PER_DAY
    )
    filed = F.timestamp_seconds(F.col("event_epoch") + delay)
    return transactions.withColumns({"chargeback_timestamp": filed, INGEST_DATE: F.to_date(filed)})


def select_raw_chargebacks(df: DataFrame) -> DataFrame:
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in RAW_CHARGEBACKS.fields])


def build_chargebacks(generated_transactions: DataFrame, *, params: SampleDataParams) -> DataFrame:
    return (
        generated_transactions.transform(with_chargeback_probability, params=params)
        .transform(filter_charged_back, params=params)
        .transform(with_chargeback_timestamp, params=params)
        .transform(select_raw_chargebacks)
    )
