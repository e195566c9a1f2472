"""The features job end to end on real Delta tables: oracle values, quarantine, idempotence, modes, CLI."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from delta.tables import DeltaTable
from pyspark.sql import functions as F

import oracle
from conftest import SHORT_LIVED_JVM_OPTIONS
from factories import (
    EDGE_CASE_CHARGEBACKS,
    EDGE_CASE_TRANSACTIONS,
    chargebacks,
    random_chargebacks,
    random_transactions,
    transactions,
)
from jobs.config import load_config
from jobs.features.run_range import DateRange
from jobs.features_job import compute_features, main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent

BAD_TRANSACTIONS = [
    (None, "u1", "m1", 1.0, "2026-03-04 10:00:00"),
    ("b2", None, "m1", 1.0, "2026-03-04 10:00:00"),
    ("b3", "u1", None, 1.0, "2026-03-04 10:00:00"),
    ("b4", "u1", "m1", -2.0, "2026-03-04 10:00:00"),
    ("b5", "u1", "m1", 2.0, "2026-03-25 10:00:00", "2026-03-19 10:00:00", "2026-03-19"),  # future of the run
    ("b6", "u1", "m1", 2.0, "2026-03-04 10:00:00", "2026-03-04 09:00:00"),  # created before event
]
BAD_CHARGEBACKS = [("nope", "2026-03-05 00:00:00"), ("t02", "2026-02-28 00:00:00", "2026-03-02")]


@pytest.fixture(scope="module")
def dataset(spark, tmp_path_factory):
    """Raw tables holding the edge cases, random rows and one bad row per rule."""
    root = tmp_path_factory.mktemp("features_job")
    from conftest import write_job_config

    # Feature values are the subject here; write-audit-publish has its own tests (test_wap.py).
    config_file = write_job_config(root, audit_feature_writes=False)
    config = load_config(config_file=str(config_file))
    random_rows = random_transactions(7, n=250, users=8, merchants=4, start="2026-02-10", days=38)
    txn_rows = EDGE_CASE_TRANSACTIONS + random_rows + BAD_TRANSACTIONS
    cb_rows = EDGE_CASE_CHARGEBACKS + random_chargebacks(7, random_rows, share=0.2) + BAD_CHARGEBACKS
    transactions(spark, txn_rows).write.format("delta").partitionBy("ingest_date").save(config.tables.raw_transactions)
    chargebacks(spark, cb_rows).write.format("delta").partitionBy("ingest_date").save(config.tables.raw_chargebacks)
    return {"config_file": config_file, "config": config, "root": root}


# The data set has deliberate holes (nothing lands on 02-02..02-09, between t08 and the random rows),
# so the value tests compute over them; the readiness check has its own tests (test_readiness.py).
OVER_HOLES = ["--allow-missing-days"]


def feature_table(spark, path):
    return spark.read.format("delta").load(path)


def comparable(df, key):
    return df.drop("created_timestamp").orderBy(key, "event_timestamp").toPandas()


def expected_tables(spark, config, run_range):
    """The oracle on exactly the rows the run may read: landed on [start - 30, end]."""
    first_landing = run_range.first_input_day(30)

    def landed(path):
        df = feature_table(spark, path).filter(F.col("ingest_date").between(first_landing, run_range.end))
        return df.toPandas()

    reference = pd.Timestamp(run_range.reference_instant.replace(tzinfo=None))
    used, txn_counts = oracle.used_transactions(landed(config.tables.raw_transactions), reference=reference)
    first_cb, cb_counts = oracle.first_chargebacks(landed(config.tables.raw_chargebacks), used)
    users = oracle.user_features(used, start=run_range.start, end=run_range.end)
    merchants = oracle.merchant_features(used, first_cb, start=run_range.start, end=run_range.end)
    return users, merchants, txn_counts, cb_counts


def test_backfill_matches_the_oracle_and_reconciles_counts(spark, dataset, capsys):
    config = dataset["config"]
    code = main(["--config", str(dataset["config_file"]), "--start", "2026-03-01", "--end", "2026-03-20", *OVER_HOLES])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, result
    run_range = DateRange("2026-03-01", "2026-03-20")
    users, merchants, txn_counts, cb_counts = expected_tables(spark, config, run_range)
    landed = set(feature_table(spark, config.tables.raw_transactions).toPandas()["ingest_date"])
    read = pd.date_range(run_range.first_input_day(30), run_range.end).date
    holes = [d.isoformat() for d in read if d not in landed and d > min(landed)]
    assert result["inputs_checked"]["computed_over_holes"] == {"transactions": dict.fromkeys(holes, "no rows")}
    assert holes == [f"2026-02-0{d}" for d in range(2, 10)]

    got_users = feature_table(spark, config.tables.user_features).toPandas()
    oracle.assert_frames_match(got_users.drop(columns=["created_timestamp", "snapshot_date"]), users, key="user_id")
    got_merchants = feature_table(spark, config.tables.merchant_features).toPandas()
    oracle.assert_frames_match(
        got_merchants.drop(columns=["created_timestamp", "snapshot_date"]), merchants, key="merchant_id"
    )

    for table, expected in (("transactions", txn_counts), ("chargebacks", cb_counts)):
        counts = result["inputs"][table]
        assert counts["read"] == counts["used"] + counts["quarantined"]
        assert counts["used"] == expected.pop("used")
        assert counts["by_rule"] == expected
    assert set(result["inputs"]["transactions"]["by_rule"]) == {
        "transaction_id_not_null",
        "user_id_not_null",
        "merchant_id_not_null",
        "amount_positive_finite",
        "event_timestamp_not_future",
        "created_timestamp_not_before_event",
        "duplicate_transaction_id",
    }
    quarantine = feature_table(spark, config.tables.quarantine).filter(F.col("run_id") == result["run_id"])
    by_rule = {
        (r.source_table, r.rule): r["count"] for r in quarantine.groupBy("source_table", "rule").count().collect()
    }
    assert sum(by_rule.values()) == result["quarantine"]["rows"]
    assert by_rule[("chargebacks", "transaction_id_refers_to_transaction")] == 1
    assert by_rule[("chargebacks", "chargeback_not_before_transaction")] == 1
    record = json.loads(quarantine.filter(F.col("rule") == "amount_positive_finite").first().record)
    assert record["transaction_id"] == "b4" and record["amount"] == -2.0


def test_rerun_changes_nothing_but_created_timestamp_and_files_bad_rows_once(spark, dataset):
    config = dataset["config"]
    run_range = DateRange("2026-03-01", "2026-03-20")
    compute_features(spark, config, run_range=run_range, allow_missing_days=True)
    first_users = comparable(feature_table(spark, config.tables.user_features), "user_id")
    first_merchants = comparable(feature_table(spark, config.tables.merchant_features), "merchant_id")
    version = DeltaTable.forPath(spark, config.tables.user_features).history(1).first().version
    second = compute_features(spark, config, run_range=run_range, allow_missing_days=True)
    assert DeltaTable.forPath(spark, config.tables.user_features).history(1).first().version == version + 1
    # the rerun replaced the quarantine rows of the landing days it read: each bad row is filed once
    quarantine = feature_table(spark, config.tables.quarantine)
    assert quarantine.count() == second["quarantine"]["rows"] > 0
    assert [r.run_id for r in quarantine.select("run_id").distinct().collect()] == [second["run_id"]]
    pd.testing.assert_frame_equal(comparable(feature_table(spark, config.tables.user_features), "user_id"), first_users)
    pd.testing.assert_frame_equal(
        comparable(feature_table(spark, config.tables.merchant_features), "merchant_id"), first_merchants
    )


# Daily runs over 03-04..03-13 cross what the equality rests on: rows of 03-05 land three days late
# (the full lookback: only the run of 03-08 sees them), 7-day window edges (03-05 leaves u2's window on
# 03-12) and the 30-day edge (the first random rows, of 02-10, leave the merchants' windows on 03-12;
# runs starting 03-10 or later need them). Replayed in pandas with tests/oracle.py, these runs give other
# rows than the backfill with a lookback of 2, users read from 4 days back or merchants from 27 days back.
DAILY = DateRange("2026-03-04", "2026-03-13")


def test_day_by_day_runs_equal_one_backfill(spark, dataset, tmp_path):
    base = dataset["config"]
    from dataclasses import replace

    def writing_under(folder):
        tables = replace(
            base.tables,
            user_features=str(tmp_path / folder / "users"),
            merchant_features=str(tmp_path / folder / "merchants"),
            quarantine=str(tmp_path / folder / "q"),
        )
        return replace(base, tables=tables)

    backfill, daily = writing_under("backfill"), writing_under("daily")
    lookback = base.features.late_arrival_lookback_days
    first = DAILY.start + dt.timedelta(days=lookback)
    compute_features(spark, backfill, run_range=DAILY, allow_missing_days=True)
    compute_features(spark, daily, run_range=DateRange(DAILY.start, first), allow_missing_days=True)
    day = first + dt.timedelta(days=1)
    while day <= DAILY.end:
        run_range = DateRange.ending_on(day, lookback_days=lookback)
        compute_features(spark, daily, run_range=run_range, allow_missing_days=True)
        day += dt.timedelta(days=1)
    for name, key in (("user_features", "user_id"), ("merchant_features", "merchant_id")):
        whole = comparable(feature_table(spark, getattr(backfill.tables, name)), key)
        incremental = comparable(feature_table(spark, getattr(daily.tables, name)), key)
        assert set(whole["snapshot_date"].astype(str)) == {str(d.date()) for d in pd.date_range(DAILY.start, DAILY.end)}
        pd.testing.assert_frame_equal(incremental, whole)


def test_run_date_recomputes_only_the_lookback_days(spark, dataset, capsys):
    code = main(["--config", str(dataset["config_file"]), "--run-date", "2026-03-20", *OVER_HOLES])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert (result["start"], result["end"]) == ("2026-03-17", "2026-03-20")
    history = DeltaTable.forPath(spark, dataset["config"].tables.user_features).history(1).first()
    assert "2026-03-17" in history.operationParameters["predicate"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2026-03-05"], "--start needs --end"),
        (["--start", "2026-03-05", "--end", "2026-03-01"], "is after --end"),
        (["--run-date", "2026-03-05", "--end", "2026-03-06"], "--end goes with --start"),
        (["--start", "2026-03-01", "--end", "2026-03-02", "--tables", "nope"], "unknown feature table"),
        (["--set", "features.user_window_days=week", "--run-date", "2026-03-05"], "features.user_window_days"),
    ],
)
def test_bad_arguments_and_settings_exit_2_with_a_message(dataset, capsys, argv, message):
    code = main(["--config", str(dataset["config_file"]), *argv])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 2
    assert message in json.loads(out)["error"]


def test_unparseable_command_line_exits_2(capsys):
    assert main(["--run-date", "yesterday"]) == 2
    assert "not a date" in capsys.readouterr().err


def test_missing_raw_column_names_table_and_column(spark, dataset, tmp_path, capsys):
    raw = yaml.safe_load(dataset["config_file"].read_text())
    broken_path = str(tmp_path / "broken_transactions")
    transactions(spark, EDGE_CASE_TRANSACTIONS).drop("merchant_id").write.format("delta").save(broken_path)
    raw["tables"]["raw_transactions"] = broken_path
    config_file = tmp_path / "broken.yaml"
    config_file.write_text(yaml.safe_dump(raw))
    code = main(["--config", str(config_file), "--run-date", "2026-03-05"])
    assert code == 2
    assert "table transactions: column merchant_id is missing" in capsys.readouterr().out


ZONES = ["Asia/Tokyo", "America/Los_Angeles"]
ZONE_DAYS = DateRange("2026-03-18", "2026-03-20")  # reads b5 (landed 03-19, happened in the future)


@pytest.fixture(scope="module")
def utc_run(spark, dataset, tmp_path_factory):
    """The tables an in-process (UTC) run of ZONE_DAYS writes: the reference of every time zone's run."""
    from dataclasses import replace

    root = tmp_path_factory.mktemp("utc")
    base = dataset["config"]
    utc_tables = replace(
        base.tables,
        user_features=str(root / "utc_users"),
        merchant_features=str(root / "utc_merchants"),
        quarantine=str(root / "utc_q"),
    )
    compute_features(spark, replace(base, tables=utc_tables), run_range=ZONE_DAYS, allow_missing_days=True)
    return utc_tables


