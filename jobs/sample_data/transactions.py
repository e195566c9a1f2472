"""Good transactions from an `id` column: normal traffic, then fraud bursts in the last ids.

Ids `[0, normal_transactions)` are normal traffic, laid out in time order (day = id * days / n) so
a partition of the id range covers a few consecutive days and writes few files; the remaining ids
are fraud bursts, `BURST_SIZE` consecutive ids per burst. Internal columns (`user_index`,
`merchant_index`, `is_burst`) stay until `select_raw_transactions`, for chargebacks and labels.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.sample_data import params as p
from jobs.sample_data.params import SampleDataParams
from jobs.sample_data.random_columns import exponential, lognormal, skewed_index, uniform, uniform_index
from jobs.schemas import INGEST_DATE, RAW_TRANSACTIONS


def transaction_id(params: SampleDataParams, id_col: Column) -> Column:
    return F.format_string(f"txn_%0{params.id_digits}d", id_col)


def user_id(params: SampleDataParams, index: Column) -> Column:
    return F.format_string(f"user_%0{max(3, len(str(params.users)))}d", index)


def merchant_id(params: SampleDataParams, index: Column) -> Column:
    return F.format_string(f"merch_%0{max(3, len(str(params.merchants)))}d", index)


def is_risky_merchant(params: SampleDataParams, merchant_index: Column) -> Column:
    return F.pmod(merchant_index - 1, F.lit(params.risky_merchant_stride)) == params.risky_merchant_offset


def with_burst_slots(df: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """`is_burst` and `burst_index` (null for normal traffic)."""
    is_burst = F.col("id") >= params.normal_transactions
    burst_index = F.floor((F.col("id") - params.normal_transactions) / p.BURST_SIZE).cast("long")
    return df.withColumn("is_burst", is_burst).withColumn(
        "burst_index", F.when(is_burst, burst_index).otherwise(F.lit(None).cast("long"))
    )


def with_event_epoch(df: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """Seconds since the epoch: normal traffic in id order over the days; a burst within BURST_SPAN_S."""
    seed = params.seed
    day = F.floor(F.col("id") * F.lit(params.days) / F.lit(params.normal_transactions)).cast("long")
    normal = F.lit(params.start_epoch) + day * p.SECONDS_PER_DAY + uniform_index(seed, "second", "id", n=86_400)
    burst_start = F.lit(params.start_epoch) + uniform_index(
        seed, "burst_start", "burst_index", n=params.days * p.SECONDS_PER_DAY - p.BURST_SPAN_S
    )
    burst = burst_start + uniform_index(seed, "burst_offset", "id", n=p.BURST_SPAN_S)
    return df.withColumn("event_epoch", F.when(F.col("is_burst"), burst).otherwise(normal))


def with_parties(df: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """1-based `user_index` and `merchant_index`: heavy-tailed for normal traffic, fraud users at risky
    merchants for bursts. Half of a user's normal transactions go to one of a few favourite merchants."""
    seed = params.seed
    normal_user = skewed_index(seed, "user", "id", n=params.users, skew=p.USER_SKEW) + 1
    fraud_user = (
        uniform_index(seed, "fraud_user", "burst_index", n=params.fraud_users) * params.fraud_user_stride
        + params.fraud_user_offset
        + 1
    )
    favorite = uniform_index(seed, "favorite_slot", "id", n=p.FAVORITE_MERCHANTS_PER_USER)
    favorite_merchant = skewed_index(seed, "favorite", "user_index", favorite, n=params.merchants, skew=p.MERCHANT_SKEW)
    any_merchant = skewed_index(seed, "merchant", "id", n=params.merchants, skew=p.MERCHANT_SKEW)
    is_favorite = uniform(seed, "is_favorite", "id") < p.FAVORITE_MERCHANT_SHARE
    normal_merchant = F.when(is_favorite, favorite_merchant).otherwise(any_merchant) + 1
    risky_merchant = (
        uniform_index(seed, "risky_merchant", "id", n=params.risky_merchants) * params.risky_merchant_stride
        + params.risky_merchant_offset
        + 1
    )
    return df.withColumn("user_index", F.when(F.col("is_burst"), fraud_user).otherwise(normal_user)).withColumn(
        "merchant_index", F.when(F.col("is_burst"), risky_merchant).otherwise(normal_merchant)
    )


def with_amount(df: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """Lognormal amounts in cents, never below 0.01; bursts spend more."""
    seed = params.seed
    normal = lognormal(seed, "amount", "id", log_mean=p.AMOUNT_LOG_MEAN, log_sd=p.AMOUNT_LOG_SD)
    burst = lognormal(seed, "amount", "id", log_mean=p.BURST_AMOUNT_LOG_MEAN, log_sd=p.BURST_AMOUNT_LOG_SD)
    amount = F.when(F.col("is_burst"), burst).otherwise(normal)
    return df.withColumn("amount", F.greatest(F.round(amount, 2), F.lit(0.01)))


def with_landing(df: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """`created_epoch`: seconds after the event for most rows, 1-3 days later for LATE_SHARE of them.
    Always at least one second after the event, so an injected duplicate can land strictly earlier."""
    seed = params.seed
    is_late = uniform(seed, "is_late", "id") < p.LATE_SHARE
    late_lag = (uniform_index(seed, "late_days", "id", n=p.LATE_MAX_DAYS) + 1) * p.SECONDS_PER_DAY + uniform_index(
        seed, "late_seconds", "id", n=3600
    )
    prompt_lag = F.floor(exponential(seed, "lag", "id", mean=p.NORMAL_LAG_MEAN_S)).cast("long") + 1
    lag = F.when(is_late, late_lag).otherwise(prompt_lag)
    return df.withColumn("created_epoch", F.col("event_epoch") + lag)


def with_raw_columns(df: DataFrame, *, params: SampleDataParams) -> DataFrame:
    created = F.timestamp_seconds("created_epoch")
    return (
        df.withColumn("transaction_id", transaction_id(params, F.col("id")))
        .withColumn("user_id", user_id(params, F.col("user_index")))
        .withColumn("merchant_id", merchant_id(params, F.col("merchant_index")))
        .withColumn("event_timestamp", F.timestamp_seconds("event_epoch"))
        .withColumns({"created_timestamp": created, INGEST_DATE: F.to_date(created)})
    )


def build_generated_transactions(ids: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """All columns of the good transactions for the `id`s given, internal ones included."""
    return (
        ids.transform(with_burst_slots, params=params)
        .transform(with_event_epoch, params=params)
        .transform(with_parties, params=params)
        .transform(with_amount, params=params)
        .transform(with_landing, params=params)
        .transform(with_raw_columns, params=params)
    )


def select_raw_transactions(df: DataFrame) -> DataFrame:
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in RAW_TRANSACTIONS.fields])
