import datetime as dt

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

import oracle
from factories import EDGE_CASE_TRANSACTIONS, random_transactions, transactions
from jobs.features import raw_rules
from jobs.features.run_range import DateRange
from jobs.features.user_features import build_user_transaction_features
from jobs.schemas import USER_TRANSACTION_FEATURES

COMPUTED_AT = dt.datetime(2026, 4, 1, 6, 0, 0)


def used(spark, rows, run_range):
    raw = transactions(spark, rows)
    checked = raw.transform(raw_rules.with_transaction_rule, reference_instant=run_range.reference_instant)
    return raw, raw_rules.filter_used(checked)


def oracle_for(raw, run_range, n=7):
    reference = pd.Timestamp(run_range.reference_instant.replace(tzinfo=None))
    expected_used, _ = oracle.used_transactions(raw.toPandas(), reference=reference)
    return oracle.user_features(expected_used, start=run_range.start, end=run_range.end, n=n)


def test_quiet_week_reads_zero(spark):
    txns = transactions(spark, [("t1", "u1", "m1", 10.0, "2026-03-01 12:00:00")])
    got = build_user_transaction_features(txns, run_range=DateRange("2026-03-01", "2026-03-10"))
    row = got.filter(F.col("event_timestamp") == "2026-03-09 00:00:00").collect()
    assert [(r.transaction_count_7d, r.transaction_amount_avg_7d) for r in row] == [(0, None)]
    assert got.filter(F.col("event_timestamp") > "2026-03-09 00:00:00").count() == 0


def test_exact_rows_for_one_user(spark):
    rows = [
        ("t1", "u1", "m1", 10.0, "2026-03-01 00:00:00"),
        ("t2", "u1", "m2", 20.0, "2026-03-02 00:00:10"),
        ("t3", None, "m2", 20.0, "2026-03-02 00:00:10"),  # a None row: never reaches the builder
    ]
    run_range = DateRange("2026-03-01", "2026-03-03")
    _, txns = used(spark, rows, run_range)
    got = build_user_transaction_features(txns, run_range=run_range, computed_at=COMPUTED_AT)
    expected = spark.createDataFrame(
        [
            ("u1", dt.datetime(2026, 3, 2), COMPUTED_AT, 1, 10.0, 10.0, 1, None, dt.date(2026, 3, 1)),
            ("u1", dt.datetime(2026, 3, 3), COMPUTED_AT, 2, 15.0, 20.0, 2, 86410.0, dt.date(2026, 3, 2)),
            ("u1", dt.datetime(2026, 3, 4), COMPUTED_AT, 2, 15.0, 20.0, 2, 86410.0, dt.date(2026, 3, 3)),
        ],
        USER_TRANSACTION_FEATURES,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_edge_cases_match_the_oracle(spark):
    run_range = DateRange("2026-03-01", "2026-03-20")
    raw, txns = used(spark, EDGE_CASE_TRANSACTIONS, run_range)
    got = build_user_transaction_features(txns, run_range=run_range).toPandas()
    oracle.assert_frames_match(
        got.drop(columns=["created_timestamp", "snapshot_date"]), oracle_for(raw, run_range), key="user_id"
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_random_data_matches_the_oracle(spark, seed):
    rows = random_transactions(seed, n=300, users=12, merchants=6, start="2026-02-20", days=40)
    run_range = DateRange("2026-03-01", "2026-03-25")
    raw, txns = used(spark, rows, run_range)
    got = build_user_transaction_features(txns, run_range=run_range).toPandas()
    oracle.assert_frames_match(
        got.drop(columns=["created_timestamp", "snapshot_date"]), oracle_for(raw, run_range), key="user_id"
    )


def test_no_feature_reads_a_transaction_after_its_snapshot(spark):
    """Leakage guard: adding transactions after the last snapshot instant changes none of the rows."""
    run_range = DateRange("2026-03-01", "2026-03-10")
    base = [("t1", "u1", "m1", 10.0, "2026-03-05 10:00:00"), ("t2", "u1", "m2", 11.0, "2026-03-10 23:59:59")]
    future = [("t3", "u1", "m3", 999.0, "2026-03-11 00:00:00"), ("t4", "u1", "m4", 999.0, "2026-03-12 00:00:00")]
    without = build_user_transaction_features(transactions(spark, base), run_range=run_range, computed_at=COMPUTED_AT)
    with_future = build_user_transaction_features(
        transactions(spark, base + future), run_range=run_range, computed_at=COMPUTED_AT
    )
    assert_df_equality(without, with_future, ignore_row_order=True)


def test_output_schema_is_the_declared_one(spark):
    txns = transactions(spark, [("t1", "u1", "m1", 10.0, "2026-03-01 12:00:00")])
    got = build_user_transaction_features(txns, run_range=DateRange("2026-03-01", "2026-03-02"))
    assert [(f.name, f.dataType) for f in got.schema] == [(f.name, f.dataType) for f in USER_TRANSACTION_FEATURES]


def test_quiet_row_on_the_first_day_of_the_range(spark):
    """The first day's quiet row depends on the day before the range, whose window starts N days back."""
    txns = transactions(spark, [("t1", "u1", "m1", 10.0, "2026-03-01 12:00:00")])
    got = build_user_transaction_features(txns, run_range=DateRange("2026-03-08", "2026-03-10")).collect()
    assert [(r.snapshot_date, r.transaction_count_7d, r.unique_merchants_7d) for r in got] == [
        (dt.date(2026, 3, 8), 0, 0)
    ]


def test_activity_again_exactly_one_window_later_gives_one_row_per_day(spark):
    # Day d's window empties on d + 7, the day the user is active again: that day is an active
    # day's own row, not also d's quiet-window row.
    rows = [("t1", "u1", "m1", 10.0, "2026-03-01 12:00:00"), ("t2", "u1", "m2", 30.0, "2026-03-08 12:00:00")]
    run_range = DateRange("2026-03-01", "2026-03-20")
    raw, txns = used(spark, rows, run_range)
    got = build_user_transaction_features(txns, run_range=run_range).toPandas()
    assert not got.duplicated(["user_id", "snapshot_date"]).any()
    oracle.assert_frames_match(
        got.drop(columns=["created_timestamp", "snapshot_date"]), oracle_for(raw, run_range), key="user_id"
    )
