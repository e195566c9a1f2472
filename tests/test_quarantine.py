"""The quarantine rows: the original record as JSON that proves the verdict (microseconds and zone)."""

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from jobs.features import raw_rules
from jobs.features.quarantine import select_quarantine_rows
from jobs.features.run_range import DateRange
from jobs.schemas import RAW_TRANSACTIONS

RUN = DateRange("2026-03-01", "2026-03-10")
QUARANTINED_AT = dt.datetime(2026, 3, 11, 2, 30, 0, 123456, tzinfo=dt.UTC)


def quarantined(spark, rows):
    raw = spark.createDataFrame(rows, RAW_TRANSACTIONS)
    checked = raw.transform(raw_rules.with_transaction_rule, reference_instant=RUN.reference_instant)
    return select_quarantine_rows(
        raw_rules.filter_quarantined(checked), source_table="transactions", run_id="r1", quarantined_at=QUARANTINED_AT
    ).collect()


def test_record_keeps_microseconds_and_zone_of_a_row_one_microsecond_in_the_future(spark):
    instant = dt.datetime(2026, 3, 11, tzinfo=dt.UTC)
    assert instant == RUN.reference_instant
    just_after = instant + dt.timedelta(microseconds=1)
    on_time = ("t0", "u1", "m1", 1.0, instant, instant, dt.date(2026, 3, 10))  # equal is allowed
    future = ("t1", "u1", "m1", 1.0, just_after, just_after + dt.timedelta(microseconds=1), dt.date(2026, 3, 10))
    (row,) = quarantined(spark, [on_time, future])
    assert (row.transaction_id, row.rule) == ("t1", "event_timestamp_not_future")
    record = json.loads(row.record)
    assert record["event_timestamp"] == "2026-03-11T00:00:00.000001Z"
    assert dt.datetime.fromisoformat(record["event_timestamp"]) == just_after > RUN.reference_instant
    assert dt.datetime.fromisoformat(record["created_timestamp"]) == just_after + dt.timedelta(microseconds=1)
    assert row.quarantined_at.replace(tzinfo=dt.UTC) == QUARANTINED_AT  # the session (and test) zone is UTC


def test_a_naive_quarantined_at_is_refused(spark):
    raw = spark.createDataFrame([], RAW_TRANSACTIONS).withColumn("rule", F.lit("x"))
    with pytest.raises(ValueError, match="timezone-aware"):
        select_quarantine_rows(raw, source_table="transactions", run_id="r1", quarantined_at=dt.datetime(2026, 3, 1))
