"""Resolved chargebacks (jobs/features/resolved_chargebacks.py) on hand-made rows, expected rows written by hand."""

import datetime as dt

from chispa import assert_df_equality

from jobs.features import resolved_chargebacks

D = dt.date
TRANSACTIONS = "transaction_id string, merchant_id string, event_timestamp timestamp, event_date date"
CHARGEBACKS = "transaction_id string, chargeback_timestamp timestamp"
RESOLVED = "transaction_id string, merchant_id string, event_date date, filed_date date"


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def silver_rows(spark):
    rows = [
        (tid, "m1", ts(f"2026-03-01 {time}"), D(2026, 3, 1))
        for tid, time in [("t1", "10:00:00"), ("t2", "10:00:00"), ("t3", "10:00:00"), ("t4", "10:00:00")]
    ]
    rows.append(("t5", "m2", ts("2026-03-02 08:00:00"), D(2026, 3, 2)))
    return spark.createDataFrame(rows, TRANSACTIONS)


def chargeback_rows(spark):
    rows = [
        ("t1", "2026-03-01 09:00:00"),  # before its transaction: never counts
        ("t1", "2026-03-05 12:00:00"),
        ("t1", "2026-03-03 00:00:00"),  # the first valid one
        ("t2", "2026-03-30 23:59:59"),  # the window's last day (day + 29): counts
        ("t3", "2026-03-31 00:00:00"),  # the day after it: never counts in any window
        ("t5", "2026-03-02 08:00:00"),  # at the transaction's own instant: counts
        ("t9", "2026-03-02 08:00:00"),  # no stored transaction
    ]
    return spark.createDataFrame([(tid, ts(at)) for tid, at in rows], CHARGEBACKS)


def test_resolve_keeps_the_first_valid_chargeback_filed_within_the_window(spark):
    got = resolved_chargebacks.resolve(silver_rows(spark), chargeback_rows(spark), window_days=30)
    expected = spark.createDataFrame(
        [
            ("t1", "m1", D(2026, 3, 1), D(2026, 3, 3)),
            ("t2", "m1", D(2026, 3, 1), D(2026, 3, 30)),
            ("t5", "m2", D(2026, 3, 2), D(2026, 3, 2)),
        ],
        RESOLVED,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_changes_mark_touched_ids_without_a_resolved_row_for_deletion(spark):
    touched = silver_rows(spark).filter("transaction_id IN ('t1', 't3', 't4')")
    resolved = resolved_chargebacks.resolve(touched, chargeback_rows(spark), window_days=30)
    got = resolved_chargebacks.changes(touched.unionByName(touched), resolved)
    expected = spark.createDataFrame(
        [("t1", "m1", D(2026, 3, 1), D(2026, 3, 3)), ("t3", None, None, None), ("t4", None, None, None)],
        RESOLVED,
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
