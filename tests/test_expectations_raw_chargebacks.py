"""The raw chargebacks suite: types and nulls, freshness and row-count band by ingest_date."""

from __future__ import annotations

import pytest
from dq_support import day, failed, nullable, params, ts

from jobs.schemas import RAW_CHARGEBACKS

TABLE = "raw_chargebacks"
SCHEMA = nullable(RAW_CHARGEBACKS)


def clean_rows():
    return [(f"t{i}", ts(f"2026-03-{9 + i % 2:02d}T12:00:00"), day(f"2026-03-{9 + i % 2:02d}")) for i in range(8)]


@pytest.fixture(scope="module")
def results_path(tmp_path_factory):
    return tmp_path_factory.mktemp("dq_raw_cb")


def test_clean_data_passes(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    assert failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=4), results_path) == {}


def test_null_key_and_a_collapse_are_named(spark, results_path):
    rows = clean_rows()
    rows[0] = (None, ts("2026-03-09T12:00:00"), day("2026-03-09"))
    df = spark.createDataFrame(rows, SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=12), results_path)
    assert got == {
        ("expect_column_values_to_not_be_null", ("transaction_id",)): "1 unexpected of 8 rows (12.50%)",
        ("expect_table_row_count_to_be_between", ()): "4",
    }


def test_stale_newest_partition_is_named(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-12")), results_path)
    assert got == {("expect_column_max_to_be_between", ("ingest_date",)): "2026-03-10"}
