"""Tiny raw and used frames built from the declared schemas, for tests."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from jobs.schemas import RAW_CHARGEBACKS, RAW_TRANSACTIONS


def ts(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def transactions(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    """Rows of (transaction_id, user_id, merchant_id, amount, event_timestamp[, created_timestamp[, ingest_date]]).

    created_timestamp defaults to event + 1 minute; ingest_date to created's date (or event's)."""
    return spark.createDataFrame([_raw_transaction(r) for r in rows], RAW_TRANSACTIONS)


def _raw_transaction(row: tuple) -> tuple:
    txn_id, user, merchant, amount, event, *rest = row
    event_ts = ts(event)
    created = ts(rest[0]) if rest else (event_ts + dt.timedelta(minutes=1) if event_ts else None)
    ingest = rest[1] if len(rest) > 1 else (created or event_ts or dt.datetime(2026, 3, 1)).date()
    if isinstance(ingest, str):
        ingest = dt.date.fromisoformat(ingest)
    return (txn_id, user, merchant, amount, event_ts, created, ingest)


def chargebacks(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    """Rows of (transaction_id, chargeback_timestamp[, ingest_date])."""
    out = []
    for txn_id, when, *rest in rows:
        when_ts = ts(when)
        ingest = rest[0] if rest else (when_ts or dt.datetime(2026, 3, 1)).date()
        out.append((txn_id, when_ts, dt.date.fromisoformat(ingest) if isinstance(ingest, str) else ingest))
    return spark.createDataFrame(out, RAW_CHARGEBACKS)


def to_pandas(df: DataFrame) -> pd.DataFrame:
    return df.toPandas()


# The scenario FEATURES.md asks tests to cover, in one small data set (March 2026).
EDGE_CASE_TRANSACTIONS = [
    # u1: active on the first and last day of the range 03-01..03-20, with a quiet week in between.
    ("t01", "u1", "m1", 10.0, "2026-03-01 08:00:00"),
    ("t02", "u1", "m2", 30.0, "2026-03-01 08:00:00"),  # same second as t01
    ("t03", "u1", "m1", 20.0, "2026-03-03 00:00:00"),  # exactly at midnight
    ("t04", "u1", "m3", 5.5, "2026-03-20 23:59:59"),
    # u2: a late row (landed three days after it happened) and a duplicate id.
    ("t05", "u2", "m1", 100.0, "2026-03-05 12:00:00", "2026-03-08 09:00:00"),
    ("t06", "u2", "m2", 40.0, "2026-03-06 12:00:00", "2026-03-06 12:05:00"),
    ("t06", "u2", "m2", 45.0, "2026-03-06 12:00:00", "2026-03-06 13:00:00"),  # later created: wins
    ("t07", "u2", "m2", 1.25, "2026-03-10 00:00:00"),
    # u3: one transaction long before the range (only its quiet row can matter: none in range).
    ("t08", "u3", "m3", 7.0, "2026-02-01 10:00:00"),
    # u4: many in one day at one merchant.
    ("t09", "u4", "m4", 2.0, "2026-03-12 10:00:00"),
    ("t10", "u4", "m4", 3.0, "2026-03-12 10:00:01"),
    ("t11", "u4", "m4", 4.0, "2026-03-12 10:00:01"),
]

EDGE_CASE_CHARGEBACKS = [
    ("t01", "2026-03-02 10:00:00"),  # counts from the snapshot of 03-02
    ("t01", "2026-03-04 10:00:00"),  # second chargeback on the same transaction: counts once
    ("t05", "2026-03-25 10:00:00"),  # filed after the range's snapshots: must not count
    ("t07", "2026-03-10 00:00:00"),  # filed at the instant of the transaction
]


def random_transactions(seed: int, *, n: int, users: int, merchants: int, start: str, days: int) -> list[tuple]:
    rng = random.Random(seed)
    base = dt.datetime.fromisoformat(start)
    rows = []
    for i in range(n):
        event = base + dt.timedelta(seconds=rng.randrange(days * 86400))
        if rng.random() < 0.1:
            event = event.replace(hour=0, minute=0, second=0)
        late = dt.timedelta(days=rng.choice([0, 0, 0, 1, 2]), minutes=rng.randrange(60))
        rows.append(
            (
                f"r{i:05d}",
                f"u{rng.randrange(users)}",
                f"m{rng.randrange(merchants)}",
                round(rng.lognormvariate(3, 1), 2),
                event.isoformat(sep=" "),
                (event + late).isoformat(sep=" "),
            )
        )
    return rows


def random_chargebacks(seed: int, txn_rows: list[tuple], *, share: float) -> list[tuple]:
    rng = random.Random(seed)
    out = []
    for row in txn_rows:
        if rng.random() < share:
            event = dt.datetime.fromisoformat(row[4])
            out.append((row[0], (event + dt.timedelta(hours=rng.randrange(0, 24 * 40))).isoformat(sep=" ")))
    return out