@pytest.mark.parametrize("zone", ZONES)
def test_created_and_quarantined_instants_do_not_depend_on_the_machine_time_zone(
    spark, dataset, utc_run, tmp_path, zone
):
    """The job run under a non-UTC `TZ` stamps the run's UTC instant and computes what a UTC run computes."""
    days = ["--start", ZONE_DAYS.start.isoformat(), "--end", ZONE_DAYS.end.isoformat()]
    outputs = {name: str(tmp_path / zone.replace("/", "_") / name) for name in ("user", "merchant", "quarantine")}
    sets = [f"tables.user_features={outputs['user']}", f"tables.merchant_features={outputs['merchant']}"]
    sets.append(f"tables.quarantine={outputs['quarantine']}")
    sets.append(f"spark.conf.spark.driver.extraJavaOptions={SHORT_LIVED_JVM_OPTIONS}")
    env = {**os.environ, "TZ": zone, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1"}
    argv = [sys.executable, "-m", "jobs", "features", "--config", str(dataset["config_file"]), *days]
    argv += ["--allow-missing-days", *[arg for s in sets for arg in ("--set", s)]]
    started_us = time.time_ns() // 1000
    done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    finished_us = time.time_ns() // 1000
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    def stamps(path, column):
        return {r[0] for r in spark.read.format("delta").load(path).select(F.unix_micros(column)).distinct().collect()}

    (created,) = stamps(outputs["user"], "created_timestamp") | stamps(outputs["merchant"], "created_timestamp")
    assert stamps(outputs["quarantine"], "quarantined_at") == {created}
    assert started_us <= created <= finished_us
    latest_event = spark.read.format("delta").load(outputs["user"]).agg(F.max(F.unix_micros("event_timestamp")))
    assert latest_event.first()[0] <= created

    for path, utc_path, key in (
        (outputs["user"], utc_run.user_features, "user_id"),
        (outputs["merchant"], utc_run.merchant_features, "merchant_id"),
    ):
        pd.testing.assert_frame_equal(
            comparable(feature_table(spark, path), key), comparable(feature_table(spark, utc_path), key)
        )
    quarantined = ["source_table", "rule", "transaction_id", "ingest_date", "record"]
    got = feature_table(spark, outputs["quarantine"]).select(quarantined).orderBy(quarantined).toPandas()
    want = feature_table(spark, utc_run.quarantine).select(quarantined).orderBy(quarantined).toPandas()
    pd.testing.assert_frame_equal(got, want)
