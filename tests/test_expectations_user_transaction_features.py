"""The user_transaction_features suite passes on clean snapshots and names each injected defect."""

from __future__ import annotations

import datetime as dt

import pytest
from dq_support import day, failed, nullable, params, ts

from jobs.schemas import USER_TRANSACTION_FEATURES

TABLE = "user_transaction_features"
SCHEMA = nullable(USER_TRANSACTION_FEATURES)
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"


def row(user, snapshot, count=2, avg=15.0, max_=20.0, merchants=2, gap=3600.0, event=None):
    event_ts = event or ts(f"{snapshot}T00:00:00") + dt.timedelta(days=1)
    return (user, event_ts, ts("2026-03-11T02:00:00"), count, avg, max_, merchants, gap, day(snapshot))


def clean_rows():
    rows = [row(f"u{i}", "2026-03-09") for i in range(4)]
    rows += [row(f"u{i}", "2026-03-10") for i in range(4)]
    rows.append(row("u9", "2026-03-10", count=0, avg=None, max_=None, merchants=0, gap=None))
    rows.append(row("u8", "2026-03-10", count=1, avg=7.5, max_=7.5, merchants=1, gap=None))
    return rows


@pytest.fixture(scope="module")
def results_path(tmp_path_factory):
    return tmp_path_factory.mktemp("dq_user")


def test_clean_snapshots_pass(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=4), results_path)
    assert got == {}


def test_each_row_defect_and_a_row_count_collapse_are_named(spark, results_path):
    rows = clean_rows()
    rows[4] = row("u0", "2026-03-10", count=-1, merchants=0)  # negative count
    rows[5] = row("u0", "2026-03-10")  # duplicate (user_id, event_timestamp) with rows[4]
    rows[6] = row(None, "2026-03-10")  # null key
    rows[7] = row("u3", "2026-03-10", avg=25.0, max_=20.0)  # avg > max
    rows[0] = row("u0", "2026-03-09", event=ts("2026-03-10T00:30:00"))  # not a midnight
    df = spark.createDataFrame(rows, SCHEMA)
    # 6 rows on the run date against 20 the day before: below the 0.5 band.
    got = failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=20), results_path)
    one_row = "1 unexpected of 10 rows (10.00%)"
    assert got == {
        ("expect_column_values_to_be_between", ("transaction_count_7d",)): one_row,
        # a negative count is also below its (zero) unique merchants
        (PAIR, ("transaction_count_7d", "unique_merchants_7d")): one_row,
        ("expect_compound_columns_to_be_unique", ("user_id", "event_timestamp")): "2 unexpected of 10 rows (20.00%)",
        ("expect_column_values_to_not_be_null", ("user_id",)): one_row,
        # the quiet-day row (both null) is left out of a pair check
        (PAIR, ("transaction_amount_max_7d", "transaction_amount_avg_7d")): "1 unexpected of 10 rows (11.11%)",
        ("expect_column_values_to_match_regex", ("event_timestamp",)): one_row,
        ("expect_table_row_count_to_be_between", ()): "6",
    }


def test_unique_merchants_above_count_is_named(spark, results_path):
    rows = clean_rows()
    rows[2] = row("u2", "2026-03-09", count=2, merchants=3)
    df = spark.createDataFrame(rows, SCHEMA)
    got = failed(df, TABLE, params(), results_path)
    assert list(got) == [
        ("expect_column_pair_values_a_to_be_greater_than_b", ("transaction_count_7d", "unique_merchants_7d"))
    ]


def test_stale_newest_partition_is_named(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    # a previous partition under row_count_band_min_rows leaves the band out: only freshness fails
    got = failed(
        df, TABLE, params(run_date=day("2026-03-13"), previous_row_count=49, row_count_band_min_rows=50), results_path
    )
    assert got == {("expect_column_max_to_be_between", ("snapshot_date",)): "2026-03-10"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "+inf", "-inf"])
def test_nan_and_infinities_in_every_float_feature_are_named(spark, results_path, value):
    """Appended to a valid table, each float column holding the value fails that column's range."""
    rows = clean_rows()
    rows.append(row("u20", "2026-03-10", avg=value))
    rows.append(row("u21", "2026-03-10", avg=7.0, max_=value))
    rows.append(row("u22", "2026-03-10", gap=value))
    df = spark.createDataFrame(rows, SCHEMA)
    got = failed(df, TABLE, params(), results_path)
    one_row = "1 unexpected of 13 rows"  # (the share is of the column's non-null values)
    for column in ("transaction_amount_avg_7d", "transaction_amount_max_7d", "avg_time_between_transactions"):
        assert got.get(("expect_column_values_to_be_between", (column,)), "").startswith(one_row), got
