"""The generic training-set suite: keys, one row per entity row, labels, ranges of the requested features."""

from __future__ import annotations

import pytest
from dq_support import failed, params, ts

TABLE = "training_sets"
COLUMNS = (
    "user_id string, merchant_id string, event_timestamp timestamp, label int, "
    "transaction_count_7d long, transaction_amount_avg_7d float, transaction_amount_max_7d float, "
    "chargeback_rate_30d float"
)


def clean_rows():
    return [
        ("u1", "m1", ts("2026-03-10T10:00:00"), 0, 3, 10.0, 20.0, 0.1),
        ("u2", "m1", ts("2026-03-10T11:00:00"), 1, None, None, None, None),  # no feature row within the TTL
        ("u3", "m2", ts("2026-03-10T12:00:00"), 0, 1, 5.0, 5.0, 0.0),
        ("u4", "m2", ts("2026-03-10T13:00:00"), 0, 2, 6.0, 7.0, 1.0),
    ]


@pytest.fixture(scope="module")
def results_path(tmp_path_factory):
    return tmp_path_factory.mktemp("dq_training")


def test_clean_training_set_passes(spark, results_path):
    df = spark.createDataFrame(clean_rows(), COLUMNS)
    assert failed(df, TABLE, params(expected_row_count=4), results_path) == {}


def test_defects_and_a_row_count_other_than_the_entity_rows_are_named(spark, results_path):
    rows = clean_rows()
    rows[0] = (None, "m1", ts("2026-03-10T10:00:00"), 2, -1, 10.0, 20.0, 0.1)  # null key, bad label, negative
    rows[2] = ("u3", "m2", ts("2026-03-10T12:00:00"), 0, 1, 9.0, 5.0, 1.2)  # avg > max, rate above 1
    df = spark.createDataFrame(rows, COLUMNS)
    got = failed(df, TABLE, params(expected_row_count=5), results_path)
    one_row = "1 unexpected of 4 rows (25.00%)"
    one_of_three = "1 unexpected of 4 rows (33.33%)"
    assert got == {
        ("expect_column_values_to_not_be_null", ("user_id",)): one_row,
        ("expect_column_values_to_be_in_set", ("label",)): one_row,
        ("expect_column_values_to_be_between", ("transaction_count_7d",)): one_of_three,
        ("expect_column_values_to_be_between", ("chargeback_rate_30d",)): one_of_three,
        (
            "expect_column_pair_values_a_to_be_greater_than_b",
            ("transaction_amount_max_7d", "transaction_amount_avg_7d"),
        ): (one_of_three),
        ("expect_table_row_count_to_equal", ()): "4",
    }
