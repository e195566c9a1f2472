"""Rows that break one raw-row rule each (FEATURES.md), injected on request.

Each bad row starts as a copy of a good generated row (a "template") and changes only what its rule
is about, so it breaks exactly that rule and none before it in table order. `bad_rows` rows of each
kind: row `i` of an id range has kind `i // bad_rows` (in the order of TRANSACTION_BAD_KINDS or
CHARGEBACK_BAD_KINDS) and variant `i % bad_rows`, which alternates the ways a rule can break.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.sample_data import params as p
from jobs.sample_data.chargebacks import select_raw_chargebacks
from jobs.sample_data.params import CHARGEBACK_BAD_KINDS, TRANSACTION_BAD_KINDS, SampleDataParams
from jobs.sample_data.transactions import build_generated_transactions, select_raw_transactions, transaction_id
from jobs.schemas import INGEST_DATE


def _kind(kinds: tuple[str, ...], name: str) -> Column:
    return F.col("kind") == kinds.index(name)


def with_bad_row_slots(bad_ids: DataFrame, *, params: SampleDataParams, template_shift: int) -> DataFrame:
    """`kind`, `variant`, and `id` replaced by a template: a normal good transaction, spread over the ids."""
    n = params.normal_transactions
    kind = F.floor(F.col("id") / params.bad_rows).cast("long")
    variant = F.pmod(F.col("id"), F.lit(params.bad_rows))
    spread = F.floor(variant * F.lit(n) / F.lit(params.bad_rows)).cast("long")
    return bad_ids.select(
        F.col("id").alias("bad_index"),
        kind.alias("kind"),
        variant.alias("variant"),
        F.pmod(spread + kind + template_shift, F.lit(n)).alias("id"),
    )


def with_broken_transaction_columns(rows: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """Break each row's rule: null ids, a bad amount, a null or future event, a null or early landing,
    or an earlier copy of a good transaction (the original lands later, so the original wins)."""
    kinds = TRANSACTION_BAD_KINDS
    even = F.pmod(F.col("variant"), F.lit(2)) == 0
    event = F.col("event_timestamp")
    future_event = F.timestamp_seconds(
        F.lit(params.reference_epoch)
        + (F.pmod(F.col("variant"), F.lit(3)) + 1) * p.SECONDS_PER_DAY
        + F.pmod(F.col("event_epoch"), F.lit(p.SECONDS_PER_DAY))
    )
    last_day_noon = F.timestamp_seconds(F.lit(params.reference_epoch - p.SECONDS_PER_DAY // 2) + F.col("variant"))
    bad_amounts = [F.lit(0.0), -F.col("amount"), F.lit(float("nan")), F.lit(float("inf")), F.lit(float("-inf"))]
    amount_variant = F.pmod(F.col("variant"), F.lit(len(bad_amounts) + 1))
    bad_amount = F.lit(None).cast("double")
    for position, value in enumerate(bad_amounts):
        bad_amount = F.when(amount_variant == position, value).otherwise(bad_amount)

    is_future = _kind(kinds, "event_timestamp_not_future")
    is_early = _kind(kinds, "created_timestamp_not_before_event")
    is_duplicate = _kind(kinds, "duplicate_transaction_id")
    new_event = F.when(is_future, F.when(even, F.lit(None).cast("timestamp")).otherwise(future_event)).otherwise(event)
    new_created = (
        F.when(is_future, F.when(even, last_day_noon).otherwise(future_event + F.expr("INTERVAL 5 MINUTES")))
        .when(is_early, F.when(even, F.lit(None).cast("timestamp")).otherwise(event - F.expr("INTERVAL 1 HOUR")))
        .when(is_duplicate, event)
        .otherwise(F.col("created_timestamp"))
    )
    new_ingest = (
        F.when(is_future, F.lit(params.end_date))
        .when(is_early | is_duplicate, F.to_date(event))
        .otherwise(F.col(INGEST_DATE))
    )
    fresh_id = transaction_id(params, F.lit(params.transactions) + F.col("bad_index"))
    return rows.withColumns(
        {
            "transaction_id": F.when(_kind(kinds, "transaction_id_not_null"), F.lit(None).cast("string"))
            .when(is_duplicate, F.col("transaction_id"))
            .otherwise(fresh_id),
            "user_id": F.when(_kind(kinds, "user_id_not_null"), F.lit(None)).otherwise(F.col("user_id")),
            "merchant_id": F.when(_kind(kinds, "merchant_id_not_null"), F.lit(None)).otherwise(F.col("merchant_id")),
            "amount": F.when(_kind(kinds, "amount_positive_finite"), bad_amount).otherwise(F.col("amount")),
            "event_timestamp": new_event,
            "created_timestamp": new_created,
            INGEST_DATE: new_ingest,
        }
    )


def build_bad_transactions(bad_ids: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """`bad_ids` is an id range of `params.bad_transaction_rows` rows."""
    return (
        bad_ids.transform(with_bad_row_slots, params=params, template_shift=0)
        .transform(build_generated_transactions, params=params)
        .transform(with_broken_transaction_columns, params=params)
        .transform(select_raw_transactions)
    )


def with_broken_chargeback_columns(rows: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """A null or unknown transaction id (filed 5 days after a real event), or a real transaction with a
    null chargeback time or one filed a day before the transaction happened."""
    kinds = CHARGEBACK_BAD_KINDS
    even = F.pmod(F.col("variant"), F.lit(2)) == 0
    event = F.col("event_timestamp")
    is_unknown = _kind(kinds, "transaction_id_refers_to_transaction")
    unknown_id = transaction_id(params, F.lit(params.transactions + params.bad_transaction_rows) + F.col("variant"))
    early = F.when(even, F.lit(None).cast("timestamp")).otherwise(event - F.expr("INTERVAL 1 DAY"))
    filed = F.when(is_unknown, event + F.expr("INTERVAL 5 DAYS")).otherwise(early)
    return rows.withColumns(
        {
            "transaction_id": F.when(
                is_unknown, F.when(even, F.lit(None).cast("string")).otherwise(unknown_id)
            ).otherwise(F.col("transaction_id")),
            "chargeback_timestamp": filed,
            INGEST_DATE: F.when(is_unknown, F.to_date(filed)).otherwise(F.to_date(event)),
        }
    )


def build_bad_chargebacks(bad_ids: DataFrame, *, params: SampleDataParams) -> DataFrame:
    """`bad_ids` is an id range of `params.bad_chargeback_rows` rows; the targets are spread half a
    stride away from the duplicated transactions."""
    shift = max(1, params.normal_transactions // (2 * max(1, params.bad_rows)))
    return (
        bad_ids.transform(with_bad_row_slots, params=params, template_shift=shift)
        .transform(build_generated_transactions, params=params)
        .transform(with_broken_chargeback_columns, params=params)
        .transform(select_raw_chargebacks)
    )
