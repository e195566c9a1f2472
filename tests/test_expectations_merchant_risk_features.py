"""The merchant_risk_features suite passes on clean snapshots and names each injected defect."""

from __future__ import annotations

import datetime as dt

import pytest
from dq_support import day, failed, nullable, params, ts

from jobs.schemas import MERCHANT_RISK_FEATURES

TABLE = "merchant_risk_features"
SCHEMA = nullable(MERCHANT_RISK_FEATURES)
BETWEEN = "expect_column_values_to_be_between"


def row(merchant, snapshot, count=10, avg=30.0, rate=0.1, risk=None, event=None):
    event_ts = event or ts(f"{snapshot}T00:00:00") + dt.timedelta(days=1)
    risk_score = risk if risk is not None else (rate * count + 0.2) / (count + 20)
    return (merchant, event_ts, ts("2026-03-11T02:00:00"), count, avg, rate, risk_score, day(snapshot))


def clean_rows():
    rows = [row(f"m{i}", "2026-03-09") for i in range(4)]
    rows += [row(f"m{i}", "2026-03-10") for i in range(4)]
    rows.append(row("m9", "2026-03-10", count=0, avg=None, rate=0.0))
    rows.append(row("m8", "2026-03-10", count=3, avg=12.0, rate=1.0))
    return rows


@pytest.fixture(scope="module")
def results_path(tmp_path_factory):
    return tmp_path_factory.mktemp("dq_merchant")


def test_clean_snapshots_pass(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    assert failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=4), results_path) == {}


def test_each_row_defect_and_a_row_count_collapse_are_named(spark, results_path):
    rows = clean_rows()
    rows[4] = row("m0", "2026-03-10", count=-2, risk=0.01)  # negative count
    rows[5] = row("m0", "2026-03-10")  # duplicate (merchant_id, event_timestamp) with rows[4]
    rows[6] = row(None, "2026-03-10")  # null key
    rows[7] = row("m3", "2026-03-10", rate=1.5)  # rate above 1
    rows[8] = row("m9", "2026-03-10", risk=1.0)  # risk_score must stay inside (0, 1)
    rows[0] = row("m0", "2026-03-09", event=ts("2026-03-10T06:00:00"))  # not a midnight
    df = spark.createDataFrame(rows, SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-10"), previous_row_count=20), results_path)
    one_row = "1 unexpected of 10 rows (10.00%)"
    assert got == {
        (BETWEEN, ("total_transactions_30d",)): one_row,
        (
            "expect_compound_columns_to_be_unique",
            ("merchant_id", "event_timestamp"),
        ): "2 unexpected of 10 rows (20.00%)",
        ("expect_column_values_to_not_be_null", ("merchant_id",)): one_row,
        (BETWEEN, ("chargeback_rate_30d",)): one_row,
        (BETWEEN, ("risk_score",)): one_row,
        ("expect_column_values_to_match_regex", ("event_timestamp",)): one_row,
        ("expect_table_row_count_to_be_between", ()): "6",
    }


def test_stale_newest_partition_is_named(spark, results_path):
    df = spark.createDataFrame(clean_rows(), SCHEMA)
    got = failed(df, TABLE, params(run_date=day("2026-03-12"), freshness_max_lag_days=1), results_path)
    assert got == {("expect_column_max_to_be_between", ("snapshot_date",)): "2026-03-10"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "+inf", "-inf"])
def test_nan_and_infinities_in_every_float_feature_are_named(spark, results_path, value):
    """Appended to a valid table, each float column holding the value fails that column's range."""
    rows = clean_rows()
    rows.append(row("m20", "2026-03-10", avg=value))
    rows.append(row("m21", "2026-03-10", rate=value, risk=0.05))
    rows.append(row("m22", "2026-03-10", risk=value))
    df = spark.createDataFrame(rows, SCHEMA)
    got = failed(df, TABLE, params(), results_path)
    one_row = "1 unexpected of 13 rows"  # (the share is of the column's non-null values)
    for column in ("avg_transaction_amount", "chargeback_rate_30d", "risk_score"):
        assert got.get((BETWEEN, (column,)), "").startswith(one_row), got
