"""The raw transactions suite: tolerates the few bad rows the feature job quarantines, names real defects."""

from __future__ import annotations

import pytest
from dq_support import day, failed, nullable, params, ts

from jobs.schemas import RAW_TRANSACTIONS

TABLE = "raw_transactions"
SCHEMA = nullable(RAW_TRANSACTIONS)


def row(txn, ingest, user="u1", amount=10.0, event="T10:00:00", created="T11:00:00"):
    return (txn, user, "m1", amount, ts(ingest + event), ts(ingest + created), day(ingest))


def clean_rows():
    return [row(f"t{i}", "2026-03-09") for i in range(20)] + [row(f"t{i + 20}", "2026-03-10") for i in range(20)]


@pytest.fixture(scope="module")
def results_path(tmp_path_factory):
    return tmp_path_factory.mktemp("dq_raw_txn")


def test_clean_data_with_one_quarantinable_row_passes(spark, results_path):
    rows = clean_rows()
    rows[3] = row("t3", "2026-03-09", amount=-5.0)  # 1 of 40 rows: within quality.max_invalid_rate (5%)
    df = spark.createDataFrame(rows, SCHEMA)
    assert failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=20), results_path) == {}


def test_null_key_duplicates_late_rows_and_a_collapse_are_named(spark, results_path):
    rows = clean_rows()[:30]  # 10 rows land on the run date against 20 the day before
    rows[0] = row("t0", "2026-03-09", user=None)
    rows[4] = row("t4", "2026-03-09", user=None)  # 2 of 30 null: above quality.max_invalid_rate (5%)
    rows[1:4] = [row("t1", "2026-03-09")] * 3  # 3 copies of one id: 3 of 30 rows not unique (10%)
    rows[5:7] = [row(f"t{i}", "2026-03-09", created="T09:00:00") for i in (5, 6)]  # created before event
    df = spark.createDataFrame(rows, SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=30), results_path)
    assert got == {
        ("expect_column_values_to_not_be_null", ("user_id",)): "2 unexpected of 30 rows (6.67%)",
        ("expect_column_values_to_be_unique", ("transaction_id",)): "3 unexpected of 30 rows (10.00%)",
        ("expect_column_pair_values_a_to_be_greater_than_b", ("created_timestamp", "event_timestamp")): (
            "2 unexpected of 30 rows (6.67%)"
        ),
        ("expect_table_row_count_to_be_between", ()): "10",
    }


def test_stale_newest_partition_is_named(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-13"), freshness_max_lag_days=2), results_path)
    assert got == {("expect_column_max_to_be_between", ("ingest_date",)): "2026-03-10"}
