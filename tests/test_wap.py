"""Write-audit-publish: a batch failing its suite is not committed, exits 1 and stays in staging."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from factories import chargebacks, transactions
from jobs import features_job
from jobs.config import load_config

pytestmark = pytest.mark.integration

USERS = [f"u{i}" for i in range(6)]
SMALL = ["--set", "quality.row_count_band_min_rows=0"]  # the band applies to these six-row days too


def daily_rows(first_day: int, last_day: int, users=USERS):
    """Every user buys once a day at two merchants in turn: a steady table, no row-count swings."""
    return [
        (f"t{d:02d}{u}", u, f"m{(d + i) % 2}", 10.0 + i, f"2026-03-{d:02d} 1{i}:00:00")
        for d in range(first_day, last_day + 1)
        for i, u in enumerate(users)
    ]


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    """Raw data for 2026-03-01..03-12, features published for 03-01..03-10 (the tests run in file order:
    the two rejected runs leave the tables as they are, the last one publishes)."""
    from conftest import write_job_config

    config_file = write_job_config(tmp_path_factory.mktemp("wap"))
    config = load_config(config_file=str(config_file))
    rows = daily_rows(1, 10) + daily_rows(11, 12, users=USERS[:1])  # 03-11 and 03-12: one user left
    transactions(spark, rows).write.format("delta").partitionBy("ingest_date").save(config.tables.raw_transactions)
    chargebacks(spark, [("t01u0", "2026-03-02 00:00:00")]).write.format("delta").partitionBy("ingest_date").save(
        config.tables.raw_chargebacks
    )
    assert (
        features_job.main(["--config", str(config_file), *SMALL, "--start", "2026-03-01", "--end", "2026-03-10"]) == 0
    )
    return config_file, config


def run_features(capsys, config_file, *args):
    capsys.readouterr()
    code = features_job.main(["--config", str(config_file), *SMALL, *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, out[:-1], json.loads(out[-1])


def version(spark, path):
    return DeltaTable.forPath(spark, path).history(1).first()["version"]


def staged_batch(config, table, run_id):
    return Path(config.tables.staging) / table / run_id


def test_injected_bad_value_is_not_published_and_stays_in_staging(spark, capsys, monkeypatch, published):
    config_file, config = published
    build = features_job.build_user_transaction_features

    def with_negative_count(*args, **kwargs):
        batch = build(*args, **kwargs)
        is_victim = F.col("user_id") == "u3"
        return batch.withColumn(
            "transaction_count_7d", F.when(is_victim, F.lit(-1).cast("long")).otherwise(F.col("transaction_count_7d"))
        )

    monkeypatch.setattr(features_job, "build_user_transaction_features", with_negative_count)
    before = version(spark, config.tables.user_features)
    code, summary, line = run_features(capsys, config_file, "--start", "2026-03-09", "--end", "2026-03-10")
    assert (code, line["exit_code"]) == (1, 1)
    assert "expect_column_values_to_be_between(transaction_count_7d)" in line["error"]
    # the run read, counted and quarantined before the audit: its JSON line still reconciles
    landed = (
        spark.read.format("delta").load(config.tables.raw_transactions).filter(F.col("ingest_date") <= "2026-03-10")
    )
    counts = line["inputs"]["transactions"]
    assert counts["read"] == counts["used"] + counts["quarantined"] == landed.count() == 60
    assert line["quarantine"]["rows"] == 0 and line["inputs"]["chargebacks"]["read"] == 1
    assert any(s.startswith("  FAILED expect_column_values_to_be_between(transaction_count_7d)") for s in summary)
    assert version(spark, config.tables.user_features) == before
    published_counts = spark.read.format("delta").load(config.tables.user_features)
    assert published_counts.filter(F.col("transaction_count_7d") < 0).count() == 0
    staged = Path(line["staging_path"])
    assert staged.parent == Path(config.tables.staging) / "user_transaction_features" and staged.is_dir()
    assert f"kept at {staged}" in line["error"]
    rejected = spark.read.format("delta").load(line["staging_path"])
    assert rejected.filter(F.col("transaction_count_7d") == -1).select("user_id").distinct().collect() == [("u3",)]


def test_row_count_collapse_from_missing_users_is_not_published(spark, capsys, published):
    config_file, config = published
    before = version(spark, config.tables.user_features)
    # Run date 03-18 recomputes 03-15..03-18: six users on 03-17 (five of them on their first quiet day),
    # one on 03-18, whose window holds only 03-12, when one user of six was left.
    # Nothing landed after 03-12, the point of this scenario: compute over those days.
    code, _, line = run_features(
        capsys, config_file, "--run-date", "2026-03-18", "--tables", "user_transaction_features", "--allow-missing-days"
    )
    assert (code, line["exit_code"]) == (1, 1)
    assert "expect_table_row_count_to_be_between() observed 1" in line["error"]
    assert version(spark, config.tables.user_features) == before
    rejected = spark.read.format("delta").load(line["staging_path"])
    assert rejected.groupBy("snapshot_date").count().orderBy("snapshot_date").collect()[-2:] == [
        (dt.date(2026, 3, 17), 6),
        (dt.date(2026, 3, 18), 1),
    ]


def test_a_failing_table_keeps_every_table_unpublished(spark, capsys, monkeypatch, published):
    """The user batch passes its suite, the merchant batch fails: neither table gets a new version."""
    config_file, config = published
    build = features_job.build_merchant_risk_features

    def with_rate_above_one(*args, **kwargs):
        return build(*args, **kwargs).withColumn("chargeback_rate_30d", F.lit(1.5).cast("float"))

    monkeypatch.setattr(features_job, "build_merchant_risk_features", with_rate_above_one)
    before = {t: version(spark, getattr(config.tables, t)) for t in ("user_features", "merchant_features")}
    code, _, line = run_features(capsys, config_file, "--start", "2026-03-09", "--end", "2026-03-10")
    assert (code, line["exit_code"]) == (1, 1)
    assert "chargeback_rate_30d" in line["error"]
    assert {t: version(spark, getattr(config.tables, t)) for t in before} == before


def test_clean_batch_is_published_and_staging_cleared(spark, capsys, published):
    config_file, config = published
    before = version(spark, config.tables.user_features)
    code, summary, line = run_features(capsys, config_file, "--start", "2026-03-09", "--end", "2026-03-10")
    assert code == 0
    assert version(spark, config.tables.user_features) == before + 1
    assert line["tables"]["user_transaction_features"]["audit"]["success"] is True
    assert any(s.startswith("suite merchant_risk_features: PASSED") for s in summary)
    for table in ("user_transaction_features", "merchant_risk_features"):
        assert not staged_batch(config, table, line["run_id"]).exists()
