import datetime as dt

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

import oracle
from factories import (
    EDGE_CASE_CHARGEBACKS,
    EDGE_CASE_TRANSACTIONS,
    chargebacks,
    random_chargebacks,
    random_transactions,
    transactions,
)
from jobs.features import raw_rules
from jobs.features.merchant_features import build_merchant_risk_features
from jobs.features.run_range import DateRange
from jobs.schemas import MERCHANT_RISK_FEATURES

COMPUTED_AT = dt.datetime(2026, 4, 1, 6, 0, 0)


def merchant_input(spark, txn_rows, cb_rows, run_range):
    raw = transactions(spark, txn_rows)
    used = raw_rules.filter_used(
        raw.transform(raw_rules.with_transaction_rule, reference_instant=run_range.reference_instant)
    )
    raw_cb = chargebacks(spark, cb_rows)
    checked_cb = raw_cb.transform(raw_rules.with_chargeback_rule, used_transactions=used)
    first = raw_rules.first_chargeback_per_transaction(raw_rules.filter_used(checked_cb))
    return raw, raw_cb, used.join(first, on="transaction_id", how="left")


def oracle_for(raw, raw_cb, run_range, n=30):
    reference = pd.Timestamp(run_range.reference_instant.replace(tzinfo=None))
    expected_used, _ = oracle.used_transactions(raw.toPandas(), reference=reference)
    first, _ = oracle.first_chargebacks(raw_cb.toPandas(), expected_used)
    return oracle.merchant_features(expected_used, first, start=run_range.start, end=run_range.end, n=n)


def test_chargeback_counts_only_from_the_snapshot_after_it_was_filed(spark):
    run_range = DateRange("2026-03-01", "2026-03-04")
    txn_rows = [("t1", "u1", "m1", 10.0, "2026-03-01 10:00:00"), ("t2", None, "m1", 5.0, "2026-03-01 10:00:00")]
    _, _, txns = merchant_input(spark, txn_rows, [("t1", "2026-03-03 00:00:00")], run_range)
    got = build_merchant_risk_features(txns, run_range=run_range, computed_at=COMPUTED_AT)
    expected = spark.createDataFrame(
        [
            ("m1", dt.datetime(2026, 3, 2), COMPUTED_AT, 1, 10.0, 0.0, 0.2 / 21, dt.date(2026, 3, 1)),
            ("m1", dt.datetime(2026, 3, 3), COMPUTED_AT, 1, 10.0, 0.0, 0.2 / 21, dt.date(2026, 3, 2)),
            ("m1", dt.datetime(2026, 3, 4), COMPUTED_AT, 1, 10.0, 1.0, 1.2 / 21, dt.date(2026, 3, 3)),
            ("m1", dt.datetime(2026, 3, 5), COMPUTED_AT, 1, 10.0, 1.0, 1.2 / 21, dt.date(2026, 3, 4)),
        ],
        MERCHANT_RISK_FEATURES,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_quiet_window_row_has_zero_rate_and_prior_risk(spark):
    run_range = DateRange("2026-03-01", "2026-04-15")
    _, _, txns = merchant_input(spark, [("t1", "u1", "m1", 10.0, "2026-03-01 10:00:00")], [], run_range)
    got = build_merchant_risk_features(txns, run_range=run_range).filter(F.col("total_transactions_30d") == 0)
    rows = [(r.snapshot_date, r.avg_transaction_amount, r.chargeback_rate_30d, r.risk_score) for r in got.collect()]
    assert rows == [(dt.date(2026, 3, 31), None, 0.0, pytest.approx(0.01))]


def test_edge_cases_match_the_oracle(spark):
    run_range = DateRange("2026-03-01", "2026-03-20")
    raw, raw_cb, txns = merchant_input(spark, EDGE_CASE_TRANSACTIONS, EDGE_CASE_CHARGEBACKS, run_range)
    got = build_merchant_risk_features(txns, run_range=run_range).toPandas()
    oracle.assert_frames_match(
        got.drop(columns=["created_timestamp", "snapshot_date"]), oracle_for(raw, raw_cb, run_range), key="merchant_id"
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_random_data_matches_the_oracle(spark, seed):
    txn_rows = random_transactions(seed, n=300, users=10, merchants=5, start="2026-01-25", days=70)
    cb_rows = random_chargebacks(seed, txn_rows, share=0.15)
    run_range = DateRange("2026-03-01", "2026-04-05")
    raw, raw_cb, txns = merchant_input(spark, txn_rows, cb_rows, run_range)
    got = build_merchant_risk_features(txns, run_range=run_range).toPandas()
    oracle.assert_frames_match(
        got.drop(columns=["created_timestamp", "snapshot_date"]), oracle_for(raw, raw_cb, run_range), key="merchant_id"
    )


def test_quiet_row_on_the_first_day_of_the_range(spark):
    run_range = DateRange("2026-03-31", "2026-04-02")
    _, _, txns = merchant_input(spark, [("t1", "u1", "m1", 10.0, "2026-03-01 10:00:00")], [], run_range)
    got = build_merchant_risk_features(txns, run_range=run_range).collect()
    assert [(r.snapshot_date, r.total_transactions_30d) for r in got] == [(dt.date(2026, 3, 31), 0)]
