import datetime as dt
import math

import pytest

from factories import chargebacks, transactions
from jobs.features import raw_rules
from jobs.features.run_range import DateRange

RUN = DateRange("2026-03-01", "2026-03-10")  # reference instant 2026-03-11 00:00


def rules_of(spark, rows):
    checked = transactions(spark, rows).transform(
        raw_rules.with_transaction_rule, reference_instant=RUN.reference_instant
    )
    return sorted((r.transaction_id or "", r.rule or "used") for r in checked.collect())


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ((None, "u1", "m1", 1.0, "2026-03-02 00:00:00"), "transaction_id_not_null"),
        (("t1", None, None, -1.0, "2026-03-02 00:00:00"), "user_id_not_null"),  # first rule in table order
        (("t1", "u1", None, 1.0, "2026-03-02 00:00:00"), "merchant_id_not_null"),
        (("t1", "u1", "m1", 0.0, "2026-03-02 00:00:00"), "amount_positive_finite"),
        (("t1", "u1", "m1", -3.0, "2026-03-02 00:00:00"), "amount_positive_finite"),
        (("t1", "u1", "m1", math.nan, "2026-03-02 00:00:00"), "amount_positive_finite"),
        (("t1", "u1", "m1", math.inf, "2026-03-02 00:00:00"), "amount_positive_finite"),
        (("t1", "u1", "m1", None, "2026-03-02 00:00:00"), "amount_positive_finite"),
        (("t1", "u1", "m1", 1.0, None, "2026-03-02 00:00:00"), "event_timestamp_not_future"),
        (("t1", "u1", "m1", 1.0, "2026-03-11 00:00:01", "2026-03-10 00:00:00"), "event_timestamp_not_future"),
        (("t1", "u1", "m1", 1.0, "2026-03-02 00:00:00", "2026-03-01 23:59:59"), "created_timestamp_not_before_event"),
        (("t1", "u1", "m1", 1.0, "2026-03-02 00:00:00", None, "2026-03-02"), "created_timestamp_not_before_event"),
        (("t1", "u1", "m1", 1.0, "2026-03-11 00:00:00", "2026-03-11 00:00:00"), "used"),  # equal is allowed
        (("t1", "u1", "m1", 1.0, "2026-03-02 00:00:00", "2026-03-02 00:00:00"), "used"),
    ],
)
def test_each_row_rule_catches_its_row(spark, row, rule):
    assert [r for _, r in rules_of(spark, [row])] == [rule]


def test_duplicate_keeps_latest_created_and_ignores_bad_copies(spark):
    rows = [
        ("t1", "u1", "m1", 1.0, "2026-03-02 00:00:00", "2026-03-02 00:00:01"),
        ("t1", "u1", "m1", 2.0, "2026-03-02 00:00:00", "2026-03-04 00:00:00"),
        ("t1", "u1", "m1", 3.0, "2026-03-02 00:00:00", "2026-03-12 00:00:00"),  # latest created: kept
    ]
    checked = transactions(spark, rows).transform(
        raw_rules.with_transaction_rule, reference_instant=RUN.reference_instant
    )
    by_amount = {r.amount: r.rule for r in checked.collect()}
    assert by_amount == {1.0: "duplicate_transaction_id", 2.0: "duplicate_transaction_id", 3.0: None}


def test_a_rule_breaking_copy_never_displaces_the_good_row(spark):
    rows = [
        ("t1", "u1", "m1", 2.0, "2026-03-02 00:00:00", "2026-03-04 00:00:00"),
        ("t1", "u1", "m1", -5.0, "2026-03-02 00:00:00", "2026-03-05 00:00:00"),
    ]
    checked = transactions(spark, rows).transform(
        raw_rules.with_transaction_rule, reference_instant=RUN.reference_instant
    )
    assert {r.amount: r.rule for r in checked.collect()} == {2.0: None, -5.0: "amount_positive_finite"}


def test_exact_ties_keep_exactly_one(spark):
    row = ("t1", "u1", "m1", 2.0, "2026-03-02 00:00:00", "2026-03-04 00:00:00")
    rules = [r for _, r in rules_of(spark, [row, row, row])]
    assert sorted(rules) == ["duplicate_transaction_id", "duplicate_transaction_id", "used"]


def test_chargeback_rules(spark):
    used = raw_rules.filter_used(
        transactions(spark, [("t1", "u1", "m1", 1.0, "2026-03-02 12:00:00")]).transform(
            raw_rules.with_transaction_rule, reference_instant=RUN.reference_instant
        )
    )
    cbs = chargebacks(
        spark,
        [
            ("t1", "2026-03-02 12:00:00"),
            ("t1", "2026-03-02 11:59:59"),
            ("t1", None, "2026-03-03"),
            ("t9", "2026-03-03 00:00:00"),
            (None, "2026-03-03 00:00:00"),
        ],
    )
    checked = cbs.transform(raw_rules.with_chargeback_rule, used_transactions=used)
    got = sorted(((r.transaction_id or "", str(r.chargeback_timestamp)), r.rule or "used") for r in checked.collect())
    assert got == [
        (("", "2026-03-03 00:00:00"), "transaction_id_refers_to_transaction"),
        (("t1", "2026-03-02 11:59:59"), "chargeback_not_before_transaction"),
        (("t1", "2026-03-02 12:00:00"), "used"),
        (("t1", "None"), "chargeback_not_before_transaction"),
        (("t9", "2026-03-03 00:00:00"), "transaction_id_refers_to_transaction"),
    ]


def test_several_chargebacks_count_as_the_first(spark):
    cbs = chargebacks(spark, [("t1", "2026-03-05 00:00:00"), ("t1", "2026-03-03 00:00:00")])
    got = raw_rules.first_chargeback_per_transaction(cbs).collect()
    assert [(r.transaction_id, r.first_chargeback_timestamp) for r in got] == [("t1", dt.datetime(2026, 3, 3))]
