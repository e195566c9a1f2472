"""Daily runs from stored state (jobs/features/stateful.py) against one stateless backfill and the oracle.

A seeded sequence of runs from state (one landing day, or several after a gap) over raw rows with late
rows, duplicates landing days apart (one correcting its event time across midnight), chargebacks
landing after the snapshot and before their transaction, bad rows and a quiet stretch longer than both
windows. Windows are shortened (3 and 5 days) so rows enter and leave them within the fourteen days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random

import pandas as pd
import pytest
import yaml
from pyspark.sql import functions as F

import oracle
from conftest import write_job_config
from factories import chargebacks, transactions
from jobs import delta_io
from jobs.config import load_config
from jobs.features import stateful
from jobs.features.run_range import DateRange
from jobs.features_job import MERCHANT_TABLE, USER_TABLE, compute_features, main, publish_all

pytestmark = pytest.mark.integration

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 14)
QUIET = (dt.date(2026, 3, 8), dt.date(2026, 3, 12))  # no transaction happens or lands
USER_DAYS, MERCHANT_DAYS = 3, 5
TABLES = (USER_TABLE, MERCHANT_TABLE)
# Runs from state after the first day: single days, and gaps whose run takes several landing days at once
# (the quiet stretch among them). Every landing day is processed once.
RUN_DATES = [dt.date(2026, 3, d) for d in (2, 4, 6, 7, 14)]

# Fixed cases on top of the random rows.
FIXED_TRANSACTIONS = [
    # A correction crossing midnight: the later row moves the event from 03-04 to 03-05.
    ("mid", "u0", "m0", 10.0, "2026-03-04 23:59:30", "2026-03-04 23:59:40", "2026-03-04"),
    ("mid", "u0", "m1", 12.0, "2026-03-05 00:00:10", "2026-03-06 08:00:00", "2026-03-06"),
    # The same row landing twice unchanged: the first landing is kept, the second quarantined.
    ("twice", "u1", "m1", 5.0, "2026-03-02 10:00:00", "2026-03-02 10:01:00", "2026-03-02"),
    ("twice", "u1", "m1", 5.0, "2026-03-02 10:00:00", "2026-03-02 10:01:00", "2026-03-05"),
    # A later-landing duplicate created earlier: it loses to the stored row.
    ("older", "u2", "m0", 7.0, "2026-03-03 09:00:00", "2026-03-03 12:00:00", "2026-03-03"),
    ("older", "u2", "m2", 70.0, "2026-03-03 09:00:00", "2026-03-03 11:00:00", "2026-03-07"),
    # A row six days late, and the chargeback on it that landed before it.
    ("late6", "u3", "m2", 40.0, "2026-03-01 15:00:00", "2026-03-07 15:00:00", "2026-03-07"),
    # Bad rows.
    ("neg", "u1", "m1", -1.0, "2026-03-02 10:00:00", "2026-03-02 10:01:00", "2026-03-02"),
    ("nouser", None, "m1", 1.0, "2026-03-03 10:00:00", "2026-03-03 10:01:00", "2026-03-03"),
]
FIXED_CHARGEBACKS = [
    ("late6", "2026-03-03 10:00:00", "2026-03-03"),  # before its transaction lands
    ("mid", "2026-03-05 00:00:05", "2026-03-05"),  # before the corrected event: does not count
    ("mid", "2026-03-07 00:00:00", "2026-03-14"),  # filed 03-07, landed after the snapshots it counts in
    ("older", "2026-03-02 00:00:00", "2026-03-04"),  # before the transaction: never counts
    # Filed 03-04, landing alone on 03-14: the run of 03-14 recomputes merchant snapshots from 03-04.
    ("older", "2026-03-04 08:00:00", "2026-03-14"),
]


def is_quiet(day: dt.date) -> bool:
    return QUIET[0] <= day <= QUIET[1]


def random_rows(seed: int, *, n: int = 90) -> tuple[list[tuple], list[tuple]]:
    rng = random.Random(seed)
    days = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
    active = [d for d in days if not is_quiet(d)]
    txns, cbs = [], []
    for i in range(n):
        day = rng.choice(active)
        event = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=rng.randrange(86400))
        created = event + dt.timedelta(days=rng.choice([0, 0, 0, 0, 1, 2, 6]), minutes=rng.randrange(1, 300))
        if created.date() > END or is_quiet(created.date()):
            created = event + dt.timedelta(minutes=1)
        if created.date() > END:
            created = event
        row = (f"r{i:03d}", f"u{rng.randrange(5)}", f"m{rng.randrange(3)}", round(rng.uniform(1, 100), 2))
        txns.append((*row, event.isoformat(sep=" "), created.isoformat(sep=" "), created.date()))
        if rng.random() < 0.2:  # a duplicate landing later, sometimes changed, sometimes created earlier
            again = created + dt.timedelta(days=rng.randint(1, 4), hours=rng.choice([-30, 1, 5]))
            if again.date() <= END and not is_quiet(again.date()) and again >= event:
                changed = (row[0], row[1], f"m{rng.randrange(3)}", round(rng.uniform(1, 100), 2))
                txns.append((*changed, event.isoformat(sep=" "), again.isoformat(sep=" "), again.date()))
        if rng.random() < 0.35:  # a chargeback, filed up to 8 days later, landing up to 2 days after that
            filed = event + dt.timedelta(hours=rng.randrange(0, 24 * 8))
            lands = filed.date() + dt.timedelta(days=rng.choice([0, 0, 1, 2]))
            if lands <= END and not is_quiet(lands):
                cbs.append((row[0], filed.isoformat(sep=" "), lands))
    return txns + FIXED_TRANSACTIONS, cbs + FIXED_CHARGEBACKS


def job_config(root, raw_from=None):
    root.mkdir(parents=True, exist_ok=True)
    path = write_job_config(root, audit_feature_writes=False)
    raw = yaml.safe_load(path.read_text())
    if raw_from is not None:
        for key in ("raw_transactions", "raw_chargebacks"):
            raw["tables"][key] = getattr(raw_from.tables, key)
    path.write_text(yaml.safe_dump(raw))
    config = load_config(config_file=str(path))
    # Short windows keep the sequences small. load_config refuses them under the `_7d`/`_30d` names and
    # the Feast TTLs (jobs.feature_windows); the job itself computes whatever window it is given, which
    # is what this test compares, so the windows are set after loading.
    windows = dataclasses.replace(config.features, user_window_days=USER_DAYS, merchant_window_days=MERCHANT_DAYS)
    return dataclasses.replace(config, features=windows)


def features(spark, path, key):
    df = spark.read.format("delta").load(path).drop("created_timestamp", "snapshot_date")
    return df.orderBy(key, "event_timestamp").toPandas()


def state_frames(spark, config):
    t = config.tables

    def table(path, keys, drop=()):
        pdf = spark.read.format("delta").load(path).drop(*drop).toPandas()
        pdf = pdf.sort_values(keys).reset_index(drop=True)
        for column in pdf.columns:
            if pdf[column].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
                pdf[column] = pdf[column].map(tuple)
        return pdf

    return {
        "silver_transactions": table(t.silver_transactions, ["transaction_id"]),
        "silver_chargebacks": table(t.silver_chargebacks, ["transaction_id", "chargeback_timestamp", "ingest_date"]),
        "resolved_chargebacks": table(t.resolved_chargebacks, ["transaction_id"]),
        "user_tiles": table(t.user_tiles, ["user_id", "event_date"]),
        "merchant_tiles": table(t.merchant_tiles, ["merchant_id", "event_date"]),
        "landed_days": table(t.landed_days, ["ingest_date"], drop=("run_id", "processed_at")),
    }


def assert_same_state(got, want):
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=False, rtol=1e-12, obj=name)


def transaction_quarantine(spark, config):
    rows = spark.read.format("delta").load(config.tables.quarantine).filter(F.col("source_table") == "transactions")
    return sorted(tuple(r) for r in rows.select("rule", "transaction_id", "ingest_date", "record").collect())


@pytest.fixture(scope="module")
def sequence(spark, tmp_path_factory):
    """Raw tables, then: a backfill of the first day that builds the state, and one run from state per
    later day; and, apart, one stateless backfill of all the days over the same raw tables."""
    root = tmp_path_factory.mktemp("stateful")
    daily = job_config(root / "daily")
    backfill = job_config(root / "backfill", raw_from=daily)
    txn_rows, cb_rows = random_rows(16)
    transactions(spark, txn_rows).write.format("delta").partitionBy("ingest_date").save(daily.tables.raw_transactions)
    chargebacks(spark, cb_rows).write.format("delta").partitionBy("ingest_date").save(daily.tables.raw_chargebacks)

    compute_features(spark, daily, run_range=DateRange(START, START), allow_missing_days=True, rebuild_state=True)
    reports = [
        stateful.run_from_state(spark, daily, run_date=day, tables=TABLES, allow_missing_days=True, publish=publish_all)
        for day in RUN_DATES
    ]
    compute_features(spark, backfill, run_range=DateRange(START, END), allow_missing_days=True)
    return {"daily": daily, "backfill": backfill, "reports": reports, "daily_file": root / "daily" / "job_config.yaml"}


def test_runs_from_state_equal_one_backfill_and_the_oracle(spark, sequence):
    daily, backfill = sequence["daily"], sequence["backfill"]
    raw_txns = spark.read.format("delta").load(daily.tables.raw_transactions).toPandas()
    raw_cbs = spark.read.format("delta").load(daily.tables.raw_chargebacks).toPandas()
    reference = pd.Timestamp(dt.datetime.combine(END + dt.timedelta(days=1), dt.time()))
    used, _ = oracle.used_transactions(raw_txns, reference=reference)
    first_cb, _ = oracle.first_chargebacks(raw_cbs, used)
    want = {
        "user_features": (oracle.user_features(used, start=START, end=END, n=USER_DAYS), "user_id"),
        "merchant_features": (
            oracle.merchant_features(used, first_cb, start=START, end=END, n=MERCHANT_DAYS),
            "merchant_id",
        ),
    }
    for name, (expected, key) in want.items():
        got = features(spark, getattr(daily.tables, name), key)
        oracle.assert_frames_match(got, expected, key=key)
        oracle.assert_frames_match(got, features(spark, getattr(backfill.tables, name), key), key=key)
    # The quiet stretch: one row per user active just before it on its first empty window, none after.
    users = features(spark, daily.tables.user_features, "user_id")
    first_empty = QUIET[0] + dt.timedelta(days=USER_DAYS - 1)
    snapshot_day = (users.event_timestamp - pd.Timedelta(days=1)).dt.date
    in_quiet = users[snapshot_day.between(first_empty, QUIET[1])]
    assert len(in_quiet) > 0
    assert set(in_quiet.transaction_count_7d) == {0}
    assert set((in_quiet.event_timestamp - pd.Timedelta(days=1)).dt.date) == {first_empty}


def test_quarantine_files_what_the_backfill_files(spark, sequence):
    daily, backfill = sequence["daily"], sequence["backfill"]
    got = transaction_quarantine(spark, daily)
    assert got == transaction_quarantine(spark, backfill)
    by_id = {(rule, txn, day) for rule, txn, day, _ in got}
    assert ("duplicate_transaction_id", "mid", dt.date(2026, 3, 4)) in by_id  # displaced, filed under 03-04
    assert ("duplicate_transaction_id", "twice", dt.date(2026, 3, 5)) in by_id
    assert ("duplicate_transaction_id", "older", dt.date(2026, 3, 7)) in by_id
    displaced = sum(r["quarantine"]["displaced_stored_rows"] for r in sequence["reports"])
    assert displaced >= 1


def test_a_correction_crossing_midnight_moves_the_stored_row(spark, sequence):
    silver = spark.read.format("delta").load(sequence["daily"].tables.silver_transactions)
    rows = [
        tuple(r) for r in silver.filter(F.col("transaction_id") == "mid").select("event_date", "merchant_id").collect()
    ]
    assert rows == [(dt.date(2026, 3, 5), "m1")]
    # The tile of the day the row left holds only the other rows of that user-day (counted from raw).
    raw = spark.read.format("delta").load(sequence["daily"].tables.raw_transactions).toPandas()
    used, _ = oracle.used_transactions(raw, reference=pd.Timestamp(dt.datetime.combine(END, dt.time())))
    left_behind = used[(used.user_id == "u0") & (used.event_timestamp.dt.date == dt.date(2026, 3, 4))]
    tiles = spark.read.format("delta").load(sequence["daily"].tables.user_tiles)
    tile = tiles.filter((F.col("user_id") == "u0") & (F.col("event_date") == dt.date(2026, 3, 4))).collect()
    assert [r.txn_count for r in tile] == ([len(left_behind)] if len(left_behind) else [])
    report = next(r for r in sequence["reports"] if r["state"]["landing_days"] == "2026-03-05..2026-03-06")
    assert report["state"]["outcomes"].get("wins", 0) >= 1
    assert report["state"]["snapshot_days"][USER_TABLE].split("..")[0] <= "2026-03-04"


def test_rerunning_a_day_changes_nothing_and_a_backfill_restores_deleted_state(spark, sequence):
    daily = sequence["daily"]
    before = state_frames(spark, daily)
    tables = {name: features(spark, getattr(daily.tables, name), key) for name, key in _KEYS.items()}
    quarantined = transaction_quarantine(spark, daily)
    for day in (dt.date(2026, 3, 6),):
        stateful.run_from_state(spark, daily, run_date=day, tables=TABLES, allow_missing_days=True, publish=publish_all)
        assert_same_state(state_frames(spark, daily), before)
        for name, key in _KEYS.items():
            pd.testing.assert_frame_equal(features(spark, getattr(daily.tables, name), key), tables[name])
        assert transaction_quarantine(spark, daily) == quarantined

    for location in stateful.state_locations(daily):
        delta_io.remove(spark, location)
    assert not stateful.state_exists(spark, daily)
    compute_features(spark, daily, run_range=DateRange(START, END), allow_missing_days=True, rebuild_state=True)
    assert_same_state(state_frames(spark, daily), before)


_KEYS = {"user_features": "user_id", "merchant_features": "merchant_id"}


def test_the_cli_runs_from_state_once_it_exists(sequence, capsys):
    """`--run-date` goes from state when it exists and keeps the JSON line's fields."""
    config_file = str(sequence["daily_file"])
    code = main(["--config", config_file, "--run-date", END.isoformat(), "--allow-missing-days"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, result
    assert result["state"]["landing_days"] == f"{END}..{END}"
    assert {"run_id", "start", "end", "inputs", "quarantine", "tables", "profiles"} <= set(result)
